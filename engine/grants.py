"""Granted awards in the relation graph: what the relations allow an applicant's grants.

The audit (``audit/checks.py``) asks, for the grants whose own conditions hold, what the
relations of the policy allow them, across decisions and years.  They are answered as an
evaluation is: the grants go into the same durable_rules ruleset as ``$grant`` facts (one
per item, subject and year, carrying the item's relation keys), with the awards the
applications declare; the grant rules of ``engine/relation_rules.py`` derive the edges
that join them; ``engine/provenance.py`` builds the graph; the steps below resolve it, in
this order (docs/audit.md):

1. mutual exclusion per enterprise-year (``claims``/``claimed`` edges into the clause):
   the item type with the largest total granted stands (ties: first listed); under a
   one-project reading, its largest project;
2. group caps per enterprise-year (``cap_use``/``cap_used``): the running sum in policy
   order, declared awards first, crosses the cap at one grant; a grant of an exact sum
   short of what the cap leaves is short;
3. take-the-highest for one subject and kind (G4, ``same_kind``/``top_up``): what counts
   against a grant is the earlier grants and declared awards of its kind (a yearly item's
   own earlier years excepted); under top-up they may add up to the highest due, under an
   exclusive reading no second award stands;
4. requirements (``needs``/``satisfies``): a grant whose required item is neither granted
   nor declared for the subject stands on nothing;
5. another reward for the same subject (``other_reward``): granted before it in policy
   order, or declared for that year or before.

Each disagreement between what was granted and what the graph allows is a ``Verdict``
naming the relation and the graph edge it stands on.  The grants of one award are walked
in policy order with running totals, so the work is near-linear in the grants.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

import networkx as nx

from policykb.kb.model import Policy, Switch, resolve, switch_readings
from policykb.money import ZERO
from policykb.vocabulary import ProvisionKind, RelationKind

from . import compiler as comp
from . import provenance
from .application import Application, Fact
from .derive import engine_context_fact
from .relation_rules import GRANT_TYPE, THIS_POLICY
from .rules_engine import fnv1a32

SHORTFALL = "shortfall"  # granted less than is due (a floor the cap leaves room for)
EXCESS = "excess"  # granted more than the graph allows


class GrantIn(NamedTuple):
    """One granted award whose own conditions hold, as the audit hands it over (a tuple: an
    applicant may have many thousands)."""

    key: str  # unique among the applicant's grants ("<record>.<position>")
    item: str
    subject: str
    year: int
    amount: Decimal
    seq: int  # place in policy order (decided on, record, position)
    pos: int  # place in the input (record, position)
    own: tuple[Decimal, Decimal] | None  # what the item allows on its own, rounded; None if no cash bound
    due: Decimal | None = None  # the least due before group caps (None: no floor)


@dataclass(frozen=True)
class Declared:
    """An award an application declares (G4's fact), once however many applications declare it."""

    key: str
    fact: Fact
    pos: int  # first appearance

    @property
    def type(self) -> str:
        return self.fact.type

    @property
    def subject(self) -> str:
        return self.fact.subject

    def get(self, name: str) -> Any:
        return self.fact.get(name)


class Verdict(NamedTuple):
    """A disagreement between a grant and what the relation graph allows it."""

    grant: str  # the grant's key
    relation: str  # relation or provision ID
    kind: str  # its kind (RelationKind or ProvisionKind)
    disagreement: str  # EXCESS or SHORTFALL
    edge: tuple[str, str, str]  # (source, target, key) of the graph edge it stands on
    allowed: tuple[Decimal | None, Decimal | None]
    detail: tuple[tuple[str, Any], ...] = ()

    def get(self, name: str, default: Any = None) -> Any:
        for key, value in self.detail:
            if key == name:
                return value
        return default


@dataclass
class GrantGraph:
    """An applicant's grants resolved: the graph, the firings that built it and the verdicts."""

    graph: nx.MultiDiGraph
    firings: list
    verdicts: list[Verdict] = field(default_factory=list)


def declared_awards(policy: Policy, applications: Iterable[Application], held: Iterable[GrantIn]) -> list[Declared]:
    """The awards the applications declare (G4's fact type), each once, in order of first
    appearance.  An award of this policy declared for the item, subject and year of a grant
    under audit is that grant, declared again in a later application (its amount as the
    applicant gives it), not another award."""
    g4 = policy.provision(ProvisionKind.HIGHEST_WINS)
    fact_type = g4.params.get("fact") if g4 is not None else None
    if fact_type is None:
        return []
    granted = {(g.item, g.subject, g.year) for g in held}
    out: dict[str, Declared] = {}
    for app in applications:
        for f in app.facts:
            if f.type != fact_type:
                continue
            if f.get("source") == THIS_POLICY and (f.get("item"), f.subject, f.get("year")) in granted:
                continue
            key = f"{f.get('source')}:{f.get('item') or ''}@{f.subject}/{f.get('year')}:{f.get('amount')}"
            out.setdefault(key, Declared(key, f, len(out)))
    return list(out.values())


class _Session:
    """The facts of one audit run and the derivation of its edges."""

    def __init__(self, policy: Policy, prepared: Any, grants: list[GrantIn], declared: list[Declared]):
        self.policy = policy
        self.prepared = prepared
        self.derived: dict[str, dict] = {}
        self.node_of: dict[str, str] = {}
        self.facts: list[dict] = []
        ids = _fact_ids()
        money = {
            name: frozenset(f for f, spec in {**ft.fields, **ft.derived}.items() if spec.type == "money")
            for name, ft in policy.vocabulary.fact_types.items()
        }
        for d in declared:
            fid = next(ids)
            self.facts.append(engine_context_fact(d.fact, fid, prepared.keys, money.get(d.type, frozenset())))
            self.node_of[fid] = f"fact:{d.key}"
        awards: dict[str, dict] = {}
        for g in grants:
            node = provenance.award_node(g.item, g.subject, g.year)
            if node not in awards:
                fid = next(ids)
                awards[node] = {
                    "id": fid,
                    "t": GRANT_TYPE,
                    "item": g.item,
                    "subject": g.subject,
                    "year": g.year,
                    **prepared.keys.get(g.item, {}),
                }
                self.node_of[fid] = node
        self.facts.extend(awards.values())

    def __call__(self, rule: str, bindings: dict) -> list[dict]:
        info = self.prepared.rules.get(rule)
        if info is None or info.kind != "grant":
            return []
        a = bindings["a"]
        other = bindings.get("b") or bindings.get("p")
        relation = {
            "claims": "group",
            "claimed": "group",
            "cap_use": "cap",
            "cap_used": "cap",
            "needs": "needs_rel",
            "satisfies": "needs_rel",
            "other_reward": "other",
        }.get(info.edge)
        rel = a[relation] if relation else info.owner
        if other is None:  # membership: the award → the clause
            source, target = a["id"], rel
        elif info.edge in ("claimed", "cap_used"):  # a declared award counts in the clause's year
            source, target = other["id"], rel
        else:  # the award or declared award that acts → the award it acts on
            source, target = other["id"], a["id"]
        fid = f"edge:{info.edge}:{rel}:{source}>{target}"
        if fid in self.derived:
            return []
        fact = {"id": fid, "t": comp.EDGE_TYPE, "kind": info.edge, "relation": rel, "source": source, "target": target, "rule": info.name}
        self.derived[fid] = fact
        return [fact]


def _fact_ids():
    """Fact ids with pairwise distinct durable_rules identity hashes (trap 11), however many."""
    used = {fnv1a32("$begin")}
    n = 0
    while True:
        fid = f"g{n}"
        n += 1
        h = fnv1a32(fid)
        if h not in used:
            used.add(h)
            yield fid


@contextlib.contextmanager
def _bulk():
    """Pause the cyclic garbage collector while a graph of many small dicts is built and read:
    none of them is garbage, and the collector would rescan them every few hundred allocations
    (a third of the time of an applicant with 12,000 grants)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def resolve_grants(evaluator: Any, readings: Mapping[str, str], grants: list[GrantIn], applications: Iterable[Application]) -> GrantGraph:
    """Run the applicant's grants through the rules, build their graph and resolve it."""
    with _bulk():
        return _resolve_grants(evaluator, readings, grants, applications)


def _resolve_grants(evaluator: Any, readings: Mapping[str, str], grants: list[GrantIn], applications: Iterable[Application]) -> GrantGraph:
    policy = evaluator.policy
    prepared = evaluator.prepare(readings)
    declared = declared_awards(policy, applications, grants)
    session = _Session(policy, prepared, grants, declared)
    firings = evaluator.engine.run(prepared.ruleset, session.facts, session, prepared.joined) if session.facts else []
    graph = provenance.build_grants(policy, grants, declared, session.derived, session.node_of)
    result = GrantGraph(graph, firings)
    ledger = _Ledger(policy, prepared.readings, prepared.keys, graph, grants, declared)
    for step in (ledger.floors, ledger.exclusive, ledger.group_caps, ledger.same_kind, ledger.requirements, ledger.other_rewards):
        result.verdicts.extend(step())
    return result


class _Ledger:
    """The resolution steps over one applicant's grant graph."""

    def __init__(
        self,
        policy: Policy,
        readings: Mapping[str, str],
        keys: Mapping[str, Mapping[str, str]],
        graph: nx.MultiDiGraph,
        grants: list[GrantIn],
        declared: list[Declared],
    ):
        self.policy = policy
        self.keys = keys
        self.readings = readings
        self.g = graph
        self.by_key = {g.key: g for g in grants}
        self.declared = {f"fact:{d.key}": d for d in declared}
        self.of_award: dict[str, list[GrantIn]] = {}
        for g in sorted(grants, key=lambda g: g.seq):
            self.of_award.setdefault(provenance.award_node(g.item, g.subject, g.year), []).append(g)

    # -- reading the graph
    def edges_into(self, target: str, kind: str) -> list[tuple[str, str, str]]:
        if target not in self.g:
            return []
        return sorted((s, t, k) for s, t, k, d in self.g.in_edges(target, keys=True, data=True) if d.get("kind") == kind)

    def edges_from(self, source: str, kind: str) -> list[tuple[str, str, str]]:
        return sorted((s, t, k) for s, t, k, d in self.g.out_edges(source, keys=True, data=True) if d.get("kind") == kind)

    def clauses(self, kind: str) -> list[str]:
        """Clause nodes of the relations of ``kind`` with something joined, by relation id."""
        return sorted(n for n, d in self.g.nodes(data=True) if d.get("kind") == "clause" and d.get("clause_kind") == kind)

    def grants_by_year(self, clause: str, kind: str) -> dict[int, list[tuple[GrantIn, tuple[str, str, str]]]]:
        """The grants joined to ``clause`` by ``kind`` edges, by year, in input order, each with its edge."""
        out: dict[int, list] = {}
        for edge in self.edges_into(clause, kind):
            for g in self.of_award.get(edge[0], ()):
                out.setdefault(g.year, []).append((g, edge))
        for year in out:
            out[year].sort(key=lambda x: x[0].pos)
        return out

    def declared_into(self, target: str, kind: str) -> list[Declared]:
        found = [self.declared[s] for s, _, _ in self.edges_into(target, kind) if s in self.declared]
        return sorted(found, key=lambda d: d.pos)

    def repeat(self, item_id: str) -> str:
        repeat = self.policy.items[item_id].repeat
        return repeat.pick(self.readings) if isinstance(repeat, Switch) else repeat

    # -- 0. a grant short of its own floor, where no group cap took the difference
    def floors(self) -> list[Verdict]:
        out: list[Verdict] = []
        for award, joined in self.of_award.items():
            if self.edges_from(award, "cap_use"):
                continue  # the cap step weighs it against what the cap leaves
            for g in joined:
                if g.own is not None and g.due is not None and g.amount < g.own[0]:
                    edge = (provenance.grant_node(g.key), award, f"granted:{g.key}")
                    out.append(Verdict(g.key, g.item, "item", SHORTFALL, edge, g.own))
        return sorted(out, key=lambda v: self.by_key[v.grant].pos)

    # -- 1. mutual exclusion per enterprise-year
    def exclusive(self) -> list[Verdict]:
        out: list[Verdict] = []
        for clause in self.clauses(RelationKind.EXCLUSIVE):
            rel = self.policy.relations[self.g.nodes[clause]["ref"]]
            one_project = resolve(rel.params.get("projects", "all"), self.readings) == "largest"
            declared = self.declared_into(clause, "claimed")
            for year, claims in sorted(self.grants_by_year(clause, "claims").items()):
                joined = [(g, e) for g, e in claims if g.own is not None]
                if joined:
                    earlier = [d for d in declared if d.get("year") == year]
                    out.extend(self._exclusive_year(rel.id, joined, earlier, one_project))
        return out

    def _exclusive_year(self, rid: str, joined: list, earlier: list[Declared], one_project: bool) -> list[Verdict]:
        totals = _totals(joined, earlier)
        kept = self._largest(totals)
        projects_kept = 1 - [d.get("item") for d in earlier].count(kept)  # one project a year, under I-04
        ranked = sorted(joined, key=lambda x: (-x[0].amount, x[0].seq))
        same_kind = [g for g, _ in ranked if g.item == kept]
        out = []
        for g, edge in ranked:
            if g.item != kept:  # another type than the one that stands
                others = tuple((i, v) for i, v in totals.items() if i != g.item)
                out.append(Verdict(g.key, rid, RelationKind.EXCLUSIVE, EXCESS, edge, (ZERO, ZERO), (("others", others), ("kept", kept))))
            elif one_project:
                projects_kept -= 1
                if projects_kept < 0:
                    out.append(_second_project(rid, g, edge, same_kind, kept))
        return out

    def _largest(self, totals: Mapping[str, Decimal]) -> str:
        """The item type that stands: the largest total; ties, the first listed."""
        return sorted(totals, key=lambda i: (-totals[i], self.policy.items[i].order))[0]

    # -- 2. group caps per enterprise-year
    def group_caps(self) -> list[Verdict]:
        out: list[Verdict] = []
        for clause in self.clauses(RelationKind.GROUP_CAP):
            rel = self.policy.relations[self.g.nodes[clause]["ref"]]
            declared = self.declared_into(clause, "cap_used")
            for year, joined in sorted(self.grants_by_year(clause, "cap_use").items()):
                before = sum((d.get("amount") for d in declared if d.get("year") == year), ZERO)
                out.extend(self._cap_year(rel.id, rel.params["cap"], year, joined, before))
        return out

    def _cap_year(self, rid: str, cap: Decimal, year: int, joined: list, before_input: Decimal) -> list[Verdict]:
        total = before_input + sum((g.amount for g, _ in joined), ZERO)
        out = [
            Verdict(g.key, rid, RelationKind.GROUP_CAP, SHORTFALL, edge, g.own, (("cap", cap),))
            for g, edge in joined
            if _short_of_cap(g, cap, total)
        ]
        if total <= cap:
            return out
        running = before_input
        for g, edge in sorted(joined, key=lambda x: x[0].seq):
            before = running
            running += g.amount
            if running > cap:
                items = tuple(sorted({x.item for x, _ in joined}))
                out.append(
                    Verdict(
                        g.key,
                        rid,
                        RelationKind.GROUP_CAP,
                        EXCESS,
                        edge,
                        (ZERO, max(ZERO, cap - before)),
                        (("year", year), ("total", total), ("cap", cap), ("items", items)),
                    )
                )
                break
        return out

    # -- 3. take-the-highest for one subject and kind (G4)
    def same_kind(self) -> list[Verdict]:
        g4 = self.policy.provision(ProvisionKind.HIGHEST_WINS)
        if g4 is None:
            return []
        mode = resolve(g4.params.get("prior_awards", "top_up"), self.readings)
        reading = next(iter(sorted(switch_readings(g4.params.get("prior_awards")))), "")
        ledgers: dict[tuple[str, str], list] = {}  # (subject, kind) → [(grant, edge)], by first grant in input order
        priors: dict[tuple[str, str], dict[str, Declared]] = {}
        for edge in self.edges_into(f"clause:{g4.id}", "same_kind"):
            award = edge[0]
            item = self.g.nodes[award]["item"]
            key = (self.g.nodes[award]["subject"], self.keys.get(item, {}).get("kind", item))
            ledgers.setdefault(key, []).extend((g, edge) for g in self.of_award.get(award, ()) if g.own is not None)
            for d in self.declared_into(award, "top_up"):
                priors.setdefault(key, {})[d.key] = d
        out: list[Verdict] = []
        for key, joined in sorted(ledgers.items(), key=lambda kv: min((g.pos for g, _ in kv[1]), default=0)):
            if joined:
                earlier = sorted(priors.get(key, {}).values(), key=lambda d: d.pos)
                out.extend(_SameKind(self, g4.id, mode, reading, joined, earlier).verdicts())
        return out

    # -- 4. requirements
    def requirements(self) -> list[Verdict]:
        out: list[Verdict] = []
        for clause in self.clauses(RelationKind.REQUIRES):
            rel = self.policy.relations[self.g.nodes[clause]["ref"]]
            for edge in self.edges_into(clause, "needs"):
                if self.edges_into(edge[0], "satisfies"):
                    continue
                for g in self.of_award.get(edge[0], ()):
                    out.append(
                        Verdict(g.key, rel.id, RelationKind.REQUIRES, EXCESS, edge, (ZERO, ZERO), (("required", rel.params["requires"]),))
                    )
        return sorted(out, key=lambda v: self.by_key[v.grant].pos)

    # -- 5. another reward for the same subject
    def other_rewards(self) -> list[Verdict]:
        out: list[Verdict] = []
        for award, grants in self.of_award.items():
            edges = self.edges_into(award, "other_reward")
            if not edges:
                continue
            rid = self.g.edges[edges[0]]["relation"]
            rel = self.policy.relations[rid]
            # which declared awards count, from the KB: their sources, and the flag of theirs that must say so
            counted = (tuple(rel.params.get("declared_sources", ())), rel.params.get("declared_flag"))
            for g in grants:
                names: dict[str, tuple] = {}
                for edge in edges:
                    name = self._other_name(edge[0], g, counted)
                    if name is not None:
                        names.setdefault(name, edge)
                if names:
                    first = sorted(names)[0]
                    out.append(
                        Verdict(
                            g.key,
                            rid,
                            RelationKind.EXCLUDED_BY_OTHER_REWARD,
                            EXCESS,
                            names[first],
                            (ZERO, ZERO),
                            (("others", tuple(sorted(names))),),
                        )
                    )
        return sorted(out, key=lambda v: self.by_key[v.grant].seq)

    def _other_name(self, source: str, g: GrantIn, counted: tuple) -> str | None:
        """The reward ``source`` names when it counts against ``g``: granted before it in
        policy order, or declared for its year or before; None when it does not count."""
        d = self.declared.get(source)
        if d is not None:
            return (d.get("item") or d.get("source")) if _declared_reward(d, g, counted) else None
        earlier = [x for x in self.of_award.get(source, ()) if x.seq < g.seq]
        return earlier[0].item if earlier else None


class _SameKind:
    """One subject's grants of one kind (G4), walked in policy order with running aggregates."""

    def __init__(self, ledger: _Ledger, rid: str, mode: str, reading: str, joined: list, priors: list[Declared]):
        self.ledger = ledger
        self.rid = rid
        self.mode = mode
        self.reading = reading
        self.ordered = sorted(joined, key=lambda x: x[0].seq)
        self.priors = priors
        # over the grants before g, by year and by (item, year): [count, sum, max own]
        self.by_year: dict[int, list] = {}
        self.by_item_year: dict[tuple[str, int], list] = {}
        self.once_of: dict[str, bool] = {}

    def verdicts(self) -> list[Verdict]:
        out = []
        for n, (g, edge) in enumerate(self.ordered):
            once = self.once(g.item)
            count, total, entitled = self.against(g, once)
            earlier = [d for d in self.priors if _counts(g, once, d.get("item"), d.get("year"))]
            self.record(g)
            if not count and not earlier:
                continue
            running = sum((d.get("amount") for d in earlier), ZERO) + total + g.amount
            detail = (
                ("named", self.named(n, g, once, earlier)),
                ("count", len(earlier) + count),
                ("total", running),
                ("entitled", entitled),
                ("mode", self.mode),
                ("reading", self.reading),
            )
            if self.mode == "exclusive":  # no second award of the kind stands
                out.append(Verdict(g.key, self.rid, ProvisionKind.HIGHEST_WINS, EXCESS, edge, (ZERO, ZERO), detail))
            elif self.mode == "top_up" and running > entitled:  # together more than the highest due
                allowed = (ZERO, max(ZERO, entitled - (running - g.amount)))
                out.append(Verdict(g.key, self.rid, ProvisionKind.HIGHEST_WINS, EXCESS, edge, allowed, detail))
        return out

    def once(self, item_id: str) -> bool:
        found = self.once_of.get(item_id)
        if found is None:
            found = self.once_of[item_id] = self.ledger.repeat(item_id) == "once"
        return found

    def named(self, n: int, g: GrantIn, once: bool, earlier: list[Declared]) -> tuple:
        """The awards that count against the ``n``-th grant, a few of them: declared ones
        first, then the latest grants (never the whole history)."""
        named: list[tuple] = [("declared", d.get("source"), d.get("item"), d.get("year"), d.get("amount")) for d in earlier[:LISTED]]
        for j in range(n - 1, -1, -1):
            if len(named) >= LISTED:
                break
            x = self.ordered[j][0]
            if _counts(g, once, x.item, x.year):
                named.append(("granted", x.item, x.year, x.amount))
        return tuple(named)

    def against(self, g: GrantIn, once: bool) -> tuple[int, Decimal, Decimal]:
        """How many earlier grants count against ``g``, their sum, and the highest due among them and g."""
        assert g.own is not None
        count, total, entitled = 0, ZERO, g.own[1]
        for year, (c, s, m) in self.by_year.items():
            if year <= g.year:
                count, total, entitled = count + c, total + s, max(entitled, m)
        if once:
            return count, total, entitled
        # an item that repeats yearly is a new event each year: its own earlier years do not count
        for (item, year), (c, s, _) in self.by_item_year.items():
            if item == g.item and year < g.year:
                count, total = count - c, total - s
        others = [m for (item, year), (c, s, m) in self.by_item_year.items() if _counts(g, once, item, year)]
        return count, total, max([g.own[1]] + others)

    def record(self, g: GrantIn) -> None:
        assert g.own is not None
        high = g.own[1]
        for slot in (self.by_year.setdefault(g.year, [0, ZERO, ZERO]), self.by_item_year.setdefault((g.item, g.year), [0, ZERO, ZERO])):
            slot[0] += 1
            slot[1] += g.amount
            if high > slot[2]:
                slot[2] = high


LISTED = 3  # how many earlier awards a verdict names (an explanation counts the rest)


def _counts(g: GrantIn, once: bool, item: str | None, year: int) -> bool:
    """Does an award of ``item`` in ``year`` count against ``g`` (as the ~top_up rules)?"""
    return year <= g.year and (once or item != g.item or year == g.year)


def _second_project(rid: str, g: GrantIn, edge: tuple, same_kind: list[GrantIn], kept: str) -> Verdict:
    """A project of the kept type beyond the one a year allows: the largest stands, named
    with the count of the others."""
    first = same_kind[0] if same_kind[0] is not g else (same_kind[1] if len(same_kind) > 1 else None)
    same = (first.item, first.subject, first.amount) if first else None
    return Verdict(
        g.key, rid, RelationKind.EXCLUSIVE, EXCESS, edge, (ZERO, ZERO), (("same", same), ("same_count", len(same_kind) - 1), ("kept", kept))
    )


def _totals(joined: list, earlier: list[Declared]) -> dict[str, Decimal]:
    """Granted and declared by item, in the order of the input, declared awards last."""
    totals: dict[str, Decimal] = {}
    for g, _ in joined:
        totals[g.item] = totals.get(g.item, ZERO) + g.amount
    for d in earlier:
        totals[d.get("item")] = totals.get(d.get("item"), ZERO) + d.get("amount")
    return totals


def _short_of_cap(g: GrantIn, cap: Decimal, total: Decimal) -> bool:
    """Below an exact sum or a floor by more than the cap leaves beside the others?"""
    if g.own is None or g.due is None or g.amount >= g.own[0]:
        return False
    return g.amount < min(g.due, max(ZERO, cap - (total - g.amount)))


def _declared_reward(d: Declared, g: GrantIn, counted: tuple) -> bool:
    """Does a declared award count as another reward against ``g``: obtained by then, of another
    item, and of this policy, or of a source the relation names (with its flag set, if it names one)?"""
    if d.get("year") > g.year or d.get("item") == g.item:
        return False
    sources, flag = counted
    return d.get("source") == THIS_POLICY or bool(d.get("source") in sources and (flag is None or d.get(flag)))
