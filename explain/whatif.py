"""What if: evaluate the original and a changed application, and say what changed and why.

For every outcome that changed, the result carries the new outcome's narrative and
the conditions whose verdict flipped (with their quotes), from the explanations of
the two decisions.  The changed application may also switch readings.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Mapping

from policykb.kb.messages import messages
from policykb.kb.model import Text
from policykb.money import fmt_cny

from .answer import Answer
from .changes import apply, diff
from .why import explain


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


def whatif(kb, document: Any, *, sets=(), adds=(), removes=(), readings: Mapping[str, str] | None = None,
           base_readings: Mapping[str, str] | None = None, source: str = "") -> WhatIf:
    """Evaluate ``document`` and its changed copy; ``source`` names the file in error messages."""
    m = messages()
    before = kb.evaluate(document, base_readings, source=source)
    changed_doc, changes = apply(document, list(sets), list(adds), list(removes))
    after_readings = dict(base_readings or {}, **(readings or {}))
    after = kb.evaluate(changed_doc, after_readings, source=f"{source} (changed)" if source else "the changed application")
    rows = diff(before, after)
    lines: list[Text] = []
    head = m.both("section_changes")
    lines.append(Text(f"【{head.zh}】", f"[{head.en}]"))
    for c in changes:
        lines.append(m.both("change_set", path=c.path, old=_shown(c.to_dict()["old"]), new=_shown(c.to_dict()["new"])))
    switched = {k: v for k, v in after.readings.items() if before.readings.get(k) != v}
    for rid, option in switched.items():
        reading = kb.policy.readings[rid]
        lines.append(m.both("gap_reading", reading=rid, option=reading.options[option]))
    lines.append(Text("", ""))
    for row in rows:
        item, subject = row["item"], row["subject"]
        zh_b, zh_ba = _status_amount(row["before"], "zh")
        en_b, en_ba = _status_amount(row["before"], "en")
        zh_a, zh_aa = _status_amount(row["after"], "zh")
        en_a, en_aa = _status_amount(row["after"], "en")
        if row["before"] is None:
            lines.append(Text(m.say("change_new", "zh", item=item, subject=subject, new_status=zh_a, new_amount=zh_aa),
                              m.say("change_new", "en", item=item, subject=subject, new_status=en_a, new_amount=en_aa)))
        elif row["after"] is None:
            lines.append(Text(m.say("change_gone", "zh", item=item, subject=subject, old_status=zh_b, old_amount=zh_ba),
                              m.say("change_gone", "en", item=item, subject=subject, old_status=en_b, old_amount=en_ba)))
        else:
            lines.append(Text(
                m.say("change_outcome", "zh", item=item, subject=subject, old_status=zh_b, old_amount=zh_ba, new_status=zh_a, new_amount=zh_aa),
                m.say("change_outcome", "en", item=item, subject=subject, old_status=en_b, old_amount=en_ba, new_status=en_a, new_amount=en_aa)))
        after_expl = explain(after, item, subject, alternatives=False)[0] if row["after"] else None
        before_expl = explain(before, item, subject, alternatives=False)[0] if row["before"] else None
        flipped = flipped_conditions(before_expl, after_expl)
        for f in flipped:
            lines.append(Text("  " + f["text"]["zh"], "  " + f["text"]["en"]))
        if after_expl is not None:
            if row["before"] and row["after"] and row["before"]["amount"] != row["after"]["amount"]:
                for zh, en in zip(after_expl.data.get("amount_text", {}).get("zh", []), after_expl.data.get("amount_text", {}).get("en", [])):
                    lines.append(Text("  " + zh, "  " + en))
            narrative = after_expl.data["narrative"]
            lines.append(Text("  " + narrative["zh"], "  " + narrative["en"]))
            row["why"] = {"narrative": narrative, "conditions": flipped, "by": after_expl.data.get("by", []),
                          "relations": [r for r in after_expl.data.get("relations", []) if r["effect"] != "kept"]}
        else:
            row["why"] = None
    if not rows:
        lines.append(m.both("no_changes"))
    low_b, high_b = before.totals()
    low_a, high_a = after.totals()
    lines.append(Text("", ""))
    lines.append(m.both("total_change", old=f"{fmt_cny(low_b)}～{fmt_cny(high_b)}", new=f"{fmt_cny(low_a)}～{fmt_cny(high_a)}"))
    data = {
        "policy": kb.policy.id, "kb_version": kb.version,
        "changes": [c.to_dict() for c in changes],
        "readings": {"before": dict(before.readings), "after": dict(after.readings)},
        "outcomes": rows,
        "totals": {"before": before.to_dict()["totals"], "after": after.to_dict()["totals"]},
    }
    return WhatIf(data, lines)


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
