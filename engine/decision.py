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

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import networkx as nx

from policykb.errors import UnknownItemError, suggest
from policykb.kb.describe import field_label
from policykb.kb.messages import messages
from policykb.kb.model import Policy
from policykb.money import ZERO, exact, exactly, fmt, fmt_cny
from policykb.text import json_text, table, width
from policykb.vocabulary import ADVERSE, CASH, PAYING, AmountKind, Effect, ProvisionKind, RelationKind, Status

from . import provenance
from .application import Application, Fact
from .outcomes import Event, Outcome

if TYPE_CHECKING:
    from policykb.explain.why import Explanation

    from .rules_engine import Firing  # importing it loads durable_rules' C core: `import policykb` must not


def amount_kind(o: Outcome) -> str:
    return o.kind if o.computed else o.amount_spec.kind


def _fmt(value: Decimal | None) -> str | None:
    return fmt(value) if value is not None else None


def settle(o: Outcome) -> None:
    """Make an outcome's bounds say what its JSON says: what it pays.  An excluded or
    ineligible cash item pays 0.00 (whatever it would have paid before a relation removed
    it: that stays in the event that removed it); a discretionary route has no minimum;
    a service, an undetermined item and a non-cash item have no bounds."""
    if o.status in PAYING:
        return
    if o.status == Status.DISCRETIONARY:
        o.low = None
    elif o.status in (Status.EXCLUDED, Status.INELIGIBLE) and amount_kind(o) in CASH:
        o.low = o.high = ZERO
    else:
        o.low = o.high = None


def amount_dict(o: Outcome) -> dict[str, Any]:
    """The outcome's amount in the decision JSON: its kind and its (settled) bounds."""
    return {"kind": amount_kind(o), "min": _fmt(o.low), "max": _fmt(o.high)}


class Decision:
    """The result of evaluating one application under one set of readings: a value.

    It holds its outcomes and their provenance — the rule firings, the facts they derived
    and the relation graph the outcomes were resolved on, with every event of the
    resolution recorded in it — and needs nothing else to be explained.  ``to_dict(
    include_trace=True)`` serialises all of it; ``Decision.from_dict(kb, data)`` reads it
    back with the KB alone.
    """

    def __init__(
        self,
        policy: Policy,
        application: Application,
        readings: Mapping[str, str],
        outcomes: list[Outcome],
        firings: list[Firing],
        facts_by_id: Mapping[str, Fact],
        g1_ok: bool,
        *,
        graph: nx.MultiDiGraph,
        derived: Mapping[str, Mapping[str, Any]] | None = None,
        covered: Mapping[str, str] | None = None,
    ):
        self.policy = policy
        self.application = application
        self.readings = dict(sorted(readings.items()))
        self.outcomes = outcomes
        self.firings = firings
        self.facts_by_id = dict(facts_by_id)
        self.g1_ok = g1_ok
        self._graph = graph  # the relation graph the outcomes were resolved on (engine/provenance.py)
        self._unrecorded = False  # the resolution is still to be written into the graph (``resolved``)
        self.derived = dict(derived or {})  # id → fact, every fact the rules derived
        self.covered: dict[str, str] = dict(sorted((covered or {}).items()))  # item ID → the cover of G1 that admits the applicant (I-14)

    def resolved(self) -> Decision:
        """This decision once the relation graph has resolved its outcomes: their bounds
        settled, and the resolution written into the graph (when it is first read), which
        then explains it."""
        for o in self.outcomes:
            settle(o)
        # Writing every event into the graph costs a fifth of an evaluation; most decisions are
        # only turned into JSON, so it is done the first time the graph is read.
        self._unrecorded = True
        return self

    @property
    def graph(self) -> nx.MultiDiGraph:
        """The relation graph, with the resolution written into it (``provenance.record_resolution``)."""
        if self._unrecorded:
            self._unrecorded = False
            provenance.record_resolution(self._graph, self.outcomes, g1_ok=self.g1_ok, covered=self.covered)
        return self._graph

    @classmethod
    def from_dict(cls, kb: Any, data: Any) -> Decision:
        """A decision read back from ``to_dict(include_trace=True)`` (or its JSON, parsed)
        with the KB alone.  Raises ``DecisionError`` when it was made with another KB
        version, or its trace is missing, malformed or does not match its outcomes."""
        from .saved import decision_from_dict  # saved.py builds Decisions: importing it at the top would be a cycle

        return decision_from_dict(kb, data)

    @property
    def kb_version(self) -> str:
        return self.policy.version

    @exactly
    def totals(self) -> tuple[Decimal, Decimal]:
        low = sum((o.low for o in self.outcomes if o.is_cash and o.low is not None), ZERO)
        high = sum((o.high for o in self.outcomes if o.is_cash and o.high is not None), ZERO)
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
            raise UnknownItemError(
                f"{item} has outcomes for several subjects ({', '.join(o.subject for o in found)}); name one with --subject"
            )
        return found[0]

    def events(self, o: Outcome) -> list[Event]:
        """What acted on ``o`` (or weighed it), in order, as the relation graph records it."""
        return provenance.events(self.graph, provenance.outcome_node(o.item.id, o.subject))

    # -- explanations
    def explain(self, item: str, subject: str | None = None, *, alternatives: bool = True) -> Explanation:
        """The explanation of one item's outcome (docs/explain.md): why, or why not.

        ``subject`` is needed when the item has outcomes for several subjects; an item
        the application holds no fact for is explained too (which fact it would need).
        With ``alternatives`` the readings it depends on are evaluated both ways.
        """
        from policykb.explain.why import explain  # explain/ builds on the engine: a top-level import would be a cycle

        found = explain(self, item, subject, alternatives=alternatives)
        if len(found) > 1:
            subjects = ", ".join(e.data["subject"] for e in found)
            raise UnknownItemError(f"{item} has outcomes for several subjects ({subjects}); name one")
        return found[0]

    def trace(self) -> nx.DiGraph:
        """The derivation as a networkx DiGraph (see ``policykb.explain.trace``)."""
        from policykb.explain.trace import trace_graph  # explain/ builds on the engine: a top-level import would be a cycle

        with exact():
            return trace_graph(self)

    # -- serialisation
    def provenance(self) -> dict[str, Any]:
        """Everything an explanation reads, as JSON data: the application as normalised input,
        the rule firings, the facts they derived and the relation graph with the resolution."""
        key_of = {fid: f.key for fid, f in self.facts_by_id.items()}
        return {
            "application": normalised(self.application.document),
            "facts": {fid: key for fid, key in sorted(key_of.items(), key=lambda kv: int(kv[0][1:]))},
            "firings": [f.to_dict() for f in self.firings],
            "derived": [{k: v for k, v in self.derived[d].items() if k != "$local"} for d in sorted(self.derived)],
            "graph": provenance.to_data(self.graph),
        }

    def to_dot(self) -> str:
        """The relation graph of this evaluation as Graphviz DOT (docs/engine.md has a picture)."""
        return provenance.to_dot(self.graph)

    @exactly
    def to_dict(self, include_trace: bool = False) -> dict[str, Any]:
        low, high = self.totals()
        app = self.application
        data = {
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
        if include_trace:
            data["trace"] = self.provenance()
        return data

    @exactly
    def totals_by_payer(self) -> dict[str, dict[str, str | None]]:
        """The totals split by who pays (the KB names its payers: policy.yaml ``payers``)."""
        out: dict[str, list[Decimal]] = {}
        for o in self.outcomes:
            if o.is_cash and o.low is not None and o.high is not None:
                bucket = out.setdefault(o.item.payer, [ZERO, ZERO])
                bucket[0] += o.low
                bucket[1] += o.high
        return {payer: {"min": fmt(low), "max": fmt(high)} for payer, (low, high) in sorted(out.items())}

    def to_json(self, include_trace: bool = False) -> str:
        return json_text(self.to_dict(include_trace))

    @exactly
    def to_text(self, lang: str = "zh", *, columns: int | None = None, wide: bool = False) -> str:
        """The decision as a table.  Item titles and reasons are cut to fit ``columns``
        (a terminal's width; without it, 44 and 60 columns), and never with ``wide``."""
        zh = lang == "zh"
        m = messages()
        lines = self._heading(lang)
        headers = (
            ["条款", "项目", "对象", "结果", "下限", "上限", "说明"]
            if zh
            else ["Measure", "Item", "Subject", "Status", "Min", "Max", "Why"]
        )
        rows = [self._row(o, lang) for o in self.outcomes]
        low, high = self.totals()
        rows.append(["", "合计" if zh else "Total", "", "", fmt_cny(low), fmt_cny(high), ""])
        lines.append(table(headers, rows, right={4, 5}, max_width=None if wide else _fit(headers, rows, columns)))
        lines += self._payer_line(lang)
        if any(o.is_cash and o.kind == AmountKind.CEILING for o in self.outcomes):
            lines.append(m.say("table_legend", lang))
        return "\n".join(lines) + "\n"

    def _payer_line(self, lang: str) -> list[str]:
        """The totals by payer, named as the KB names them — unless the policy's own purse pays all."""
        m = messages()
        by_payer = self.totals_by_payer()
        payers = self.policy.payers
        if len(by_payer) <= 1 and not set(by_payer) - {self.policy.default_payer}:
            return []
        parts = [
            f"{payers[p](lang) if p in payers else p} "
            + m.say("span", lang, low=fmt_cny(Decimal(str(v["min"]))), high=fmt_cny(Decimal(str(v["max"]))))
            for p, v in by_payer.items()
        ]
        return [("按支付方：" if lang == "zh" else "By payer: ") + ("；" if lang == "zh" else "; ").join(parts)]

    def _heading(self, lang: str) -> list[str]:
        zh = lang == "zh"
        app, policy = self.application, self.policy
        changed = {k: v for k, v in self.readings.items() if policy.readings[k].default != v}
        return [
            f"{policy.document_number} {policy.title(lang)}",
            (
                f"申请人：{app.applicant['name']}（{app.applicant['id']}）  年度：{app.year}"
                if zh
                else f"Applicant: {app.applicant['name']} ({app.applicant['id']})  Year: {app.year}"
            ),
            (f"知识库版本：{self.kb_version[:12]}  解读：" if zh else f"KB version: {self.kb_version[:12]}  Readings: ")
            + (", ".join(f"{k}={v}" for k, v in changed.items()) if changed else ("默认" if zh else "defaults")),
            "",
        ]

    def _row(self, o: Outcome, lang: str) -> list[str]:
        zh = lang == "zh"
        return [
            o.item.label if zh else str(o.item.measure),
            f"{o.item.id} {o.item.title(lang)}",
            o.subject,
            messages().status(o.status, lang),
            fmt_cny(o.low) if o.low is not None else "—",
            fmt_cny(o.high) if o.high is not None else "—",
            self.reason(o, lang),
        ]

    def reason(self, o: Outcome, lang: str) -> str:
        """A few words on why: the relations and provisions that acted (in words, with
        their codes in brackets), or what is missing."""
        parts = [_event_reason(event, lang) for event in self.events(o) if event.effect in ADVERSE]
        if o.status == Status.UNDETERMINED:
            parts.append(self._missing(o, lang))
        elif o.status == Status.INELIGIBLE and not parts:
            parts.append("条件不符" if lang == "zh" else "conditions not met")
        return ("；" if lang == "zh" else "; ").join(dict.fromkeys(parts))

    def _missing(self, o: Outcome, lang: str) -> str:
        labels = [field_label(self.policy, o.fact.type, f, lang) for f in o.missing]
        return ("缺：" if lang == "zh" else "missing: ") + ("、" if lang == "zh" else ", ").join(labels)


def _event_reason(event: Event, lang: str) -> str:
    """What one relation or provision did, in a few words: ``互斥（X-m01） → m01.equipment``."""
    m = messages()
    named = m.say("why_by", lang, kind=m.relation_kind(event.kind, lang), code=event.by)
    if event.winner is not None and event.kind in (RelationKind.EXCLUSIVE, RelationKind.HIGHEST):
        return f"{named} → {event.winner.item}"
    if event.kind == ProvisionKind.HIGHEST_WINS and event.effect == Effect.REDUCED:
        return m.say("why_top_up", lang, by=named)
    return named


def normalised(value: Any) -> Any:
    """An application as JSON data: money and other exact numbers as decimal strings (which
    the application schema accepts), dates as ISO text, tuples as lists."""
    if isinstance(value, Mapping):
        return {str(k): normalised(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalised(v) for v in value]
    if isinstance(value, Decimal):
        return f"{value:f}"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _fit(headers: list[str], rows: list[list[str]], columns: int | None) -> dict[int, int]:
    """Widths for the title (1) and reason (6) columns so that the table fits ``columns``."""
    if not columns:
        return {1: 44, 6: 60}
    used = sum(max([width(h)] + [width(r[i]) for r in rows]) for i, h in enumerate(headers) if i not in (1, 6))
    room = max(0, columns - used - 2 * (len(headers) - 1))
    title = max(width(headers[1]), *(width(r[1]) for r in rows))
    reason = max(width(headers[6]), *(width(r[6]) for r in rows))
    if title + reason <= room:
        return {}
    # the reason gets up to half the room (all it needs if the title is short); the title
    # the rest; below 12 and 8 columns neither says anything, so a very narrow terminal wraps
    reason_w = min(reason, max(room // 2, room - title))
    return {1: max(12, room - reason_w), 6: max(8, reason_w)}
