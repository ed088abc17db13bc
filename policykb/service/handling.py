"""What every route does the same way: query parameters, bodies, and work off the event loop.

Query parameters mirror the command line's options (``reading`` is ``--reading``,
written ``I-09:declared_only`` or ``I-09=declared_only``, repeatable); an unknown
parameter is a 400 with "did you mean".  Bodies are read whole (the middleware has
bounded them) and parsed by the reader the command line uses, so the same document
gives the same answer.  Evaluation runs in a worker thread under the per-request
timeout: past it the caller gets a 504 (the thread's result is dropped).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, overload

from starlette.requests import Request

from policykb.engine.documents import parse_text
from policykb.errors import InputError, Problem, suggest
from policykb.money import exact

from .limits import JSON, YAML, media_type, read_body
from .observe import record_eval
from .problems import HTTPProblem

LANGS = ("zh", "en")
FORMATS = ("json", "text")


class Query:
    """The query string of one request, checked against the parameters a route accepts."""

    def __init__(self, request: Request, allowed: Iterable[str]):
        self.params = request.query_params
        allowed = set(allowed)
        unknown = [k for k in self.params if k not in allowed]
        if unknown:
            name = unknown[0]
            raise HTTPProblem(
                400,
                "invalid-parameter",
                f"unknown query parameter '{name}'{suggest(name, allowed)}; this route takes: {', '.join(sorted(allowed)) or 'none'}",
                [Problem(f"query.{name}", "unknown parameter")],
            )

    @overload
    def one(self, name: str, default: str, choices: tuple[str, ...] | None = None) -> str: ...
    @overload
    def one(self, name: str, default: None = None, choices: tuple[str, ...] | None = None) -> str | None: ...

    def one(self, name: str, default: str | None = None, choices: tuple[str, ...] | None = None) -> str | None:
        """The parameter's one value, or ``default``; with ``choices``, one of them."""
        values = self.params.getlist(name)
        if len(values) > 1:
            raise HTTPProblem(
                400,
                "invalid-parameter",
                f"query parameter '{name}' is given {len(values)} times",
                [Problem(f"query.{name}", "given more than once")],
            )
        value = values[0] if values else default
        if choices is not None and value not in choices:
            raise HTTPProblem(
                400,
                "invalid-parameter",
                f"query parameter '{name}': '{value}' is not one of {', '.join(choices)}{suggest(value, choices)}",
                [Problem(f"query.{name}", f"expected one of {', '.join(choices)}")],
            )
        return value

    def flag(self, name: str) -> bool:
        value = self.one(name, "false", ("true", "false", "1", "0"))
        return value in ("true", "1")

    def readings(self) -> dict[str, str]:
        """``reading=I-09:declared_only`` (repeatable) as ``{"I-09": "declared_only"}``; checked later by the KB."""
        out: dict[str, str] = {}
        for value in self.params.getlist("reading"):
            sep = ":" if ":" in value else "="
            rid, found, option = value.partition(sep)
            rid, option = rid.strip(), option.strip()
            if not found or not rid or not option:
                raise HTTPProblem(
                    400,
                    "invalid-parameter",
                    f"reading expects ID:OPTION (for example I-06:per_station); found '{value}'",
                    [Problem("query.reading", "expected ID:OPTION")],
                )
            if out.get(rid, option) != option:
                raise HTTPProblem(
                    400,
                    "invalid-parameter",
                    f"reading {rid} is given twice ({out[rid]} and {option})",
                    [Problem("query.reading", "given twice")],
                )
            out[rid] = option
        return out


def checked_readings(kb, readings: dict[str, str]) -> dict[str, str]:
    """Unknown reading IDs or options in the query are a 400, with "did you mean"."""
    try:
        kb.readings_with(readings)
    except InputError as exc:
        problems = [
            Problem("query.reading" + (p.where[len("readings") :] if p.where.startswith("readings") else ""), p.message)
            for p in exc.problems
        ]
        raise HTTPProblem(400, "invalid-parameter", str(exc), problems) from None
    return readings


def decode(body: bytes) -> str:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise HTTPProblem(
            400, "invalid-encoding", f"the body is not UTF-8 ({exc.reason} at byte {exc.start})", [Problem(f"byte {exc.start}", exc.reason)]
        ) from None


def parse_document(text: str, kind: str) -> Any:
    """JSON (or YAML) text as the command line reads a file; malformed is a 400."""
    name = "request.yaml" if kind in YAML else "request.json"
    try:
        return parse_text(text, name)
    except InputError as exc:
        slug = "invalid-yaml" if kind in YAML else "invalid-json"
        raise HTTPProblem(400, slug, str(InputError(exc.problems, source="request body")), exc.problems) from None


INLINE_PARSE_BYTES = 64 * 1024  # smaller bodies are parsed on the event loop: a thread hand-off costs more


async def document_body(request: Request, accepted: tuple[str, ...] = JSON + YAML) -> tuple[Any, bytes]:
    """The parsed body document and its raw bytes (a large body is parsed off the event loop)."""
    kind = media_type(request, accepted)
    body = await read_body(request)
    if not body.strip():
        raise HTTPProblem(400, "invalid-json", "the request body is empty; expected a JSON document")
    if len(body) <= INLINE_PARSE_BYTES:
        return parse_document(decode(body), kind), body
    return await run_timed(request, lambda: parse_document(decode(body), kind)), body


_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    """The threads evaluations run in (one pool per process, made on first use)."""
    global _pool  # noqa: PLW0603 - one pool per process, made on first use
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="policykb-eval")
    return _pool


async def in_thread(scope, timeout: float, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` in a worker thread, decimals exact; its time goes to Server-Timing.

    Raises TimeoutError past ``timeout`` seconds (the thread runs on; its result is dropped) — also
    when the result came after the limit but before the event loop could act on its timer.
    """

    def timed():
        start = time.perf_counter()
        try:
            with exact():  # as the command line runs every command
                return fn(*args, **kwargs)
        finally:
            record_eval(scope, time.perf_counter() - start)

    loop = asyncio.get_running_loop()
    started = loop.time()
    result = await asyncio.wait_for(loop.run_in_executor(_executor(), timed), timeout)
    if loop.time() - started > timeout:  # done, but after the limit: the timer had no chance to act
        raise TimeoutError
    return result


async def run_timed(request: Request, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` off the event loop under the request timeout; past it, a 504."""
    timeout = request.app.state.config.timeout
    try:
        return await in_thread(request.scope, timeout, fn, *args, **kwargs)
    except TimeoutError:
        raise HTTPProblem(
            504, "timeout", f"the request took longer than the limit of {timeout:g} s (--timeout)", extra={"timeout_seconds": timeout}
        ) from None
