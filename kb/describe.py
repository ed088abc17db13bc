"""Wording of KB parts in Chinese or English, built from the KB's own labels.

Field names, enum values and units come from the vocabulary; operators are shown
with their boundary (≥ for 以上, > for 超).  Explanations, listings and audit
findings all use these, so a condition reads the same everywhere.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from policykb.money import fmt_plain
from policykb.vocabulary import AmountKind

from .model import OP_NEGATION, OP_SYMBOL, Amount, Compare, FieldSpec, Policy, Text

YUAN = Text("元", "yuan")


def field_label(policy: Policy, fact_type: str | None, name: str, lang: str) -> str:
    spec = policy.vocabulary.field(fact_type or "", name) if fact_type else None
    if spec is None and name.startswith("applicant."):
        spec = policy.vocabulary.applicant.get(name[len("applicant.") :])
    if spec is None:
        return name
    return spec.label(lang)


def value_text(policy: Policy, fact_type: str | None, name: str, value: Any, lang: str) -> str:
    """A value as a reader expects it: ``3,000,000 元``, ``是``, enum labels, dates."""
    if value is None:
        return "（缺失）" if lang == "zh" else "(missing)"
    if isinstance(value, tuple):
        return ("、" if lang == "zh" else ", ").join(value_text(policy, fact_type, name, v, lang) for v in value)
    if isinstance(value, bool):
        return ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")
    spec = _spec(policy, fact_type, name)
    if spec is None:
        return _plain(value)
    if spec.type == "money":
        return f"{fmt_plain(Decimal(value))} {YUAN(lang)}"
    if spec.values and value in spec.values:
        return spec.values[value](lang)
    if isinstance(value, int) and spec.unit:
        return f"{value:,} {spec.unit(lang)}"
    return _plain(value)


def _spec(policy: Policy, fact_type: str | None, name: str) -> FieldSpec | None:
    spec = policy.vocabulary.field(fact_type or "", name) if fact_type else None
    if spec is None and name.startswith("applicant."):
        spec = policy.vocabulary.applicant.get(name[len("applicant.") :])
    return spec


def _plain(value: Any) -> str:
    """A value without a field to word it: whole numbers grouped, dates in ISO form."""
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def condition_text(policy: Policy, fact_type: str | None, c: Compare, lang: str) -> str:
    """``设备投资额 ≥ 3,000,000 元`` — the requirement, with its boundary."""
    left = field_label(policy, fact_type, c.field, lang)
    if c.ref:
        right = field_label(policy, fact_type, c.ref, lang)
    else:
        right = value_text(policy, fact_type, c.field, c.value, lang)
    if c.op == "eq" and isinstance(c.value, bool) and not c.ref:
        return left if c.value else (f"非{left}" if lang == "zh" else f"not {left}")
    return f"{left} {OP_SYMBOL[c.op]} {right}"


def failed_text(policy: Policy, fact_type: str | None, c: Compare, actual: Any, expected: Any, lang: str) -> str:
    """``设备投资额 2,999,999 元 < 3,000,000 元`` — why a comparison failed."""
    left = field_label(policy, fact_type, c.field, lang)
    shown_actual = value_text(policy, fact_type, c.field, actual, lang)
    if c.ref:
        shown_expected = f"{field_label(policy, fact_type, c.ref, lang)} {value_text(policy, fact_type, c.ref, expected, lang)}"
    else:
        shown_expected = value_text(policy, fact_type, c.field, expected, lang)
    return f"{left} {shown_actual} {OP_NEGATION[c.op]} {shown_expected}"


def rate_text(rate: Decimal) -> str:
    pct = rate * 100
    pct = pct.quantize(Decimal(1)) if pct == pct.to_integral_value() else pct.normalize()
    return f"{pct}%"


def amount_text(policy: Policy, fact_type: str, amount: Amount, lang: str) -> str:
    """A one-line summary of how an item's amount is set."""
    zh = lang == "zh"
    if amount.kind == AmountKind.NONE:
        return amount.benefit(lang) if amount.benefit else ""
    if amount.kind == AmountKind.DISCRETIONARY:
        text = amount.route(lang) if amount.route else ""
        if amount.cap:
            cap = _money(amount.cap.value, lang)
            text += f"，最高 {cap}" if zh else f", up to {cap}"
        return text
    text = " + ".join(_formula_parts(policy, fact_type, amount, lang))
    if amount.kind == AmountKind.CEILING:
        text = f"最高 {text}" if zh else f"up to {text}"
    if amount.floor:
        floor = _money(amount.floor.value, lang)
        text += f"，不低于 {floor}" if zh else f", at least {floor}"
    if amount.cap:
        cap = _money(amount.cap.value, lang)
        text += f"，上限 {cap}" if zh else f", capped at {cap}"
    return text


def _money(v: Decimal, lang: str) -> str:
    return f"{fmt_plain(v)}元" if lang == "zh" else f"{fmt_plain(v)} {YUAN(lang)}"


def _formula_parts(policy: Policy, fact_type: str, amount: Amount, lang: str) -> list[str]:
    """The terms the amount adds up: a fixed sum, a rate of a base, so much per unit or per step."""
    parts = []
    if amount.fixed:
        parts.append(_money(amount.fixed.value, lang))
    if amount.rate and amount.base:
        parts.append(_rate_part(field_label(policy, fact_type, amount.base, lang), amount, lang))
    for pu in amount.per_unit:
        parts.append(f"{_money(pu.each, lang)} × {field_label(policy, fact_type, pu.count, lang)}")
    if amount.steps:
        of = field_label(policy, fact_type, amount.steps.of, lang)
        parts.append(f"{_money(amount.steps.each, lang)} × ⌊{of} / {_money(amount.steps.size, lang)}⌋")
    return parts


def _rate_part(base: str, amount: Amount, lang: str) -> str:
    assert amount.rate is not None  # the caller asks only for an amount with a rate
    if amount.rate_high:
        dash = "～" if lang == "zh" else "–"
        return f"{base} × {rate_text(amount.rate.value)}{dash}{rate_text(amount.rate_high.value)}"
    if amount.rate.value == 1:
        return base
    return f"{base} × {rate_text(amount.rate.value)}"
