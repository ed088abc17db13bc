"""Amounts of met items, computed exactly and recorded step by step.

Kinds (reading-rules §2): ceiling (the most that may be granted; min 0), exact
(min = max), range (a rate band: lower = clamp(low rate × base, floor, cap), upper
= clamp(high rate × base, floor, cap)), none (a service) and discretionary (a
route, with its ceiling where the text gives one).  Money stays Decimal and exact
here; group caps and top-ups act on the exact figure, and the decision rounds the
final figure half up to the fen, once (``round_outcome``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any, Callable, Mapping

from policykb.kb.model import Amount, resolve
from policykb.money import ZERO, round_fen


def round_outcome(low: Decimal | None, high: Decimal | None) -> tuple[Decimal | None, Decimal | None]:
    """The final figures, half up to the fen."""
    return (round_fen(low) if low is not None else None, round_fen(high) if high is not None else None)


@dataclass(frozen=True)
class Step:
    """One step of a computation: what was done, with which inputs, giving which bounds."""

    op: str  # fixed | rate | per_unit | steps | floor | cap | round
    says: str
    inputs: tuple[tuple[str, Any], ...]
    low: Decimal | None
    high: Decimal | None


@dataclass(frozen=True)
class Computed:
    kind: str
    low: Decimal | None
    high: Decimal | None
    raw_high: Decimal | None  # before the item's own cap: breaks ties (reading-rules §3)
    steps: tuple[Step, ...]
    missing: tuple[str, ...] = ()

    @property
    def cash(self) -> bool:
        return self.kind in ("ceiling", "exact", "range")


def compute(amount: Amount, get: Callable[[str], Any], readings: Mapping[str, str], trace: bool = False) -> Computed:
    """The bounds of an item's amount for one fact (``get`` reads its fields).

    With ``trace`` every step is recorded; the evaluation runs without it and the
    explanation recomputes with it — same inputs, same figures, step by step.
    """
    kind = amount.kind
    if kind == "none":
        return Computed(kind, None, None, None, ())
    if kind == "discretionary":
        if amount.cap is None:
            return Computed(kind, None, None, None, ())
        cap = amount.cap.value
        return Computed(kind, None, cap, cap, (Step("cap", amount.cap.says, (("cap", cap),), None, cap),) if trace else ())
    missing = tuple(name for name in amount.inputs() if get(name) is None)
    if missing:
        return Computed(kind, None, None, None, (), missing)

    steps: list[Step] = []
    if amount.fixed is not None:
        low = high = amount.fixed.value
        if trace:
            steps.append(Step("fixed", amount.fixed.says, (("sum", low),), low, high))
    elif amount.rate is not None:
        base = Decimal(get(amount.base))
        low = amount.rate.value * base
        high = (amount.rate_high.value if amount.rate_high else amount.rate.value) * base
        inputs: tuple = (("rate", amount.rate.value),)
        if amount.rate_high:
            inputs = (("rate_low", amount.rate.value), ("rate_high", amount.rate_high.value))
        if trace:
            steps.append(Step("rate", amount.rate.says, inputs + ((amount.base, base),), low, high))
    elif amount.per_unit:
        low = high = ZERO
        for part in amount.per_unit:
            count = int(get(part.count))
            value = part.each * count
            low += value
            high += value
            if trace:
                steps.append(Step("per_unit", part.says, ((part.count, count), ("each", part.each)), value, value))
        if len(amount.per_unit) > 1:
            if trace:
                steps.append(Step("sum", "", (), low, high))
    elif amount.steps is not None:
        of = Decimal(get(amount.steps.of))
        whole = (of / amount.steps.size).to_integral_value(rounding=ROUND_FLOOR) if of > 0 else ZERO
        low = high = amount.steps.each * whole
        if trace:
            steps.append(Step("steps", amount.steps.says, ((amount.steps.of, of), ("size", amount.steps.size), ("steps", whole), ("each", amount.steps.each)), low, high))
    else:  # pragma: no cover - the loader requires a formula for cash kinds
        raise ValueError("amount without a formula")

    if amount.floor is not None:
        applies = resolve(amount.floor.applies, readings)
        floor = amount.floor.value
        if applies == "always" or high >= floor:
            low, high = max(low, floor), max(high, floor)
            if trace:
                steps.append(Step("floor", amount.floor.says, (("floor", floor), ("applies", applies)), low, high))
        else:
            if trace:
                steps.append(Step("floor_not_reached", amount.floor.says, (("floor", floor), ("applies", applies)), low, high))
    raw_high = high
    if amount.cap is not None:
        cap = amount.cap.value
        if high > cap or low > cap:
            low, high = min(low, cap), min(high, cap)
            if trace:
                steps.append(Step("cap", amount.cap.says, (("cap", cap),), low, high))
    if kind == "ceiling":
        low = ZERO
    # Exact, not yet rounded: caps and top-ups act on the exact figure; the decision
    # rounds once, at the end (reading-rules §2).
    return Computed(kind, low, high, raw_high, tuple(steps))
