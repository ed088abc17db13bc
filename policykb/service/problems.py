"""Errors as ``application/problem+json`` (RFC 9457), with the problem list the CLI prints.

Every error a route can meet becomes one ``HTTPProblem``: the route says what went
wrong in the words of the library (``InputError.problems``: the path of each bad
field and a message, with "did you mean"), and ``problem_response`` renders it.
An unexpected exception becomes a 500 whose ``error_id`` is also in the log, with
the traceback there and never in the response.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.responses import Response

from policykb.errors import InputError, KBError, PolicyKBError, Problem, UnknownItemError
from policykb.safetext import json_safe
from policykb.text import json_text

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "urn:policykb:problem:"
log = logging.getLogger("policykb.service")

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    500: "Internal Server Error",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class HTTPProblem(PolicyKBError):
    """One error answer: status, a stable slug (the ``type``), a message, the located problems."""

    def __init__(
        self,
        status: int,
        slug: str,
        detail: str,
        problems: Iterable[Problem] = (),
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.http_status = status
        self.slug = slug
        self.detail = detail
        self.problems = list(problems)
        self.headers = headers or {}
        self.extra = extra or {}


def problem_body(problem: HTTPProblem, request_id: str | None, instance: str | None) -> dict:
    body: dict[str, Any] = {
        "type": TYPE_BASE + problem.slug,
        "title": TITLES.get(problem.status, "Error"),
        "status": problem.status,
        "detail": problem.detail,
    }
    if instance:
        body["instance"] = instance
    body["problems"] = [{"where": p.where, "message": p.message} for p in problem.problems]
    if request_id:
        body["request_id"] = request_id
    body.update(problem.extra)
    return body


def problem_response(problem: HTTPProblem, request_id: str | None = None, instance: str | None = None) -> Response:
    text = json_safe(json_text(problem_body(problem, request_id, instance)))  # a message may quote the input
    return Response(text.encode("utf-8"), status_code=problem.status, media_type=PROBLEM_JSON, headers=problem.headers)


def from_input_error(exc: InputError, *, status: int | None = None, slug: str | None = None) -> HTTPProblem:
    """An InputError as 422 (the application breaks its schema) or 404 (unknown item, subject …)."""
    if isinstance(exc, UnknownItemError):
        return HTTPProblem(404, slug or "not-found", str(exc), exc.problems)
    return HTTPProblem(status or 422, slug or "invalid-input", str(exc), exc.problems)


def from_exception(exc: BaseException, request_id: str | None) -> HTTPProblem:
    """Any exception a route let through, as the problem to answer with."""
    if isinstance(exc, HTTPProblem):
        return exc
    if isinstance(exc, HTTPException) and exc.status_code < 500:  # Starlette's own: a malformed form
        return HTTPProblem(exc.status_code, "invalid-form" if exc.status_code == 400 else "http-error", str(exc.detail))
    if isinstance(exc, InputError):
        return from_input_error(exc)
    if isinstance(exc, KBError):
        return HTTPProblem(503, "kb-unavailable", "the knowledge base is broken", exc.problems)
    error_id = uuid.uuid4().hex
    kind = "engine error" if isinstance(exc, PolicyKBError) else "unexpected error"
    log.error(
        "internal error %s (request %s): %s: %s",
        error_id,
        request_id,
        type(exc).__name__,
        exc,
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    return HTTPProblem(
        500, "internal-error", f"an {kind} occurred; the server log has its details under error_id {error_id}", extra={"error_id": error_id}
    )
