"""Amounts of met items, computed exactly and recorded step by step.

Kinds (reading-rules §2): ceiling (the most that may be granted; min 0), exact
(min = max), range (a rate band: lower = clamp(low rate × base, floor, cap), upper
= clamp(high rate × base, floor, cap)), none (a service) and discretionary (a
route, with its ceiling where the text gives one).  Money stays Decimal and exact
here; group caps and top-ups act on the exact figure, and the decision rounds the
final figure half up to the fen, once (``round_outcome``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from policykb.kb.model import Amount, Floor, PerUnit, Steps, Sum, resolve
from policykb.money import ZERO, round_fen
from policykb.vocabulary import AmountKind


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


def compute(amount: Amount, get: Callable[[str], Any], readings: Mapping[str, str], trace: bool = False) -> Computed:
    """The bounds of an item's amount for one fact (``get`` reads its fields).

    With ``trace`` every step is recorded; the evaluation runs without it and the
    explanation recomputes with it — same inputs, same figures, step by step.
    """
    kind = amount.kind
    if kind == AmountKind.NONE:
        return Computed(kind, None, None, None, ())
    if kind == AmountKind.DISCRETIONARY:
        return _discretionary(amount, trace)
    missing = tuple(name for name in amount.inputs() if get(name) is None)
    if missing:
        return Computed(kind, None, None, None, (), missing)
    steps: list[Step] | None = [] if trace else None
    low, high = _formula(amount, get, steps)
    if amount.floor is not None:
        low, high = _floor(amount.floor, low, high, readings, steps)
    raw_high = high
    if amount.cap is not None:
        low, high = _cap(amount.cap, low, high, steps)
    if kind == AmountKind.CEILING:
        low = ZERO
    # Exact, not yet rounded: caps and top-ups act on the exact figure; the decision
    # rounds once, at the end (reading-rules §2).
    return Computed(kind, low, high, raw_high, tuple(steps or ()))


Bounds = tuple[Decimal, Decimal]


def _discretionary(amount: Amount, trace: bool) -> Computed:
    """A route decided case by case: its ceiling where the text gives one."""
    if amount.cap is None:
        return Computed(amount.kind, None, None, None, ())
    cap = amount.cap.value
    return Computed(amount.kind, None, cap, cap, (Step("cap", amount.cap.says, (("cap", cap),), None, cap),) if trace else ())


def _formula(amount: Amount, get: Callable[[str], Any], steps: list[Step] | None) -> Bounds:
    """The bounds the amount's one formula gives: a fixed sum, a rate, per unit or per step."""
    if amount.fixed is not None:
        value = amount.fixed.value
        if steps is not None:
            steps.append(Step("fixed", amount.fixed.says, (("sum", value),), value, value))
        return value, value
    if amount.rate is not None:
        return _rate(amount, Decimal(get(amount.base or "")), steps)
    if amount.per_unit:
        return _per_unit(amount.per_unit, get, steps)
    if amount.steps is not None:
        return _whole_steps(amount.steps, Decimal(get(amount.steps.of)), steps)
    raise ValueError("amount without a formula")  # pragma: no cover - the loader requires a formula for cash kinds


def _rate(amount: Amount, base: Decimal, steps: list[Step] | None) -> Bounds:
    rate = amount.rate
    assert rate is not None  # the caller checked
    high_rate = amount.rate_high.value if amount.rate_high else rate.value
    low, high = rate.value * base, high_rate * base
    if steps is not None:
        inputs: tuple = (("rate_low", rate.value), ("rate_high", high_rate)) if amount.rate_high else (("rate", rate.value),)
        steps.append(Step("rate", rate.says, inputs + ((amount.base, base),), low, high))
    return low, high


def _per_unit(parts: tuple[PerUnit, ...], get: Callable[[str], Any], steps: list[Step] | None) -> Bounds:
    total = ZERO
    for part in parts:
        count = int(get(part.count))
        value = part.each * count
        total += value
        if steps is not None:
            steps.append(Step("per_unit", part.says, ((part.count, count), ("each", part.each)), value, value))
    if steps is not None and len(parts) > 1:
        steps.append(Step("sum", "", (), total, total))
    return total, total


def _whole_steps(spec: Steps, of: Decimal, steps: list[Step] | None) -> Bounds:
    whole = (of / spec.size).to_integral_value(rounding=ROUND_FLOOR) if of > 0 else ZERO
    value = spec.each * whole
    if steps is not None:
        steps.append(Step("steps", spec.says, ((spec.of, of), ("size", spec.size), ("steps", whole), ("each", spec.each)), value, value))
    return value, value


def _floor(floor: Floor, low: Decimal, high: Decimal, readings: Mapping[str, str], steps: list[Step] | None) -> Bounds:
    """Raise both bounds to the floor — always, or only when the band reaches it (I-11's kind of reading)."""
    applies = resolve(floor.applies, readings)
    reached = applies == "always" or high >= floor.value
    if reached:
        low, high = max(low, floor.value), max(high, floor.value)
    if steps is not None:
        steps.append(
            Step("floor" if reached else "floor_not_reached", floor.says, (("floor", floor.value), ("applies", applies)), low, high)
        )
    return low, high


def _cap(cap: Sum, low: Decimal, high: Decimal, steps: list[Step] | None) -> Bounds:
    """Lower both bounds to the item's own cap."""
    if high > cap.value or low > cap.value:
        low, high = min(low, cap.value), min(high, cap.value)
        if steps is not None:
            steps.append(Step("cap", cap.says, (("cap", cap.value),), low, high))
    return low, high
