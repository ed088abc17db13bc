"""A decision read back from its JSON (``Decision.to_dict(include_trace=True)``) with the KB alone.

The trace carries the application as normalised input, the rule firings, the derived
facts and the relation graph with every event of the resolution; this module checks
each part, rebuilds the ``Decision`` from them and refuses — ``DecisionError``, naming
the part — a decision made with another KB version, one without a trace, or one whose
parts do not fit together.  The rebuilt decision must write back exactly the JSON it was
read from, so nothing an explanation reads can have been altered unnoticed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import networkx as nx

from policykb.errors import DecisionError, InputError, Problem
from policykb.kb.model import resolve
from policykb.money import exact
from policykb.vocabulary import Effect, RelationKind, Status

from . import provenance
from .amounts import Computed
from .application import Application, Fact
from .decision import Decision
from .documents import guard_problems
from .outcomes import Event, Outcome, Rival
from .rules_engine import Firing

_MALFORMED = (KeyError, TypeError, ValueError, AttributeError, IndexError, ArithmeticError)


@contextmanager
def _at(where: str) -> Iterator[None]:
    """Turn a malformed part of the trace into a DecisionError naming it."""
    try:
        yield
    except DecisionError:
        raise
    except InputError as exc:
        raise DecisionError([Problem(f"{where}.{p.where}" if p.where else where, p.message) for p in exc.problems]) from None
    except _MALFORMED as exc:
        raise DecisionError(Problem(where, f"malformed ({type(exc).__name__}: {str(exc)[:80]})")) from None


def decision_from_dict(kb: Any, data: Any) -> Decision:
    with exact():
        return _rebuild(kb, data)


def _rebuild(kb: Any, data: Any) -> Decision:
    trace = _checked(kb, data)
    policy = kb.policy
    with _at("readings"):
        readings = kb.readings_with(data["readings"])
        if set(data["readings"]) != set(readings):
            raise ValueError("a decision names every reading it was made under")
    with _at("trace.application"):
        app: Application = kb.parse(trace["application"])
    with _at("trace.facts"):
        facts_by_id = _facts(app, trace["facts"])
    with _at("trace.firings"):
        firings = [_firing(_mapping(f)) for f in _list(trace["firings"])]
    with _at("trace.derived"):
        derived = {str(f["id"]): f for f in map(_mapping, _list(trace["derived"]))}
    with _at("trace.graph"):
        graph = _graph(trace["graph"])
        g1_ok, covered = _admission(graph)
    with _at("outcomes"):
        outcomes = [_outcome(policy, app, graph, readings, _mapping(o)) for o in _list(data["outcomes"])]
    decision = Decision(policy, app, readings, outcomes, firings, facts_by_id, g1_ok, graph=graph, derived=derived, covered=covered)
    with _at("trace.graph.edges"):
        for o in outcomes:
            _read_events(decision, o)
    if decision.to_dict(include_trace=True) != data:
        raise DecisionError(Problem("trace", "the decision does not match its trace: it was altered after policykb wrote it"))
    return decision


def _admission(graph: nx.MultiDiGraph) -> tuple[bool, dict[str, str]]:
    """Whether G1 held, and which cover admitted the applicant for which item."""
    g1_ok = graph.graph["g1_ok"]
    covered = dict(graph.graph["covered"])
    if not isinstance(g1_ok, bool) or not all(isinstance(v, str) for v in covered.values()):
        raise ValueError("the graph records whether G1 held and which covers admitted")
    return g1_ok, covered


def _read_events(decision: Decision, o: Outcome) -> None:
    """The outcome's events, off the graph, each one this KB's resolution can have recorded."""
    o.events = decision.events(o)
    for event in o.events:
        _check_event(decision.policy, event)
    _check_edges(decision.graph, provenance.outcome_node(o.item.id, o.subject))


def _checked(kb: Any, data: Any) -> Mapping[str, Any]:
    """The trace, once the decision is known to be of this KB and to carry one."""
    if not isinstance(data, Mapping):
        raise DecisionError(Problem("", f"a saved decision is a JSON object; found {type(data).__name__}"))
    problems = guard_problems(data)
    if problems:
        raise DecisionError(problems)
    version = data.get("kb_version")
    if version != kb.version:
        shown = str(version)[:12] if isinstance(version, str) else repr(version)[:20]
        raise DecisionError(
            Problem(
                "kb_version",
                f"the decision was made with KB version {shown}, this KB is {kb.version[:12]}: evaluate the application again with this KB",
            )
        )
    if data.get("policy") != kb.policy.id:
        raise DecisionError(Problem("policy", f"the decision is not of policy {kb.policy.id}"))
    trace = data.get("trace")
    if not isinstance(trace, Mapping):
        raise DecisionError(
            Problem("trace", "the decision carries no trace: save it with --trace (include_trace=True) to explain it later")
        )
    missing = [k for k in ("application", "facts", "firings", "derived", "graph") if k not in trace]
    if missing:
        raise DecisionError(Problem("trace", f"incomplete: no {', '.join(missing)}"))
    return trace


def _mapping(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"expected an object, found {type(value).__name__}")
    return value


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError(f"expected a list, found {type(value).__name__}")
    return value


def _facts(app: Application, ids: Any) -> dict[str, Fact]:
    by_key = {f.key: f for f in app.facts}
    return {str(fid): by_key[key] for fid, key in _mapping(ids).items()}


def _firing(data: Mapping[str, Any]) -> Firing:
    firing = Firing.from_dict(dict(data))
    if not (
        isinstance(firing.seq, int)
        and isinstance(firing.rule, str)
        and all(isinstance(x, str) for pair in firing.matched for x in pair)
        and all(isinstance(d, str) for d in firing.derived)
    ):
        raise TypeError("a firing is {seq, rule, matched: {binding: fact id}, derived: [fact id]}")
    return firing


_EFFECTS = frozenset(Effect) | {"considered"}


def _check_event(policy: Any, e: Event) -> None:
    """An event is one the resolution of this KB can have recorded: its clause, kind, effect
    and reading exist, its winner is there where explanations name it, its details have
    their types."""
    _check_clause(policy, e)
    if _names_winner(e) and e.winner is None:
        raise ValueError(f"{e.by}: the event names no winner")
    unknown = [r.item for r in ((e.winner,) if e.winner else ()) + e.rivals if r.item not in policy.items]
    if unknown:
        raise ValueError(f"unknown item {unknown[0][:40]!r}")
    for key, value in e.detail:
        if not _DETAIL_TYPES.get(key, _plain)(value):
            raise ValueError(f"detail {key[:40]!r} is not what the resolution records")


def _check_clause(policy: Any, e: Event) -> None:
    owner = policy.relations.get(e.by) or policy.provisions.get(e.by)
    if owner is None or owner.kind != e.kind or e.effect not in _EFFECTS:
        raise ValueError(f"no {e.kind[:20]} clause {e.by[:40]!r} of this KB can have had effect {e.effect[:20]!r}")
    if e.reading is not None and e.reading not in policy.readings:
        raise ValueError(f"unknown reading {e.reading[:40]!r}")


def _names_winner(e: Event) -> bool:
    """Does an explanation of ``e`` name its winner?"""
    if e.kind in (RelationKind.HIGHEST, RelationKind.EXCLUSIVE) and e.effect == Effect.EXCLUDED:
        return True
    return bool(e.get("one_project")) or (e.kind == RelationKind.REQUIRES and e.effect == Effect.KEPT)


def _money_or_none(value: Any) -> bool:
    return value is None or isinstance(value, Decimal)


def _date_or_year(value: Any) -> bool:
    return value is None or isinstance(value, (dt.date, int))


def _totals(value: Any) -> bool:
    return all(
        isinstance(t, tuple) and len(t) == 3 and isinstance(t[0], str) and _money_or_none(t[1]) and _money_or_none(t[2]) for t in value
    )


def _priors(value: Any) -> bool:
    return all(isinstance(p, tuple) and len(p) == 5 and _money_or_none(p[4]) for p in value)


def _plain(value: Any) -> bool:
    return not isinstance(value, (Decimal, dt.date, Rival))


_DETAIL_TYPES: dict[str, Callable[[Any], bool]] = {
    "cap": _money_or_none,
    "total": _money_or_none,
    "granted": _money_or_none,
    "already_granted": _money_or_none,
    "date": _date_or_year,
    "from": _date_or_year,
    "to": _date_or_year,
    "totals": _totals,
    "prior": _priors,
}


def _graph(data: Any) -> nx.MultiDiGraph:
    data = _mapping(data)
    for n in _list(data["nodes"]):
        if not isinstance(_mapping(n)["id"], str):
            raise TypeError("a node's id is text")
    for e in _list(data["edges"]):
        if not all(isinstance(_mapping(e)[k], str) for k in ("source", "target", "key", "kind")):
            raise TypeError("an edge names its source, target, key and kind as text")
    graph = provenance.from_data(dict(data))
    for _, d in graph.nodes(data=True):
        _scalars(d, "state")
    for _, _, d in graph.edges(data=True):
        _scalars(d, "event")
        if d["kind"] in ("acted", "weighed") and not isinstance(d.get("order"), int):
            raise TypeError("an event edge has its order")
    return graph


def _scalars(attributes: Mapping[str, Any], nested: str) -> None:
    """A node's or edge's attributes are text, numbers, booleans or null, but for the one
    ``nested`` object (an outcome's state, an edge's event)."""
    for key, value in attributes.items():
        if key != nested and not (value is None or isinstance(value, (str, int, bool))):
            raise TypeError(f"attribute {key[:40]!r} is {type(value).__name__}")


def _check_edges(graph: nx.MultiDiGraph, node: str) -> None:
    """The plain attributes of an event edge say what its event says."""
    for _, _, d in graph.in_edges(node, data=True):
        if d["kind"] in ("acted", "weighed"):
            event = provenance.event_of(d["event"])
            winner = event.winner.item if event.winner else None
            if (d.get("by"), d.get("effect"), d.get("winner"), d.get("reading")) != (event.by, event.effect, winner, event.reading):
                raise ValueError("an event edge contradicts its event")


def _outcome(policy: Any, app: Application, graph: nx.MultiDiGraph, readings: Mapping[str, str], data: Mapping[str, Any]) -> Outcome:
    item = policy.items[data["item"]]
    node = provenance.outcome_node(item.id, data["subject"])
    state = _mapping(graph.nodes[node]["state"])
    facts = {f.key: f for f in app.facts}
    fact = facts[state["fact"]]
    verdict = state["verdict"]
    if verdict not in (True, False, None):
        raise ValueError("a verdict is true, false or null")
    o = Outcome(
        item, str(data["subject"]), fact, [facts[k] for k in _list(state["facts"])], verdict, [str(r) for r in _list(state["rules"])]
    )
    o.amount_spec = resolve(item.amount, readings)
    o.status = Status(graph.nodes[node]["status"]).value
    _amounts(o, state)
    o.by = [str(b) for b in _list(state["by"])]
    o.readings = {str(r) for r in _list(state["readings"])}
    o.missing = [str(m) for m in _list(state["missing"])]
    if not o.readings <= set(policy.readings) or not set(o.by) <= set(policy.relations) | set(policy.provisions):
        raise ValueError(f"{item.id}: readings and relations of another KB")
    return o


def _amounts(o: Outcome, state: Mapping[str, Any]) -> None:
    """The outcome's exact amounts: as computed, as settled, before the final rounding."""
    computed = state["computed"]
    if computed is not None:
        computed = _mapping(computed)
        o.computed = Computed(str(computed["kind"]), _money(computed["low"]), _money(computed["high"]), None, ())
    o.low, o.high = _money(state["low"]), _money(state["high"])
    rounded = provenance.decode(state["rounded_from"])
    o.rounded_from = None if rounded is None else (_money_value(rounded[0]), _money_value(rounded[1]))


def _money(data: Any) -> Any:
    return _money_value(provenance.decode(data))


def _money_value(value: Any) -> Any:
    if value is not None and not isinstance(value, Decimal):
        raise TypeError("an amount is a decimal")
    return value
