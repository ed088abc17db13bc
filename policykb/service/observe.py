"""Per-request bookkeeping: the request id, Server-Timing, the access log, and the last-resort 500.

``Observe`` is the outermost ASGI middleware.  It gives each request an id (the
caller's ``X-Request-Id`` when it is a sane token, else a fresh one), echoes it,
adds ``Server-Timing`` (``app`` the time to the response head, ``eval`` the
evaluation time a route recorded), writes one structured access-log line when the
response ends, and turns any exception that escaped the routes into a
problem+json 500 whose error id is in the log.
"""

from __future__ import annotations

import logging
import os
import random
import re
import time

from .problems import from_exception, problem_response

_SANE_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")
access_log = logging.getLogger("policykb.access")
# Request ids need to be unique, not secret: 128 bits from a generator seeded once per process
# from the OS (a system call per request would hand the GIL to an evaluating thread).
_ids = random.Random(os.urandom(32))
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=lambda: _ids.seed(os.urandom(32)))


def new_id() -> str:
    return f"{_ids.getrandbits(128):032x}"


def request_id_of(scope) -> str | None:
    return scope.get("state", {}).get("request_id")


def record_eval(scope, seconds: float) -> None:
    """Add ``seconds`` of evaluation to this request's Server-Timing."""
    state = scope.setdefault("state", {})
    state["eval_seconds"] = state.get("eval_seconds", 0.0) + seconds


class Observe:
    def __init__(self, app, *, access: bool = True):
        self.app = app
        self.access = access

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        given = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                given = value.decode("latin-1")
                break
        rid = given if given and _SANE_ID.match(given) else new_id()
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        status = 0
        sent = 0
        started = False

        async def send_observed(message):
            nonlocal status, sent, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                timing = f"app;dur={(time.perf_counter() - start) * 1000:.3f}"
                if "eval_seconds" in state:
                    timing = f"eval;dur={state['eval_seconds'] * 1000:.3f}, " + timing
                headers.append((b"x-request-id", rid.encode("latin-1")))
                headers.append((b"server-timing", timing.encode("latin-1")))
                message = dict(message, headers=headers)
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        except Exception as exc:  # the routes answer their own errors; this is the safety net
            if started:
                raise  # a stream already begun cannot become a problem document
            response = problem_response(from_exception(exc, rid), rid, scope["path"])
            await response(scope, receive, send_observed)
        finally:
            if self.access:
                access_log.info(
                    "access",
                    extra={
                        "fields": {
                            "request_id": rid,
                            "method": scope["method"],
                            "path": scope["path"],
                            "query": scope.get("query_string", b"").decode("latin-1")[:512],
                            "status": status,
                            "bytes": sent,
                            "duration_ms": round((time.perf_counter() - start) * 1000, 3),
                            "client": scope["client"][0] if scope.get("client") else None,
                        }
                    },
                )
