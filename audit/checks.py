"""The audit of one applicant: all its records, across decisions and years, together.

Each granted award is first held against its own record's evaluation: is the item
known, are its conditions met (G1, G3, the item's own), is the application
complete enough to tell, was case-by-case support already enjoyed (G2), does the
amount stay within what the item allows (ceiling, exact sum, range floor)?  Then
the awards are held against each other, whatever decision or year granted them:
mutual exclusion per enterprise-year (X-m01), group caps per enterprise-year
(CAP-m01, CAP-m23), take-the-highest for the same subject across years and
against awards declared from other policies (G4/H-*, I-05), requirements (R-m23)
and another reward for the same scenario (X-m14).  Only grants whose conditions
hold enter these cross-checks, so a grant is not flagged twice for one cause.

Which grants a relation joins is not worked out here: every grant carries the
relation keys the engine's relation rules join on (``engine/relation_rules.py``
``relation_keys`` — ladder, exclusive group, cap, required item, kind), so the
audit and the evaluation agree on membership by construction.  The cross-checks
are near-linear in an applicant's grants: grants are indexed by key once, running
totals replace pairwise comparisons, an explanation lists at most a few others
and counts the rest, and repeats of one grant (same item, subject, year, amount
and finding) are one finding with a ``count``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Mapping

import orjson

from policykb.engine.evaluate import Evaluator, full_condition
from policykb.engine.relation_rules import THIS_POLICY, relation_keys
from policykb.errors import InputError, suggest
from policykb.kb import conditions as cond
from policykb.kb.describe import failed_text, field_label
from policykb.kb.messages import messages
from policykb.kb.model import Switch, Text, resolve
from policykb.money import MoneyError, ZERO, fmt_cny, parse_money, round_fen

from .findings import Finding
from .reasons import reason_words


@dataclass
class RecordIn:
    """One decision to audit, with the application it was made on."""

    index: int
    line: int | None
    application: Any
    decision: Any
    grant_lines: list[int] | None = None  # for CSV input: the line of each grant
    error: str | None = None  # set when the record could not be read at all


@dataclass
class Grant:
    record: RecordIn
    decision: Any  # the evaluation of the record's application
    position: int
    item: str
    subject: str
    amount: Decimal
    line: int | None
    decided_on: dt.date | None
    outcome: Any = None
    own: tuple[Decimal, Decimal] | None = None  # what the item allows on its own (before relations)

    @property
    def year(self) -> int:
        return self.decision.application.year

    def order(self) -> tuple:
        return (self.decided_on or dt.date.min, self.record.index, self.position)


def _t(s: str) -> Text:
    return Text(s, s)


def _money(value: Decimal | None) -> Text:
    return _t(fmt_cny(value) if value is not None else "—")


LISTED = 3  # how many other awards an explanation names before it counts the rest


def _listing(entries: list[str], total: int | None = None) -> Text:
    """At most ``LISTED`` entries, then how many more: an explanation never embeds a
    whole applicant's history (issue 10 item 3)."""
    total = len(entries) if total is None else total
    shown = "、".join(entries[:LISTED])
    if total <= LISTED:
        return _t(shown)
    return Text(f"{shown} 等共 {total} 项", f"{shown} and {total - LISTED} more")


# findings about a pair of grants: repeats of one grant are one finding with a count
PAIR_CODES = ("DUPLICATE_SAME_KIND", "EXCLUSIVE_CONFLICT", "OVER_GROUP_CAP", "MISSING_REQUIREMENT")


def parse_decision(record: RecordIn) -> tuple[dict | None, list[str]]:
    """The decision of a record, checked: decision_id, decided_on, granted [{item, subject, amount}]."""
    problems: list[str] = []
    d = record.decision
    if not isinstance(d, dict):
        return None, ["decision: expected an object with decision_id, decided_on and granted"]
    for key in d:
        if key not in ("decision_id", "decided_on", "granted", "note"):
            problems.append(f"decision.{key}: unknown field{suggest(key, ('decision_id', 'decided_on', 'granted'))}")
    if not isinstance(d.get("decision_id"), str) or not d.get("decision_id"):
        problems.append("decision.decision_id: expected non-empty text")
    decided_on = None
    if d.get("decided_on") is not None:
        try:
            decided_on = dt.date.fromisoformat(str(d["decided_on"]))
        except ValueError:
            problems.append(f"decision.decided_on: expected a date YYYY-MM-DD, found {d['decided_on']!r}")
    granted = d.get("granted")
    if not isinstance(granted, list):
        problems.append("decision.granted: expected a list of {item, subject, amount}")
        granted = []
    grants = []
    for i, g in enumerate(granted):
        where = f"decision.granted[{i}]"
        if not isinstance(g, dict):
            problems.append(f"{where}: expected an object {{item, subject, amount}}")
            continue
        for key in g:
            if key not in ("item", "subject", "amount"):
                problems.append(f"{where}.{key}: unknown field{suggest(key, ('item', 'subject', 'amount'))}")
        if not isinstance(g.get("item"), str) or not g.get("item"):
            problems.append(f"{where}.item: expected an item ID")
        if "subject" in g and (not isinstance(g["subject"], str) or not g["subject"]):
            problems.append(f"{where}.subject: expected text")
        try:
            amount = parse_money(g.get("amount"))
        except MoneyError as exc:
            problems.append(f"{where}.amount: {exc}")
            continue
        grants.append({"item": g.get("item"), "subject": g.get("subject"), "amount": amount})
    if problems:
        return None, problems
    return {"decision_id": d["decision_id"], "decided_on": decided_on, "grants": grants}, []


class ApplicantAudit:
    def __init__(self, kb, records: list[RecordIn], readings: Mapping[str, str]):
        self.kb = kb
        self.policy = kb.policy
        self.records = records
        self.readings = dict(readings)
        self.m = messages()
        self.findings: dict[tuple, Finding] = {}
        self.repeats: dict[tuple, Finding] = {}
        self.keys = relation_keys(self.policy, self.readings)  # the engine's relation keys
        self._decisions: dict[bytes, Any] = {}
        self._declared: list | None = None
        self._paid: dict[str, set[str]] = {}

    # -- recording
    def add(self, code: str, grant: Grant | None, explanation: Text, *, record: RecordIn | None = None,
            allowed=None, clause: dict | None = None, item: str | None = None, subject: str | None = None) -> None:
        record = record or (grant.record if grant else None)
        application = record.application if record is not None and isinstance(record.application, dict) else {}
        applicant = (application.get("applicant") or {}).get("id") if isinstance(application.get("applicant"), dict) else None
        year = grant.year if grant else (application.get("year") if isinstance(application.get("year"), int) else None)
        item = item or (grant.item if grant else None)
        measure = self.policy.items[item].measure if item in self.policy.items else None
        decision_id = None
        if grant is not None:
            decision_id = grant.record.decision.get("decision_id")
        elif record is not None and isinstance(record.decision, dict):
            decision_id = record.decision.get("decision_id") if isinstance(record.decision.get("decision_id"), str) else None
        finding = Finding(
            code=code, record=record.index if record else None, line=(grant.line if grant and grant.line else (record.line if record else None)),
            decision_id=decision_id, applicant=applicant, year=year, item=item,
            subject=subject or (grant.subject if grant else None), measure=measure,
            granted=grant.amount if grant else None, allowed=allowed, clause=clause, explanation=explanation,
        )
        if code in PAIR_CODES and grant is not None:
            repeat = (code, grant.item, grant.subject, grant.year, grant.amount, allowed)
            first = self.repeats.get(repeat)
            if first is not None:
                first.count += 1
                return
            self.repeats[repeat] = finding
        self.findings.setdefault(finding.key(), finding)

    def item_clause(self, item_id: str) -> dict:
        item = self.policy.items[item_id]
        return {"id": item_id, "label": item.label, "quote": item.quote}

    def rule_clause(self, rule_id: str, item_id: str | None = None) -> dict:
        owner = self.policy.relations.get(rule_id) or self.policy.provisions.get(rule_id)
        label = self.policy.items[item_id].label if item_id in self.policy.items else ""
        return {"id": rule_id, "label": label, "quote": owner.quote if owner else ""}

    # -- the audit
    def run(self) -> list[Finding]:
        grants = self.evaluate_records()
        met = [g for g in grants if self.check_grant(g)]
        self.exclusive(met)
        self.group_caps(met)
        self.duplicates(met)
        self.requirements(met)
        self.other_rewards(met)
        for f in self.repeats.values():
            if f.count > 1:
                note = self.m.both("f_repeated", more=f.count - 1, count=f.count)
                f.explanation = Text(f"{f.explanation.zh}；{note.zh}", f"{f.explanation.en}; {note.en}")
        return sorted(self.findings.values(), key=lambda f: f.sort_key())

    def evaluate_records(self) -> list[Grant]:
        grants: list[Grant] = []
        for record in self.records:
            if record.error:
                self.add("INVALID_RECORD", None, self.m.both("f_invalid", reason=reason_words(record.error)), record=record)
                continue
            decision_data, problems = parse_decision(record)
            try:
                if not isinstance(record.application, dict):
                    raise InputError("application: expected an object with applicant, year and facts")
                decision = self.evaluate(record.application)
            except InputError as exc:
                problems = [str(p) for p in exc.problems] + problems
                decision = None
            if problems or decision is None:
                reason = "; ".join(problems[:5]) + (f"; … {len(problems) - 5} more" if len(problems) > 5 else "")
                self.add("INVALID_RECORD", None, self.m.both("f_invalid", reason=reason_words(reason)), record=record)
                continue
            applicant_id = decision.application.applicant_id
            for position, g in enumerate(decision_data["grants"]):
                line = record.grant_lines[position] if record.grant_lines else record.line
                grants.append(Grant(record, decision, position, g["item"], g["subject"] or applicant_id, g["amount"], line, decision_data["decided_on"]))
        return grants

    def evaluate(self, application: dict):
        """One evaluation per distinct application (a record repeated under new decision
        ids is evaluated once)."""
        try:
            key = orjson.dumps(application, option=orjson.OPT_SORT_KEYS, default=str)
        except TypeError:
            return self.kb.evaluate(application, self.readings)
        decision = self._decisions.get(key)
        if decision is None:
            decision = self._decisions[key] = self.kb.evaluate(application, self.readings)
        return decision

    def check_grant(self, g: Grant) -> bool:
        """Per-grant checks; True when the grant's conditions hold (it enters the cross-checks)."""
        m = self.m
        if g.item not in self.policy.items:
            hint = suggest(g.item, self.policy.items)
            self.add("UNKNOWN_ITEM", g, Text(m.say("f_unknown_item", "zh", item=g.item, hint=hint), m.say("f_unknown_item", "en", item=g.item, hint=hint)))
            return False
        o = next((x for x in g.decision.outcomes if x.item.id == g.item and x.subject == g.subject), None)
        g.outcome = o
        granted = _money(g.amount)
        if o is None:
            self.add("UNDETERMINED", g, m.both("f_undetermined", item=g.item, subject=g.subject, granted=granted, reason=m.both("f_undetermined_no_fact")),
                     clause=self.item_clause(g.item))
            return False
        g3 = self.policy.provision("period")
        if g3 is not None and g3.id in o.by:
            reason = next((f"{e.get('date')}" if e.get("date") else f"{g.year}" for e in o.events if e.by == g3.id), "")
            self.add("OUT_OF_PERIOD", g, m.both("f_out_of_period", item=g.item, subject=g.subject, start=g3.params["from"], end=g3.params["to"], reason=reason, granted=granted),
                     clause=self.rule_clause(g3.id, g.item), allowed=(ZERO, ZERO))
            return False
        g1 = self.policy.provision("eligibility")
        if g1 is not None and g1.id in o.by:
            self.add("NOT_ELIGIBLE", g, m.both("f_not_eligible", item=g.item, subject=g.subject, granted=granted, reason=Text(g1.title.zh, g1.title.en)),
                     clause=self.rule_clause(g1.id, g.item), allowed=(ZERO, ZERO))
            return False
        if o.status == "ineligible":
            self.add("NOT_ELIGIBLE", g, m.both("f_not_eligible", item=g.item, subject=g.subject, granted=granted, reason=self.failed_reasons(g)),
                     clause=self.item_clause(g.item), allowed=(ZERO, ZERO))
            return False
        if o.status == "undetermined":
            fields = Text("、".join(field_label(self.policy, o.fact.type, f, "zh") for f in o.missing),
                          ", ".join(field_label(self.policy, o.fact.type, f, "en") for f in o.missing))
            self.add("UNDETERMINED", g, m.both("f_undetermined", item=g.item, subject=g.subject, granted=granted, reason=m.both("f_undetermined_missing", fields=fields)),
                     clause=self.item_clause(g.item))
            return False
        g2 = self.policy.provision("case_by_case")
        if g2 is not None and g2.id in o.by:
            event = next(e for e in o.events if e.by == g2.id)
            self.add("CASE_BY_CASE_CONFLICT", g, m.both("f_case_by_case", item=g.item, subject=g.subject, support=event.get("support")),
                     clause=self.rule_clause(g2.id, g.item), allowed=(ZERO, ZERO))
            return False
        # the amount against what the item allows on its own
        computed = o.computed
        kind = computed.kind
        if kind == "none":
            if g.amount > 0:
                self.add("OVER_CEILING", g, m.both("f_service_paid", item=g.item, subject=g.subject, granted=granted),
                         clause=self.item_clause(g.item), allowed=(ZERO, ZERO))
            return True
        if kind == "discretionary":
            g.own = (ZERO, computed.high) if computed.high is not None else None
            if computed.high is not None and g.amount > round_fen(computed.high):
                self.add("OVER_CEILING", g, m.both("f_over_ceiling", item=g.item, subject=g.subject, granted=granted, allowed=_money(computed.high)),
                         clause=self.item_clause(g.item), allowed=(None, round_fen(computed.high)))
            return True
        low, high = round_fen(computed.low), round_fen(computed.high)
        g.own = (low, high)
        if g.amount > high:
            self.add("OVER_CEILING", g, m.both("f_over_ceiling", item=g.item, subject=g.subject, granted=granted, allowed=_money(high)),
                     clause=self.item_clause(g.item), allowed=(low, high))
        elif g.amount < low and self.key(g.item, "cap") is None:
            # an item under a group cap may rightly be paid less than its exact sum once the
            # year's cap is used up: group_caps judges its floor against what the cap leaves
            self.under_floor(g, low, high)
        return True

    def under_floor(self, g: Grant, low: Decimal, high: Decimal) -> None:
        self.add("UNDER_FLOOR", g, self.m.both("f_under_floor", item=g.item, subject=g.subject, granted=_money(g.amount), allowed=_money(low)),
                 clause=self.item_clause(g.item), allowed=(low, high))

    def failed_reasons(self, g: Grant) -> Text:
        o = g.outcome
        condition = full_condition(o.item, g.decision.readings)  # a Decision holds no evaluator (issue 8 item 3)
        checks = [c for c in cond.checks(condition, Evaluator.getter(g.decision.application, o.fact)) if c.verdict is False]
        zh = "；".join(failed_text(self.policy, o.fact.type, c.compare, c.actual, c.expected, "zh") for c in checks)
        en = "; ".join(failed_text(self.policy, o.fact.type, c.compare, c.actual, c.expected, "en") for c in checks)
        return Text(zh or "条件不符", en or "conditions not met")

    # -- across grants
    def declared(self, met: list[Grant]) -> list:
        """Awards of this policy the applications declare that are not among the audited
        grants (granted by decisions outside this input): (item, subject, year, amount)."""
        if self._declared is not None:
            return self._declared
        g4 = self.policy.provision("highest_wins")
        fact_type = g4.params.get("fact") if g4 else None
        granted = {(g.item, g.subject, g.year, g.amount) for g in met}
        out: dict = {}
        seen: set[int] = set()
        for g in met:
            if id(g.decision) in seen:
                continue
            seen.add(id(g.decision))
            for f in g.decision.application.facts:
                if f.type == fact_type and f.get("source") == THIS_POLICY:
                    key = (f.get("item"), f.subject, f.get("year"), f.get("amount"))
                    if key not in granted:
                        out[key] = key
        self._declared = list(out.values())
        return self._declared

    def key(self, item_id: str, name: str) -> str | None:
        """The relation key of ``item_id`` (engine/relation_rules.py), None when it has none."""
        return self.keys.get(item_id, {}).get(name)

    def exclusive(self, met: list[Grant]) -> None:
        declared = self.declared(met)
        groups: dict[tuple[str, int], list[Grant]] = {}
        for g in met:
            group = self.key(g.item, "group")
            if group is not None and g.own is not None:
                groups.setdefault((group, g.year), []).append(g)
        for (rid, year), grants in sorted(groups.items()):
            rel = self.policy.relations[rid]
            one_project = resolve(rel.params.get("projects", "all"), self.readings) == "largest"
            totals: dict[str, Decimal] = {}
            for g in grants:
                totals[g.item] = totals.get(g.item, ZERO) + g.amount
            earlier = [d for d in declared if self.key(d[0], "group") == rid and d[2] == year]
            for item, _, _, amount in earlier:
                totals[item] = totals.get(item, ZERO) + amount
            order = {i: self.policy.items[i].order for i in totals}
            kept = sorted(totals, key=lambda i: (-totals[i], order[i]))[0]
            projects_kept = 1 - len([d for d in earlier if d[0] == kept])  # one project a year, under I-04
            others_of = {item: _listing([f"{i} {fmt_cny(v)}" for i, v in totals.items() if i != item]) for item in totals}
            same_kind = [g for g in sorted(grants, key=lambda g: (-g.amount,) + g.order()) if g.item == kept]
            for g in sorted(grants, key=lambda g: (-g.amount,) + g.order()):
                if g.item != kept:
                    others = others_of[g.item] if others_of[g.item].zh else _t(g.item)
                    self.add("EXCLUSIVE_CONFLICT", g, self.m.both("f_exclusive", item=g.item, subject=g.subject, others=others, relation=rid),
                             clause=self.rule_clause(rid, g.item), allowed=(ZERO, ZERO))
                elif one_project:
                    if projects_kept > 0:
                        projects_kept -= 1
                        continue
                    # the largest project of the kept type stands; name it and count the others
                    first = same_kind[0] if same_kind[0] is not g else (same_kind[1] if len(same_kind) > 1 else None)
                    same = _listing([f"{first.item}（{first.subject}）{fmt_cny(first.amount)}"], len(same_kind) - 1) if first else _t(kept)
                    self.add("EXCLUSIVE_CONFLICT", g, self.m.both("f_exclusive", item=g.item, subject=g.subject, others=same, relation=rid),
                             clause=self.rule_clause(rid, g.item), allowed=(ZERO, ZERO))

    def group_caps(self, met: list[Grant]) -> None:
        declared = self.declared(met)
        groups: dict[tuple[str, int], list[Grant]] = {}
        for g in met:
            cap_id = self.key(g.item, "cap")
            if cap_id is not None:
                groups.setdefault((cap_id, g.year), []).append(g)
        for (rid, year), grants in sorted(groups.items()):
            cap = self.policy.relations[rid].params["cap"]
            before_input = sum((d[3] for d in declared if self.key(d[0], "cap") == rid and d[2] == year), ZERO)
            total = before_input + sum((g.amount for g in grants), ZERO)
            for g in grants:
                # below an exact sum or a floor only by more than the cap leaves beside the others
                if g.own is not None and g.amount < g.own[0]:
                    due = g.own[0] if g.outcome is None or g.outcome.status != "reduced" else min(g.own[0], round_fen(g.outcome.low))
                    if g.amount < min(due, max(ZERO, cap - (total - g.amount))):
                        self.under_floor(g, g.own[0], g.own[1])
            if total <= cap:
                continue
            running = before_input
            for g in sorted(grants, key=Grant.order):
                before = running
                running += g.amount
                if running > cap:
                    items = "、".join(sorted({x.item for x in grants}))
                    self.add("OVER_GROUP_CAP", g, self.m.both("f_group_cap", year=year, relation=rid, total=_money(total), cap=_money(cap), items=items),
                             clause=self.rule_clause(rid, g.item), allowed=(ZERO, max(ZERO, cap - before)))
                    break

    def duplicates(self, met: list[Grant]) -> None:
        g4 = self.policy.provision("highest_wins")
        if g4 is None:
            return
        mode = resolve(g4.params.get("prior_awards", "top_up"), self.readings)
        reading = next(iter(sorted(_switch_readings(g4.params.get("prior_awards")))), "")
        fact_type = g4.params.get("fact")
        groups: dict[tuple, list[Grant]] = {}
        for g in met:
            if g.own is None:
                continue
            groups.setdefault((g.subject, self.key(g.item, "kind")), []).append(g)
        granted_keys = {(g.item, g.subject, g.year, g.amount) for g in met}
        for (subject, kind), grants in groups.items():
            # awards declared in the applications: from other policies, or from this one but not among the records
            priors: dict[tuple, Decimal] = {}
            seen: set[int] = set()
            for g in grants:
                if id(g.decision) in seen:
                    continue
                seen.add(id(g.decision))
                for f in g.decision.application.facts:
                    if f.type != fact_type or f.subject != subject or self.key(f.get("item") or "", "kind") != kind:
                        continue
                    if f.get("source") == THIS_POLICY and (f.get("item"), f.subject, f.get("year"), f.get("amount")) in granted_keys:
                        continue
                    priors[(f.get("source"), f.get("item"), f.get("year"), f.get("amount"))] = f.get("amount")
            ordered = sorted(grants, key=Grant.order)
            # running aggregates over the grants before g, by year and by (item, year): what
            # counts against g is a handful of lookups, not a rescan of the history
            by_year: dict[int, list] = {}  # year → [count, sum, max own]
            by_item_year: dict[tuple[str, int], list] = {}
            for n, g in enumerate(ordered):
                # what counts against g: as the ~top_up rules (an item that repeats yearly is a
                # new event each year; its own earlier awards do not count)
                once = self.repeat(g.item) == "once"
                counts = lambda item, year: year <= g.year and (once or item != g.item or year == g.year)  # noqa: E731
                count, total, entitled = 0, ZERO, g.own[1]
                for year, (c, s_, m_) in by_year.items():
                    if year <= g.year:
                        count, total, entitled = count + c, total + s_, max(entitled, m_)
                if not once:  # take out g's own item of earlier years
                    for (item, year), (c, s_, m_) in by_item_year.items():
                        if item == g.item and year < g.year:
                            count, total = count - c, total - s_
                    others = [m_ for (item, year), (c, s_, m_) in by_item_year.items() if year <= g.year and counts(item, year)]
                    entitled = max([g.own[1]] + others)
                earlier = {k: a for k, a in priors.items() if counts(k[1], k[2])}
                slot = by_year.setdefault(g.year, [0, ZERO, ZERO])
                slot[0], slot[1], slot[2] = slot[0] + 1, slot[1] + g.amount, max(slot[2], g.own[1])
                slot = by_item_year.setdefault((g.item, g.year), [0, ZERO, ZERO])
                slot[0], slot[1], slot[2] = slot[0] + 1, slot[1] + g.amount, max(slot[2], g.own[1])
                if not count and not earlier:
                    continue
                running = sum(earlier.values(), ZERO) + total + g.amount
                # the awards that count against g, named up to a few and counted (never the whole history)
                named = [f"{s}:{i or ''} {y} {fmt_cny(a)}" for (s, i, y, a) in earlier][:LISTED]
                for x in reversed(ordered[:n]):
                    if len(named) >= LISTED:
                        break
                    if counts(x.item, x.year):
                        named.append(f"{x.item} {x.year} {fmt_cny(x.amount)}")
                described = _listing(named, len(earlier) + count)
                if mode == "exclusive":
                    self.add("DUPLICATE_SAME_KIND", g, self.m.both("f_duplicate_exclusive", item=g.item, subject=g.subject, others=described, reading=reading),
                             clause=self.rule_clause(g4.id, g.item), allowed=(ZERO, ZERO))
                elif mode == "top_up" and running > entitled:
                    self.add("DUPLICATE_SAME_KIND", g, self.m.both("f_duplicate_top_up", item=g.item, subject=g.subject, others=described,
                                                                  total=_money(running), allowed=_money(entitled), reading=reading),
                             clause=self.rule_clause(g4.id, g.item), allowed=(ZERO, max(ZERO, entitled - (running - g.amount))))

    def repeat(self, item_id: str) -> str:
        repeat = self.policy.items[item_id].repeat
        return repeat.pick(self.readings) if isinstance(repeat, Switch) else repeat

    def requirements(self, met: list[Grant]) -> None:
        declared = self.declared(met)
        for g in met:
            needed = self.key(g.item, "needs")
            if needed is None:
                continue
            paid = self._paid.get(needed)
            if paid is None:
                paid = self._paid[needed] = {x.subject for x in met if x.item == needed} | {d[1] for d in declared if d[0] == needed}
            if g.subject not in paid:
                rid = self.key(g.item, "needs_rel")
                self.add("MISSING_REQUIREMENT", g, self.m.both("f_missing_requirement", item=g.item, subject=g.subject, required=needed),
                         clause=self.rule_clause(rid, g.item), allowed=(ZERO, ZERO))

    def other_rewards(self, met: list[Grant]) -> None:
        """X-m14: the scenario had obtained another smart/digital reward by the time of the grant
        (granted in these records or declared in its application) — not one merely met."""
        g4 = self.policy.provision("highest_wins")
        fact_type = g4.params.get("fact") if g4 else None
        by_subject: dict[str, list[Grant]] = {}
        for g in met:
            by_subject.setdefault(g.subject, []).append(g)
        for subject, grants in by_subject.items():
            if not any(self.key(g.item, "other") for g in grants):
                continue
            seen: dict[str, int] = {}  # items granted so far for the subject, in the order of grants
            for g in sorted(grants, key=Grant.order):
                seen[g.item] = seen.get(g.item, 0) + 1
                rid = self.key(g.item, "other")
                if rid is None:
                    continue
                rel = self.policy.relations[rid]
                declared_sources = tuple(rel.params.get("declared_sources", ()))
                names = {i for i in seen if i != g.item}
                for f in g.decision.application.facts:
                    if f.type == fact_type and f.subject == g.subject and f.get("year") <= g.year and f.get("item") != g.item and (
                            f.get("source") == THIS_POLICY or (f.get("source") in declared_sources and f.get("smart_digital"))):
                        names.add(f.get("item") or f.get("source"))
                if names:
                    self.add("NOT_ELIGIBLE", g, self.m.both("f_other_reward", item=g.item, subject=g.subject, others=_listing(sorted(names)), granted=_money(g.amount)),
                             clause=self.rule_clause(rid, g.item), allowed=(ZERO, ZERO))


def _switch_readings(value) -> set[str]:
    from policykb.kb.model import switch_readings

    return switch_readings(value)


def audit_applicant(kb, records: list[RecordIn], readings: Mapping[str, str]) -> list[Finding]:
    """Every finding for one applicant's records, each marked with the readings it disappears under."""
    findings = ApplicantAudit(kb, records, readings).run()
    if not findings:
        return findings
    candidates: set[str] = set()
    for f in findings:
        if f.item in kb.policy.items:
            candidates.update(kb.policy.items[f.item].readings)
    candidates.update(r for r in ("I-05", "I-08", "I-09") if r in kb.policy.readings)
    for rid in sorted(candidates):
        for option in kb.policy.readings[rid].options:
            if option == readings[rid]:
                continue
            alt = dict(readings, **{rid: option})
            keys = {f.key() for f in ApplicantAudit(kb, records, alt).run()}
            for f in findings:
                if f.key() not in keys and f.code != "INVALID_RECORD":
                    f.disappears_under.append({"reading": rid, "option": option})
    for f in findings:
        if f.disappears_under:
            label = ", ".join(f"{d['reading']}={d['option']}" for d in f.disappears_under)
            note = messages().both("f_disappears", readings=label)
            f.explanation = Text(f"{f.explanation.zh}；{note.zh}", f"{f.explanation.en}; {note.en}")
    return findings
