"""The derivation of a decision as a networkx directed graph, serialisable to JSON.

Nodes: the applicant; each fact; each rule firing; each outcome (with its amount
steps); each relation or provision that acted; each reading an outcome depends on.
Edges: fact → firing (matched), firing → outcome (derived met), relation/provision
→ outcome (acted: excluded, reduced, kept …, with competitors and amounts),
reading → outcome (depends on).  It is read off the decision's provenance — its
firings and the events its relation graph records — so a decision read back from
JSON gives the same trace.  Nodes and edges are added in a canonical order, so the
JSON is the same for the same decision.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import networkx as nx

from policykb.engine.amounts import compute
from policykb.engine.application import Fact
from policykb.engine.outcomes import Event, Outcome
from policykb.kb.model import resolve
from policykb.money import fmt

if TYPE_CHECKING:
    from policykb.engine.decision import Decision


def _bounds(pair: tuple[Decimal | None, Decimal | None] | None) -> list[str | None] | None:
    if not pair:
        return None
    return [fmt(pair[0]) if pair[0] is not None else None, fmt(pair[1]) if pair[1] is not None else None]


def _money(value: Any) -> Any:
    return fmt(value) if isinstance(value, Decimal) else value


def trace_graph(decision: Decision) -> nx.DiGraph:
    g: nx.DiGraph = nx.DiGraph(
        policy=decision.policy.id, kb_version=decision.kb_version, year=decision.application.year, readings=dict(decision.readings)
    )
    _add_facts(g, decision)
    fact_of = dict(decision.facts_by_id)
    _add_firings(g, decision, fact_of)
    for o in decision.outcomes:
        node = _add_outcome(g, decision, o)
        _add_derivation(g, decision, o, node, fact_of)
        for n, event in enumerate(decision.events(o)):
            _add_event(g, decision, node, n, event)
        _add_readings(g, decision, o, node)
    return g


def _add_facts(g: nx.DiGraph, decision: Decision) -> None:
    app = decision.application
    g.add_node("applicant", kind="applicant", id=app.applicant["id"], g1=decision.g1_ok)
    for fact in app.facts:
        g.add_node(
            f"fact:{fact.key}",
            kind="fact",
            type=fact.type,
            subject=fact.subject,
            role=fact.role,
            date=fact.date.isoformat() if fact.date else None,
            source=fact.source,
        )


def _add_firings(g: nx.DiGraph, decision: Decision, fact_of: dict[str, Fact]) -> None:
    for firing in decision.firings:
        node = f"firing:{firing.seq}"
        g.add_node(node, kind="firing", rule=firing.rule, seq=firing.seq)
        for binding, fid in firing.matched:
            source = f"fact:{fact_of[fid].key}" if fid in fact_of else "applicant"
            g.add_edge(source, node, kind="matched", binding=binding)


def _add_outcome(g: nx.DiGraph, decision: Decision, o: Outcome) -> str:
    node = f"outcome:{o.item.id}:{o.subject}"
    steps = []
    if o.verdict is True:
        traced = compute(resolve(o.item.amount, decision.readings), o.fact.values.get, decision.readings, trace=True)
        steps = [
            {
                "op": s.op,
                "says": s.says,
                "low": fmt(s.low) if s.low is not None else None,
                "high": fmt(s.high) if s.high is not None else None,
            }
            for s in traced.steps
        ]
    g.add_node(
        node,
        kind="outcome",
        item=o.item.id,
        subject=o.subject,
        status=o.status,
        min=fmt(o.low) if o.low is not None else None,
        max=fmt(o.high) if o.high is not None else None,
        verdict=o.verdict,
        missing=list(o.missing),
        steps=steps,
        quote=o.item.quote,
    )
    for f in o.facts:
        g.add_edge(f"fact:{f.key}", node, kind="about")
    return node


def _add_derivation(g: nx.DiGraph, decision: Decision, o: Outcome, node: str, fact_of: dict[str, Fact]) -> None:
    for firing in decision.firings:
        if firing.rule in o.rules and any(fact_of.get(fid) is o.fact for _, fid in firing.matched):
            g.add_edge(f"firing:{firing.seq}", node, kind="derived", derived=f"met:{o.item.id}:{o.fact.key}")


def _add_event(g: nx.DiGraph, decision: Decision, node: str, n: int, event: Event) -> None:
    policy = decision.policy
    source = f"rule:{event.by}"
    if source not in g:
        owner = policy.relations.get(event.by) or policy.provisions.get(event.by)
        g.add_node(
            source,
            kind="relation" if event.by in policy.relations else "provision",
            id=event.by,
            relation_kind=event.kind,
            quote=owner.quote if owner else "",
        )
    g.add_edge(
        source,
        node,
        kind="acted",
        effect=event.effect,
        order=n,
        before=_bounds(event.before),
        after=_bounds(event.after),
        winner=[event.winner.item, event.winner.subject] if event.winner else None,
        rivals=[[r.item, r.subject, _money(r.high), r.status] for r in event.rivals],
        reading=event.reading,
    )


def _add_readings(g: nx.DiGraph, decision: Decision, o: Outcome, node: str) -> None:
    for rid in sorted(o.readings):
        reading = f"reading:{rid}"
        if reading not in g:
            g.add_node(reading, kind="reading", id=rid, option=decision.readings[rid])
        g.add_edge(reading, node, kind="depends")


def trace_json(decision: Decision) -> str:
    data = nx.node_link_data(trace_graph(decision), edges="edges")
    return json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n"
