"""The relation graph of one evaluation, built from the facts the rules derived.

One networkx ``MultiDiGraph`` per evaluation:

- nodes: ``fact:<key>`` for each fact of the application (item facts, awards
  already granted, support enjoyed); ``outcome:<item>@<subject>`` for each outcome;
  ``clause:<id>`` for each provision or relation with something to act on;
- edges, each with ``kind`` and the ``rule`` whose firing derived it:
  ``met`` / ``undetermined`` (fact → outcome), ``member`` (relation → outcome, from
  the relation keys the ``$met`` fact carries), and the relation edges the relation
  rules asserted — ``highest`` and ``exclusive`` (outcome → outcome), ``claimed``
  (award → outcome), ``cap_used`` (award → cap), ``top_up`` (award → outcome),
  ``other_reward`` and ``satisfies`` (outcome or award → outcome),
  ``case_by_case`` (support → outcome); ``covered`` and ``in_period`` (provision →
  applicant) and ``out_of_period`` (provision → fact).

``engine/resolve.py`` decides on this graph; with the rule firings it is the
decision's provenance (``Decision.provenance``), serialisable as node-link JSON.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import networkx as nx

from policykb.money import fmt
from policykb.vocabulary import ADVERSE, ALIVE

from . import compiler as comp
from .outcomes import Event, Outcome, Rival

if TYPE_CHECKING:
    from policykb.kb.model import Policy

    from .application import Application


def _after_fork_in_child() -> None:
    # On Python 3.11 every functools.cached_property holds one RLock shared by all
    # instances; networkx graphs use them (adj, nodes, edges …).  A fork taken while
    # another thread was inside one would hang the child at its first graph.
    for cls in (nx.Graph, nx.DiGraph, nx.MultiGraph, nx.MultiDiGraph):
        for value in vars(cls).values():
            if isinstance(value, functools.cached_property) and hasattr(value, "lock"):
                value.lock = threading.RLock()


os.register_at_fork(after_in_child=_after_fork_in_child)

MEMBER_FIELDS = ("ladder", "group", "cap", "other", "needs_rel")


def outcome_node(item: str, subject: str) -> str:
    return f"outcome:{item}@{subject}"


def build(
    policy: Policy, app: Application, outcomes: Iterable[Any], derived: Mapping[str, dict], key_of: Mapping[str, str]
) -> nx.MultiDiGraph:
    """The graph of one evaluation.  ``key_of`` maps engine fact ids to fact keys."""
    g: nx.MultiDiGraph = nx.MultiDiGraph(policy=policy.id, kb_version=policy.version, year=app.year)
    g.add_node("applicant", kind="applicant", ref=app.applicant_id)
    for f in app.facts:
        g.add_node(f"fact:{f.key}", kind="fact", type=f.type, subject=f.subject, role=f.role)
    for o in outcomes:
        g.add_node(outcome_node(o.item.id, o.subject), kind="outcome", item=o.item.id, subject=o.subject, order=o.item.order)

    def node(ref: str) -> str:
        fact = derived.get(ref)
        if fact is not None and fact["t"] in (comp.MET_TYPE, comp.UNDETERMINED_TYPE):
            return outcome_node(fact["item"], fact["subject"])
        if ref in key_of:
            return f"fact:{key_of[ref]}"
        return clause(ref)

    def clause(cid: str) -> str:
        return clause_node(g, policy, cid)

    for fid, fact in sorted(derived.items()):
        t = fact["t"]
        if t in (comp.MET_TYPE, comp.UNDETERMINED_TYPE):
            target = outcome_node(fact["item"], fact["subject"])
            label = "met" if t == comp.MET_TYPE else "undetermined"
            g.add_edge(f"fact:{key_of[fact['fact']]}", target, key=fid, kind=label, rule=fact["rule"])
            if t == comp.MET_TYPE:
                for name in MEMBER_FIELDS:
                    if name in fact:
                        g.add_edge(clause(fact[name]), target, key=f"member:{fact[name]}", kind="member")
        elif t == comp.EDGE_TYPE:
            g.add_edge(node(fact["source"]), node(fact["target"]), key=fid, kind=fact["kind"], relation=fact["relation"], rule=fact["rule"])
        elif t in (comp.COVERED_TYPE, comp.IN_PERIOD_TYPE):
            g.add_edge(clause(fact["by"]), "applicant", key=fid, kind="covered" if t == comp.COVERED_TYPE else "in_period")
        elif t == comp.COVER_TYPE:
            g.add_edge(clause(fact["by"]), "applicant", key=fid, kind="cover", rule=fact["rule"])
        elif t == comp.OUT_OF_PERIOD_TYPE:
            g.add_edge(clause(fact["by"]), f"fact:{key_of[fact['fact']]}", key=fid, kind="out_of_period")
    return g


def clause_node(g: nx.MultiDiGraph, policy: Any, cid: str) -> str:
    """The node of a relation or provision, added on first use."""
    name = f"clause:{cid}"
    if name not in g:
        owner = policy.relations.get(cid) or policy.provisions.get(cid)
        g.add_node(name, kind="clause", ref=cid, clause_kind=owner.kind if owner else "", quote=owner.quote if owner else "")
    return name


def grant_node(key: str) -> str:
    return f"grant:{key}"


def award_node(item: str, subject: str, year: int) -> str:
    return f"award:{item}@{subject}/{year}"


def build_grants(
    policy, grants: Iterable[Any], declared: Iterable[Any], derived: Mapping[str, dict], node_of: Mapping[str, str]
) -> nx.MultiDiGraph:
    """The relation graph of an applicant's grants under audit (engine/grants.py).

    Nodes: ``grant:<key>`` (kind ``grant``) for each award granted, ``award:<item>@<subject>/<year>``
    (kind ``award``: the ``$grant`` fact the rules joined, one per item, subject and year, with a
    ``granted`` edge from each of its grants), ``fact:<key>`` for each award the applications
    declare, and ``clause:<id>``; edges: those the grant rules derived (``claims``, ``claimed``,
    ``cap_use``, ``cap_used``, ``needs``, ``satisfies``, ``same_kind``, ``top_up``,
    ``other_reward``).  ``node_of`` maps the rules' fact ids to these nodes.
    """
    g: nx.MultiDiGraph = nx.MultiDiGraph(policy=policy.id, kb_version=policy.version)
    for d in declared:
        g.add_node(f"fact:{d.key}", kind="fact", type=d.type, subject=d.subject, role="context")
    grants = list(grants)
    awards = {award_node(x.item, x.subject, x.year): x for x in reversed(grants)}
    g.add_nodes_from((a, {"kind": "award", "item": x.item, "subject": x.subject, "year": x.year}) for a, x in sorted(awards.items()))
    g.add_nodes_from(
        (grant_node(x.key), {"kind": "grant", "item": x.item, "subject": x.subject, "year": x.year, "amount": x.amount, "seq": x.seq})
        for x in grants
    )
    granted: Any = ((grant_node(x.key), award_node(x.item, x.subject, x.year), f"granted:{x.key}", {"kind": "granted"}) for x in grants)
    g.add_edges_from(granted)  # (u, v, key, data): the stubs know only the 2- and 3-tuples

    def node(ref: str) -> str:
        return node_of.get(ref) or clause_node(g, policy, ref)

    for fid, fact in sorted(derived.items()):
        g.add_edge(node(fact["source"]), node(fact["target"]), key=fid, kind=fact["kind"], relation=fact["relation"], rule=fact["rule"])
    return g


def record_resolution(g: nx.MultiDiGraph, outcomes: Iterable[Outcome], *, g1_ok: bool, covered: Mapping[str, str]) -> None:
    """Write the resolution into the graph, so that the graph alone explains the decision.

    Each outcome node gets its final status and bounds, and its ``state`` (the fact that
    decided it, the rules that fired for it, its exact amounts, the readings it depends on).
    Each provision or relation that excluded, reduced or ruled it out draws an ``acted``
    edge; one that weighed it and kept it (a winner, a cap with room left) a ``weighed``
    edge.  Both carry the whole event in JSON-ready form (``event``) and its ``order``.
    """
    g.graph["g1_ok"] = g1_ok
    g.graph["covered"] = dict(sorted(covered.items()))
    for o in outcomes:
        node = outcome_node(o.item.id, o.subject)
        paid = o.status in ALIVE
        g.nodes[node].update(
            status=o.status,
            min=fmt(o.low) if paid and o.low is not None else None,
            max=fmt(o.high) if paid and o.high is not None else None,
            state=outcome_state(o),
        )
        for n, event in enumerate(o.events):
            _record_event(g, node, n, event)


def _record_event(g: nx.MultiDiGraph, node: str, n: int, event: Event) -> None:
    source = f"clause:{event.by}"
    if source not in g:
        g.add_node(source, kind="clause", ref=event.by, clause_kind=event.kind, quote="")
    kind = "acted" if event.effect in ADVERSE else "weighed"
    g.add_edge(
        source,
        node,
        key=f"{kind}:{event.by}:{n}",
        kind=kind,
        by=event.by,
        effect=event.effect,
        winner=event.winner.item if event.winner else None,
        reading=event.reading,
        order=n,
        event=event_data(event),
    )


def outcome_state(o: Outcome) -> dict[str, Any]:
    """What an outcome node records of its outcome, JSON-ready (``Decision.from_dict`` reads it back)."""
    computed = o.computed
    return {
        "fact": o.fact.key,
        "facts": [f.key for f in o.facts],
        "verdict": o.verdict,
        "rules": list(o.rules),
        "computed": None if computed is None else {"kind": computed.kind, "low": encode(computed.low), "high": encode(computed.high)},
        "low": encode(o.low),
        "high": encode(o.high),
        "rounded_from": encode(o.rounded_from),
        "by": list(o.by),
        "readings": sorted(o.readings),
        "missing": list(o.missing),
    }


# -- exact values in JSON: Decimals and dates keep their type, tuples come back as tuples --


def encode(value: Any) -> Any:
    """``value`` as JSON data that ``decode`` turns back into an equal value of the same type
    (a Decimal keeps its exponent: an explanation prints it as it was)."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if isinstance(value, Rival):
        return {"rival": [value.item, value.subject, encode(value.high), value.status]}
    if isinstance(value, (tuple, list)):
        return [encode(v) for v in value]
    raise TypeError(f"cannot record {type(value).__name__} in the provenance")


def decode(data: Any) -> Any:
    """The inverse of ``encode``; raises ValueError on anything ``encode`` cannot have written."""
    if isinstance(data, (bool, int, str)) or data is None:
        return data
    if isinstance(data, list):
        return tuple(decode(v) for v in data)
    if isinstance(data, dict) and len(data) == 1:
        ((tag, value),) = data.items()
        decoder = _DECODERS.get(tag)
        if decoder is not None:
            return decoder(value)
    raise ValueError("not a value the provenance records")


def _decimal(value: Any) -> Decimal:
    if not isinstance(value, str) or len(value) > 40:
        raise ValueError("a decimal is written as text")
    try:
        number = Decimal(value)
    except ArithmeticError:
        raise ValueError(f"not a decimal: {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"not a finite decimal: {value!r}")
    return number


def _date(value: Any) -> dt.date:
    if not isinstance(value, str):
        raise ValueError("a date is written as text")
    return dt.date.fromisoformat(value)


def _rival(value: Any) -> Rival:
    if not (isinstance(value, list) and len(value) == 4):
        raise ValueError("a rival is [item, subject, amount, status]")
    item, subject, high, status = decode(value)
    amount: Any = high  # a Decimal, or (a prior award's) amount as written
    if not (
        isinstance(item, str)
        and isinstance(subject, str)
        and isinstance(status, str)
        and (high is None or isinstance(high, (Decimal, str)))
    ):
        raise ValueError("a rival is [item, subject, amount, status]")
    return Rival(item, subject, amount, status)


_DECODERS: dict[str, Callable[[Any], Any]] = {"decimal": _decimal, "date": _date, "rival": _rival}


def event_data(event: Event) -> dict[str, Any]:
    return {
        "by": event.by,
        "kind": event.kind,
        "effect": event.effect,
        "before": encode(event.before),
        "after": encode(event.after),
        "winner": encode(event.winner),
        "rivals": encode(event.rivals),
        "detail": [[k, encode(v)] for k, v in event.detail],
        "reading": event.reading,
    }


def event_of(data: Any) -> Event:
    """The event an ``acted`` or ``weighed`` edge records; ValueError if it is not one."""
    if not isinstance(data, dict):
        raise ValueError("an event is an object")
    by, kind, effect = (_text(data, k) for k in ("by", "kind", "effect"))
    reading = data.get("reading")
    if not (reading is None or isinstance(reading, str)):
        raise ValueError("an event's reading is text or null")
    winner = decode(data.get("winner"))
    rivals = decode(data.get("rivals", []))
    if not (winner is None or isinstance(winner, Rival)) or not all(isinstance(r, Rival) for r in rivals):
        raise ValueError("an event's winner and rivals are rivals")
    return Event(
        by,
        kind,
        effect,
        before=_pair(decode(data.get("before"))),
        after=_pair(decode(data.get("after"))),
        winner=winner,
        rivals=rivals,
        detail=_detail(data.get("detail", [])),
        reading=reading,
    )


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise ValueError(f"an event's {key} is text")
    return value


def _detail(data: Any) -> tuple[tuple[str, Any], ...]:
    if not isinstance(data, list) or not all(isinstance(d, list) and len(d) == 2 and isinstance(d[0], str) for d in data):
        raise ValueError("an event's detail is a list of [name, value]")
    return tuple((k, decode(v)) for k, v in data)


def _pair(value: Any) -> tuple[Decimal | None, Decimal | None] | None:
    if value is None:
        return None
    if isinstance(value, tuple) and len(value) == 2 and all(v is None or isinstance(v, Decimal) for v in value):
        return (value[0], value[1])
    raise ValueError("bounds are [min, max]")


def events(g: nx.MultiDiGraph, node: str) -> list[Event]:
    """The events the resolution recorded for the outcome ``node``, in the order they happened."""
    if node not in g:
        return []
    found = [(d["order"], d["event"]) for _, _, d in g.in_edges(node, data=True) if d.get("kind") in ("acted", "weighed")]
    return [event_of(data) for _, data in sorted(found, key=lambda pair: pair[0])]


def into(g: nx.MultiDiGraph, node: str, kind: str, relation: str | None = None) -> list[str]:
    """Sources of the ``kind`` edges into ``node`` (of ``relation`` when given), each once."""
    if node not in g:
        return []
    out: dict[str, None] = {}
    for source, _, data in g.in_edges(node, data=True):
        if data.get("kind") == kind and (relation is None or data.get("relation") == relation):
            out[source] = None
    return list(out)


def has_edge_kind(g: nx.MultiDiGraph, source: str, target: str, kind: str) -> bool:
    if not g.has_node(source) or not g.has_node(target):
        return False
    none: dict[str, dict[str, Any]] = {}
    return any(d.get("kind") == kind for d in g.get_edge_data(source, target, default=none).values())


def to_data(g: nx.MultiDiGraph) -> dict:
    """Node-link JSON of the graph, in a canonical order."""
    nodes = [{"id": n, **{k: v for k, v in sorted(d.items())}} for n, d in sorted(g.nodes(data=True))]
    edges = [
        {"source": a, "target": b, "key": k, **{x: y for x, y in sorted(d.items())}}
        for a, b, k, d in sorted(g.edges(keys=True, data=True), key=lambda e: (e[0], e[1], str(e[2])))
    ]
    return {"directed": True, "multigraph": True, "graph": dict(sorted(g.graph.items())), "nodes": nodes, "edges": edges}


def from_data(data: dict) -> nx.MultiDiGraph:
    g: nx.MultiDiGraph = nx.MultiDiGraph(**data.get("graph", {}))
    for n in data["nodes"]:
        attrs = {k: v for k, v in n.items() if k != "id"}
        g.add_node(n["id"], **attrs)
    for e in data["edges"]:
        attrs = {k: v for k, v in e.items() if k not in ("source", "target", "key")}
        g.add_edge(e["source"], e["target"], key=e["key"], **attrs)
    return g


_EDGE_STYLE = {
    "met": "color=darkgreen",
    "undetermined": "color=orange, style=dashed",
    "member": "color=gray, style=dotted",
    "exclusive": "color=red, dir=none",
    "highest": "color=blue, dir=none",
    "claimed": "color=red",
    "cap_used": "color=purple",
    "top_up": "color=purple",
    "other_reward": "color=red",
    "satisfies": "color=darkgreen",
    "case_by_case": "color=red",
    "covered": "color=darkgreen",
    "in_period": "color=darkgreen",
    "out_of_period": "color=red",
    "acted": "color=black, penwidth=2",
    "granted": "color=gray",
    "claims": "color=red",
    "cap_use": "color=purple",
    "needs": "color=gray, style=dotted",
    "same_kind": "color=purple",
}


def to_dot(g: nx.MultiDiGraph) -> str:
    """The graph as Graphviz DOT, in a canonical order."""

    def q(text: str) -> str:
        return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'

    shapes = {"fact": "note", "outcome": "box", "clause": "hexagon", "applicant": "ellipse", "grant": "component", "award": "box3d"}
    lines = [
        "digraph provenance {",
        "  rankdir=LR;",
        '  node [fontname="Noto Sans CJK SC", fontsize=10];',
        '  edge [fontname="Noto Sans CJK SC", fontsize=9];',
    ]
    for n, d in sorted(g.nodes(data=True)):
        label = n.split(":", 1)[1] if ":" in n else n
        if d.get("kind") == "outcome" and d.get("status"):
            label += f"\n{d['status']}" + (f" {d['max']}" if d.get("max") else "")
        lines.append(f"  {q(n)} [label={q(label)}, shape={shapes.get(d.get('kind'), 'box')}];")
    for a, b, _k, d in sorted(g.edges(keys=True, data=True), key=lambda e: (e[0], e[1], str(e[2]))):
        if d["kind"] == "weighed":  # a relation that weighed an outcome and kept it: the picture shows what acted
            continue
        label = d["kind"] + (f" {d['relation']}" if d.get("relation") else "") + (f"\n{d['rule']}" if d.get("rule") else "")
        if d["kind"] == "acted":
            label = f"{d['effect']} by {d['by']}"
        style = _EDGE_STYLE.get(d["kind"], "")
        lines.append(f"  {q(a)} -> {q(b)} [label={q(label)}{', ' + style if style else ''}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
