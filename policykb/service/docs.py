"""Interactive API documentation at ``/docs``: Swagger UI, shipped in the package (no CDN).

The page and its assets hold no data and need no token; the page fetches
``/openapi.json`` (asking for the token when the server has one) and renders it.
Swagger UI is vendored from npm's ``swagger-ui-dist`` (static/swagger-ui/VENDORED.md).
"""

from __future__ import annotations

from importlib import resources

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

PUBLIC = frozenset({"/docs"})
PUBLIC_PREFIXES = ("/docs/assets/",)
_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'",
    "Cache-Control": "no-cache",
}


def static_dir() -> str:
    return str(resources.files("policykb.service") / "static")


async def page(request: Request) -> Response:
    html = (resources.files("policykb.service") / "static" / "docs.html").read_bytes()
    return Response(html, media_type="text/html; charset=utf-8", headers=_HEADERS)


def routes():
    return [Route("/docs", page, methods=["GET"]), Mount("/docs/assets", StaticFiles(directory=static_dir()), name="docs-assets")]
