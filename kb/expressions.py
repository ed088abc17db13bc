"""Arithmetic over fact fields, as data: the derived fields of the vocabulary.

An expression is a number (int or decimal string), a field name, or a one-key
mapping ``{op: [operands]}`` with op in add, sub, mul, min, max.  Evaluation is
exact (Decimal/int) and *unknown-propagating*: if an operand is missing, the
result is missing, so the caller can say which inputs were absent.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

OPERATORS = ("add", "sub", "mul", "min", "max")


def is_literal(expr: Any) -> bool:
    return isinstance(expr, (int, Decimal)) and not isinstance(expr, bool)


def evaluate(expr: Any, get: Callable[[str], Any]):
    """The value of ``expr`` with fields read through ``get`` (None when unknown)."""
    if is_literal(expr):
        return expr
    if isinstance(expr, str):
        return get(expr)
    ((op, operands),) = expr.items()
    values = [evaluate(o, get) for o in operands]
    if any(v is None for v in values):
        return None
    if op == "add":
        return sum(values[1:], values[0])
    if op == "sub":
        result = values[0]
        for v in values[1:]:
            result -= v
        return result
    if op == "mul":
        result = values[0]
        for v in values[1:]:
            result *= v
        return result
    if op == "min":
        return min(values)
    if op == "max":
        return max(values)
    raise ValueError(f"unknown operator {op!r}")  # the loader admits only OPERATORS


def fields_of(expr: Any) -> list[str]:
    """The field names an expression reads, in first-use order."""
    if is_literal(expr):
        return []
    if isinstance(expr, str):
        return [expr]
    ((_, operands),) = expr.items()
    seen: list[str] = []
    for o in operands:
        for name in fields_of(o):
            if name not in seen:
                seen.append(name)
    return seen


def render(expr: Any, label: Callable[[str], str]) -> str:
    """A readable formula: ``max(上一年销售收入, …)``."""
    if is_literal(expr):
        return str(expr)
    if isinstance(expr, str):
        return label(expr)
    ((op, operands),) = expr.items()
    parts = [render(o, label) for o in operands]
    if op in ("min", "max"):
        return f"{op}({', '.join(parts)})"
    symbol = {"add": " + ", "sub": " − ", "mul": " × "}[op]
    return "(" + symbol.join(parts) + ")"
