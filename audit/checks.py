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

Nothing relational is decided here.  The grants whose conditions hold go to the
engine (``engine/grants.py``): they are asserted as ``$grant`` facts into the same
durable_rules ruleset as an evaluation's, the grant rules of
``engine/relation_rules.py`` derive the edges that join them to each other, to the
awards the applications declare and to the clauses, and the resolution of that graph
says what each grant is allowed.  Each ``Verdict`` — a disagreement between what was
granted and what the graph allows, naming its relation and edge — is worded here as a
finding (``ApplicantAudit.sources`` keeps the verdict behind each finding).  The work
is near-linear in an applicant's grants; an explanation lists at most a few others
and counts the rest, and repeats of one grant (same item, subject, year, amount and
finding) are one finding with a ``count``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from policykb.engine import grants
from policykb.engine.evaluate import Evaluator, full_condition
from policykb.errors import InputError, suggest
from policykb.kb import conditions as cond
from policykb.kb.describe import failed_text, field_label
from policykb.kb.graph import OTHER_REWARD_LABEL
from policykb.kb.messages import messages
from policykb.kb.model import Switch, Text, switch_readings
from policykb.money import ZERO, MoneyError, fmt_cny, parse_money, round_fen
from policykb.vocabulary import AmountKind, ProvisionKind, RelationKind, Status

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
    d = record.decision
    if not isinstance(d, dict):
        return None, ["decision: expected an object with decision_id, decided_on and granted"]
    problems = [
        f"decision.{key}: unknown field{suggest(key, ('decision_id', 'decided_on', 'granted'))}"
        for key in d
        if key not in ("decision_id", "decided_on", "granted", "note")
    ]
    if not isinstance(d.get("decision_id"), str) or not d.get("decision_id"):
        problems.append("decision.decision_id: expected non-empty text")
    decided_on = _decided_on(d, problems)
    granted = d.get("granted")
    if not isinstance(granted, list):
        problems.append("decision.granted: expected a list of {item, subject, amount}")
        granted = []
    entries = [entry for i, g in enumerate(granted) if (entry := _grant_entry(f"decision.granted[{i}]", g, problems)) is not None]
    if problems:
        return None, problems
    return {"decision_id": d["decision_id"], "decided_on": decided_on, "grants": entries}, []


def _decided_on(d: dict, problems: list[str]) -> dt.date | None:
    if d.get("decided_on") is None:
        return None
    try:
        return dt.date.fromisoformat(str(d["decided_on"]))
    except ValueError:
        problems.append(f"decision.decided_on: expected a date YYYY-MM-DD, found {d['decided_on']!r}")
        return None


def _grant_entry(where: str, g: Any, problems: list[str]) -> dict | None:
    """One granted award {item, subject, amount}, checked; None (and its problems noted) when unusable."""
    if not isinstance(g, dict):
        problems.append(f"{where}: expected an object {{item, subject, amount}}")
        return None
    problems.extend(
        f"{where}.{key}: unknown field{suggest(key, ('item', 'subject', 'amount'))}"
        for key in g
        if key not in ("item", "subject", "amount")
    )
    if not isinstance(g.get("item"), str) or not g.get("item"):
        problems.append(f"{where}.item: expected an item ID")
    if "subject" in g and (not isinstance(g["subject"], str) or not g["subject"]):
        problems.append(f"{where}.subject: expected text")
    try:
        amount = parse_money(g.get("amount"))
    except MoneyError as exc:
        problems.append(f"{where}.amount: {exc}")
        return None
    return {"item": g.get("item"), "subject": g.get("subject"), "amount": amount}


class ApplicantAudit:
    """One applicant's records: each grant held against its own record's evaluation, then
    the grants whose conditions hold handed to the engine's grant graph (``engine/grants.py``),
    whose verdicts become findings here."""

    def __init__(self, kb: Any, records: list[RecordIn], readings: Mapping[str, str]):
        self.kb = kb
        self.policy = kb.policy
        self.records = records
        self.readings = dict(readings)
        self.m = messages()
        self.findings: dict[tuple, Finding] = {}
        self.repeats: dict[tuple, Finding] = {}
        self._decisions: dict[bytes, Any] = {}
        self.resolved: grants.GrantGraph | None = None  # the grant graph, once the grants are resolved
        self.sources: dict[tuple[str, str], grants.Verdict] = {}  # finding key → the verdict behind it
        self.period = self.policy.provision(ProvisionKind.PERIOD)
        self.eligibility = self.policy.provision(ProvisionKind.ELIGIBILITY)
        self.case_by_case = self.policy.provision(ProvisionKind.CASE_BY_CASE)

    # -- recording
    def add(
        self,
        code: str,
        grant: Grant | None,
        explanation: Text,
        *,
        record: RecordIn | None = None,
        allowed: tuple[Decimal | None, Decimal | None] | None = None,
        clause: dict | None = None,
        item: str | None = None,
        subject: str | None = None,
    ) -> Finding | None:
        """Record a finding; a repeat of one grant found the same way only counts.  Returns
        the finding that stands for it (None for a repeat)."""
        finding = self.finding(
            code,
            grant,
            explanation,
            record or (grant.record if grant else None),
            allowed,
            clause,
            item or (grant.item if grant else None),
            subject or (grant.subject if grant else None),
        )
        if code in PAIR_CODES and grant is not None:
            repeat = (code, grant.item, grant.subject, grant.year, grant.amount, allowed)
            first = self.repeats.get(repeat)
            if first is not None:
                first.count += 1
                return None
            self.repeats[repeat] = finding
        return self.findings.setdefault(finding.key(), finding)

    def finding(
        self,
        code: str,
        grant: Grant | None,
        explanation: Text,
        record: RecordIn | None,
        allowed: tuple[Decimal | None, Decimal | None] | None,
        clause: dict | None,
        item: str | None,
        subject: str | None,
    ) -> Finding:
        return Finding(
            code=code,
            record=record.index if record else None,
            line=_line(grant, record),
            decision_id=_decision_id(grant, record),
            applicant=_applicant(record),
            year=_year(grant, record),
            item=item,
            subject=subject,
            measure=self.policy.items[item].measure if item in self.policy.items else None,
            granted=grant.amount if grant else None,
            allowed=allowed,
            clause=clause,
            explanation=explanation,
        )

    def item_clause(self, item_id: str) -> dict:
        item = self.policy.items[item_id]
        return {"id": item_id, "label": item.label, "quote": item.quote}

    def rule_clause(self, rule_id: str, item_id: str | None = None) -> dict:
        owner = self.policy.relations.get(rule_id) or self.policy.provisions.get(rule_id)
        label = self.policy.items[item_id].label if item_id in self.policy.items else ""
        return {"id": rule_id, "label": label, "quote": owner.quote if owner else ""}

    # -- the audit
    def run(self) -> list[Finding]:
        held = [g for g in self.evaluate_records() if self.check_grant(g)]
        self.relations(held)
        for f in self.repeats.values():
            if f.count > 1:
                note = self.m.both("f_repeated", more=f.count - 1, count=f.count)
                f.explanation = Text(f"{f.explanation.zh}；{note.zh}", f"{f.explanation.en}; {note.en}")
        return sorted(self.findings.values(), key=lambda f: f.sort_key())

    def evaluate_records(self) -> list[Grant]:
        out: list[Grant] = []
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
            if problems or decision is None or decision_data is None:
                reason = "; ".join(problems[:5]) + (f"; … {len(problems) - 5} more" if len(problems) > 5 else "")
                self.add("INVALID_RECORD", None, self.m.both("f_invalid", reason=reason_words(reason)), record=record)
                continue
            out.extend(self.grants_of(record, decision, decision_data))
        return out

    @staticmethod
    def grants_of(record: RecordIn, decision: Any, data: dict) -> list[Grant]:
        applicant_id = decision.application.applicant_id
        out = []
        for position, g in enumerate(data["grants"]):
            line = record.grant_lines[position] if record.grant_lines else record.line
            out.append(Grant(record, decision, position, g["item"], g["subject"] or applicant_id, g["amount"], line, data["decided_on"]))
        return out

    def evaluate(self, application: dict) -> Any:
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

    # -- one grant against its own record's evaluation
    def check_grant(self, g: Grant) -> bool:
        """Per-grant checks; True when the grant's conditions hold (it enters the grant graph)."""
        if g.item not in self.policy.items:
            hint = suggest(g.item, self.policy.items)
            self.add(
                "UNKNOWN_ITEM",
                g,
                Text(
                    self.m.say("f_unknown_item", "zh", item=g.item, hint=hint), self.m.say("f_unknown_item", "en", item=g.item, hint=hint)
                ),
            )
            return False
        o = g.outcome = next((x for x in g.decision.outcomes if x.item.id == g.item and x.subject == g.subject), None)
        if o is None:
            self.add(
                "UNDETERMINED",
                g,
                self.m.both(
                    "f_undetermined", item=g.item, subject=g.subject, granted=_money(g.amount), reason=self.m.both("f_undetermined_no_fact")
                ),
                clause=self.item_clause(g.item),
            )
            return False
        for step in (self.in_period, self.applicant_eligible, self.conditions_met, self.determined, self.not_case_by_case):
            if not step(g, o):
                return False
        self.within_own_amount(g, o)
        return True

    def in_period(self, g: Grant, o: Any) -> bool:
        g3 = self.period
        if g3 is None or g3.id not in o.by:
            return True
        reason = next((f"{e.get('date')}" if e.get("date") else f"{g.year}" for e in o.events if e.by == g3.id), "")
        self.add(
            "OUT_OF_PERIOD",
            g,
            self.m.both(
                "f_out_of_period",
                item=g.item,
                subject=g.subject,
                start=g3.params["from"],
                end=g3.params["to"],
                reason=reason,
                granted=_money(g.amount),
            ),
            clause=self.rule_clause(g3.id, g.item),
            allowed=(ZERO, ZERO),
        )
        return False

    def applicant_eligible(self, g: Grant, o: Any) -> bool:
        g1 = self.eligibility
        if g1 is None or g1.id not in o.by:
            return True
        self.add(
            "NOT_ELIGIBLE",
            g,
            self.m.both("f_not_eligible", item=g.item, subject=g.subject, granted=_money(g.amount), reason=Text(g1.title.zh, g1.title.en)),
            clause=self.rule_clause(g1.id, g.item),
            allowed=(ZERO, ZERO),
        )
        return False

    def conditions_met(self, g: Grant, o: Any) -> bool:
        if o.status != Status.INELIGIBLE:
            return True
        self.add(
            "NOT_ELIGIBLE",
            g,
            self.m.both("f_not_eligible", item=g.item, subject=g.subject, granted=_money(g.amount), reason=self.failed_reasons(g)),
            clause=self.item_clause(g.item),
            allowed=(ZERO, ZERO),
        )
        return False

    def determined(self, g: Grant, o: Any) -> bool:
        if o.status != Status.UNDETERMINED:
            return True
        fields = Text(
            "、".join(field_label(self.policy, o.fact.type, f, "zh") for f in o.missing),
            ", ".join(field_label(self.policy, o.fact.type, f, "en") for f in o.missing),
        )
        self.add(
            "UNDETERMINED",
            g,
            self.m.both(
                "f_undetermined",
                item=g.item,
                subject=g.subject,
                granted=_money(g.amount),
                reason=self.m.both("f_undetermined_missing", fields=fields),
            ),
            clause=self.item_clause(g.item),
        )
        return False

    def not_case_by_case(self, g: Grant, o: Any) -> bool:
        g2 = self.case_by_case
        if g2 is None or g2.id not in o.by:
            return True
        event = next(e for e in o.events if e.by == g2.id)
        self.add(
            "CASE_BY_CASE_CONFLICT",
            g,
            self.m.both("f_case_by_case", item=g.item, subject=g.subject, support=event.get("support")),
            clause=self.rule_clause(g2.id, g.item),
            allowed=(ZERO, ZERO),
        )
        return False

    def within_own_amount(self, g: Grant, o: Any) -> None:
        """The amount against what the item allows on its own; a grant short of its floor is
        left to the grant graph, which knows whether a group cap took the difference."""
        computed = o.computed
        if computed.kind == AmountKind.NONE:
            if g.amount > 0:
                self.add(
                    "OVER_CEILING",
                    g,
                    self.m.both("f_service_paid", item=g.item, subject=g.subject, granted=_money(g.amount)),
                    clause=self.item_clause(g.item),
                    allowed=(ZERO, ZERO),
                )
            return
        if computed.kind == AmountKind.DISCRETIONARY:
            if computed.high is None:
                return
            g.own = (ZERO, computed.high)
            if g.amount > round_fen(computed.high):
                self.over_ceiling(g, (None, round_fen(computed.high)))
            return
        g.own = (round_fen(computed.low), round_fen(computed.high))
        if g.amount > g.own[1]:
            self.over_ceiling(g, g.own)

    def over_ceiling(self, g: Grant, allowed: tuple[Decimal | None, Decimal]) -> None:
        self.add(
            "OVER_CEILING",
            g,
            self.m.both("f_over_ceiling", item=g.item, subject=g.subject, granted=_money(g.amount), allowed=_money(allowed[1])),
            clause=self.item_clause(g.item),
            allowed=allowed,
        )

    def failed_reasons(self, g: Grant) -> Text:
        o = g.outcome
        condition = full_condition(o.item, g.decision.readings)  # a Decision holds no evaluator (issue 8 item 3)
        checks = [c for c in cond.checks(condition, Evaluator.getter(g.decision.application, o.fact)) if c.verdict is False]
        zh = "；".join(failed_text(self.policy, o.fact.type, c.compare, c.actual, c.expected, "zh") for c in checks)
        en = "; ".join(failed_text(self.policy, o.fact.type, c.compare, c.actual, c.expected, "en") for c in checks)
        return Text(zh or "条件不符", en or "conditions not met")

    # -- the grants together: the engine's grant graph decides, findings word its verdicts
    def relations(self, held: list[Grant]) -> None:
        by_key: dict[str, Grant] = {}
        inputs: list[grants.GrantIn] = []
        seq = {id(g): n for n, g in enumerate(sorted(held, key=Grant.order))}
        for pos, g in enumerate(held):
            key = f"{g.record.index}.{g.position}"
            by_key[key] = g
            inputs.append(grants.GrantIn(key, g.item, g.subject, g.year, g.amount, seq[id(g)], pos, g.own, _due(g)))
        applications = list({id(g.decision): g.decision.application for g in held}.values())
        self.resolved = grants.resolve_grants(self.kb.evaluator, self.readings, inputs, applications)
        for verdict in self.resolved.verdicts:
            g = by_key[verdict.grant]
            code = _code(verdict)
            first = self.repeats.get((code, g.item, g.subject, g.year, g.amount, verdict.allowed))
            if first is not None:  # a repeat of a grant already found: counted, not worded again
                first.count += 1
                continue
            explanation, clause = self.word(verdict, g)
            finding = self.add(code, g, explanation, clause=clause, allowed=verdict.allowed)
            if finding is not None:
                self.sources.setdefault((code, verdict.grant), verdict)

    def word(self, v: grants.Verdict, g: Grant) -> tuple[Text, dict]:
        """The explanation and clause of the finding a verdict makes."""
        if v.disagreement == grants.SHORTFALL:
            return self.m.both(
                "f_under_floor", item=g.item, subject=g.subject, granted=_money(g.amount), allowed=_money(v.allowed[0])
            ), self.item_clause(g.item)
        phrase, values = _WORDING[v.kind](v, g)
        if v.kind == RelationKind.EXCLUDED_BY_OTHER_REWARD:  # the other reward in the relation's own words
            values["other"] = self.kb.policy.relations[v.relation].params.get("other_label") or OTHER_REWARD_LABEL
        return self.m.both(phrase, item=g.item, subject=g.subject, **values), self.rule_clause(v.relation, g.item)


def _exclusive_words(v: grants.Verdict, g: Grant) -> tuple[str, dict]:
    others = v.get("others")
    if others is not None:
        listed = _listing([f"{i} {fmt_cny(a)}" for i, a in others]) if others else _t(g.item)
    else:
        same = v.get("same")
        listed = _listing([f"{same[0]}（{same[1]}）{fmt_cny(same[2])}"], v.get("same_count")) if same else _t(v.get("kept"))
    return "f_exclusive", {"others": listed, "relation": v.relation}


def _cap_words(v: grants.Verdict, g: Grant) -> tuple[str, dict]:
    return "f_group_cap", {
        "year": v.get("year"),
        "relation": v.relation,
        "total": _money(v.get("total")),
        "cap": _money(v.get("cap")),
        "items": "、".join(v.get("items")),
    }


def _same_kind_words(v: grants.Verdict, g: Grant) -> tuple[str, dict]:
    named = [
        f"{n[1]}:{n[2] or ''} {n[3]} {fmt_cny(n[4])}" if n[0] == "declared" else f"{n[1]} {n[2]} {fmt_cny(n[3])}" for n in v.get("named")
    ]
    values = {"others": _listing(named, v.get("count")), "reading": v.get("reading")}
    if v.get("mode") == "exclusive":
        return "f_duplicate_exclusive", values
    return "f_duplicate_top_up", dict(values, total=_money(v.get("total")), allowed=_money(v.get("entitled")))


def _requirement_words(v: grants.Verdict, g: Grant) -> tuple[str, dict]:
    return "f_missing_requirement", {"required": v.get("required")}


def _other_reward_words(v: grants.Verdict, g: Grant) -> tuple[str, dict]:
    return "f_other_reward", {"others": _listing(list(v.get("others"))), "granted": _money(g.amount)}


# relation or provision kind → the code of the findings its verdicts make, and their wording
_CODES: dict[str, str] = {
    RelationKind.EXCLUSIVE: "EXCLUSIVE_CONFLICT",
    RelationKind.GROUP_CAP: "OVER_GROUP_CAP",
    ProvisionKind.HIGHEST_WINS: "DUPLICATE_SAME_KIND",
    RelationKind.REQUIRES: "MISSING_REQUIREMENT",
    RelationKind.EXCLUDED_BY_OTHER_REWARD: "NOT_ELIGIBLE",
}
_WORDING: dict[str, Callable[[grants.Verdict, Grant], tuple[str, dict]]] = {
    RelationKind.EXCLUSIVE: _exclusive_words,
    RelationKind.GROUP_CAP: _cap_words,
    ProvisionKind.HIGHEST_WINS: _same_kind_words,
    RelationKind.REQUIRES: _requirement_words,
    RelationKind.EXCLUDED_BY_OTHER_REWARD: _other_reward_words,
}


def _code(v: grants.Verdict) -> str:
    return "UNDER_FLOOR" if v.disagreement == grants.SHORTFALL else _CODES[v.kind]


def _due(g: Grant) -> Decimal | None:
    """The least ``g``'s outcome was due before group caps: its floor, or less where the
    evaluation itself reduced it."""
    if g.own is None or g.outcome is None:
        return None
    if g.outcome.status == Status.REDUCED:
        return min(g.own[0], round_fen(g.outcome.low))
    return g.own[0]


def _line(grant: Grant | None, record: RecordIn | None) -> int | None:
    if grant is not None and grant.line:
        return grant.line
    return record.line if record is not None else None


def _decision_id(grant: Grant | None, record: RecordIn | None) -> str | None:
    if grant is not None:
        return grant.record.decision.get("decision_id")
    if record is not None and isinstance(record.decision, dict):
        found = record.decision.get("decision_id")
        return found if isinstance(found, str) else None
    return None


def _application(record: RecordIn | None) -> dict:
    if record is not None and isinstance(record.application, dict):
        return record.application
    return {}


def _applicant(record: RecordIn | None) -> str | None:
    applicant = _application(record).get("applicant")
    return applicant.get("id") if isinstance(applicant, dict) else None


def _year(grant: Grant | None, record: RecordIn | None) -> int | None:
    if grant is not None:
        return grant.year
    year = _application(record).get("year")
    return year if isinstance(year, int) else None


def alternative_readings(policy: Any, findings: list[Finding]) -> list[str]:
    """The readings under which a finding might not arise: the flagged items' own, those of
    every relation that joins a flagged item (its members or parameters), and those of the
    provisions, which act on every item (docs/audit.md)."""
    items = {f.item for f in findings if f.item in policy.items}
    found: set[str] = set()
    for item_id in items:
        found.update(policy.items[item_id].readings)
    for rel in policy.relations.values():
        if items & member_items(rel.members):
            found |= switch_readings(rel.members) | set().union(*(switch_readings(v) for v in rel.params.values()))
    for prov in policy.provisions.values():
        found |= switch_readings(prov.params) | switch_readings(prov.conditions)
    return sorted(r for r in found if r in policy.readings)


def member_items(members: Any) -> set[str]:
    """The items a relation may join, under any reading."""
    if isinstance(members, Switch):
        return set().union(*(member_items(case) for case in members.cases.values()))
    return set(members or ())


def _mark_disappearing(findings: list[Finding], alternative: list[Finding], rid: str, option: str) -> None:
    keys = {f.key() for f in alternative}
    for f in findings:
        if f.key() not in keys and f.code != "INVALID_RECORD":
            f.disappears_under.append({"reading": rid, "option": option})


def audit_applicant(kb: Any, records: list[RecordIn], readings: Mapping[str, str]) -> list[Finding]:
    """Every finding for one applicant's records, each marked with the readings it disappears under."""
    findings = ApplicantAudit(kb, records, readings).run()
    if not findings:
        return findings
    for rid in alternative_readings(kb.policy, findings):
        for option in kb.policy.readings[rid].options:
            if option != readings[rid]:
                _mark_disappearing(findings, ApplicantAudit(kb, records, dict(readings, **{rid: option})).run(), rid, option)
    for f in findings:
        if f.disappears_under:
            label = ", ".join(f"{d['reading']}={d['option']}" for d in f.disappears_under)
            note = messages().both("f_disappears", readings=label)
            f.explanation = Text(f"{f.explanation.zh}；{note.zh}", f"{f.explanation.en}; {note.en}")
    return findings
