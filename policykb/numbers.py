"""The one reader of numbers in input: exact, decimal digits only, bounds checked first.

Every number a user gives — a field of an application or an audit record, a CSV
cell, a command-line option — is read here.  The rule is the schema's: numbers are
written in decimal digits (``3000000``, ``2999999.99``, ``-0``); exponents (``5E6``),
hexadecimal, YAML's sexagesimal (``833:20:00``), digit separators (``2_022``),
full-width digits (``２０２２``), ``NaN`` and infinities are refused with the field
named.  Size is checked on the text *before* any conversion, so that ``1e999999`` or a
5,000-digit integer is refused at once instead of costing minutes or memory.

The JSON and YAML readers (engine/documents.py) turn a literal that breaks the rule
into an ``OddNumber``; the input guard refuses it with its path.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

from policykb.errors import PolicyKBError
from policykb.limits import MAX_NUMBER_DIGITS, MAX_SHOWN_CHARS
from policykb.safetext import visible, visible_line

# ASCII digits only: \d would also match full-width and other scripts' digits.
_PLAIN = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_WHOLE = re.compile(r"-?[0-9]+")


class NumberError(PolicyKBError, ValueError):
    """A value that is not the number expected; the message says what was expected.

    A ``ValueError`` too, for callers that treat any unreadable value alike."""

    exit_code = 2
    http_status = 400


class OddNumber(str):
    """A number literal of JSON or YAML that is not written in plain decimal digits, kept as
    its text so that the error can show it (``5E6``, ``0x2DC6C0``, ``1e999999``, ``NaN``)."""

    __slots__ = ()


def shown(value: object) -> str:
    """A value as an error message shows it: at most ``MAX_SHOWN_CHARS`` characters, with
    control characters made visible — never the whole of a 10 MB value."""
    if isinstance(value, OddNumber):
        text = str(value)
    elif isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, str):
        cut = value[:MAX_SHOWN_CHARS]
        text = json.dumps(cut, ensure_ascii=False)
        if len(value) > MAX_SHOWN_CHARS:
            text = text[:-1] + f'…" ({len(value):,} characters)'
    elif isinstance(value, int):
        digits = int(value.bit_length() * 0.30103) + 1
        text = str(value) if digits < MAX_SHOWN_CHARS else f"an integer of about {digits:,} digits"
    elif value is None:
        text = "null"
    elif isinstance(value, (dict, list)):
        text = "an object" if isinstance(value, dict) else "a list"
    else:
        text = str(value)
    if len(text) > MAX_SHOWN_CHARS + 40:
        text = text[:MAX_SHOWN_CHARS] + f"… ({len(text):,} characters)"
    return visible(text)


def shown_key(key: object) -> str:
    """A key or a name as a message quotes it: 'name', cut and neutralised."""
    text = str(key)
    return "'" + visible_line(text[:MAX_SHOWN_CHARS]) + ("…'" if len(text) > MAX_SHOWN_CHARS else "'")


def odd_number_message(text: str) -> str:
    return (
        f"{shown(str(text))} is not a number written in decimal digits; write numbers as plain digits "
        "(5000000 or 2999999.99 — no exponent, separators or hexadecimal), and put text in quotes"
    )


def _too_big(text: str) -> bool:
    return len(text.lstrip("-").split(".")[0]) > MAX_NUMBER_DIGITS or len(text) > 2 * MAX_NUMBER_DIGITS + 2


def read_decimal(value: object, what: str = "a number") -> Decimal:
    """A Decimal from an int, a Decimal, a float whose shortest form is plain decimal, or
    a string of decimal digits; anything else (or anything too large) raises NumberError."""
    if isinstance(value, bool):
        raise NumberError(f"expected {what}, found {shown(value)}")
    if isinstance(value, OddNumber):
        raise NumberError(f"expected {what}: {odd_number_message(value)}")
    if isinstance(value, int):
        return _from_int(value, what)
    if isinstance(value, Decimal):
        return _from_decimal(value, what)
    return _from_text(value, what)


def _from_int(value: int, what: str) -> Decimal:
    if value.bit_length() > MAX_NUMBER_DIGITS * 10 // 3:
        raise NumberError(f"expected {what}, found {shown(value)} (more than {MAX_NUMBER_DIGITS} digits)")
    return Decimal(value)


def _from_decimal(value: Decimal, what: str) -> Decimal:
    # adjusted() and the exponent are read without expanding the number; the exponent of a
    # NaN or an infinity is a letter ('n', 'N', 'F'), of a finite number an int
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int) or value.adjusted() >= MAX_NUMBER_DIGITS or exponent < -MAX_NUMBER_DIGITS:
        raise NumberError(f"expected {what}, found {shown(value)}")
    return value


def _from_text(value: object, what: str) -> Decimal:
    """A float by its shortest repr, or a string of plain decimal digits."""
    if isinstance(value, float):
        text = repr(value)
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise NumberError(f"expected {what}, found {shown(value)}")
    if _too_big(text):
        raise NumberError(f"expected {what}, found {shown(value)} (more than {MAX_NUMBER_DIGITS} digits)")
    if not _PLAIN.fullmatch(text):
        raise NumberError(f"expected {what} written in decimal digits, found {shown(value)}")
    return Decimal(text)


def read_whole(value: object, what: str = "a whole number", low: int | None = None, high: int | None = None) -> int:
    """An int from an int or a string of decimal digits, within [low, high]."""
    if isinstance(value, (bool, OddNumber)):
        raise NumberError(f"expected {what}, found {shown(value)}")
    if isinstance(value, int):
        number = value
        if number.bit_length() > MAX_NUMBER_DIGITS * 10 // 3:
            raise NumberError(f"expected {what}, found {shown(value)}")
    elif isinstance(value, str):
        text = value.strip()
        if _too_big(text) or not _WHOLE.fullmatch(text):
            raise NumberError(f"expected {what} written in decimal digits, found {shown(value)}")
        number = int(text)
    else:
        raise NumberError(f"expected {what}, found {shown(value)}")
    if (low is not None and number < low) or (high is not None and number > high):
        span = (
            f"from {low} to {high}"
            if low is not None and high is not None
            else (f"at least {low}" if low is not None else f"at most {high}")
        )
        raise NumberError(f"expected {what} {span}, found {shown(value)}")
    return number


# --- the JSON reader's hooks -------------------------------------------------------------


def json_int(text: str) -> int | OddNumber:
    return OddNumber(text) if _too_big(text) else int(text)


def json_float(text: str) -> Decimal | OddNumber:
    if "e" in text or "E" in text or _too_big(text):
        return OddNumber(text)
    return Decimal(text)


def json_constant(text: str) -> OddNumber:
    return OddNumber(text)  # NaN, Infinity, -Infinity
