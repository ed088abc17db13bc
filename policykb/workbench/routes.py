"""The workbench's routes: the page at ``/``, its assets, the bundled examples, and a JSON
or YAML file the analyst opens turned into the JSON the editor works on.

They are added to ``policykb serve`` through the application factory's extra routes
(``policykb.service.app.default_extras``), after the ``/v1`` routes the page calls.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from policykb import __version__
from policykb.errors import Problem, suggest
from policykb.service.answers import answers, text_response
from policykb.service.handling import document_body
from policykb.service.problems import HTTPProblem
from policykb.service.routes import exact_json

from . import page
from .bundled import example_file, example_list

# The page and its assets hold no data; with a token, the page asks for it before calling /v1.
PUBLIC = frozenset({"/"})
PUBLIC_PREFIXES = ("/workbench/static/",)
_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; object-src 'none'; base-uri 'none'",
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
}


class _Assets(StaticFiles):
    """The page's scripts and styles, revalidated on every load (cheap: they carry an ETag) so that
    a browser never runs an old module beside a new one after an upgrade."""

    def file_response(self, *args, **kwargs):
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def _served(request: Request):
    return request.app.state.served.require()


@answers
async def index(request: Request) -> Response:
    kb = _served(request)
    lang = request.query_params.get("lang", "zh")
    text = page.render(kb.policy, example_list(), lang if lang in page.LANGS else "zh", __version__)
    return HTMLResponse(text, headers=_HEADERS)


@answers
async def example(request: Request) -> Response:
    """A bundled example by name: an application (.json), or a file of the audit set."""
    name = request.path_params["name"]
    entry, names = example_file(name)
    if entry is None:
        raise HTTPProblem(
            404, "not-found", f"no bundled example '{name}'{suggest(name, names)}", [Problem("name", f"bundled: {', '.join(names)}")]
        )
    kind = "application/json" if entry.name.endswith(".json") else "text/csv" if entry.name.endswith(".csv") else "application/x-ndjson"
    return Response(entry.read_bytes(), media_type=f"{kind}; charset=utf-8")


@answers
async def document(request: Request) -> Response:
    """A JSON or YAML file the analyst opened, as JSON — read exactly as the service reads a body."""
    parsed, _ = await document_body(request)
    return text_response(exact_json(parsed) + "\n")


def routes() -> list[BaseRoute]:
    """The page and what it needs beside the API; placed after the service's own routes."""
    return [
        Route("/", index, methods=["GET"]),
        Route("/workbench/examples/{name:path}", example, methods=["GET"]),
        Route("/workbench/document", document, methods=["POST"]),
        Mount("/workbench/static", _Assets(packages=[("policykb.workbench", "static")]), name="workbench-static"),
    ]
