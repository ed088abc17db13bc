"""How to qualify: the smallest changes that make an item qualify, each one verified.

For each way the item's conditions can be met (each branch of its condition), the
changes to the application: the gap to each numeric threshold ("+1 yuan of
equipment investment", one fen or one unit past a strict boundary), the value a
flag, level or recognition must have, a missing field to supply — or, when the
application holds no fact for the item at all, the fact to obtain.  If the item
would then still be removed by a relation or provision, the changes that would
make it give way are added (the conflicting claim, the earlier award, the
requirement).  Readings under which the item qualifies as it stands are ways too.

Every way is checked by evaluating the changed application; a way is offered only
if the item then qualifies.  ``tests/test_explain.py`` re-checks every way
independently over the examples and the synthetic applications.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from policykb.engine.amounts import round_outcome
from policykb.engine.application import Fact
from policykb.engine.compiler import dnf
from policykb.engine.decision import Decision, amount_dict
from policykb.engine.evaluate import full_condition
from policykb.engine.outcomes import Event, Outcome
from policykb.errors import UnknownItemError, suggest
from policykb.kb import conditions as cond
from policykb.kb import expressions
from policykb.kb.describe import field_label, value_text
from policykb.kb.messages import messages
from policykb.kb.model import Compare, FactType, FieldSpec, Item, Text
from policykb.money import fmt_cny
from policykb.vocabulary import ALIVE, Effect, ProvisionKind, RelationKind

from .answer import Answer
from .changes import plain
from .whatif import _status_amount
from .why import amount_phrase

QUALIFYING = ALIVE  # eligible, reduced, a service, a discretionary route
FEN = Decimal("0.01")


@dataclass
class Way:
    changes: list[dict] = field(default_factory=list)  # {"op": set|add|remove, "path", "value", "text": Text}
    readings: dict[str, str] = field(default_factory=dict)
    verified: bool = False
    after: dict | None = None
    texts: list[Text] = field(default_factory=list)
    blocked: Any = None  # the outcome after the changes, when a relation or provision still removes it

    def to_dict(self) -> dict:
        return {
            "changes": [{k: (v.to_dict() if isinstance(v, Text) else plain(v)) for k, v in c.items()} for c in self.changes],
            "readings": dict(self.readings),
            "verified": self.verified,
            "after": self.after,
        }


@dataclass
class _Draft:
    """A fact's values and the applicant as the changes of one way leave them."""

    fact_type: FactType | None
    values: dict[str, Any]
    applicant: dict[str, Any]
    index: int | None
    changes: list[dict] = field(default_factory=list)

    def get(self, name: str) -> Any:
        return self.applicant.get(name[10:]) if name.startswith("applicant.") else self.values.get(name)


class Qualify(Answer):
    """The ways an item could qualify, each verified."""


def _unit(field_type: str) -> Decimal:
    return FEN if field_type == "money" else Decimal(1)


def _value_target(op: str, right: Any, spec: FieldSpec | None) -> Any:
    """A value equal to ``right``, one of ``right``, or (for ``ne``) another value the field can take."""
    if op == "eq":
        return right
    if op == "in":
        return right[0] if right else None
    if spec is not None and spec.type == "bool":
        return not right
    if spec is not None and spec.values:
        return next((v for v in spec.values if v != right), None)
    return None


def _bound(op: str, right: Decimal, unit: Decimal) -> Decimal | None:
    """The value nearest ``right`` that passes a comparison: at it (以上, 以下), one unit past it (超, 低于)."""
    return {"gte": right, "gt": right + unit, "lte": right, "lt": right - unit}.get(op)


def _json_number(value: Decimal, field_type: str) -> Any:
    if field_type == "money":
        return f"{value:.2f}"
    return int(value)


class _Planner:
    def __init__(self, kb, document: dict, readings: Mapping[str, str]):
        self.kb = kb
        self.policy = kb.policy
        self.document = document
        self.readings = kb.readings_with(readings)
        self.m = messages()

    def label(self, fact_type: str | None, name: str) -> Text:
        return Text(field_label(self.policy, fact_type, name, "zh"), field_label(self.policy, fact_type, name, "en"))

    def shown(self, fact_type: str | None, name: str, value: Any) -> Text:
        return Text(value_text(self.policy, fact_type, name, value, "zh"), value_text(self.policy, fact_type, name, value, "en"))

    def spec(self, fact_type: str | None, name: str):
        if name.startswith("applicant."):
            return self.policy.vocabulary.applicant.get(name[10:])
        return self.policy.vocabulary.field(fact_type, name)

    # -- targets for one comparison
    def target(self, c: Compare, current: Any, values: dict) -> Any:
        """A value of ``c.field`` that satisfies ``c`` (closest to ``current``), or None."""
        spec = self.spec(None if c.field.startswith("applicant.") else self._fact_type, c.field)
        right = values.get(c.ref) if c.ref else c.value
        if c.ref and right is None:
            return None
        if c.op in ("eq", "in", "ne"):
            return _value_target(c.op, right, spec)
        if right is None:
            return None
        return _bound(c.op, Decimal(right), _unit(spec.type if spec else "money"))

    def branch_changes(self, branch: list[Compare], fact: Fact | None, applicant: dict, fact_index: int | None) -> list[dict] | None:
        """Changes to the fact and applicant so every comparison of ``branch`` holds."""
        self._fact_type = fact.type if fact is not None else None
        state = _Draft(
            self.policy.vocabulary.fact_types[fact.type] if fact is not None else None,
            dict(fact.values) if fact is not None else {},
            dict(applicant),
            fact_index,
        )
        for _ in range(3):  # a change may unsettle a comparison already passed
            settled = True
            for c in branch:
                if cond.holds(c, state.get) is True:
                    continue
                settled = False
                if not self.satisfy(c, state):
                    return None
            if settled:
                return self.merge(state.changes)
        return None

    def satisfy(self, c: Compare, state: _Draft) -> bool:
        """Change the draft so that ``c`` holds (or supply what it compares with); False if no change can."""
        on_applicant = c.field.startswith("applicant.")
        name = c.field[10:] if on_applicant else c.field
        current = (state.applicant if on_applicant else state.values).get(name)
        wanted = self.target(c, current, state.values)
        if wanted is None and c.ref and state.values.get(c.ref) is None:
            self.supply(c.ref, current, state)
            return True
        if wanted is None:
            return False
        if on_applicant:
            state.applicant[name] = wanted
            state.changes.append(self.change_for(None, "applicant", c.field, current, wanted, None))
            return True
        return self.set_fact_field(state, name, current, wanted)

    def supply(self, ref: str, current: Any, state: _Draft) -> None:
        """Supply the field a comparison refers to, from the compared one (or a neutral 1)."""
        base = current if current is not None else Decimal(1)
        ft = state.fact_type
        assert ft is not None  # a comparison with another field is on a fact
        ref_spec = ft.field(ref)
        state.values[ref] = int(base) if ref_spec is not None and ref_spec.type in ("count", "integer") else Decimal(base)
        state.changes.append(self.change_for(state.index, None, ref, None, state.values[ref], ft))

    def set_fact_field(self, state: _Draft, name: str, current: Any, wanted: Any) -> bool:
        ft = state.fact_type
        assert ft is not None  # set only on a fact
        spec = ft.field(name)
        if spec is not None and spec.derived:
            return self.adjust_derived(spec, state.values, current, Decimal(wanted), ft, state.index, state.changes)
        if spec is not None and spec.type in ("count", "integer"):
            wanted = int(wanted)
        state.values[name] = wanted
        state.changes.append(self.change_for(state.index, None, name, current, wanted, ft))
        return True

    def adjust_derived(self, spec, values: dict, current, wanted: Decimal, ft, fact_index, changes: list) -> bool:
        """Reach a derived value by raising the first operand of its subtraction (sales_increase)."""
        expr = spec.expr
        if not (isinstance(expr, dict) and "sub" in expr and isinstance(expr["sub"][0], str)):
            return False
        first = expr["sub"][0]
        base = values.get(first)
        gap = wanted - (current if current is not None else Decimal(0))
        if base is None or current is None:
            return False
        values[first] = base + gap
        for name, dspec in ft.derived.items():
            values[name] = expressions.evaluate(dspec.expr, values.get)
        changes.append(self.change_for(fact_index, None, first, base, base + gap, ft))
        return True

    @staticmethod
    def merge(changes: list[dict]) -> list[dict]:
        """One change per path: the last value, the first old value."""
        merged: dict[str, dict] = {}
        for c in changes:
            if c["path"] in merged:
                merged[c["path"]]["value"] = c["value"]
                merged[c["path"]]["text"] = c["text"]
            else:
                merged[c["path"]] = c
        return list(merged.values())

    def change_for(self, fact_index: int | None, owner: str | None, name: str, old: Any, new: Any, ft) -> dict:
        fact_type = ft.name if ft is not None else None
        spec = self.spec(fact_type, name)
        path = name if owner == "applicant" else f"facts[{fact_index}].{name}"
        value: Any = new
        if spec is not None and spec.type == "money":
            value = _json_number(Decimal(new), "money")
        elif isinstance(new, Decimal):
            value = int(new)
        label = self.label(fact_type, name)
        if old is None:
            wanted = Decimal(new) if isinstance(new, str) and spec is not None and spec.type == "money" else new
            text = self.m.both("gap_supply", field=label, target=self.shown(fact_type, name, wanted))
        elif (
            isinstance(old, (int, Decimal)) and not isinstance(old, bool) and isinstance(new, (int, Decimal)) and not isinstance(new, bool)
        ):
            gap = Decimal(new) - Decimal(old)
            gap_text = self.shown(fact_type, name, abs(gap) if spec.type == "money" else int(abs(gap)))
            phrase = "gap_raise" if gap > 0 else "gap_lower"
            text = self.m.both(
                phrase, field=label, actual=self.shown(fact_type, name, old), target=self.shown(fact_type, name, new), gap=gap_text
            )
        else:
            text = self.m.both("gap_set", field=label, actual=self.shown(fact_type, name, old), target=self.shown(fact_type, name, new))
        return {"op": "set", "path": path, "value": value, "text": text}

    # -- applying and checking
    def apply(self, changes: list[dict]) -> dict:
        doc = copy.deepcopy(self.document)
        removals = []
        for c in changes:
            if c["op"] == "set":
                target, _, name = c["path"].rpartition(".")
                if c["path"].startswith("applicant."):
                    doc["applicant"][c["path"][10:]] = c["value"]
                elif c["path"] == "year":
                    doc["year"] = c["value"]
                else:
                    index = int(target[len("facts[") : -1])
                    doc["facts"][index][name] = c["value"]
            elif c["op"] == "add":
                doc["facts"].append(copy.deepcopy(c["value"]))
            elif c["op"] == "remove":
                removals.append(c["index"])
        for index in sorted(set(removals), reverse=True):
            doc["facts"].pop(index)
        return doc

    def outcome_after(self, changes: list[dict], item: Item, subject: str, readings: Mapping[str, str] | None = None):
        decision = self.kb.evaluate(self.apply(changes), readings or self.readings)
        return decision, next((o for o in decision.outcomes if o.item.id == item.id and o.subject == subject), None)

    def give_way(self, decision: Decision, o: Outcome) -> list[dict] | None:
        """Removals that would lift the relations or provisions that excluded ``o`` (None when
        one of them cannot be lifted by removing a fact: a requirement is met, not removed)."""
        removals: list[dict] = []
        for e in decision.events(o):  # read off the relation graph
            if e.effect not in (Effect.EXCLUDED, Effect.REDUCED):
                continue
            step = _GIVE_WAY.get(e.kind)
            if step is None:
                return None
            removals += step(self, decision, o, e)
        return removals

    def removal(self, fact: Fact, relation: str, items: Any, quote: str) -> dict:
        return {
            "op": "remove",
            "path": fact.source,
            "index": _index_of(fact),
            "text": self.m.both("gap_give_way", items=items, relation=relation, quote=quote),
        }

    def quote(self, clause: str) -> str:
        owner = self.policy.relations.get(clause) or self.policy.provisions.get(clause)
        return owner.quote if owner else ""

    def without_competitors(self, decision: Decision, o: Outcome, e: Event) -> list[dict]:
        """Take-the-highest, mutual exclusion, a cap, another reward: remove what competes."""
        quote = self.quote(e.by)
        out = []
        if e.kind == RelationKind.EXCLUDED_BY_OTHER_REWARD:
            out += [
                self.removal(p, e.by, p.key, quote) for p in decision.application.facts if p.role == "context" and p.subject == o.subject
            ]
        blockers = [x for x in decision.outcomes if _blocks(x, o, e)]
        return out + [
            self.removal(x.fact, e.by, Text(f"{x.item.id}（{x.subject}）", f"{x.item.id} ({x.subject})"), quote) for x in blockers
        ]

    def without_prior_awards(self, decision: Decision, o: Outcome, e: Event) -> list[dict]:
        """An earlier award of the same kind (G4): remove it."""
        kinds = {prior[2] for prior in e.get("prior", ())}
        return [
            {"op": "remove", "path": p.source, "index": _index_of(p), "text": self.m.both("gap_no_prior", relation=e.by)}
            for p in decision.application.facts
            if p.role == "context" and p.subject == o.subject and p.get("item") in kinds
        ]

    def without_support(self, decision: Decision, o: Outcome, e: Event) -> list[dict]:
        """Support decided case by case (G2): remove it."""
        quote = self.quote(e.by)
        return [
            self.removal(p, e.by, p.key, quote) for p in decision.application.facts if p.role == "context" and p.key == e.get("support")
        ]

    def verify(self, way: Way, item: Item, subject: str) -> None:
        _, after = self.outcome_after(way.changes, item, subject, dict(self.readings, **way.readings))
        way.verified = after is not None and after.status in QUALIFYING
        if after is not None:
            way.after = {"status": after.status, "amount": amount_dict(after), "by": list(after.by)}


_GIVE_WAY: dict[str, Callable[[_Planner, Decision, Outcome, Event], list[dict]]] = {
    RelationKind.HIGHEST: _Planner.without_competitors,
    RelationKind.EXCLUSIVE: _Planner.without_competitors,
    RelationKind.GROUP_CAP: _Planner.without_competitors,
    RelationKind.EXCLUDED_BY_OTHER_REWARD: _Planner.without_competitors,
    ProvisionKind.HIGHEST_WINS: _Planner.without_prior_awards,
    ProvisionKind.CASE_BY_CASE: _Planner.without_support,
}


def _index_of(fact: Fact) -> int:
    return int(fact.source[len("facts[") : -1])


def _blocks(x: Outcome, o: Outcome, e: Event) -> bool:
    """Does ``x`` stand in ``o``'s way under the relation of ``e``: the winner (any member
    of a cap), alive, on another fact — of the same subject for take-the-highest?"""
    if x is o or not x.alive or x.fact is o.fact:
        return False
    if e.kind == RelationKind.EXCLUDED_BY_OTHER_REWARD:  # any other reward of the subject
        return x.subject == o.subject
    if e.kind == RelationKind.GROUP_CAP:
        return x.item.id in set(e.get("members", ()))
    if e.winner is not None and x.item.id != e.winner.item:
        return False
    return e.kind != RelationKind.HIGHEST or x.subject == o.subject


def _absent_fact(planner: _Planner, item: Item, subject_hint: str | None) -> dict:
    """A fact of the item's type with its selector values; conditions fill in the rest."""
    fact: dict[str, Any] = {"type": item.fact}
    ft = planner.policy.vocabulary.fact_types[item.fact]
    for name, values in item.select.items():
        fact[name] = values[0]
    if ft.subject_required or item.subject != "enterprise" or subject_hint:
        fact["subject"] = subject_hint or f"NEW-{item.id}"
    return fact


def qualify(
    kb, document: dict, item_id: str, subject: str | None = None, readings: Mapping[str, str] | None = None, source: str = ""
) -> Qualify:
    policy = kb.policy
    if item_id not in policy.items:
        raise UnknownItemError(f"unknown item '{item_id}'{suggest(item_id, policy.items)}")
    item = policy.items[item_id]
    planner = _Planner(kb, document, readings or {})
    decision = kb.evaluate(document, planner.readings, source=source)
    outcomes = [o for o in decision.outcomes if o.item.id == item_id]
    if subject is not None:
        outcomes = [o for o in outcomes if o.subject == subject]
        if not outcomes:
            subjects = sorted({o.subject for o in decision.outcomes if o.item.id == item_id})
            if subjects:
                raise UnknownItemError(
                    f"{item_id} has no outcome for subject '{subject}'{suggest(subject, subjects)}; subjects: {', '.join(subjects)}"
                )
    lines: list[Text] = []
    results = []
    if not outcomes:
        results.append(_plan_absent(planner, decision, item, subject, lines))
    for o in outcomes:
        results.append(_plan(planner, decision, item, o, lines))
    data = {"policy": policy.id, "kb_version": kb.version, "item": item_id, "results": results}
    return Qualify(data, lines)


def _plan_absent(planner: _Planner, decision: Decision, item: Item, subject: str | None, lines: list[Text]) -> dict:
    m = planner.m
    fact = _absent_fact(planner, item, subject)
    new_index = len(planner.document["facts"])
    add: dict[str, Any] = {"op": "add", "path": f"facts[{new_index}]", "value": fact, "text": None}
    doc = planner.apply([add])
    planner_with = _Planner(planner.kb, doc, planner.readings)
    decision2 = planner.kb.evaluate(doc, planner.readings)
    fact_subject = fact.get("subject", doc["applicant"]["id"])
    o = next((x for x in decision2.outcomes if x.item.id == item.id and x.subject == fact_subject), None)
    ways = []
    added = o.fact if o is not None else None
    for branch in dnf(full_condition(item, planner.readings)) if added is not None else ():
        changes = planner_with.branch_changes(branch, added, doc["applicant"], new_index)
        if changes is None:
            continue
        way = _new_fact_way(planner, item, fact, new_index, changes)
        _finish_way(planner, way, item, fact_subject)
        if way.verified:
            ways.append(way)
    lines.append(m.both("no_fact", item=item.id, fact=planner.policy.vocabulary.fact_types[item.fact].label, select=Text("", "")))
    _render_ways(planner, ways, Text(item.id, item.id), lines)
    return {"subject": fact_subject, "status": "absent", "ways": [w.to_dict() for w in ways]}


def _new_fact_way(planner: _Planner, item: Item, fact: dict[str, Any], new_index: int, changes: list[dict]) -> Way:
    """A way that adds the missing fact with the values one branch of the condition needs
    (``fact`` keeps them, for the next branch to start from), with the other changes."""
    own = f"facts[{new_index}]."
    for c in changes:
        if c["path"].startswith(own):
            fact[c["path"].rsplit(".", 1)[1]] = c["value"]
    others = [c for c in changes if not c["path"].startswith(own)]
    fields = planner.policy.vocabulary.fact_types[item.fact]

    def described(lang: str) -> str:
        shown = [f"{fields.field(k).label(lang) if fields.field(k) else k}={v}" for k, v in fact.items() if k != "type"]
        return ("，" if lang == "zh" else ", ").join(shown)

    add = {
        "op": "add",
        "path": f"facts[{new_index}]",
        "value": dict(fact),
        "text": planner.m.both("gap_fact", fact=fields.label, fields=Text(described("zh"), described("en"))),
    }
    return Way(changes=[add] + others)


def _finish_way(planner: _Planner, way: Way, item: Item, subject: str, depth: int = 0) -> None:
    """Verify a way; if a relation still removes the item, add what would make it give way."""
    decision, after = planner.outcome_after(way.changes, item, subject, dict(planner.readings, **way.readings))
    if after is None or after.status in QUALIFYING or after.verdict is not True:
        planner.verify(way, item, subject)
        return
    # the conditions hold after these changes; what removes the item is a relation or provision
    events = decision.events(after)
    if way.blocked is None and any(e.effect in (Effect.EXCLUDED, Effect.INELIGIBLE) for e in events):
        way.blocked = (after, events)
    if depth >= 2:
        planner.verify(way, item, subject)
        return
    _lift(planner, way, decision, after, events, subject)
    _finish_way(planner, way, item, subject, depth + 1)


def _lift(planner: _Planner, way: Way, decision: Decision, after: Outcome, events: list[Event], subject: str) -> None:
    """Add to ``way`` what lifts the relation that removes the item: qualify the item it
    requires, or give up what stands in its way."""
    if any(e.kind == RelationKind.REQUIRES and e.effect == Effect.EXCLUDED for e in events):
        _qualify_partner(planner, way, decision, next(e.get("requires") for e in events if e.kind == RelationKind.REQUIRES), subject)
        return
    extra = _Planner(planner.kb, planner.apply(way.changes), planner.readings).give_way(decision, after)
    if extra:
        way.changes = way.changes + extra


def _qualify_partner(planner: _Planner, way: Way, decision: Decision, needed: str, subject: str) -> None:
    """The item requires another (R-m23): add the changes that make that one qualify."""
    partner = next((x for x in decision.outcomes if x.item.id == needed and x.subject == subject), None)
    if partner is None:
        return
    sub = _Planner(planner.kb, planner.apply(way.changes), planner.readings)
    for branch in dnf(full_condition(planner.policy.items[needed], planner.readings)):
        extra = sub.branch_changes(branch, partner.fact, decision.application.document["applicant"], _index_of(partner.fact))
        if extra is not None:
            way.changes = _Planner.merge(way.changes + extra)
            return


def _plan(planner: _Planner, decision: Decision, item: Item, o: Outcome, lines: list[Text]) -> dict:
    m = planner.m
    result: dict[str, Any] = {"subject": o.subject, "status": o.status}
    if o.status in QUALIFYING:
        lines.append(
            m.both(
                "already_qualifies",
                item=item.id,
                subject=o.subject,
                status=Text(m.status(o.status, "zh"), m.status(o.status, "en")),
                amount=amount_phrase(planner.policy, o),
            )
        )
        result["ways"] = []
        return result
    outside = _outside_period(planner, decision.application.year)
    if outside is not None:
        lines.append(m.both("cannot_qualify", item=item.id, reason=outside))
        result["ways"] = []
        return result
    candidates = _condition_ways(planner, decision, item, o) + _reading_ways(planner, o)
    ways = _verified(planner, candidates, item, o.subject)
    if not ways:
        blocked = next((w for w in candidates if w.blocked is not None), None)
        if blocked is not None:
            result["blocked_by"] = _blocker(planner, blocked, lines)
        else:
            reason = Text(
                "、".join(o.by) or "条件无法通过修改申请满足", ", ".join(o.by) or "its conditions cannot be met by changing the application"
            )
            lines.append(m.both("cannot_qualify", item=item.id, reason=reason))
    _render_ways(planner, ways, Text(f"{item.id}（{o.subject}）", f"{item.id} ({o.subject})"), lines)
    result["ways"] = [w.to_dict() for w in ways]
    return result


def _outside_period(planner: _Planner, year: int) -> Text | None:
    """Why no change to the application helps: the year lies outside the period (G3)."""
    g3 = planner.policy.provision("period")
    if g3 is None or g3.params["from"].year <= year <= g3.params["to"].year:
        return None
    return Text(f"年度 {year} 不在实施期限内（{g3.id}）", f"the year {year} is outside the period ({g3.id})")


def _g1_changes(planner: _Planner, decision: Decision) -> list[dict]:
    """What the applicant must change to pass G1, when it does not (the first way)."""
    g1 = planner.policy.provision("eligibility")
    if decision.g1_ok or g1 is None:
        return []
    for branch in dnf(cond.resolve(g1.conditions, planner.readings)):
        return planner.branch_changes(branch, None, decision.application.document["applicant"], None) or []
    return []


def _condition_ways(planner: _Planner, decision: Decision, item: Item, o: Outcome) -> list[Way]:
    """One way per branch of the item's condition that changes can satisfy (with G1's, and a
    date moved into the period)."""
    index = _index_of(o.fact)
    g1_changes = _g1_changes(planner, decision)
    ways = []
    for branch in dnf(full_condition(item, planner.readings)):
        changes = planner.branch_changes(branch, o.fact, decision.application.document["applicant"], index)
        if changes is None:
            continue
        way = Way(changes=_Planner.merge(g1_changes + changes))
        way.changes += _date_change(planner, o.fact, index)
        ways.append(way)
    return ways


def _date_change(planner: _Planner, fact: Fact, index: int) -> list[dict]:
    g3 = planner.policy.provision("period")
    if fact.date is None or g3 is None or g3.params["from"] <= fact.date <= g3.params["to"]:
        return []
    bound = g3.params["from"] if fact.date < g3.params["from"] else g3.params["to"]
    return [
        {
            "op": "set",
            "path": f"facts[{index}].date",
            "value": bound.isoformat(),
            "text": planner.m.both(
                "gap_set", field=planner.label(fact.type, "date"), actual=fact.date.isoformat(), target=bound.isoformat()
            ),
        }
    ]


def _reading_ways(planner: _Planner, o: Outcome) -> list[Way]:
    return [
        Way(readings={rid: option})
        for rid in sorted(o.readings)
        for option in planner.policy.readings[rid].options
        if option != planner.readings[rid]
    ]


def _verified(planner: _Planner, candidates: list[Way], item: Item, subject: str) -> list[Way]:
    """The candidates that work, each once."""
    ways: list[Way] = []
    seen = set()
    for way in candidates:
        if way.readings and not way.changes:
            planner.verify(way, item, subject)  # a reading is a way only if it suffices alone
        else:
            _finish_way(planner, way, item, subject)
        signature = repr(way.to_dict()["changes"]) + repr(way.readings)
        if way.verified and signature not in seen:
            seen.add(signature)
            ways.append(way)
    return ways


def _blocker(planner: _Planner, way: Way, lines: list[Text]) -> dict:
    """Say which relation or provision still removes the item once its conditions hold, and
    what would change that: for a take-the-highest or exclusive relation, the amount this item
    (its type, for an exclusive relation) must exceed, read off the relation's event."""
    m = planner.m
    after, events = way.blocked
    changes = _changes_text(planner, way)
    event = next(e for e in events if e.effect in (Effect.EXCLUDED, Effect.INELIGIBLE))
    quote = planner.quote(event.by)
    data: dict[str, Any] = {
        "relation": event.by,
        "kind": event.kind,
        "changes": [c for c in way.to_dict()["changes"]],
        "status": after.status,
    }
    label = Text(f"{after.item.id}（{after.subject}）", f"{after.item.id} ({after.subject})")
    if event.kind in (RelationKind.EXCLUSIVE, RelationKind.HIGHEST) and event.winner is not None:
        need, winner = _must_exceed(after, event, data)
        lines.append(m.both("blocked_by_relation", item=label, changes=changes, relation=event.by, winner=winner, need=need, quote=quote))
    else:
        lines.append(m.both("blocked_by_rule", item=label, changes=changes, relation=event.by, quote=quote))
    return data


def _changes_text(planner: _Planner, way: Way) -> Text:
    """The changes and readings of a way, in words."""
    parts = [c["text"] for c in way.changes if c.get("text") is not None]
    for rid, option in way.readings.items():
        parts.append(planner.m.both("gap_reading", reading=rid, option=planner.policy.readings[rid].options[option]))
    return Text("；".join(p.zh for p in parts), "; ".join(p.en for p in parts))


def _would_have_paid(event: Event) -> Decimal | None:
    """What an outcome excluded by ``event`` would have paid: its bounds then, to the fen."""
    if not event.before:
        return None
    rounded = round_outcome(*event.before)[1]
    return event.before[1] if rounded == event.before[1] else rounded


def _need_text(own: Decimal | None, winner_amount: Decimal | None) -> Text:
    """The amount to beat; on a tie, the tie-break that this item loses."""
    above = Text(f"须高于 {fmt_cny(winner_amount)}", f"must exceed {fmt_cny(winner_amount)}")
    if own is not None and winner_amount is not None and own >= winner_amount:
        return Text(
            above.zh + "（金额相同时取上限前较大者、再取先列者，本项居后）",
            above.en + " (on a tie the larger before caps, then the first listed, wins; this item comes later)",
        )
    short = winner_amount - own if winner_amount is not None and own is not None else None
    return Text(above.zh + f"（现为 {fmt_cny(own)}，差 {fmt_cny(short)}）", above.en + f" (now {fmt_cny(own)}, {fmt_cny(short)} short)")


def _must_exceed(after: Outcome, event: Event, data: dict[str, Any]) -> tuple[Text, Text]:
    """How much the item must pay to win the comparison ``event`` records, and the winner."""
    assert event.winner is not None  # _blocker asks only of an event with a winner
    totals = {i: v for i, v, _ in event.get("totals", ())}
    own = totals.get(after.item.id, _would_have_paid(event))
    winner_amount = event.winner.high if not isinstance(event.winner.high, str) else None
    if winner_amount is None:
        winner_amount = totals.get(event.winner.item)
    data.update(winner=event.winner.item, winner_amount=str(winner_amount), amount=str(own))
    need = _need_text(own, winner_amount)
    data["needed_above"] = str(winner_amount)
    winner = Text(f"{event.winner.item}（{fmt_cny(winner_amount)}）", f"{event.winner.item} ({fmt_cny(winner_amount)})")
    return need, winner


def _render_ways(planner: _Planner, ways: list[Way], label: Text, lines: list[Text]) -> None:
    m = planner.m
    if ways:
        head = m.both("section_ways")
        lines.append(Text(f"【{head.zh}】{label.zh}", f"[{head.en}] {label.en}"))
    for n, way in enumerate(ways, 1):
        lines.append(m.both("way", n=n, changes=_changes_text(planner, way)))
        if way.after:
            zh_status, zh_amount = _status_amount(way.after, "zh")
            en_status, en_amount = _status_amount(way.after, "en")
            lines.append(
                Text(
                    m.say("way_result", "zh", status=zh_status, amount=zh_amount),
                    m.say("way_result", "en", status=en_status, amount=en_amount),
                )
            )
