"""The ``/v1`` routes that take one application: evaluate, why, what if, qualify, readings, runners-up.

Each is the HTTP face of one library call, answering with exactly the bytes the
matching command prints with ``--format json`` (or ``--format text --lang``):
the body is the application file, query parameters are the command's options.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from policykb.errors import InputError, Problem, suggest
from policykb.explain import runners, sensitivity
from policykb.explain.qualify import qualify as plan
from policykb.explain.whatif import whatif as compare
from policykb.explain.why import explain
from policykb.views import explanations_json, explanations_text, json_text

from .answers import JSON_TYPE, TEXT_TYPE, answers, text_response
from .handling import FORMATS, LANGS, Query, checked_readings, document_body, run_timed
from .problems import HTTPProblem, from_input_error


def served(request: Request):
    return request.app.state.served.require()


def rendered(answer, fmt: str, lang: str):
    """An explanation-like answer as the command line prints it."""
    if fmt == "text":
        return text_response(answer.to_text(lang), TEXT_TYPE)
    return text_response(json_text(answer.to_dict()))


def computed(fn, *args, **kwargs):
    """Run a library call; its input errors are the caller's (422, or 404 for an unknown item)."""
    try:
        return fn(*args, **kwargs)
    except InputError as exc:
        raise from_input_error(exc) from None


def log_decision(request: Request, decision: dict, body: bytes, started: float, index: int | None = None) -> None:
    log = request.app.state.decision_log
    if log is None:
        return
    entry: dict[str, Any] = {"request_id": request.scope["state"]["request_id"], "route": request.url.path}
    if index is not None:
        entry["index"] = index
    entry.update(
        {
            "policy": decision["policy"],
            "kb_version": decision["kb_version"],
            "applicant": decision["applicant"]["id"],
            "year": decision["year"],
            "readings": decision["readings"],
            "input_sha256": hashlib.sha256(body).hexdigest(),
            "totals": decision["totals"],
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        }
    )
    log.write(entry)


@answers
async def evaluate(request: Request):
    kb = served(request)
    q = Query(request, ("reading", "lang", "format", "trace"))
    readings = checked_readings(kb, q.readings())
    lang, fmt, trace = q.one("lang", "zh", LANGS), q.one("format", "json", FORMATS), q.flag("trace")
    document, body = await document_body(request)
    started = time.perf_counter()

    def work():
        decision = computed(kb.evaluate, document, readings)
        data = decision.to_dict()
        if fmt == "text":
            text = decision.to_text(lang)
        elif trace:  # the provenance, as `policykb evaluate --format json --trace` prints it
            text = decision.to_json(include_trace=True)
        else:
            text = json_text(data)  # what decision.to_json() prints, without a second to_dict()
        return data, text

    data, text = await run_timed(request, work)
    log_decision(request, data, body, started)
    return text_response(text, TEXT_TYPE if fmt == "text" else JSON_TYPE)


@dataclass(frozen=True)
class Asked:
    """What a route on one application was asked: the query's choices and the application."""

    kb: Any
    lang: str
    fmt: str
    readings: dict
    document: Any
    subject: str | None = None


async def asked(request: Request, *, subject: bool = False) -> Asked:
    """The served KB, the query (``subject`` too if the route takes one), checked, then the body."""
    kb = served(request)
    q = Query(request, ("reading", "lang", "format", "subject") if subject else ("reading", "lang", "format"))
    who = q.one("subject") if subject else None
    lang, fmt = q.one("lang", "zh", LANGS), q.one("format", "json", FORMATS)
    readings = checked_readings(kb, q.readings())
    document, _ = await document_body(request)
    return Asked(kb, lang, fmt, readings, document, who)


@answers
async def why(request: Request):
    item = request.path_params["item"]
    a = await asked(request, subject=True)

    def work():
        decision = computed(a.kb.evaluate, a.document, a.readings)
        explanations = computed(explain, decision, item, a.subject)
        return explanations_text(explanations, a.lang) if a.fmt == "text" else explanations_json(explanations)

    text = await run_timed(request, work)
    return text_response(text, TEXT_TYPE if a.fmt == "text" else JSON_TYPE)


@answers
async def qualify(request: Request):
    item = request.path_params["item"]
    a = await asked(request, subject=True)
    answer = await run_timed(request, computed, plan, a.kb, a.document, item, a.subject, a.readings)
    return rendered(answer, a.fmt, a.lang)


@answers
async def readings(request: Request):
    a = await asked(request)
    answer = await run_timed(request, computed, sensitivity.answer, a.kb, a.document, a.readings)
    return rendered(answer, a.fmt, a.lang)


@answers
async def runners_up(request: Request):
    a = await asked(request)

    def work():
        return runners.answer(computed(a.kb.evaluate, a.document, a.readings))

    return rendered(await run_timed(request, work), a.fmt, a.lang)


WHATIF_KEYS = ("application", "set", "add", "remove")


def exact_json(value: Any) -> str:
    """A parsed JSON value back as JSON text, decimals exactly as read (for ``add``)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{exact_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(exact_json(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def whatif_request(body: Any) -> tuple[Any, list[str], list[str], list[str]]:
    """``{"application", "set": ["PATH=VALUE"], "add": [FACT], "remove": ["facts[N]"]}``, checked."""
    if not isinstance(body, dict):
        raise HTTPProblem(
            422,
            "invalid-input",
            'expected an object: {"application": {…}, "set": ["PATH=VALUE"], "add": [{…}], "remove": ["facts[N]"]}',
            [Problem("", f"found {type(body).__name__}")],
        )
    problems = [
        Problem(key, f"unknown key{suggest(key, WHATIF_KEYS)}; keys: {', '.join(WHATIF_KEYS)}") for key in body if key not in WHATIF_KEYS
    ]
    if "application" not in body:
        problems.append(Problem("application", "missing (required): the application to change"))
    lists: dict[str, list] = {}
    for key in ("set", "add", "remove"):
        value = body.get(key, [])
        if not isinstance(value, list):
            problems.append(Problem(key, f"expected a list; found {type(value).__name__}"))
            value = []
        for i, entry in enumerate(value):
            if key == "add" and isinstance(entry, dict):
                continue
            if not isinstance(entry, str):
                problems.append(Problem(f"{key}[{i}]", "expected a string" + (" or a fact object" if key == "add" else "")))
        lists[key] = value
    if problems:
        raise HTTPProblem(
            422, "invalid-input", f"{len(problems)} problem{'s' if len(problems) > 1 else ''} in the what-if request", problems
        )
    adds = [exact_json(a) if isinstance(a, dict) else a for a in lists["add"]]
    return body["application"], lists["set"], adds, lists["remove"]


@answers
async def whatif(request: Request):
    a = await asked(request)
    document, sets, adds, removes = whatif_request(a.document)
    if not (sets or adds or removes or a.readings):
        raise HTTPProblem(
            422,
            "invalid-input",
            "what-if needs at least one change: set, add, remove, or a reading in the query",
            [Problem("set", "no change given")],
        )
    answer = await run_timed(request, computed, compare, a.kb, document, sets=sets, adds=adds, removes=removes, readings=a.readings)
    return rendered(answer, a.fmt, a.lang)


def routes() -> list[Route]:
    return [
        Route("/v1/evaluate", evaluate, methods=["POST"]),
        Route("/v1/why/{item}", why, methods=["POST"]),
        Route("/v1/whatif", whatif, methods=["POST"]),
        Route("/v1/qualify/{item}", qualify, methods=["POST"]),
        Route("/v1/readings", readings, methods=["POST"]),
        Route("/v1/runners-up", runners_up, methods=["POST"]),
    ]
