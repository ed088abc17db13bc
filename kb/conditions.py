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
what makes an item ``undetermined`` rather than silently ineligible.

The rules engine decides: it sees the same conditions compiled to durable_rules
(engine/compiler.py).  ``evaluate`` below is the one plain-Python evaluation of a
condition; it never decides an outcome.  It serves to *explain* (which comparison
failed, what was found — why-not, qualify, an audit finding's reason) and, in
tests, as the oracle the rules are checked against.  ``holds`` and ``checks`` are
its two views.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True)
class Check:
    """One comparison as evaluated: what was required, what was found, the verdict."""

    compare: Compare
    actual: Any
    expected: Any
    verdict: bool | None


def evaluate(node: Any, get: Getter) -> tuple[bool | None, list[Check]]:
    """The verdict of a resolved condition (True, False, or None for unknown) and every
    comparison in it with its own verdict, in order."""
    checks: list[Check] = []

    def walk(n: Any) -> bool | None:
        if n is ALWAYS or isinstance(n, Always):
            return True
        if isinstance(n, Compare):
            left = get(n.field)
            right = get(n.ref) if n.ref else n.value
            verdict = None if left is None or right is None else compare(n.op, left, right)
            checks.append(Check(n, left, right, verdict))
            return verdict
        if isinstance(n, (All, Any_)):
            decisive = not isinstance(n, All)
            result: bool | None = not decisive
            for part in n.parts:  # every part is walked, so every comparison is reported
                verdict = walk(part)
                if verdict is decisive:
                    result = decisive
                elif verdict is None and result is not decisive:
                    result = None
            return result
        raise TypeError(f"not a resolved condition: {n!r}")

    return walk(node), checks


def holds(node: Any, get: Getter) -> bool | None:
    """True, False, or None (unknown) for a resolved condition."""
    return evaluate(node, get)[0]


def checks(node: Any, get: Getter) -> list[Check]:
    """Every comparison of a resolved condition with its verdict, in order."""
    return evaluate(node, get)[1]


def unknown_fields(node: Any, get: Getter) -> list[str]:
    """Fields whose absence leaves the condition unknown (empty when it is decided)."""
    verdict, found = evaluate(node, get)
    if verdict is not None:
        return []
    missing: list[str] = []
    for check in found:
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
