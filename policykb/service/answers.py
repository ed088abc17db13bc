"""Turning what a route computed, or the error it met, into the HTTP answer.

``answers`` wraps a route: an ``HTTPProblem`` or a library error becomes a
problem+json response; anything else becomes a 500 with an error id in the log.
"""

from __future__ import annotations

import functools

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from policykb.safetext import json_safe, visible

from .problems import HTTPProblem, from_exception, problem_response

JSON_TYPE = "application/json"
JSONL_TYPE = "application/x-ndjson"
TEXT_TYPE = "text/plain; charset=utf-8"


def problem_for(request: Request, exc: BaseException) -> Response:
    rid = request.scope.get("state", {}).get("request_id")
    return problem_response(from_exception(exc, rid), rid, request.url.path)


def answers(route):
    @functools.wraps(route)
    async def wrapped(request: Request) -> Response:
        try:
            return await route(request)
        except Exception as exc:  # noqa: BLE001 - every error becomes a problem document
            return problem_for(request, exc)

    return wrapped


def text_response(text: str, media_type: str = JSON_TYPE, status: int = 200, headers=None, *, kind: str | None = None) -> Response:
    """``text`` as UTF-8, exactly as the command line prints it: control characters neutralised
    as ``write_output`` does (``kind`` "json": ``\\u`` escapes; "text": visible escapes; by
    default from the media type)."""
    if kind is None:
        kind = "json" if "json" in media_type else "text"
    safe = json_safe(text) if kind == "json" else visible(text)
    return Response(safe.encode("utf-8"), status_code=status, media_type=media_type, headers=headers)


async def starlette_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404 (no such route) and 405 (wrong method), as problem documents."""
    # Starlette types every handler for Exception; this one is registered for HTTPException
    assert isinstance(exc, HTTPException)
    slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
    detail = {
        404: f"no route {request.url.path}; the routes are listed in /openapi.json",
        405: f"{request.method} is not allowed on {request.url.path}",
    }.get(exc.status_code, str(exc.detail))
    problem = HTTPProblem(exc.status_code, slug, detail, headers=dict(exc.headers or {}))
    rid = request.scope.get("state", {}).get("request_id")
    return problem_response(problem, rid, request.url.path)
