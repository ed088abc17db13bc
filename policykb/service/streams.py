"""The streamed routes: ``POST /v1/evaluate/batch`` and ``POST /v1/audit``, answered as JSON Lines.

A batch is a JSON array of applications or JSON Lines (one per line); the answer
is one line per application, in order: the decision object, or ``{"index",
"error"}`` naming the bad fields — one bad application never stops a batch.
An audit takes the records as JSON Lines or a JSON array, or a multipart form with
the awards CSV (``awards``) and the applications as JSON Lines (``applications``);
the answer is one line per finding as it is found, then the report head (policy,
KB version, readings, input, summary) last.  With ``?format=json|text|md|html`` (and
``lang``) the answer is instead the whole report ``policykb audit --format`` writes,
built in full before it is sent — what the workbench offers as downloads.

Work runs in a worker thread a slice at a time, each slice under the request
timeout; a slice that passes it ends the stream with an error line (the status,
200, was sent with the first line).
"""

from __future__ import annotations

import functools
import io
import logging
import os
import re
import shutil
import tempfile
import time
import uuid
import weakref
from pathlib import Path

from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from policykb.audit import report
from policykb.audit.records import open_input
from policykb.audit.run import audit_groups
from policykb.engine.batch import error_result
from policykb.errors import InputError, PolicyKBError, Problem
from policykb.views import json_line

from .answers import JSON_TYPE, JSONL_TYPE, TEXT_TYPE, answers, text_response
from .handling import INLINE_PARSE_BYTES, LANGS, Query, checked_readings, decode, in_thread, parse_document, run_timed
from .limits import JSON, JSONL, MULTIPART, media_type, read_body
from .problems import HTTPProblem
from .routes import log_decision, served

log = logging.getLogger("policykb.service")
SLICE = 16
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _error_line(index: int | None, kind: str, message: str, **extra) -> str:
    error = {"kind": kind, "message": message, "problems": [], **extra}
    return json_line({"index": index, "error": error} if index is not None else {"error": error})


class _Stream:
    """Runs slices of work off the event loop under the timeout, as lines to send."""

    def __init__(self, request: Request):
        self.request = request
        self.timeout = request.app.state.config.timeout

    async def slice(self, work):
        """``work()`` in a thread; None when it passed the timeout."""
        try:
            return await in_thread(self.request.scope, self.timeout, work)
        except TimeoutError:
            return None

    def timeout_line(self, index: int | None) -> str:
        return _error_line(
            index, "Timeout", f"the request took longer than the limit of {self.timeout:g} s for one part (--timeout); the stream ends here"
        )

    def internal_line(self, index: int | None, exc: BaseException) -> str:
        error_id = uuid.uuid4().hex
        log.error(
            "internal error %s in a stream (request %s)",
            error_id,
            self.request.scope["state"].get("request_id"),
            exc_info=(type(exc), exc, exc.__traceback__),
        )
        return _error_line(
            index,
            "InternalError",
            f"an unexpected error occurred; the server log has its details under error_id {error_id}",
            error_id=error_id,
        )


# --- batch ---------------------------------------------------------------------------------


def batch_items(text: str, kind: str) -> list:
    """Each entry is a parsed application, or the InputError that stopped its line from parsing."""
    if kind in JSON:
        documents = parse_document(text, kind)
        if not isinstance(documents, list):
            raise HTTPProblem(
                422,
                "invalid-input",
                f"a JSON batch is an array of applications; found {type(documents).__name__} "
                "(send one application to /v1/evaluate, or JSON Lines as application/x-ndjson)",
                [Problem("", "expected an array")],
            )
        return documents
    items: list = []
    for number, line in enumerate(_LINE_BREAK.split(text), start=1):
        if not line.strip():
            continue
        try:
            items.append(parse_document(line, "application/json"))
        except HTTPProblem as exc:
            items.append(InputError([Problem(f"line {number}", p.message) for p in exc.problems] or exc.detail))
    return items


@answers
async def evaluate_batch(request: Request):
    kb = served(request)
    q = Query(request, ("reading",))
    readings = checked_readings(kb, q.readings())
    kind = media_type(request, JSON + JSONL)
    body = await read_body(request)
    if len(body) <= INLINE_PARSE_BYTES:
        items = batch_items(decode(body), kind)
    else:  # up to --max-body: off the event loop, under the timeout
        items = await run_timed(request, lambda: batch_items(decode(body), kind))
    stream = _Stream(request)

    def evaluate_slice(start: int) -> list[str]:
        lines = []
        for index in range(start, min(start + SLICE, len(items))):
            item = items[index]
            began = time.perf_counter()
            try:
                if isinstance(item, InputError):
                    raise item
                decision = kb.evaluate(item, readings).to_dict()
            except InputError as exc:
                lines.append(json_line(error_result(index, exc)))
                continue
            except Exception as exc:  # noqa: BLE001 - a bug on one application must not end the batch
                lines.append(stream.internal_line(index, exc))
                continue
            lines.append(json_line(decision))
            log_decision(request, decision, body, began, index=index)
        return lines

    async def lines():
        for start in range(0, len(items), SLICE):
            done = await stream.slice(functools.partial(evaluate_slice, start))
            if done is None:
                yield stream.timeout_line(start)
                return
            yield "".join(done).encode("utf-8")

    return StreamingResponse(lines(), media_type=JSONL_TYPE)


# --- audit ---------------------------------------------------------------------------------


async def _audit_files(request: Request, folder: Path) -> tuple[Path, Path | None, dict]:
    """The uploaded records written to ``folder``: (records or applications, awards CSV, origin)."""
    kind = media_type(request, JSON + JSONL + MULTIPART)
    if kind not in MULTIPART:
        records = folder / ("records.json" if kind in JSON else "records.jsonl")
        records.write_bytes(await read_body(request))
        return records, None, {"file": "request body", "awards": None}
    form = await request.form(max_files=3, max_fields=3)
    try:
        names = set(form.keys())
        unknown = names - {"records", "applications", "awards"}
        if unknown:
            name = sorted(unknown)[0]
            raise HTTPProblem(
                422,
                "invalid-input",
                f"unknown form part '{name}'; send 'records', or 'applications' with 'awards'",
                [Problem(name, "unknown part")],
            )
        if "records" in names and names != {"records"}:
            raise HTTPProblem(
                422,
                "invalid-input",
                "send either 'records', or 'applications' with 'awards', not both",
                [Problem("records", "not with applications/awards")],
            )
        if "records" not in names and names != {"applications", "awards"}:
            missing = sorted({"applications", "awards"} - names)
            raise HTTPProblem(
                422,
                "invalid-input",
                f"the form needs a part '{missing[0]}' (or one part 'records')",
                [Problem(m, "missing (required)") for m in missing],
            )
        paths: dict[str, Path] = {}
        origin: dict[str, str | None] = {"file": None, "awards": None}
        for name in sorted(names):
            part = form[name]
            target = folder / name
            if isinstance(part, str):
                target.write_text(part, encoding="utf-8")
                shown = name
            else:
                with target.open("wb") as out:
                    shutil.copyfileobj(part.file, out)
                shown = os.path.basename(part.filename or name)
            paths[name] = target
            origin["awards" if name == "awards" else "file"] = shown
        return paths.get("records") or paths["applications"], paths.get("awards"), origin
    finally:
        await form.close()


@answers
async def audit(request: Request):
    kb = served(request)
    q = Query(request, ("reading", "format", "lang"))
    readings = kb.readings_with(checked_readings(kb, q.readings()))
    fmt = q.one("format", "jsonl", ("jsonl", *REPORT_TYPES))
    lang = q.one("lang", "zh", LANGS)
    folder = Path(tempfile.mkdtemp(prefix="policykb-audit-"))
    try:
        records, awards, origin = await _audit_files(request, folder)
        try:
            source = await run_timed(request, open_input, records, awards)
        except InputError as exc:
            raise HTTPProblem(400, "invalid-records", str(exc), exc.problems) from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if fmt != "jsonl":
        try:
            text = await run_timed(request, _report, kb, source, readings, origin, fmt, lang)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return text_response(text, REPORT_TYPES[fmt])
    stream = _Stream(request)
    findings = audit_groups(kb, source, readings, workers=1, progress=False)
    spool = report.Spool()

    def next_findings() -> list[str] | None:
        lines = []
        for finding in findings:
            spool.add(finding)
            lines.append(json_line(finding.to_dict()))
            if len(lines) >= SLICE:
                break
        return lines

    async def lines():
        try:
            while True:
                try:
                    done = await stream.slice(next_findings)
                except PolicyKBError as exc:
                    yield _error_line(None, type(exc).__name__, str(exc)).encode("utf-8")
                    return
                except Exception as exc:  # noqa: BLE001
                    yield stream.internal_line(None, exc).encode("utf-8")
                    return
                if done is None:
                    yield stream.timeout_line(None).encode("utf-8")
                    return
                if not done:
                    break
                yield "".join(done).encode("utf-8")
            summary = spool.summary(source.records, source.applicants)
            yield json_line(report.report_head(kb, readings, summary, origin)).encode("utf-8")
        finally:
            spool.close()
            shutil.rmtree(folder, ignore_errors=True)

    response = StreamingResponse(lines(), media_type=JSONL_TYPE)
    # a caller gone before the first line means lines() never runs its finally: clean up with the response
    weakref.finalize(response, shutil.rmtree, str(folder), True)
    return response


REPORT_TYPES = {"json": JSON_TYPE, "text": TEXT_TYPE, "md": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8"}


def _report(kb, source, readings, origin, fmt: str, lang: str) -> str:
    """The whole audit report, as ``policykb audit --format FMT --lang LANG`` writes it."""
    spool = report.Spool()
    try:
        for finding in audit_groups(kb, source, readings, workers=1, progress=False):
            spool.add(finding)
        summary = spool.summary(source.records, source.applicants)
        out = io.StringIO()
        if fmt == "json":
            report.write_json(out, kb, readings, summary, spool, origin)
        elif fmt == "text":
            report.write_text(out, kb, readings, summary, spool, lang)
        elif fmt == "md":
            report.write_markdown(out, kb, readings, summary, spool, lang)
        else:
            report.write_html(out, kb, readings, summary, spool, lang)
        return out.getvalue()
    finally:
        spool.close()


def routes() -> list[Route]:
    return [Route("/v1/evaluate/batch", evaluate_batch, methods=["POST"]), Route("/v1/audit", audit, methods=["POST"])]
