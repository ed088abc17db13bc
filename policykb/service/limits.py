"""Request bodies: the size limit, enforced while the body is read, and the media types.

``BodyLimit`` is ASGI middleware: a declared ``Content-Length`` over the limit is
answered 413 before a byte of the body is read, and an undeclared (chunked) body is
counted as it arrives, failing the read as soon as it passes the limit — a body is
never buffered beyond the limit, whatever the route does with it.
"""

from __future__ import annotations

from starlette.requests import Request

from .problems import HTTPProblem, problem_response


class BodyTooLarge(HTTPProblem):
    def __init__(self, limit: int):
        super().__init__(
            413, "body-too-large", f"the request body is larger than the limit of {limit} bytes (--max-body)", extra={"limit": limit}
        )


class BodyLimit:
    def __init__(self, app, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > self.limit:
                    response = problem_response(BodyTooLarge(self.limit), scope.get("state", {}).get("request_id"), scope["path"])
                    response.headers["Connection"] = "close"
                    return await response(scope, receive, send)
                break
        seen = 0
        limit = self.limit

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)


async def read_body(request: Request) -> bytes:
    """The whole body (the middleware has bounded it)."""
    chunks = bytearray()
    async for chunk in request.stream():
        chunks += chunk
    return bytes(chunks)


# media types each kind of body accepts
JSON = ("application/json",)
YAML = ("application/yaml", "application/x-yaml", "text/yaml")
JSONL = ("application/x-ndjson", "application/jsonl", "application/x-jsonlines")
MULTIPART = ("multipart/form-data",)


def media_type(request: Request, accepted: tuple[str, ...]) -> str:
    """The request's media type if it is one of ``accepted`` (``+json`` counts as JSON); else 415."""
    raw = request.headers.get("content-type", "")
    kind, _, params = raw.partition(";")
    kind = kind.strip().lower()
    if kind.endswith("+json") and "application/json" in accepted:
        kind = "application/json"
    charset = ""
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    if kind not in accepted:
        found = f"'{kind}'" if kind else "no Content-Type"
        raise HTTPProblem(
            415,
            "unsupported-media-type",
            f"expected a body of type {', '.join(accepted)}; found {found}",
            headers={"Accept-Post": ", ".join(accepted)},
        )
    if charset and charset not in ("utf-8", "utf8") and kind not in MULTIPART:
        raise HTTPProblem(
            415, "unsupported-media-type", f"the body must be UTF-8; found charset={charset}", headers={"Accept-Post": ", ".join(accepted)}
        )
    return kind
