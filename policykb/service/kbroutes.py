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
        raise HTTPProblem(404, "not-found", f"unknown policy '{wanted}'{suggest(wanted, [kb.policy.id])}; this server serves {kb.policy.id}",
                          [Problem("policy", "unknown policy")])
    return kb


@answers
async def policies(request: Request):
    Query(request, ())
    kb = request.app.state.served.require()
    return text_response(json_text([policy_summary(kb.policy)]))


@answers
async def policy(request: Request):
    Query(request, ())
    return text_response(json_text(policy_summary(policy_of(request).policy)))


@answers
async def items(request: Request):
    Query(request, ())
    return text_response(items_json(policy_of(request).policy))


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
    from policykb.kb import graph as g

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


@answers
async def schema(request: Request):
    Query(request, ())
    return text_response(json_text(policy_of(request).schema()), "application/schema+json")


@answers
async def readings(request: Request):
    Query(request, ())
    return text_response(json_text(readings_rows(policy_of(request).policy)))


@answers
async def vocabulary(request: Request):
    from policykb.forms import vocabulary as describe

    Query(request, ())
    return text_response(json_text(describe(policy_of(request).policy)))


@answers
async def text(request: Request):
    Query(request, ())
    return text_response(policy_of(request).policy.text, TEXT_TYPE)


def routes() -> list[Route]:
    return [
        Route("/v1/policies", policies, methods=["GET"]),
        Route("/v1/policies/{policy}", policy, methods=["GET"]),
        Route("/v1/policies/{policy}/items", items, methods=["GET"]),
        Route("/v1/policies/{policy}/items/{item}", item, methods=["GET"]),
        Route("/v1/policies/{policy}/graph", graph, methods=["GET"]),
        Route("/v1/policies/{policy}/schema", schema, methods=["GET"]),
        Route("/v1/policies/{policy}/readings", readings, methods=["GET"]),
        Route("/v1/policies/{policy}/vocabulary", vocabulary, methods=["GET"]),
        Route("/v1/policies/{policy}/text", text, methods=["GET"]),
    ]
