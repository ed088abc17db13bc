"""The fast path of validation: one precompiled pass that checks and coerces.

For every field of the vocabulary it checks exactly what the generated JSON Schema
says (type, bounds, pattern, enum, required, no unknown keys) and converts the value
to its Python type at the same time.  It answers only "clean" (with the typed
values) or "not clean": on the first doubt it gives up and the caller runs the full
jsonschema report, which names every bad field.  ``tests/test_schema.py`` checks
that the two accept exactly the same documents.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from policykb.kb.model import FactType, FieldSpec, Policy
from policykb.kb.schema import DATE_PATTERN, MAX_COUNT, MAX_FACTS, MONEY_LIMIT, MONEY_PATTERN, subject_needed
from policykb.money import FEN

TOP_KEYS = frozenset(("policy", "applicant", "year", "facts"))
MIN_YEAR, MAX_YEAR = 1990, 2100  # the application schema's years (kb/schema.py)

_MONEY = re.compile(MONEY_PATTERN)
_DATE = re.compile(DATE_PATTERN)


class NotClean(Exception):
    """Raised inside the fast path; the caller falls back to the full report."""


def _integer(value: Any) -> int:
    if type(value) is int:
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise NotClean


def converter(spec: FieldSpec, item_ids: frozenset) -> Callable[[Any], Any]:
    """A function checking one field's value as the schema does and returning it typed."""
    t = spec.type
    if t == "money":
        return _money_value
    if t in ("count", "integer", "year"):
        return _whole(spec)
    if t == "bool":
        return _boolean
    if t in ("enum", "item"):
        return _member(frozenset(spec.values or {}) if t == "enum" else item_ids)
    if t == "items":
        return _members(item_ids)
    if t == "date":
        return _date_value
    return _text


def _money_value(value: Any) -> Decimal:
    if type(value) is int:
        if 0 <= value < MONEY_LIMIT:
            return Decimal(value)
        raise NotClean
    if isinstance(value, str):
        if _MONEY.match(value):
            return Decimal(value)
        raise NotClean
    if isinstance(value, (Decimal, float)) and not isinstance(value, bool):
        amount = value if isinstance(value, Decimal) else Decimal(repr(value))
        if amount.is_finite() and 0 <= amount < MONEY_LIMIT and amount == amount.quantize(FEN):
            return amount.copy_abs() if amount.is_zero() else amount  # never negative zero
    raise NotClean


def _whole(spec: FieldSpec) -> Callable[[Any], int]:
    t = spec.type
    low = spec.minimum if spec.minimum is not None else (0 if t == "count" else (1990 if t == "year" else None))
    high = spec.maximum if spec.maximum is not None else (2100 if t == "year" else (MAX_COUNT if t == "count" else None))

    def whole(value: Any) -> int:
        number = _integer(value)
        if (low is not None and number < low) or (high is not None and number > high):
            raise NotClean
        return number

    return whole


def _boolean(value: Any) -> bool:
    if value is True or value is False:
        return value
    raise NotClean


def _member(allowed: frozenset) -> Callable[[Any], str]:
    def member(value: Any) -> str:
        if isinstance(value, str) and value in allowed:
            return value
        raise NotClean

    return member


def _members(item_ids: frozenset) -> Callable[[Any], tuple]:
    def members(value: Any) -> tuple:
        if isinstance(value, list) and all(isinstance(v, str) and v in item_ids for v in value) and len(set(value)) == len(value):
            return tuple(value)
        raise NotClean

    return members


def _date_value(value: Any) -> dt.date:
    if isinstance(value, str) and _DATE.match(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise NotClean from None
    raise NotClean


def _text(value: Any) -> str:
    if isinstance(value, str) and value:
        return value
    raise NotClean


def _refuse(value: Any) -> Any:
    raise NotClean


class FactShape:
    """The fields, requirements and converters of one fact type."""

    def __init__(self, ft: FactType, common: dict[str, FieldSpec], item_ids: frozenset, subject_needed=None):
        self.ft = ft
        self.convert = {name: converter(spec, item_ids) for name, spec in ft.fields.items()}
        # a common field the vocabulary lacks is not clean: the full validation names it
        self.subject = converter(common["subject"], item_ids) if "subject" in common else _refuse
        self.date = converter(common["date"], item_ids) if "date" in common else _refuse
        self.note = converter(common["note"], item_ids) if "note" in common else _refuse
        self.required = [n for n, s in ft.fields.items() if s.required] + (["subject"] if ft.subject_required else [])
        self.required_when = [(n, dict(s.required_when)) for n, s in ft.fields.items() if s.required_when]
        self.subject_needed = (subject_needed[0], frozenset(subject_needed[1])) if subject_needed else None


class FastPath:
    def __init__(self, policy: Policy):
        voc = policy.vocabulary
        self.policy_id = policy.id
        item_ids = frozenset(policy.items)
        self.applicant = {name: converter(spec, item_ids) for name, spec in voc.applicant.items()}
        self.applicant_required = [n for n, s in voc.applicant.items() if s.required]
        self.shapes = {name: FactShape(ft, dict(voc.common), item_ids, subject_needed(policy, name)) for name, ft in voc.fact_types.items()}

    def coerce(self, document: Any):
        """(typed applicant, [(fact type, subject or None, date, typed values, index)]) or None."""
        try:
            return self._coerce(document)
        except (NotClean, KeyError, TypeError, AttributeError):
            return None

    def _coerce(self, document: Any) -> tuple[dict[str, Any], list[tuple]]:
        """The applicant and the fact drafts of a clean document; ``NotClean`` otherwise."""
        raw_applicant, facts = self._envelope(document)
        applicant = self._applicant(raw_applicant)
        return applicant, [self._fact(raw, index) for index, raw in enumerate(facts)]

    def _envelope(self, document: Any) -> tuple[dict, list]:
        """The document's applicant and facts, when its top level is exactly as expected."""
        if not isinstance(document, dict) or not TOP_KEYS.issuperset(document) or document.get("policy", self.policy_id) != self.policy_id:
            raise NotClean
        raw_applicant, facts, year = document["applicant"], document["facts"], document["year"]
        if type(year) is not int or not MIN_YEAR <= year <= MAX_YEAR:
            raise NotClean
        if not isinstance(raw_applicant, dict) or not isinstance(facts, list) or len(facts) > MAX_FACTS:
            raise NotClean
        return raw_applicant, facts

    def _applicant(self, raw: dict) -> dict[str, Any]:
        convert = self.applicant
        applicant = {name: convert[name](value) for name, value in raw.items()}
        if any(name not in applicant for name in self.applicant_required):
            raise NotClean
        return applicant

    def _fact(self, raw: Any, index: int) -> tuple:
        """One fact as a draft (type, subject, date, values, index)."""
        if not isinstance(raw, dict):
            raise NotClean
        shape = self.shapes[raw["type"]]
        values = {}
        subject = date = None
        for name, value in raw.items():
            if name == "type":
                continue
            if name == "subject":
                subject = shape.subject(value)
            elif name == "date":
                date = shape.date(value)
            elif name == "note":
                shape.note(value)
            else:
                values[name] = shape.convert[name](value)
        self._complete(shape, raw)
        return (shape.ft, subject, date, values, index)

    @staticmethod
    def _complete(shape: FactShape, raw: dict) -> None:
        """Refuse a fact lacking a required field, or a subject its type needs."""
        if any(name not in raw for name in shape.required):
            raise NotClean
        for name, when in shape.required_when:
            if name not in raw and all(raw.get(k) == v for k, v in when.items()):
                raise NotClean
        if shape.subject_needed and "subject" not in raw and raw.get(shape.subject_needed[0]) in shape.subject_needed[1]:
            raise NotClean
