"""The loaded knowledge base as plain, immutable Python objects.

``loader`` builds these from the YAML files; everything else (engine, explanations,
audit, views) reads them.  Nothing here knows about YAML or durable_rules.
Values that depend on a reading of ambiguous text are ``Switch`` objects until
``resolve`` picks the case for a given set of readings.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

LANGS = ("zh", "en")


@dataclass(frozen=True)
class Text:
    """A bilingual label: Chinese first, English second."""

    zh: str
    en: str

    def __call__(self, lang: str = "zh") -> str:
        return self.en if lang == "en" else self.zh

    def to_dict(self) -> dict:
        return {"zh": self.zh, "en": self.en}


@dataclass(frozen=True)
class Switch:
    """A value that depends on a reading: ``cases`` maps each option to a value."""

    reading: str
    cases: Mapping[str, Any]

    def pick(self, readings: Mapping[str, str]) -> Any:
        return self.cases[readings[self.reading]]


def resolve(value: Any, readings: Mapping[str, str]) -> Any:
    """Follow switches until a plain value remains."""
    while isinstance(value, Switch):
        value = value.pick(readings)
    return value


def switch_readings(value: Any) -> set[str]:
    """Every reading a value depends on: switches anywhere inside conditions, amounts,
    relation parameters, lists and mappings."""
    found: set[str] = set()
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, Switch):
            found.add(node.reading)
            stack.extend(node.cases.values())
        elif isinstance(node, (list, tuple)):
            stack.extend(node)
        elif isinstance(node, Mapping):
            stack.extend(node.values())
        elif hasattr(node, "__dataclass_fields__") and not isinstance(node, Text):
            stack.extend(getattr(node, name) for name in node.__dataclass_fields__)
    return found


# --- the fact vocabulary -------------------------------------------------------

FIELD_TYPES = ("money", "count", "integer", "bool", "enum", "text", "date", "year", "item", "items")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    label: Text
    required: bool = False
    values: Mapping[str, Text] | None = None  # enum values with labels
    minimum: int | None = None
    maximum: int | None = None
    unit: Text | None = None
    required_when: Mapping[str, Any] | None = None
    expr: Any = None  # derived fields: an arithmetic expression (see expressions.py)

    @property
    def derived(self) -> bool:
        return self.expr is not None


@dataclass(frozen=True)
class FactType:
    name: str
    label: Text
    subject_kind: str
    subject_required: bool
    fields: Mapping[str, FieldSpec]
    derived: Mapping[str, FieldSpec]
    role: str = "item"  # "item": items are about it; "context": read by the relations only

    def field(self, name: str) -> FieldSpec | None:
        return self.fields.get(name) or self.derived.get(name)


@dataclass(frozen=True)
class Vocabulary:
    subject_kinds: Mapping[str, Text]
    applicant: Mapping[str, FieldSpec]
    applicant_label: Text
    common: Mapping[str, FieldSpec]
    fact_types: Mapping[str, FactType]

    def field(self, fact_type: str, name: str) -> FieldSpec | None:
        """The spec of ``name`` as seen from a fact of ``fact_type`` (``applicant.x`` too)."""
        if name.startswith("applicant."):
            return self.applicant.get(name[len("applicant.") :])
        ft = self.fact_types.get(fact_type)
        if ft is None:
            return None
        return ft.field(name) or self.common.get(name)


# --- conditions ------------------------------------------------------------------

OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "in")
OP_SYMBOL = {"eq": "=", "ne": "≠", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤", "in": "∈"}
OP_NEGATION = {"eq": "≠", "ne": "=", "gt": "≤", "gte": "<", "lt": "≥", "lte": ">", "in": "∉"}


@dataclass(frozen=True)
class Compare:
    """``field op value``; value is a literal (typed to the field) or another field."""

    field: str
    op: str
    value: Any
    says: str
    ref: str | None = None  # compare with this field of the same fact instead of a literal


@dataclass(frozen=True)
class All:
    parts: tuple


@dataclass(frozen=True)
class Any_:
    parts: tuple


@dataclass(frozen=True)
class Always:
    """The condition that always holds (a reading that drops a requirement)."""


ALWAYS = Always()


# --- amounts -----------------------------------------------------------------------


@dataclass(frozen=True)
class Sum:
    """A sum named by the text: a value in yuan (or a rate) and the words that set it."""

    value: Decimal
    says: str


@dataclass(frozen=True)
class PerUnit:
    count: str  # field holding the number of units
    each: Decimal
    says: str


@dataclass(frozen=True)
class Steps:
    of: str  # field measured in whole steps
    size: Decimal
    each: Decimal
    says: str


@dataclass(frozen=True)
class Floor:
    value: Decimal
    says: str
    applies: Any = "always"  # "always" | "when_reached", or a Switch between them


@dataclass(frozen=True)
class Amount:
    kind: str
    fixed: Sum | None = None
    rate: Sum | None = None
    rate_high: Sum | None = None  # range kind: rate is the low end, rate_high the high end
    base: str | None = None
    per_unit: tuple[PerUnit, ...] = ()
    steps: Steps | None = None
    floor: Floor | None = None
    cap: Sum | None = None
    route: Text | None = None  # discretionary: how the support is decided
    benefit: Text | None = None  # none: what the applicant receives instead of money
    fee_cap: Sum | None = None
    share: Sum | None = None
    also: Text | None = None

    def inputs(self) -> tuple[str, ...]:
        """Fields the computation reads, in the order they are used."""
        names = [self.base] if self.base else []
        names += [p.count for p in self.per_unit]
        if self.steps:
            names.append(self.steps.of)
        return tuple(names)

    def sums(self) -> list[Sum]:
        """Every sum with its words, for the verbatim-quote check."""
        out = [s for s in (self.fixed, self.rate, self.rate_high, self.cap, self.fee_cap, self.share) if s]
        out += [Sum(p.each, p.says) for p in self.per_unit]
        if self.steps:
            out.append(Sum(self.steps.each, self.steps.says))
        if self.floor:
            out.append(Sum(self.floor.value, self.floor.says))
        return out


# --- items, relations, provisions, readings ------------------------------------------

# The value of a context fact's ``source`` that means "granted under this same policy": the
# context fact type a ``highest_wins`` provision names must offer it (the loader checks).
OWN_SOURCE = "this_policy"


@dataclass(frozen=True)
class Item:
    id: str
    measure: int
    label: str
    title: Text
    applicants: tuple[str, ...]
    subject: str
    fact: str
    select: Mapping[str, tuple]
    quote: str
    conditions: Any  # a condition node (All at the top), possibly holding Switches
    amount: Any  # Amount or Switch of Amounts
    readings: tuple[str, ...]
    repeat: Any = "once"  # "once" per subject, "yearly", or a Switch between them (I-12)
    payer: str = ""  # a payer of policy.yaml's ``payers`` (the loader fills in the default payer)
    order: int = 0  # position in the policy, for stable output and tie-breaks
    file: str = ""


@dataclass(frozen=True)
class Relation:
    id: str
    kind: str
    title: Text
    members: Any  # tuple of item IDs, or a Switch of tuples
    scope: str
    quote: str
    params: Mapping[str, Any] = field(default_factory=dict)
    rationale: Text | None = None  # why the quoted words make this relation (and which reading decides it)
    payer: str | None = None  # group caps: whose cap it is (every member is paid by this payer)
    cites: tuple[Citation, ...] = ()  # words of another document the relation rests on


@dataclass(frozen=True)
class Cover:
    """Applicants a measure names that the eligibility provision's words do not cover
    (I-14): admitted, when ``conditions`` hold, for ``items`` only."""

    items: tuple[str, ...]
    quote: str
    conditions: Any


@dataclass(frozen=True)
class Provision:
    id: str
    kind: str
    title: Text
    quote: str
    conditions: Any = None
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Citation:
    """Words of another document that a reading relies on (not in this policy's text)."""

    document: Text
    issued: _dt.date | None
    clause: str
    quote: str


@dataclass(frozen=True)
class Reading:
    id: str
    question: Text
    quote: str
    default: str
    options: Mapping[str, Text]
    affects: Any  # "all" or a tuple of item IDs
    quotes: tuple[str, ...] = ()  # further sentences of this text that the reading reads
    cites: tuple[Citation, ...] = ()  # sentences of other documents it relies on

    @property
    def all_quotes(self) -> tuple[str, ...]:
        return (self.quote,) + self.quotes


@dataclass(frozen=True)
class Target:
    id: str
    measure: int
    quote: str
    what: Text
    op: str
    value: Decimal
    unit: Text
    per: str | None = None
    by: int | None = None
    each: Threshold | None = None  # what each counted unit must reach (超5亿元 → > 500,000,000)


@dataclass(frozen=True)
class Threshold:
    what: Text
    op: str
    value: Decimal
    unit: Text


@dataclass(frozen=True)
class Term:
    term: str
    en: str
    definition: Text
    field: str | None
    used_in: tuple[int, ...]


@dataclass(frozen=True)
class Measure:
    number: int
    label: str
    title: Text
    items: tuple[str, ...]
    file: str


@dataclass(frozen=True)
class Chapter:
    number: str
    first: int
    last: int
    title: Text


@dataclass(frozen=True)
class Policy:
    """One policy's knowledge base, loaded and cross-checked."""

    id: str
    document_number: str
    title: Text
    notice_title: Text
    issuer: Text
    issued: _dt.date
    in_force: tuple[_dt.date, _dt.date]
    authority: Text
    currency: str
    text: str
    chapters: tuple[Chapter, ...]
    measures: tuple[Measure, ...]
    items: Mapping[str, Item]
    relations: Mapping[str, Relation]
    provisions: Mapping[str, Provision]
    readings: Mapping[str, Reading]
    targets: tuple[Target, ...]
    glossary: tuple[Term, ...]
    vocabulary: Vocabulary
    inventory: tuple[str, ...]
    version: str
    path: str
    payers: Mapping[str, Text] = field(default_factory=dict)  # who pays, by id: {zh, en} names
    default_payer: str = ""  # the payer of an item that names none

    def default_readings(self) -> dict[str, str]:
        return {rid: r.default for rid, r in self.readings.items()}

    def provision(self, kind: str) -> Provision | None:
        for p in self.provisions.values():
            if p.kind == kind:
                return p
        return None
