"""The condition language: evaluation in plain Python, reading resolution, analysis.

Conditions are data built by the loader from YAML (see docs/kb.md):

- ``Compare(field, op, value, says)`` — ``op`` is eq, ne, gt (超), gte (以上), lt, lte
  or in; the boundary is always explicit. ``value`` may name another field of the
  same fact (``ref``) instead of a literal;
- ``All`` / ``Any_`` — conjunction / disjunction;
- ``Switch`` — a part that depends on a reading;
- ``ALWAYS`` — the empty requirement.

Evaluation is three-valued (Kleene): a comparison on a missing field is *unknown*;
``all`` is false if any part is false, else unknown if any part is unknown;
``any`` is true if any part is true, else unknown if any is unknown.  Unknown is
what makes an item ``undetermined`` rather than silently ineligible.  The rules
engine sees the same conditions compiled to durable_rules (engine/compiler.py);
this module is the reference the engine is checked against.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from .model import ALWAYS, All, Always, Any_, Compare, Switch

Getter = Callable[[str], Any]


def resolve(node: Any, readings: Mapping[str, str]) -> Any:
    """The condition with every switch replaced by the case the readings choose."""
    if isinstance(node, Switch):
        return resolve(node.pick(readings), readings)
    if isinstance(node, All):
        parts = tuple(p for p in (resolve(p, readings) for p in node.parts) if p is not ALWAYS)
        return All(parts) if parts else ALWAYS
    if isinstance(node, Any_):
        parts = tuple(resolve(p, readings) for p in node.parts)
        if any(p is ALWAYS for p in parts):
            return ALWAYS
        return Any_(parts)
    return node


def compare(op: str, left: Any, right: Any) -> bool:
    if op == "eq":
        return left == right
    if op == "ne":
        return left != right
    if op == "in":
        return left in right
    if op == "gt":
        return left > right
    if op == "gte":
        return left >= right
    if op == "lt":
        return left < right
    if op == "lte":
        return left <= right
    raise ValueError(f"unknown operator {op!r}")


def holds(node: Any, get: Getter) -> bool | None:
    """True, False, or None (unknown) for a resolved condition."""
    if node is ALWAYS or isinstance(node, Always):
        return True
    if isinstance(node, Compare):
        left = get(node.field)
        if left is None:
            return None
        right = get(node.ref) if node.ref else node.value
        if right is None:
            return None
        return compare(node.op, left, right)
    if isinstance(node, All):
        result: bool | None = True
        for part in node.parts:
            verdict = holds(part, get)
            if verdict is False:
                return False
            if verdict is None:
                result = None
        return result
    if isinstance(node, Any_):
        result = False
        for part in node.parts:
            verdict = holds(part, get)
            if verdict is True:
                return True
            if verdict is None:
                result = None
        return result
    raise TypeError(f"not a resolved condition: {node!r}")


@dataclass(frozen=True)
class Check:
    """One comparison as evaluated: what was required, what was found, the verdict."""

    compare: Compare
    actual: Any
    expected: Any
    verdict: bool | None


def checks(node: Any, get: Getter) -> list[Check]:
    """Every comparison of a resolved condition with its verdict, in order."""
    out: list[Check] = []

    def walk(n: Any) -> None:
        if isinstance(n, Compare):
            left = get(n.field)
            right = get(n.ref) if n.ref else n.value
            verdict = None if left is None or right is None else compare(n.op, left, right)
            out.append(Check(n, left, right, verdict))
        elif isinstance(n, (All, Any_)):
            for part in n.parts:
                walk(part)

    walk(node)
    return out


def unknown_fields(node: Any, get: Getter) -> list[str]:
    """Fields whose absence leaves the condition unknown (empty when it is decided)."""
    if holds(node, get) is not None:
        return []
    missing: list[str] = []
    for check in checks(node, get):
        if check.verdict is None:
            for name in (check.compare.field, check.compare.ref):
                if name and get(name) is None and name not in missing:
                    missing.append(name)
    return missing


def fields(node: Any) -> list[str]:
    """Every field a condition (with all its reading cases) reads."""
    out: list[str] = []
    for c in compares(node):
        for name in (c.field, c.ref):
            if name and name not in out:
                out.append(name)
    return out


def compares(node: Any) -> list[Compare]:
    """Every comparison in a condition, across all reading cases."""
    out: list[Compare] = []

    def walk(n: Any) -> None:
        if isinstance(n, Switch):
            for case in n.cases.values():
                walk(case)
        elif isinstance(n, Compare):
            out.append(n)
        elif isinstance(n, (All, Any_)):
            for part in n.parts:
                walk(part)

    walk(node)
    return out


_OPERATORS = {
    "eq": operator.eq, "ne": operator.ne, "gt": operator.gt, "gte": operator.ge,
    "lt": operator.lt, "lte": operator.le, "in": lambda left, right: left in right,
}

Check3 = Callable[[Mapping[str, Any], Mapping[str, Any]], "bool | None"]


def compile_python(node: Any) -> Check3:
    """A resolved condition as a closure ``check(fact_values, applicant) → True/False/None``.

    Same three-valued semantics as ``holds``, without walking the tree on every call:
    the evaluation pipeline runs it for every relevant fact the rules did not match.
    """
    if node is ALWAYS or isinstance(node, Always):
        return lambda values, applicant: True
    if isinstance(node, Compare):
        fn = _OPERATORS[node.op]
        on_applicant = node.field.startswith("applicant.")
        name = node.field[len("applicant."):] if on_applicant else node.field
        if node.ref:
            ref = node.ref

            def compare_fields(values, applicant):
                left = (applicant if on_applicant else values).get(name)
                right = values.get(ref)
                if left is None or right is None:
                    return None
                return fn(left, right)

            return compare_fields
        literal = node.value

        def compare_literal(values, applicant):
            left = (applicant if on_applicant else values).get(name)
            return None if left is None else fn(left, literal)

        return compare_literal
    if isinstance(node, All):
        parts = tuple(compile_python(p) for p in node.parts)

        def all_of(values, applicant):
            result = True
            for part in parts:
                verdict = part(values, applicant)
                if verdict is False:
                    return False
                if verdict is None:
                    result = None
            return result

        return all_of
    if isinstance(node, Any_):
        parts = tuple(compile_python(p) for p in node.parts)

        def any_of(values, applicant):
            result = False
            for part in parts:
                verdict = part(values, applicant)
                if verdict is True:
                    return True
                if verdict is None:
                    result = None
            return result

        return any_of
    raise TypeError(f"not a resolved condition: {node!r}")
