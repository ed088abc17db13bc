"""Outcomes in the making: one per item and subject, with what acted on it.

The evaluation creates an ``Outcome`` for every item the application holds a
relevant fact for; the resolution stage then changes statuses and amounts and
appends an ``Event`` for each provision or relation that acted (or was weighed).
Events are the raw material of explanations: they name the relation, its
competitors and their amounts, and the reading that decided.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from policykb.kb.model import Item
from policykb.vocabulary import ADVERSE, ALIVE, CASH, PAYING, AmountKind, Status

from .amounts import Computed
from .application import Fact

__all__ = ["CASH", "Event", "Outcome", "Rival"]  # CASH (the cash amount kinds) stays importable here for engine/decision.py


@dataclass(frozen=True)
class Rival:
    """Another outcome a relation compared this one with."""

    item: str
    subject: str
    high: Decimal | None
    status: str


@dataclass(frozen=True)
class Event:
    by: str  # relation or provision ID
    kind: str  # the relation/provision kind
    effect: str  # excluded | reduced | ineligible | kept | considered
    before: tuple[Decimal | None, Decimal | None] | None = None
    after: tuple[Decimal | None, Decimal | None] | None = None
    winner: Rival | None = None
    rivals: tuple[Rival, ...] = ()
    detail: tuple[tuple[str, Any], ...] = ()
    reading: str | None = None

    def get(self, key: str, default: Any = None) -> Any:
        for k, v in self.detail:
            if k == key:
                return v
        return default


@dataclass(eq=False, slots=True)
class Outcome:
    item: Item
    subject: str
    fact: Fact  # the fact that decided the outcome
    facts: list[Fact]  # every relevant fact for this item and subject
    verdict: bool | None  # the conditions: met, not met, unknown
    rules: list[str] = field(default_factory=list)  # the rules that fired for it
    computed: Computed | None = None
    status: str = Status.INELIGIBLE
    low: Decimal | None = None
    high: Decimal | None = None
    by: list[str] = field(default_factory=list)
    readings: set[str] = field(default_factory=set)
    missing: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    rounded_from: tuple[Decimal | None, Decimal | None] | None = None  # exact bounds before the final rounding
    amount_spec: Any = None  # the item's amount under the evaluation's readings

    @property
    def key(self) -> tuple[int, str]:
        return (self.item.order, self.subject)

    @property
    def kind(self) -> str:
        return self.computed.kind if self.computed else AmountKind.NONE

    @property
    def is_cash(self) -> bool:
        return self.status in PAYING and self.kind in CASH

    @property
    def alive(self) -> bool:
        """Met and not (yet) removed: still receives its benefit."""
        return self.status in ALIVE

    def rival(self) -> Rival:
        return Rival(self.item.id, self.subject, self.high, self.status)

    def act(self, event: Event, status: str | None = None, low: Decimal | None = None, high: Decimal | None = None) -> None:
        """Record ``event``; change status and bounds when given."""
        self.events.append(event)
        if event.by not in self.by and event.effect in ADVERSE:
            self.by.append(event.by)
        if event.reading:
            self.readings.add(event.reading)
        if status is not None:
            self.status = status
        if high is not None:
            self.high = high
        if low is not None:
            self.low = low
