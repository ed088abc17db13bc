"""Applications: read, validate against the schema, coerce into typed, canonical facts.

This is the first stage of an evaluation (validate → facts → durable_rules →
relation graph → decision).  Every problem is reported with the path of the bad
field (``facts[2].equipment_investment``) and nothing runs until the input is
clean.  The result is independent of the order of the facts in the input: facts
are sorted into a canonical order and named by type and subject.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import jsonschema

from policykb.errors import InputError, Problem, suggest
from policykb.kb import expressions
from policykb.kb.model import FactType, FieldSpec, Policy
from policykb.kb.schema import MAX_FACTS, application_schema
from policykb.money import MoneyError, parse_money
from policykb.numbers import NumberError, shown, shown_key

from .documents import guard
from .fastpath import FastPath


@dataclass(frozen=True)
class Fact:
    """One typed fact of an application, in canonical form."""

    key: str  # "transformation_project:P1" (or "…#2" when type and subject repeat)
    type: str
    subject: str
    date: dt.date | None
    values: Mapping[str, Any]  # typed field values, derived fields included
    source: str  # where it was in the input: "facts[3]"
    role: str  # "item" or "context"

    def get(self, name: str) -> Any:
        return self.values.get(name)


@dataclass(frozen=True)
class Application:
    applicant: Mapping[str, Any]
    year: int
    facts: tuple[Fact, ...]
    document: Mapping[str, Any]  # the input as given (after validation), for what-if
    source: str = ""

    @property
    def applicant_id(self) -> str:
        return self.applicant["id"]

    def fact(self, key: str) -> Fact | None:
        for f in self.facts:
            if f.key == key:
                return f
        return None


# --- validation ---------------------------------------------------------------------


def input_path(parts) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(document)"


def _found(value: Any) -> str:
    return shown(value)


_NUMERIC = ("money", "count", "integer", "year", "bool")


class Validator:
    """Validates applications against the generated schema, fast when they are valid."""

    def __init__(self, policy: Policy):
        self.policy = policy
        self.schema = application_schema(policy)
        self._full = jsonschema.Draft7Validator(self.schema)
        self.fast = FastPath(policy)
        # the field that tells apart facts of one type and subject (award, level …), or None
        self.selectors: dict[str, str | None] = {}
        for name, ft in policy.vocabulary.fact_types.items():
            if ft.role != "item":
                continue
            fields = {f for i in policy.items.values() if i.fact == name for f in i.select}
            if len(fields) <= 1:
                self.selectors[name] = next(iter(fields), None)

    def valid(self, document: Any) -> bool:
        """True when the fast path finds the document clean (schema and exact values)."""
        return self.fast.coerce(document) is not None

    def problems(self, document: Any) -> list[Problem]:
        """Every schema violation of the document, keyed by the path of the bad field."""
        odd = non_finite(document)
        if odd:  # NaN and infinities cannot even be compared with the schema's bounds
            return [Problem(input_path(path), f"expected a finite number, found {value}") for path, value in odd]
        found: dict[tuple[str, str], Problem] = {}
        for error in self._full.iter_errors(document):
            for problem in self.describe(error, document):
                found.setdefault((problem.where, problem.message), problem)
        return sorted(found.values(), key=lambda p: _sort_key(p.where))

    def _spec_at(self, path: Iterable[Any], document: Any) -> tuple[FieldSpec | None, FactType | None]:
        parts = list(path)
        voc = self.policy.vocabulary
        if len(parts) == 2 and parts[0] == "applicant":
            return voc.applicant.get(parts[1]), None
        if len(parts) >= 2 and parts[0] == "facts" and isinstance(parts[1], int):
            fact = document["facts"][parts[1]] if isinstance(document, dict) else None
            fact_type = fact.get("type") if isinstance(fact, dict) else None
            ft = voc.fact_types.get(fact_type) if isinstance(fact_type, str) else None
            if len(parts) >= 3 and ft is not None:
                return ft.fields.get(parts[2]) or voc.common.get(parts[2]), ft
            return None, ft
        return None, None

    def describe(self, error: jsonschema.ValidationError, document: Any) -> list[Problem]:
        """The problems one schema error stands for, in the applicant's terms."""
        if error.validator in ("allOf", "anyOf", "oneOf") and error.context:
            return [problem for sub in error.context for problem in self.describe(sub, document)]
        path = error.absolute_path
        where = input_path(path)
        spec, ft = self._spec_at(path, document)
        v = error.validator
        if v == "additionalProperties":
            return _unknown_fields(error, list(path), ft)
        if v == "required":
            required: Any = error.validator_value  # the stubs allow "unset"; a required error always has both
            instance: Any = error.instance
            return [Problem(input_path(list(path) + [k]), "missing (required)") for k in required if k not in instance]
        if v == "enum":
            return [_unknown_value(error, where)]
        if v == "const":
            return [Problem(where, f"expected {_found(error.validator_value)}, found {_found(error.instance)}")]
        if spec is not None and v in ("type", "pattern", "minimum", "maximum", "minLength"):
            return [Problem(where, f"expected {expected(spec)}, found {_found(error.instance)}{_hint(error, spec)}")]
        return [Problem(where, _general(error))]


def _unknown_fields(error: jsonschema.ValidationError, path: list, ft: FactType | None) -> list[Problem]:
    schema: Any = error.schema  # an additionalProperties error always has a schema and an object instance
    instance: Any = error.instance
    allowed = list(schema.get("properties", {}))
    unexpected = [k for k in instance if k not in allowed]
    owner = f"a {ft.name} fact" if ft else ("the applicant" if path == ["applicant"] else "the application")
    return [
        Problem(
            input_path(path + [shown_key(k)[1:-1]]),
            f"unknown field {shown_key(k)} for {owner}{suggest(k, allowed)}; allowed: {', '.join(allowed)}",
        )
        for k in unexpected
    ]


def _unknown_value(error: jsonschema.ValidationError, where: str) -> Problem:
    values: Any = error.validator_value  # an enum error always lists its values
    allowed = [str(a) for a in values]
    what = "fact type" if where.endswith(".type") else "value"
    listed = ", ".join(allowed) if len(allowed) <= 30 else ", ".join(allowed[:30]) + ", …"
    return Problem(where, f"unknown {what} {_found(error.instance)}{suggest(error.instance, allowed)}; allowed: {listed}")


def _hint(error: jsonschema.ValidationError, spec: FieldSpec) -> str:
    """How to write a value the field would take: text in quotes, money in decimal digits."""
    instance = error.instance
    if error.validator == "type" and spec.type not in _NUMERIC and isinstance(instance, (int, Decimal)) and not isinstance(instance, bool):
        return f'; write it in quotes ("{instance}") so that it is read as text'
    if spec.type == "money" and isinstance(instance, str) and "e" in instance.lower():
        return "; write amounts in decimal digits (5000000, not 5e6)"
    return ""


def _general(error: jsonschema.ValidationError) -> str:
    """A schema error on no field of the vocabulary: the shape of the document."""
    v = error.validator
    if v == "type":
        value: Any = error.validator_value
        kinds = [str(k) for k in value] if isinstance(value, list) else [str(value)]
        return f"expected {' or '.join(kinds)}, found {_found(error.instance)}"
    if v in ("minimum", "maximum"):
        side = "at least" if v == "minimum" else "at most"
        return f"expected {side} {error.validator_value}, found {_found(error.instance)}"
    if v == "maxItems":
        return f"at most {error.validator_value} facts per application"
    return _found(error.message).strip('"')


def non_finite(value: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    """(path, value) of every NaN or infinity in a document."""
    if isinstance(value, dict):
        return [found for k, v in value.items() for found in non_finite(v, path + (k,))]
    if isinstance(value, list):
        return [found for i, v in enumerate(value) for found in non_finite(v, path + (i,))]
    if (isinstance(value, Decimal) and not value.is_finite()) or (isinstance(value, float) and not math.isfinite(value)):
        return [(path, value)]
    return []


def expected(spec: FieldSpec) -> str:
    t = spec.type
    label = spec.label.en
    if t == "money":
        return f'{label}: an amount in yuan from 0 to 999,999,999,999.99 with at most two decimals (a number or a string like "2999999.99")'
    if t == "count":
        return f"{label}: a whole number ≥ 0"
    if t in ("integer", "year"):
        low = spec.minimum if spec.minimum is not None else (1990 if t == "year" else None)
        high = spec.maximum if spec.maximum is not None else (2100 if t == "year" else None)
        rng = f" from {low} to {high}" if low is not None and high is not None else ""
        return f"{label}: a whole number{rng}"
    if t == "bool":
        return f"{label}: true or false"
    if t == "date":
        return f"{label}: a date YYYY-MM-DD"
    if t == "enum":
        return f"{label}: one of {', '.join(spec.values or {})}"
    return f"{label}: non-empty text"


def _sort_key(where: str) -> list:
    return [int(tok) if tok.isdigit() else tok for tok in re.split(r"(\d+)", where)]


# --- coercion into typed facts --------------------------------------------------------


def typed_value(spec: FieldSpec, value: Any) -> Any:
    """The Python value of a validated field: Decimal money, date objects, plain others."""
    if value is None:
        return None
    if spec.type == "money":
        return parse_money(value)
    if spec.type == "date":
        try:
            return dt.date.fromisoformat(value)
        except (TypeError, ValueError):
            raise ValueError(f"expected a real date YYYY-MM-DD, found {shown(value)}") from None
    if spec.type == "items":
        return tuple(value)
    return value


def _canonical(value: Any) -> str:
    """A text form that sorts the same whatever the value's type (None included)."""
    if isinstance(value, Decimal):
        return f"n{value:f}"
    if isinstance(value, bool):
        return f"b{int(value)}"
    if isinstance(value, int):
        return f"n{value}"
    if isinstance(value, tuple):
        return "t" + "\x1f".join(map(str, value))
    if value is None:
        return "-"
    return f"s{value}"


def derive(ft: FactType, values: dict) -> None:
    """Compute the derived fields of a fact in place (None where an input is missing)."""
    for name, spec in ft.derived.items():
        result = expressions.evaluate(spec.expr, values.get)
        if result is not None and spec.type in ("count", "integer"):
            result = int(result)
        values[name] = result


def parse_application(policy: Policy, document: Any, *, source: str = "", validator: Validator | None = None) -> Application:
    """Validate and coerce one application document; raise InputError with every problem."""
    guard(document, source)  # depth, surrogates, control characters, odd numbers: before anything walks it
    if isinstance(document, dict) and isinstance(document.get("facts"), list) and len(document["facts"]) > MAX_FACTS:
        raise InputError(Problem("facts", f"at most {MAX_FACTS:,} facts per application; found {len(document['facts']):,}"), source=source)
    validator = validator or Validator(policy)
    clean = validator.fast.coerce(document)
    if clean is not None:
        applicant, typed = clean
        drafts = []
        for ft, subject, date, values, index in typed:
            derive(ft, values)
            drafts.append((ft, applicant["id"] if subject is None else subject, date, values, index))
        return _canonical_application(applicant, drafts, document, source, validator.selectors)
    problems = validator.problems(document)
    if problems:
        raise InputError(problems, source=source)
    # the schema holds, yet the fast path refused: an exactness problem (fen, real dates)
    applicant = _exact_applicant(policy, document["applicant"], problems)
    drafts = [
        _exact_draft(policy.vocabulary.fact_types[raw["type"]], raw, index, applicant["id"], problems)
        for index, raw in enumerate(document["facts"])
    ]
    if problems:
        raise InputError(problems, source=source)
    return _canonical_application(applicant, drafts, document, source, validator.selectors)


def _exact_applicant(policy: Policy, raw: dict, problems: list[Problem]) -> dict[str, Any]:
    """The applicant's fields, typed exactly; what cannot be is added to ``problems``."""
    applicant: dict[str, Any] = {}
    for name, spec in policy.vocabulary.applicant.items():
        if name in raw:
            try:
                applicant[name] = typed_value(spec, raw[name])
            except (NumberError, ValueError) as exc:
                problems.append(Problem(f"applicant.{name}", f"{spec.label.en}: {exc}"))
    return applicant


def _exact_draft(ft: FactType, raw: dict, index: int, applicant_id: Any, problems: list[Problem]) -> tuple:
    """One fact's values typed exactly, its date a real date: a draft (type, subject, date, values, index)."""
    values: dict[str, Any] = {}
    date = None
    for name, value in raw.items():
        if name in ("type", "subject", "note"):
            continue
        if name == "date":
            try:
                date = dt.date.fromisoformat(value)
            except ValueError:
                problems.append(Problem(f"facts[{index}].date", f"expected a real date YYYY-MM-DD, found {_found(value)}"))
            continue
        spec = ft.fields[name]
        try:
            values[name] = typed_value(spec, value)
        except (MoneyError, NumberError, ValueError) as exc:
            problems.append(Problem(f"facts[{index}].{name}", f"{spec.label.en}: {exc}"))
    derive(ft, values)
    return (ft, raw.get("subject", applicant_id), date, values, index)


def _canonical_application(applicant: dict, drafts: list, document: Any, source: str, selectors: dict) -> Application:
    """Facts sorted into canonical order and named ``type:subject`` (``#n`` when repeated).

    The order depends only on what the facts say, never on where they stood in the
    input: by type and subject, and — only where those repeat — by date and content.
    """
    groups: dict[tuple[str, str], list] = {}
    for draft in drafts:
        groups.setdefault((draft[0].name, draft[1]), []).append(draft)
    problems: list[Problem] = []
    facts: list[Fact] = []
    for type_name, subject in sorted(groups):
        group = groups[(type_name, subject)]
        if len(group) == 1:
            ft, _, date, values, index = group[0]
            facts.append(Fact(f"{type_name}:{subject}", type_name, subject, date, values, f"facts[{index}]", ft.role))
            continue
        if type_name in selectors:
            # Two facts of one type and subject that are about the same thing (no selector, or the
            # same award, level …) would be merged into one outcome: refuse rather than drop one.
            selector = selectors[type_name]
            seen_values: dict = {}
            signatures = set()
            for d in sorted(group, key=lambda d: d[4]):
                signature = (d[2], tuple(sorted((k, _canonical(v)) for k, v in d[3].items())))
                if signature in signatures:
                    continue  # an exact repeat, reported as such below
                signatures.add(signature)
                value = d[3].get(selector) if selector else None
                if value in seen_values:
                    what = f" with {selector} {value}" if selector else ""
                    problems.append(
                        Problem(
                            f"facts[{d[4]}]",
                            f"a second {type_name} fact for subject '{subject}'{what} (see facts[{seen_values[value]}]); "
                            "give each its own subject",
                        )
                    )
                else:
                    seen_values[value] = d[4]
        keyed = sorted(((d[2].isoformat() if d[2] else "", tuple(sorted((k, _canonical(v)) for k, v in d[3].items()))), d) for d in group)
        seen: dict[tuple, int] = {}
        number = 0
        for signature, (ft, _, date, values, index) in keyed:
            if signature in seen:
                problems.append(Problem(f"facts[{index}]", f"repeats facts[{seen[signature]}] (same type, subject and values)"))
                continue
            seen[signature] = index
            number += 1
            facts.append(Fact(f"{type_name}:{subject}#{number}", type_name, subject, date, values, f"facts[{index}]", ft.role))
    if problems:
        raise InputError(sorted(problems, key=lambda p: _sort_key(p.where)), source=source)
    return Application(applicant=applicant, year=document["year"], facts=tuple(facts), document=document, source=source)
