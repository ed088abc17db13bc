"""The decision: every outcome of one evaluation, as stable JSON and as a readable table.

JSON shape (docs/engine.md)::

    {"policy", "kb_version", "applicant": {"id", "name"}, "year", "readings",
     "outcomes": [{"item", "measure", "subject", "status",
                   "amount": {"kind", "min", "max"}, "by", "readings", "missing"}],
     "totals": {"min", "max"}}

Amounts are decimal strings with two decimals; a ceiling's min is "0.00"; an
excluded or ineligible cash item shows "0.00"; services, undetermined items and
discretionary routes without a ceiling show null.  Totals add the eligible and
reduced cash outcomes.  The same input gives the same bytes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Mapping

from policykb.errors import UnknownItemError, suggest
from policykb.kb.describe import field_label
from policykb.kb.messages import messages
from policykb.kb.model import Policy
from policykb.money import ZERO, exactly, fmt, fmt_cny
from policykb.text import json_text, table

from .application import Application, Fact
from .outcomes import CASH, Outcome


def amount_dict(o: Outcome) -> dict:
    kind = o.kind if o.computed else o.amount_spec.kind
    if o.status in ("eligible", "reduced"):
        return {"kind": kind, "min": fmt(o.low), "max": fmt(o.high)}
    if o.status == "discretionary":
        return {"kind": kind, "min": None, "max": fmt(o.high)}
    if o.status in ("excluded", "ineligible") and kind in CASH:
        return {"kind": kind, "min": "0.00", "max": "0.00"}
    return {"kind": kind, "min": None, "max": None}


class Decision:
    """The result of evaluating one application under one set of readings."""

    def __init__(self, policy: Policy, application: Application, readings: Mapping[str, str],
                 outcomes: list[Outcome], firings, facts_by_id: Mapping[str, Fact], g1_ok: bool, evaluator=None):
        self.evaluator = evaluator  # to re-evaluate under other readings when explaining
        self.policy = policy
        self.application = application
        self.readings = dict(sorted(readings.items()))
        self.outcomes = outcomes
        self.firings = firings
        self.facts_by_id = dict(facts_by_id)
        self.g1_ok = g1_ok
        self.covered: dict[str, str] = {}  # item ID → the cover of G1 that admits the applicant for it (I-14)

    @property
    def kb_version(self) -> str:
        return self.policy.version

    @exactly
    def totals(self) -> tuple[Decimal, Decimal]:
        low = sum((o.low for o in self.outcomes if o.is_cash), ZERO)
        high = sum((o.high for o in self.outcomes if o.is_cash), ZERO)
        return low, high

    def outcome(self, item: str, subject: str | None = None) -> Outcome:
        """The outcome of ``item`` (for ``subject`` when the item has several)."""
        if item not in self.policy.items:
            raise UnknownItemError(f"unknown item '{item}'{suggest(item, self.policy.items)}")
        found = [o for o in self.outcomes if o.item.id == item]
        if subject is not None:
            found = [o for o in found if o.subject == subject]
            if not found:
                subjects = [o.subject for o in self.outcomes if o.item.id == item]
                raise UnknownItemError(
                    f"{item} has no outcome for subject '{subject}'{suggest(subject, subjects)}; subjects: {', '.join(subjects) or 'none'}"
                )
        if not found:
            raise UnknownItemError(f"the application holds no fact relevant to {item}")
        if len(found) > 1:
            raise UnknownItemError(f"{item} has outcomes for several subjects ({', '.join(o.subject for o in found)}); name one with --subject")
        return found[0]

    # -- explanations
    def explain(self, item: str, subject: str | None = None, *, alternatives: bool = True):
        """The explanation of one item's outcome (docs/explain.md): why, or why not.

        ``subject`` is needed when the item has outcomes for several subjects; an item
        the application holds no fact for is explained too (which fact it would need).
        With ``alternatives`` the readings it depends on are evaluated both ways.
        """
        from policykb.explain.why import explain

        found = explain(self, item, subject, alternatives=alternatives)
        if len(found) > 1:
            subjects = ", ".join(e.data["subject"] for e in found)
            raise UnknownItemError(f"{item} has outcomes for several subjects ({subjects}); name one")
        return found[0]

    def trace(self):
        """The derivation as a networkx DiGraph (see ``policykb.explain.trace``)."""
        from policykb.explain.trace import trace_graph
        from policykb.money import exact

        with exact():
            return trace_graph(self)

    # -- serialisation
    @exactly
    def to_dict(self) -> dict[str, Any]:
        low, high = self.totals()
        app = self.application
        return {
            "policy": self.policy.id,
            "kb_version": self.kb_version,
            "applicant": {"id": app.applicant["id"], "name": app.applicant["name"]},
            "year": app.year,
            "readings": dict(self.readings),
            "outcomes": [
                {
                    "item": o.item.id,
                    "measure": o.item.measure,
                    "subject": o.subject,
                    "status": o.status,
                    "amount": amount_dict(o),
                    "by": list(o.by),
                    "readings": sorted(o.readings),
                    "missing": list(o.missing),
                }
                for o in self.outcomes
            ],
            "totals": {"min": fmt(low), "max": fmt(high)},
            "totals_by_payer": self.totals_by_payer(),
        }

    @exactly
    def totals_by_payer(self) -> dict[str, dict[str, str]]:
        """The totals split by who pays (Taicang, or Suzhou for its matching subsidy)."""
        out: dict[str, list] = {}
        for o in self.outcomes:
            if o.is_cash:
                bucket = out.setdefault(o.item.payer, [ZERO, ZERO])
                bucket[0] += o.low
                bucket[1] += o.high
        return {payer: {"min": fmt(low), "max": fmt(high)} for payer, (low, high) in sorted(out.items())}

    def to_json(self) -> str:
        return json_text(self.to_dict())

    @exactly
    def to_text(self, lang: str = "zh") -> str:
        zh = lang == "zh"
        app = self.application
        policy = self.policy
        changed = {k: v for k, v in self.readings.items() if policy.readings[k].default != v}
        lines = [
            f"{policy.document_number} {policy.title(lang)}",
            (f"申请人：{app.applicant['name']}（{app.applicant['id']}）  年度：{app.year}" if zh
             else f"Applicant: {app.applicant['name']} ({app.applicant['id']})  Year: {app.year}"),
            (f"知识库版本：{self.kb_version[:12]}  解读：" if zh else f"KB version: {self.kb_version[:12]}  Readings: ")
            + (", ".join(f"{k}={v}" for k, v in changed.items()) if changed else ("默认" if zh else "defaults")),
            "",
        ]
        headers = ["条款", "项目", "对象", "结果", "下限", "上限", "说明"] if zh else ["Measure", "Item", "Subject", "Status", "Min", "Max", "Why"]
        rows = []
        for o in self.outcomes:
            amount = amount_dict(o)
            rows.append([
                o.item.label if zh else str(o.item.measure),
                f"{o.item.id} {o.item.title(lang)}",
                o.subject,
                messages().status(o.status, lang),
                fmt_cny(Decimal(amount["min"])) if amount["min"] is not None else "—",
                fmt_cny(Decimal(amount["max"])) if amount["max"] is not None else "—",
                self.reason(o, lang),
            ])
        low, high = self.totals()
        rows.append(["", "合计" if zh else "Total", "", "", fmt_cny(low), fmt_cny(high), ""])
        lines.append(table(headers, rows, right={4, 5}, max_width={1: 44, 6: 60}))
        by_payer = self.totals_by_payer()
        if len(by_payer) > 1 or set(by_payer) - {"taicang"}:
            names = {"taicang": ("太仓市", "Taicang"), "suzhou": ("苏州市", "Suzhou")}
            parts = [f"{names.get(p, (p, p))[0 if zh else 1]} {fmt_cny(Decimal(v['min']))} ～ {fmt_cny(Decimal(v['max']))}" for p, v in by_payer.items()]
            lines.append(("按支付方：" if zh else "By payer: ") + ("；" if zh else "; ").join(parts))
        return "\n".join(lines) + "\n"

    def reason(self, o: Outcome, lang: str) -> str:
        """A few words on why: the relations that acted, or what is missing."""
        zh = lang == "zh"
        parts = []
        for event in o.events:
            if event.effect not in ("excluded", "reduced", "ineligible"):
                continue
            if event.winner is not None and event.kind in ("exclusive", "highest"):
                parts.append(f"{event.by} → {event.winner.item}")
            elif event.kind == "highest_wins":
                parts.append(f"{event.by} {'补差' if zh else 'top-up'}" if event.effect == "reduced" else f"{event.by}")
            else:
                parts.append(event.by)
        if o.status == "undetermined":
            labels = [field_label(self.policy, o.fact.type, m, lang) for m in o.missing]
            parts.append(("缺：" if zh else "missing: ") + ("、" if zh else ", ").join(labels))
        elif o.status == "ineligible" and not parts:
            parts.append("条件不符" if zh else "conditions not met")
        return "; ".join(dict.fromkeys(parts))
