"""Bearer-token authentication: every route but the public ones needs ``Authorization: Bearer …``.

Used when ``policykb serve`` is given ``--token-file``; a non-loopback host is
refused without one.  The comparison is constant-time.
"""

from __future__ import annotations

import hmac

from .observe import request_id_of
from .problems import HTTPProblem, problem_response

PUBLIC = frozenset({"/healthz", "/readyz"})


class BearerAuth:
    def __init__(self, app, token: str, public: frozenset[str] = PUBLIC, public_prefixes: tuple[str, ...] = ()):
        self.app = app
        self.expected = f"Bearer {token}".encode("ascii")
        self.public = public
        self.public_prefixes = public_prefixes

    def _is_public(self, path: str) -> bool:
        return path in self.public or any(path.startswith(p) for p in self.public_prefixes)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or self._is_public(scope["path"]):
            return await self.app(scope, receive, send)
        given = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                given = value
                break
        if hmac.compare_digest(given, self.expected):
            return await self.app(scope, receive, send)
        detail = "this server needs 'Authorization: Bearer <token>'" if not given else "the bearer token is not valid"
        problem = HTTPProblem(401, "unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="policykb"'})
        await problem_response(problem, request_id_of(scope), scope["path"])(scope, receive, send)
