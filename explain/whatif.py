"""What if: evaluate the original and a changed application, and say what changed and why.

For every outcome that changed, the result carries the new outcome's narrative and
the conditions whose verdict flipped (with their quotes), from the explanations of
the two decisions.  The changed application may also switch readings.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from policykb.engine.decision import Decision
from policykb.kb.describe import field_label, value_text
from policykb.kb.messages import messages
from policykb.kb.model import Text
from policykb.money import fmt_cny
from policykb.vocabulary import Effect

from .answer import Answer
from .changes import _FACT_PATH, _MISSING, apply, diff
from .why import Explanation, explain


class WhatIf(Answer):
    """What changed between the original and the changed application, and why."""


def _status_amount(view: dict | None, lang: str) -> tuple[str, str]:
    """A decision outcome's status and amount in words, from its JSON view."""
    m = messages()
    if view is None:
        return "—", ""
    amount = view["amount"]
    if amount["max"] is None or view["status"] in ("excluded", "ineligible"):
        shown = m.say("amount_nothing", lang) if view["status"] in ("excluded", "ineligible") else "—"
    elif amount["kind"] == "ceiling" or amount["min"] is None:
        shown = m.say("amount_ceiling", lang, high=fmt_cny(Decimal(amount["max"])))
    elif amount["min"] == amount["max"]:
        shown = m.say("amount_exact", lang, high=fmt_cny(Decimal(amount["max"])))
    else:
        shown = m.say("amount_range", lang, low=fmt_cny(Decimal(amount["min"])), high=fmt_cny(Decimal(amount["max"])))
    return m.status(view["status"], lang), shown


def state_text(view: dict | None, lang: str) -> str:
    """An outcome's status, with its amount when there is one: "eligible, up to ¥180,000.00", "ineligible"."""
    status, amount = _status_amount(view, lang)
    if view is None or view["status"] in ("excluded", "ineligible") or amount in ("", "—"):
        return status
    return messages().say("state", lang, status=status, amount=amount)


def _fact_words(policy, document: dict, fact: dict, lang: str) -> tuple[str, str]:
    """(subject, the fact type's label) of a fact of ``document``."""
    spec = policy.vocabulary.fact_types.get(fact.get("type")) if isinstance(fact, dict) else None
    subject = fact.get("subject") or (document.get("applicant") or {}).get("id") or "—" if isinstance(fact, dict) else "—"
    return str(subject), (spec.label(lang) if spec else str(fact.get("type") if isinstance(fact, dict) else "—"))


def change_text(policy, before_doc: dict, after_doc: dict, change, lang: str) -> str:
    """A change in the KB's words: the fact named by its subject, values as the KB writes them
    (是/否, yes/no, 3,000,000 元), not input positions and Python values."""
    m = messages()
    match = _FACT_PATH.match(change.path)
    if match:
        index = int(match.group(1))
        field = match.group(2)
        if field is None:  # a whole fact added or removed
            added = change.old is _MISSING
            fact = change.new if added else change.old
            subject, label = _fact_words(policy, after_doc if added else before_doc, fact, lang)
            return m.say("change_added" if added else "change_removed", lang, subject=subject, fact=label)
        fact = (before_doc.get("facts") or [])[index]
        subject, label = _fact_words(policy, before_doc, fact, lang)
        fact_type = fact.get("type")
        where = m.say("change_fact_field", lang, subject=subject, fact=label, field=field_label(policy, fact_type, field, lang))

        def shown(v: Any) -> str:
            return value_text(policy, fact_type, field, _plain_value(v), lang)
    elif change.path.startswith("applicant."):
        name = change.path
        where = m.say("change_applicant_field", lang, field=field_label(policy, "applicant", name, lang))

        def shown(v: Any) -> str:
            return value_text(policy, "applicant", name, _plain_value(v), lang)
    else:
        where = m.say("change_year", lang) if change.path == "year" else change.path

        def shown(v: Any) -> str:
            return value_text(policy, None, change.path, None, lang) if v is _MISSING or v is None else str(v)

    return m.say("change_set", lang, path=where, old=shown(change.old), new=shown(change.new))


def _plain_value(value: Any) -> Any:
    """A value as value_text reads it: absent as None, numbers given as text kept exact."""
    if value is _MISSING:
        return None
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


def flipped_conditions(before_expl, after_expl) -> list[dict]:
    """Condition rows whose verdict changed between two explanations of the same item."""
    if before_expl is None or after_expl is None:
        return []
    old = {(r["field"], r["op"], str(r["required"])): r["verdict"] for r in before_expl.data.get("conditions", [])}
    out = []
    for row in after_expl.data.get("conditions", []):
        key = (row["field"], row["op"], str(row["required"]))
        if key in old and old[key] != row["verdict"]:
            out.append(row)
    return out


def whatif(
    kb,
    document: Any,
    *,
    sets=(),
    adds=(),
    removes=(),
    readings: Mapping[str, str] | None = None,
    base_readings: Mapping[str, str] | None = None,
    source: str = "",
) -> WhatIf:
    """Evaluate ``document`` and its changed copy; ``source`` names the file in error messages."""
    m = messages()
    before = kb.evaluate(document, base_readings, source=source)
    changed_doc, changes = apply(document, list(sets), list(adds), list(removes))
    after_readings = dict(base_readings or {}, **(readings or {}))
    after = kb.evaluate(changed_doc, after_readings, source=f"{source} (changed)" if source else "the changed application")
    rows = diff(before, after)
    head = m.both("section_changes")
    lines: list[Text] = [Text(f"【{head.zh}】", f"[{head.en}]")]
    for c in changes:
        lines.append(Text(change_text(kb.policy, document, changed_doc, c, "zh"), change_text(kb.policy, document, changed_doc, c, "en")))
    switched = {k: v for k, v in after.readings.items() if before.readings.get(k) != v}
    for rid, option in switched.items():
        lines.append(m.both("gap_reading", reading=rid, option=kb.policy.readings[rid].options[option]))
    lines.append(Text("", ""))
    for row in rows:
        lines += _row_lines(before, after, row)
    if not rows:
        lines.append(m.both("no_changes"))
    low_b, high_b = before.totals()
    low_a, high_a = after.totals()
    lines.append(Text("", ""))

    def span(low: Decimal, high: Decimal) -> Text:
        return Text(m.say("span", "zh", low=fmt_cny(low), high=fmt_cny(high)), m.say("span", "en", low=fmt_cny(low), high=fmt_cny(high)))

    lines.append(m.both("total_change", old=span(low_b, high_b), new=span(low_a, high_a)))
    data = {
        "policy": kb.policy.id,
        "kb_version": kb.version,
        "changes": [c.to_dict() for c in changes],
        "readings": {"before": dict(before.readings), "after": dict(after.readings)},
        "outcomes": rows,
        "totals": {"before": before.to_dict()["totals"], "after": after.to_dict()["totals"]},
    }
    return WhatIf(data, lines)


def _row_lines(before: Decision, after: Decision, row: dict[str, Any]) -> list[Text]:
    """The lines of one changed outcome: old → new, the conditions that flipped, and why it
    comes out as it does now (``row["why"]`` gets the same as data)."""
    m = messages()
    item, subject = row["item"], row["subject"]
    old = Text(state_text(row["before"], "zh"), state_text(row["before"], "en"))
    new = Text(state_text(row["after"], "zh"), state_text(row["after"], "en"))
    if row["before"] is None:
        lines = [m.both("change_new", item=item, subject=subject, new=new)]
    elif row["after"] is None:
        lines = [m.both("change_gone", item=item, subject=subject, old=old)]
    else:
        lines = [m.both("change_outcome", item=item, subject=subject, old=old, new=new)]
    after_expl = explain(after, item, subject, alternatives=False)[0] if row["after"] else None
    before_expl = explain(before, item, subject, alternatives=False)[0] if row["before"] else None
    flipped = flipped_conditions(before_expl, after_expl)
    lines += [Text("  " + f["text"]["zh"], "  " + f["text"]["en"]) for f in flipped]
    row["why"] = None
    if after_expl is not None:
        lines += _why_now(after_expl, row)
        narrative = after_expl.data["narrative"]
        row["why"] = {
            "narrative": narrative,
            "conditions": flipped,
            "by": after_expl.data.get("by", []),
            "relations": [r for r in after_expl.data.get("relations", []) if r["effect"] != Effect.KEPT],
        }
    return lines


def _why_now(after_expl: Explanation, row: dict[str, Any]) -> list[Text]:
    """The amount steps and the relations that cut or excluded it when the amount changed
    (G4's top-up …, as ``why`` shows them), then the narrative."""
    lines = []
    if row["before"] and row["after"] and row["before"]["amount"] != row["after"]["amount"]:
        amount_text = after_expl.data.get("amount_text", {})
        lines += [Text("  " + zh, "  " + en) for zh, en in zip(amount_text.get("zh", []), amount_text.get("en", []), strict=False)]
        lines += [
            Text("  " + rel["text"]["zh"], "  " + rel["text"]["en"])
            for rel in after_expl.data.get("relations", [])
            if rel["effect"] != Effect.KEPT and rel.get("text")
        ]
    narrative = after_expl.data["narrative"]
    lines.append(Text("  " + narrative["zh"], "  " + narrative["en"]))
    return lines
