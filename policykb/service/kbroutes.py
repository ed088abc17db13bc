"""The ``/v1/policies`` routes: the served knowledge base as data.

``…/items`` is what ``policykb kb list --format json`` prints, ``…/graph`` what
``policykb kb graph`` prints (json, dot or mermaid), ``…/schema`` what ``policykb
schema`` prints; ``…/readings`` lists the readings of ambiguous sentences;
``…/vocabulary`` describes an application's fields for a form (labels, units, the
sentences each feeds: ``policykb.forms.vocabulary``) and ``…/text`` is the policy's text,
which every quote is verbatim from.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from policykb.errors import Problem, suggest
from policykb.forms import vocabulary as describe
from policykb.kb import graph as g
from policykb.views import item_rows, items_json, json_text, policy_summary, readings_rows

from .answers import JSON_TYPE, TEXT_TYPE, answers, text_response
from .handling import LANGS, Query, checked_readings
from .problems import HTTPProblem

GRAPH_TYPES = {"json": JSON_TYPE, "dot": "text/vnd.graphviz; charset=utf-8", "mermaid": "text/plain; charset=utf-8"}


def policy_of(request: Request):
    """The served KB if the path names it; else 404 naming the policy served."""
    kb = request.app.state.served.require()
    wanted = request.path_params["policy"]
    if wanted != kb.policy.id:
        raise HTTPProblem(
            404,
            "not-found",
            f"unknown policy '{wanted}'{suggest(wanted, [kb.policy.id])}; this server serves {kb.policy.id}",
            [Problem("policy", "unknown policy")],
        )
    return kb


def _kb_answer(render, media_type: str = JSON_TYPE):
    """A GET route of the policy in the path, with no query parameters: ``render(kb)`` as the body."""

    @answers
    async def route(request: Request):
        Query(request, ())
        return text_response(render(policy_of(request)), media_type)

    return route


@answers
async def policies(request: Request):
    Query(request, ())
    kb = request.app.state.served.require()
    return text_response(json_text([policy_summary(kb.policy)]))


policy = _kb_answer(lambda kb: json_text(policy_summary(kb.policy)))
items = _kb_answer(lambda kb: items_json(kb.policy))
schema = _kb_answer(lambda kb: json_text(kb.schema()), "application/schema+json")
readings = _kb_answer(lambda kb: json_text(readings_rows(kb.policy)))
vocabulary = _kb_answer(lambda kb: json_text(describe(kb.policy)))
text = _kb_answer(lambda kb: kb.policy.text, TEXT_TYPE)


@answers
async def item(request: Request):
    Query(request, ())
    kb = policy_of(request)
    wanted = request.path_params["item"]
    for row in item_rows(kb.policy):
        if row["id"] == wanted:
            return text_response(json_text(row))
    raise HTTPProblem(404, "not-found", f"unknown item '{wanted}'{suggest(wanted, kb.policy.items)}", [Problem("item", "unknown item")])


@answers
async def graph(request: Request):
    q = Query(request, ("format", "lang", "reading"))
    kb = policy_of(request)
    fmt = q.one("format", "json", tuple(GRAPH_TYPES))
    lang = q.one("lang", "zh", LANGS)
    chosen = checked_readings(kb, q.readings())
    relations = kb.graph(kb.readings_with(chosen) if chosen else None)
    if fmt == "json":
        text = g.to_json(relations, kb.policy)
    elif fmt == "dot":
        text = g.to_dot(relations, lang)
    else:
        text = g.to_mermaid(relations, lang)
    return text_response(text, GRAPH_TYPES[fmt], kind="text")  # as `policykb kb graph` writes every format


def routes() -> list[Route]:
    each = (
        ("", policy),
        ("/items", items),
        ("/items/{item}", item),
        ("/graph", graph),
        ("/schema", schema),
        ("/readings", readings),
        ("/vocabulary", vocabulary),
        ("/text", text),
    )
    return [Route("/v1/policies", policies, methods=["GET"])] + [
        Route(f"/v1/policies/{{policy}}{tail}", endpoint, methods=["GET"]) for tail, endpoint in each
    ]
