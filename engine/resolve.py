"""Resolution after the fixpoint: provisions and relations, in the order the text implies.

The rules engine only says which items' conditions hold.  Everything that removes
or reduces a benefit happens here, over the relation graph's groups, in this order
(reading-rules §2–§4):

1. G1 eligibility of the applicant, G3 the period (the year, and dated events);
2. G2 case-by-case support already enjoyed (scope: reading I-08);
3. take the highest among items met now for the same subject (H-*);
4. mutual exclusion per enterprise-year (X-m01): each item type's total after its
   group cap is compared, the largest wins (ties: larger before caps, then first
   listed); I-04 decides whether several projects of one type add up;
5. group caps per enterprise-year (CAP-m01, CAP-m23, CAP-m23-suzhou), allocated largest
   first, in the order relations.yaml lists them; before the first and after each, a
   member whose required item is out is excluded (R-m23), so it takes no share of a cap;
6. G4 against awards already granted or declared (I-05: top-up or exclusive);
7. exclusion by another reward for the same subject (X-m14, I-09);
8. requirements (R-m23).

Each step appends an ``Event`` to every outcome it weighed, so explanations can
name the relation, the winner, the runners-up and their amounts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import networkx as nx

from policykb.kb.model import Policy, Provision, Relation, resolve, switch_readings
from policykb.money import ZERO
from policykb.vocabulary import Effect, ProvisionKind, RelationKind, Status

from .amounts import round_outcome
from .application import Application, Fact
from .outcomes import Event, Outcome, Rival
from .provenance import into, outcome_node
from .relation_rules import THIS_POLICY


class Statics:
    """What resolution needs from a policy, computed once: provisions and relations by
    kind, and the reading each switchable parameter depends on."""

    def __init__(self, policy: Policy):
        self.policy = policy
        self.provisions = {p.kind: p for p in policy.provisions.values()}
        self.relations: dict[str, list[Relation]] = {}
        for rel in policy.relations.values():
            self.relations.setdefault(rel.kind, []).append(rel)
        # items some cover of the eligibility provision may admit, under some reading
        self.coverable: set[str] = set()
        for prov in policy.provisions.values():
            covers = prov.params.get("covers", ())
            for case in covers.cases.values() if hasattr(covers, "cases") else [covers]:
                for cover in case:
                    self.coverable.update(cover.items)
        self.reading: dict[tuple[str, str], str | None] = {}
        for owner in list(policy.relations.values()) + list(policy.provisions.values()):
            for name, value in owner.params.items():
                found = sorted(switch_readings(value))
                self.reading[(owner.id, name)] = found[0] if found else None


@dataclass
class Context:
    """One evaluation's outcomes and relation graph (``engine/provenance.py``).

    Every question "which outcomes, awards or support does this relation join?" is
    answered by the graph's edges, which the relation rules derived; this module
    only decides, in the documented order, what those relations do.
    """

    policy: Policy
    app: Application
    readings: Mapping[str, str]
    graph: Any  # networkx.MultiDiGraph
    g1_ok: bool
    in_period: bool
    out_of_period: set[str]  # keys of facts dated outside the period
    statics: Statics
    covered: Mapping[str, str] = field(default_factory=dict)  # item ID → cover rule admitting the applicant (I-14)
    by_node: dict[str, Outcome] = field(default_factory=dict)
    facts: dict[str, Fact] = field(default_factory=dict)  # graph node → fact
    context: dict[str, list[Fact]] = field(default_factory=dict)  # context facts by type

    def reading_of(self, owner_id: str, param: str) -> str | None:
        return self.statics.reading.get((owner_id, param))

    def priors(self) -> list[Fact]:
        return self.context_facts(self.provision(ProvisionKind.HIGHEST_WINS))

    def node(self, o: Outcome) -> str:
        return outcome_node(o.item.id, o.subject)

    def sources(self, target: str, kind: str, relation: str | None = None) -> list[str]:
        return into(self.graph, target, kind, relation)

    def facts_into(self, target: str, kind: str, relation: str | None = None) -> list[Fact]:
        """Context facts with a ``kind`` edge into ``target``, in the application's order."""
        found = {self.facts[n].key for n in self.sources(target, kind, relation) if n in self.facts}
        return [f for f in self.app.facts if f.key in found]

    def outcomes_into(self, target: str, kind: str, relation: str | None = None) -> list[Outcome]:
        found = [self.by_node[n] for n in self.sources(target, kind, relation) if n in self.by_node]
        return sorted(found, key=lambda o: o.key)

    def granted_claims(self, rel: Relation, members: list[Outcome]) -> list[Fact]:
        """Awards of this policy already granted this year under an exclusive relation."""
        return self.facts_into(f"clause:{rel.id}", "claimed")

    def same_kind_priors(self, o: Outcome) -> list[Fact]:
        """Awards already granted or declared for the same subject and kind (G4 edges).

        An item that repeats yearly (its ``repeat`` under the readings) is a new event each
        year: its own awards of earlier years do not count, but earlier awards of the other
        items of its kind (a lower level of its ladder) still do — the ``~top_up`` rules
        derive exactly those edges."""
        return self.facts_into(self.node(o), "top_up")

    def net_of_priors(self, o: Outcome) -> Decimal:
        """What ``o`` would still pay after G4: its ceiling less what was already granted."""
        found = self.same_kind_priors(o)
        if not found:
            return _high(o)
        g4 = self.provision(ProvisionKind.HIGHEST_WINS)
        if g4 is not None and resolve(g4.params["prior_awards"], self.readings) == "exclusive":
            return ZERO
        return max(ZERO, _high(o) - sum((p.get("amount") for p in found), ZERO))

    def members(self, rel: Relation) -> list[Outcome]:
        """The outcomes a relation joins (its ``member`` edges), in policy order."""
        clause = f"clause:{rel.id}"
        if clause not in self.graph:
            return []
        found = {b for _, b, d in self.graph.out_edges(clause, data=True) if d.get("kind") == "member"}
        return sorted((self.by_node[n] for n in found if n in self.by_node), key=lambda o: o.key)

    def provision(self, kind: str) -> Provision | None:
        return self.statics.provisions.get(kind)

    def context_facts(self, provision: Provision | None) -> list[Fact]:
        if provision is None or "fact" not in provision.params:
            return []
        return self.context.get(provision.params["fact"], [])

    def relations(self, kind: str) -> list[Relation]:
        """The relations of a kind that join an outcome, in policy order."""
        return [r for r in self.statics.relations.get(kind, ()) if f"clause:{r.id}" in self.graph]


def _high(o: Outcome) -> Decimal:
    """A cash outcome's upper bound (every cash outcome has one)."""
    return o.high if o.high is not None else ZERO


def _low(o: Outcome) -> Decimal:
    return o.low if o.low is not None else ZERO


def _raw_high(o: Outcome) -> Decimal:
    """The upper bound before the item's own cap (ties, reading-rules §3)."""
    return o.computed.raw_high if o.computed is not None and o.computed.raw_high is not None else ZERO


def _rank(o: Outcome) -> tuple:
    """Largest after caps first; ties: larger before caps, then first listed, then subject."""
    return (-_high(o), -_raw_high(o), o.item.order, o.subject)


def resolve_all(outcomes: list[Outcome], ctx: Context) -> None:
    """Apply every provision and relation, then round the final figures to the fen."""
    for o in outcomes:
        ctx.by_node[ctx.node(o)] = o
    for f in ctx.app.facts:
        ctx.facts[f"fact:{f.key}"] = f
        if f.role == "context":
            ctx.context.setdefault(f.type, []).append(f)
    eligibility(outcomes, ctx)
    period(outcomes, ctx)
    case_by_case(outcomes, ctx)
    for rel in ctx.relations(RelationKind.HIGHEST):
        highest(outcomes, ctx, rel)
    for rel in ctx.relations(RelationKind.EXCLUSIVE):
        exclusive(outcomes, ctx, rel)
    # An item whose required partner is out takes no share of a group cap (Suzhou's cap goes
    # to the loans whose Taicang subsidy stands): requirements are settled before the caps and
    # again after each cap, so a cap listed later sees what an earlier cap cut out.
    for rel in ctx.relations(RelationKind.REQUIRES):
        requires(outcomes, ctx, rel, final=False)
    for cap in ctx.relations(RelationKind.GROUP_CAP):
        group_cap(outcomes, ctx, cap)
        for rel in ctx.relations(RelationKind.REQUIRES):
            requires(outcomes, ctx, rel, final=False)
    prior_awards(outcomes, ctx)
    for rel in ctx.relations(RelationKind.EXCLUDED_BY_OTHER_REWARD):
        other_reward(outcomes, ctx, rel)
    for rel in ctx.relations(RelationKind.REQUIRES):
        requires(outcomes, ctx, rel)
    for o in outcomes:
        if o.high is not None:
            low, high = round_outcome(o.low, o.high)
            if (low, high) != (o.low, o.high):
                o.rounded_from = (o.low, o.high)
                o.low, o.high = low, high


def eligibility(outcomes: list[Outcome], ctx: Context) -> None:
    g1 = ctx.provision(ProvisionKind.ELIGIBILITY)
    if g1 is None or ctx.g1_ok:  # G1's rule derived $covered
        return
    reading = ctx.reading_of(g1.id, "covers")
    for o in outcomes:
        cover = ctx.covered.get(o.item.id)
        if cover is not None:
            # the measure's own words admit this applicant for this item (a cover of G1)
            o.act(Event(g1.id, g1.kind, Effect.COVERED, detail=(("cover", cover),), reading=reading))
            continue
        o.act(
            Event(
                g1.id, g1.kind, Effect.INELIGIBLE, before=(o.low, o.high), reading=reading if o.item.id in ctx.statics.coverable else None
            ),
            status=Status.INELIGIBLE,
        )


def period(outcomes: list[Outcome], ctx: Context) -> None:
    g3 = ctx.provision(ProvisionKind.PERIOD)
    if g3 is None:
        return
    start, end = g3.params["from"], g3.params["to"]
    year_outside = not ctx.in_period  # G3's rule derived $in_period, or did not
    if not year_outside and not ctx.out_of_period:
        return
    for o in outcomes:
        date = o.fact.date
        if year_outside:
            o.act(
                Event(g3.id, g3.kind, Effect.INELIGIBLE, detail=(("year", ctx.app.year), ("from", start), ("to", end))),
                status=Status.INELIGIBLE,
            )
        elif o.fact.key in ctx.out_of_period:
            o.act(Event(g3.id, g3.kind, Effect.INELIGIBLE, detail=(("date", date), ("from", start), ("to", end))), status=Status.INELIGIBLE)


def case_by_case(outcomes: list[Outcome], ctx: Context) -> None:
    g2 = ctx.provision(ProvisionKind.CASE_BY_CASE)
    supports = ctx.context_facts(g2)
    if g2 is None or not supports:
        return
    reading = ctx.reading_of(g2.id, "scope")
    scope = resolve(g2.params["scope"], ctx.readings)
    enterprise_wide = {f.key for f in ctx.facts_into(f"clause:{g2.id}", "case_by_case")}
    for o in outcomes:
        if not o.alive:
            continue
        if reading:
            o.readings.add(reading)
        # support for the subject, or given to the enterprise itself and listing items (the
        # ~case_by_case rules' edges); a support listing items covers only those items
        joined = {f.key for f in ctx.facts_into(ctx.node(o), "case_by_case")}
        joined |= enterprise_wide
        for s in supports:
            covered = s.get("items")
            concerned = s.key in joined and (not covered or o.item.id in covered)
            if scope == "applicant" or concerned:
                _exclude(o, g2, after=(None, None), detail=(("support", s.key), ("subject", s.subject), ("scope", scope)), reading=reading)
                break


def highest(outcomes: list[Outcome], ctx: Context, rel: Relation) -> None:
    cash = {ctx.node(o) for o in ctx.members(rel) if o.is_cash}
    edges: nx.Graph = nx.Graph()
    edges.add_nodes_from(sorted(cash))
    edges.add_edges_from(
        (a, b)
        for a, b, d in ctx.graph.edges(data=True)
        if d.get("kind") == "highest" and d.get("relation") == rel.id and a in cash and b in cash
    )
    # components of the take-the-highest edges: the same ladder and subject
    for component in sorted(nx.connected_components(edges), key=min):
        group = [ctx.by_node[n] for n in component]
        if len(group) < 2:
            continue
        ordered = sorted(group, key=_rank)
        winner, losers = ordered[0], ordered[1:]
        rivals = tuple(o.rival() for o in ordered)
        for o in losers:
            o.act(
                Event(rel.id, rel.kind, Effect.EXCLUDED, before=(o.low, o.high), after=(None, None), winner=winner.rival(), rivals=rivals),
                status=Status.EXCLUDED,
            )
        winner.act(Event(rel.id, rel.kind, Effect.KEPT, winner=winner.rival(), rivals=rivals))


def _group_caps_of(o: Outcome, ctx: Context) -> list[Relation]:
    caps = set(ctx.sources(ctx.node(o), "member"))  # the clauses with a member edge into o
    return [r for r in ctx.relations(RelationKind.GROUP_CAP) if f"clause:{r.id}" in caps]


def exclusive(outcomes: list[Outcome], ctx: Context, rel: Relation) -> None:
    by_item: dict[str, list[Outcome]] = {}
    members = ctx.members(rel)
    for o in members:
        if o.is_cash:
            by_item.setdefault(o.item.id, []).append(o)
    mode = resolve(rel.params.get("projects", "all"), ctx.readings)
    claimed = ctx.granted_claims(rel, members)  # this year's awards already granted under the relation
    if not by_item or (len(by_item) < 2 and mode == "all" and not claimed):
        return
    if claimed:
        _exclusive_granted(by_item, claimed, ctx, rel, mode)
    else:
        _exclusive_ranked(by_item, _exclusive_totals(by_item, ctx, mode), ctx, rel, mode)


Totals = dict[str, tuple[Decimal, Decimal, list[Outcome]]]


def _exclusive_granted(by_item: dict[str, list[Outcome]], claimed: list[Fact], ctx: Context, rel: Relation, mode: str) -> None:
    """The enterprise already received one item type this year: it is the one that stands."""
    reading = ctx.reading_of(rel.id, "projects")
    kept_type = sorted(claimed, key=lambda p: (-p.get("amount"), ctx.policy.items[p.get("item")].order))[0]
    winner = Rival(kept_type.get("item"), kept_type.subject, kept_type.get("amount"), "granted")
    detail = (("mode", mode), ("granted", tuple((p.key, p.get("item"), p.subject, p.get("amount")) for p in claimed)))
    for item_id, group in by_item.items():
        for o in group:
            if item_id != winner.item or mode == "largest":
                _exclude(
                    o,
                    rel,
                    after=(None, None),
                    winner=winner,
                    rivals=(winner,),
                    detail=detail + (("one_project", item_id == winner.item),),
                    reading=reading,
                )


def _exclusive_totals(by_item: dict[str, list[Outcome]], ctx: Context, mode: str) -> Totals:
    """Per item type: what it would pay (after earlier awards and its group cap), before caps, and the projects chosen."""
    totals: Totals = {}
    for item_id, group in by_item.items():
        # ranked by what each would still pay after earlier awards (G4), so the winner is never empty-handed
        ordered = sorted(group, key=lambda o: (-ctx.net_of_priors(o),) + _rank(o))
        chosen = ordered[:1] if mode == "largest" else ordered
        value = sum((ctx.net_of_priors(o) for o in chosen), ZERO)
        raw = sum((_raw_high(o) for o in chosen), ZERO)
        for cap_rel in _group_caps_of(group[0], ctx):
            value = min(value, cap_rel.params["cap"])
        totals[item_id] = (value, raw, chosen)
    return totals


def _exclusive_ranked(by_item: dict[str, list[Outcome]], totals: Totals, ctx: Context, rel: Relation, mode: str) -> None:
    """The largest item type stands; the others, and the projects of its type not chosen, are excluded."""
    reading = ctx.reading_of(rel.id, "projects")
    order = {i: ctx.policy.items[i].order for i in totals}
    ranking = sorted(totals, key=lambda i: (-totals[i][0], -totals[i][1], order[i]))
    winner_id = ranking[0]
    winner = Rival(winner_id, "", totals[winner_id][0], Status.ELIGIBLE)
    rivals = tuple(Rival(i, "", totals[i][0], Status.ELIGIBLE) for i in ranking)
    detail: tuple[tuple[str, Any], ...] = (("mode", mode), ("totals", tuple((i, totals[i][0], totals[i][1]) for i in ranking)))
    chosen = totals[winner_id][2]
    for item_id, group in by_item.items():
        for o in group:
            if item_id != winner_id:
                _exclude(o, rel, after=(None, None), winner=winner, rivals=rivals, detail=detail, reading=reading)
            elif not any(o is c for c in chosen):
                _exclude(
                    o,
                    rel,
                    after=(None, None),
                    winner=chosen[0].rival(),
                    rivals=tuple(x.rival() for x in sorted(group, key=_rank)),
                    detail=detail + (("one_project", True),),
                    reading=reading,
                )
            elif len(totals) > 1:
                o.act(Event(rel.id, rel.kind, Effect.KEPT, winner=winner, rivals=rivals, detail=detail, reading=reading))


def group_cap(outcomes: list[Outcome], ctx: Context, rel: Relation) -> None:
    group = [o for o in ctx.members(rel) if o.is_cash]
    if not group:
        return
    members = _cap_members(rel, ctx)
    cap: Decimal = rel.params["cap"]
    # Awards already granted this year count against the cap — except those G4 will net off
    # an outcome of the same subject and kind (counting them here too would take them twice).
    netted = {p.key for o in group for p in ctx.same_kind_priors(o)}
    used = sum((p.get("amount") for p in ctx.facts_into(f"clause:{rel.id}", "cap_used") if p.key not in netted), ZERO)
    net = {id(o): ctx.net_of_priors(o) for o in group}  # what each will still pay after G4
    total = used + sum(net.values(), ZERO)
    remaining = max(ZERO, cap - used)
    detail = (("cap", cap), ("total", total), ("members", tuple(sorted(members))), ("already_granted", used))
    for o in sorted(group, key=lambda o: (-net[id(o)],) + _rank(o)):
        share = min(net[id(o)], remaining)
        remaining -= share
        if share == net[id(o)]:
            o.act(Event(rel.id, rel.kind, Effect.KEPT, detail=detail))
            continue
        high = _high(o) - (net[id(o)] - share)  # G4 takes the earlier awards off what remains
        if share == ZERO:
            o.act(
                Event(rel.id, rel.kind, Effect.EXCLUDED, before=(o.low, o.high), after=(ZERO, ZERO), detail=detail),
                status=Status.EXCLUDED,
                low=ZERO,
                high=ZERO,
            )
        else:
            o.act(
                Event(rel.id, rel.kind, Effect.REDUCED, before=(o.low, o.high), after=(min(_low(o), high), high), detail=detail),
                status=Status.REDUCED,
                low=min(_low(o), high),
                high=high,
            )


def _cap_members(rel: Relation, ctx: Context) -> tuple[str, ...]:
    """The items a cap covers under the evaluation's readings (named in explanations)."""
    return tuple(resolve(rel.members, ctx.readings))


def prior_awards(outcomes: list[Outcome], ctx: Context) -> None:
    g4 = ctx.provision(ProvisionKind.HIGHEST_WINS)
    priors = ctx.context_facts(g4)
    if g4 is None or not priors:
        return
    reading = ctx.reading_of(g4.id, "prior_awards")
    mode = resolve(g4.params["prior_awards"], ctx.readings)
    for o in outcomes:
        if not o.is_cash:
            continue
        found = ctx.same_kind_priors(o)
        if not found:
            continue
        granted = sum((p.get("amount") for p in found), ZERO)
        detail = (
            ("prior", tuple((p.key, p.get("source"), p.get("item"), p.get("year"), p.get("amount")) for p in found)),
            ("granted", granted),
            ("mode", mode),
        )
        if mode == "exclusive":
            o.act(
                Event(g4.id, g4.kind, Effect.EXCLUDED, before=(o.low, o.high), after=(None, None), detail=detail, reading=reading),
                status=Status.EXCLUDED,
            )
            continue
        if granted == ZERO:  # an award of nothing cuts nothing: weighed, not reduced (issue 10 item 20)
            o.act(Event(g4.id, g4.kind, Effect.KEPT, before=(o.low, o.high), after=(o.low, o.high), detail=detail, reading=reading))
            continue
        high = max(ZERO, _high(o) - granted)
        low = max(ZERO, _low(o) - granted)
        if high == ZERO:
            o.act(
                Event(g4.id, g4.kind, Effect.EXCLUDED, before=(o.low, o.high), after=(ZERO, ZERO), detail=detail, reading=reading),
                status=Status.EXCLUDED,
                low=ZERO,
                high=ZERO,
            )
        else:
            o.act(
                Event(g4.id, g4.kind, Effect.REDUCED, before=(o.low, o.high), after=(low, high), detail=detail, reading=reading),
                status=Status.REDUCED,
                low=low,
                high=high,
            )


def other_reward(outcomes: list[Outcome], ctx: Context, rel: Relation) -> None:
    reading = ctx.reading_of(rel.id, "other_rewards")
    sources = resolve(rel.params["other_rewards"], ctx.readings)
    declared = tuple(rel.params.get("declared_sources", ()))  # from the KB: which declared awards count
    flag = rel.params.get("declared_flag")  # and the field of theirs that must say so, if any
    for o in ctx.members(rel):
        if not o.alive:
            continue
        node = ctx.node(o)
        others: list[Rival] = []
        if "met" in sources:  # other rewards met now for the same subject (~other#1 edges)
            others += [
                x.rival()
                for x in ctx.outcomes_into(node, "other_reward", rel.id)
                if x is not o and x.status in (Status.ELIGIBLE, Status.REDUCED, Status.DISCRETIONARY)
            ]
        joined = ctx.facts_into(node, "other_reward", rel.id)  # awards for the same subject (~other#2 edges)
        if "granted" in sources:
            others += [
                Rival(p.get("item"), p.subject, p.get("amount"), "granted")
                for p in joined
                if p.get("source") == THIS_POLICY and p.get("item") != o.item.id
            ]
        if "declared" in sources:
            others += [
                Rival(p.get("item") or p.get("source"), p.subject, p.get("amount"), "declared")
                for p in joined
                if p.get("source") in declared and (flag is None or p.get(flag))
            ]
        if others:
            _exclude(
                o, rel, after=(None, None), rivals=tuple(others), winner=others[0], detail=(("sources", tuple(sources)),), reading=reading
            )


def requires(outcomes: list[Outcome], ctx: Context, rel: Relation, final: bool = True) -> None:
    """Exclude a member whose required item is not paid for the same subject.  Run once
    before the group caps (``final=False``: only exclusions, so that an excluded member
    takes no share of a cap) and once at the end, when every partner's status is final."""
    needed = rel.params["requires"]
    for o in ctx.members(rel):
        if not o.alive:
            continue
        node = ctx.node(o)
        met = ctx.outcomes_into(node, "satisfies", rel.id)  # the required item met for the subject
        partner = met[0] if met else ctx.by_node.get(outcome_node(needed, o.subject))  # else its outcome, to name it
        if partner is not None and partner.is_cash:
            if final:
                o.act(Event(rel.id, rel.kind, Effect.KEPT, winner=partner.rival()))
            continue
        paid = ctx.facts_into(node, "satisfies", rel.id)  # the required award already granted
        if paid:  # the required award was already granted (获得我市贴息奖励)
            if final:
                o.act(Event(rel.id, rel.kind, Effect.KEPT, winner=Rival(needed, o.subject, paid[0].get("amount"), "granted")))
            continue
        status = partner.status if partner is not None else "absent"
        _exclude(
            o,
            rel,
            after=(None, None),
            winner=partner.rival() if partner else None,
            detail=(("requires", needed), ("partner_status", status)),
        )


def _exclude(o: Outcome, by: Any, **event: Any) -> None:
    """Record that the provision or relation ``by`` excluded ``o`` (from its bounds before), and exclude it."""
    o.act(Event(by.id, by.kind, Effect.EXCLUDED, before=(o.low, o.high), **event), status=Status.EXCLUDED)
