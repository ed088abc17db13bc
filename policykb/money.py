"""Exact money: parsing yuan, converting to fen, rounding and formatting.

Money is ``decimal.Decimal`` yuan everywhere in Python and integer fen inside the
rules engine (durable_rules mishandles floats and cannot serialise Decimal).
Rounding happens once, on the final figure, half up to the fen (reading-rules §2).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextlib import AbstractContextManager
from decimal import ROUND_DOWN, ROUND_HALF_UP, Context, Decimal, DivisionByZero, InvalidOperation, Overflow, localcontext
from typing import ParamSpec, TypeVar

from policykb.numbers import NumberError, read_decimal, shown

P = ParamSpec("P")
R = TypeVar("R")

FEN = Decimal("0.01")
# Amounts are below 10^12 yuan (the schema's exact bound), so that fen fit the rules engine's integers.
MONEY_LIMIT = 10**12
ZERO = Decimal("0")
# The arithmetic of amounts, whatever decimal context the caller has set: enough digits for
# any amount below 10^12 yuan times a rate, and errors instead of silent NaN.
EXACT = Context(prec=40, rounding=ROUND_HALF_UP, traps=[InvalidOperation, DivisionByZero, Overflow])


def exact() -> AbstractContextManager[Context]:
    """A context manager running decimal arithmetic in ``EXACT``."""
    return localcontext(EXACT)


def exactly(function: Callable[P, R]) -> Callable[P, R]:
    """Run ``function`` with decimal arithmetic in ``EXACT`` (for methods that add amounts)."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with localcontext(EXACT):
            return function(*args, **kwargs)

    return wrapper


class MoneyError(NumberError):
    """A value that is not an amount of money; the message says what was expected."""


def parse_decimal(value: object, *, what: str = "a number") -> Decimal:
    """A Decimal from an int, a Decimal, or a plain decimal string (policykb/numbers.py).

    Floats are refused unless their shortest repr is a plain decimal: ``2999999.99``
    passes, ``1e-05`` does not (it would also break durable_rules, docs/durable_rules.md trap 9).  Negative zero is zero.
    """
    try:
        amount = read_decimal(value, what)
    except NumberError as exc:
        raise MoneyError(str(exc)) from None
    return amount.copy_abs() if amount.is_zero() else amount


def parse_money(value: object) -> Decimal:
    """Yuan as entered (int, Decimal, plain decimal string): non-negative, at most fen."""
    amount = parse_decimal(value, what="an amount in yuan")
    if amount < 0:
        raise MoneyError(f"expected an amount in yuan of at least 0, found {shown(value)}")
    if amount >= MONEY_LIMIT:
        raise MoneyError(f"expected an amount in yuan below 1,000,000,000,000, found {shown(value)}")
    if amount != amount.quantize(FEN, rounding=ROUND_DOWN, context=EXACT):
        raise MoneyError(f"expected an amount in yuan with at most two decimals (fen), found {shown(value)}")
    return amount


def to_fen(amount: Decimal) -> int:
    """Integer fen for the rules engine; the amount must already be exact to the fen."""
    fen = EXACT.multiply(amount, 100)
    if fen != fen.to_integral_value(context=EXACT):
        raise MoneyError(f"{amount} is not a whole number of fen")
    return int(fen)


def round_fen(amount: Decimal) -> Decimal:
    """The final figure: half up to the fen (never negative zero)."""
    value = amount.quantize(FEN, rounding=ROUND_HALF_UP, context=EXACT)
    return value.copy_abs() if value.is_zero() else value


def fmt(amount: Decimal | None) -> str | None:
    """Two-decimal string for JSON output (``"199999.98"``); None stays None."""
    if amount is None:
        return None
    return str(round_fen(amount))


def fmt_cny(amount: Decimal | None) -> str:
    """``¥1,234,567.89`` for text output; ``—`` for no amount."""
    if amount is None:
        return "—"
    return f"¥{round_fen(amount):,.2f}"


def fmt_plain(amount: Decimal) -> str:
    """Thousands-grouped yuan without trailing zero fen: ``3,000,000`` or ``2,999,999.99``."""
    value = round_fen(amount)
    if value == value.to_integral_value(context=EXACT):
        return f"{int(value):,}"
    return f"{value:,.2f}"
