"""Type-checked access to one KB file's data, collecting located problems.

Every accessor checks one node against what is allowed there and, when it is not,
records a problem naming the file, the line, the dotted path, what was found, what
is allowed and the nearest allowed name — then returns a harmless default so that
one run reports every problem of every file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from policykb.errors import Problem, suggest
from policykb.money import MoneyError, parse_decimal, parse_money

from .model import Switch, Text
from .yamlio import YamlFile


class Reader:
    """Type-checked access to one file's data; problems go to a shared list."""

    def __init__(self, yf: YamlFile, problems: list[Problem]):
        self.yf = yf
        self.problems = problems

    def fail(self, path: tuple, message: str) -> None:
        self.problems.append(Problem(self.yf.where(path), message))

    def mapping(self, value: Any, path: tuple, required: tuple = (), optional: tuple = ()) -> dict | None:
        if not isinstance(value, dict):
            self.fail(path, f"expected a mapping with keys {', '.join(required + optional)}; found {_kind(value)}")
            return None
        allowed = required + optional
        for key in value:
            if key not in allowed:
                self.fail(path + (key,), f"unknown key '{key}'; allowed here: {', '.join(allowed)}{suggest(key, allowed)}")
        for key in required:
            if key not in value:
                self.fail(path, f"missing key '{key}' (required: {', '.join(required)})")
        return value

    def table(self, value: Any, path: tuple, what: str = "a mapping of names") -> dict:
        """A mapping whose keys are names chosen by the author (field names, options …)."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(path, f"expected {what}; found {_kind(value)}")
            return {}
        return value

    def sequence(self, value: Any, path: tuple, what: str = "a list") -> list:
        if not isinstance(value, list):
            self.fail(path, f"expected {what}; found {_kind(value)}")
            return []
        return value

    def string(self, value: Any, path: tuple) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(path, f"expected non-empty text; found {_kind(value)}")
            return ""
        return value

    def text(self, value: Any, path: tuple) -> Text:
        node = self.mapping(value, path, required=("zh", "en"))
        if node is None:
            return Text("", "")
        return Text(self.string(node.get("zh"), path + ("zh",)), self.string(node.get("en"), path + ("en",)))

    def integer(self, value: Any, path: tuple, low: int | None = None, high: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, f"expected a whole number; found {_kind(value)}")
            return 0
        if (low is not None and value < low) or (high is not None and value > high):
            self.fail(path, f"expected a whole number from {low} to {high}; found {value}")
        return value

    def boolean(self, value: Any, path: tuple) -> bool:
        if not isinstance(value, bool):
            self.fail(path, f"expected true or false; found {_kind(value)}")
            return False
        return value

    def date(self, value: Any, path: tuple) -> dt.date:
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        self.fail(path, f"expected a date YYYY-MM-DD; found {_kind(value)}")
        return dt.date(1970, 1, 1)

    def decimal(self, value: Any, path: tuple) -> Decimal:
        return self._exact(value, path, parse_decimal, 'write decimals as quoted strings ("0.06") so they stay exact')

    def money(self, value: Any, path: tuple) -> Decimal:
        return self._exact(value, path, parse_money, "write amounts as integers or quoted decimals so they stay exact")

    def _exact(self, value: Any, path: tuple, parse, float_hint: str) -> Decimal:
        # YAML floats have already lost exactness, so they are refused rather than converted.
        if isinstance(value, float):
            self.fail(path, f"{float_hint}; found {value!r}")
            return Decimal(0)
        try:
            return parse(value)
        except MoneyError as exc:
            self.fail(path, str(exc))
            return Decimal(0)

    def choice(self, value: Any, path: tuple, allowed, what: str) -> str:
        allowed = tuple(allowed)
        if not isinstance(value, str) or value not in allowed:
            self.fail(path, f"unknown {what} {_show(value)}; allowed: {', '.join(allowed)}{suggest(value, allowed)}")
            return ""
        return value

    def switchable(self, value: Any, path: tuple, parse: Callable[[Any, tuple], Any], readings) -> Any:
        """``parse(value)``, or a Switch when the value is ``{reading: I-xx, cases: {...}}``."""
        if isinstance(value, dict) and "reading" in value:
            node = self.mapping(value, path, required=("reading", "cases"))
            if node is None:
                return None
            rid = node.get("reading")
            if readings is None:  # readings.yaml itself is broken: that problem is reported already
                known = node.get("cases")
                cases_known = known if isinstance(known, dict) else {}
                return Switch(str(rid), {str(k): parse(v, path + ("cases", k)) for k, v in cases_known.items()})
            reading = readings.get(rid) if isinstance(rid, str) else None
            if reading is None or not isinstance(rid, str):
                self.fail(path + ("reading",), f"unknown reading {_show(rid)}; defined: {', '.join(readings)}{suggest(rid, readings)}")
                return None
            cases_raw = node.get("cases")
            if not isinstance(cases_raw, dict):
                self.fail(
                    path + ("cases",), f"expected one case per option of {rid} ({', '.join(reading.options)}); found {_kind(cases_raw)}"
                )
                return None
            for option in cases_raw:
                if option not in reading.options:
                    self.fail(
                        path + ("cases", option),
                        f"unknown option '{option}' of {rid}; options: {', '.join(reading.options)}{suggest(option, reading.options)}",
                    )
            for option in reading.options:
                if option not in cases_raw:
                    self.fail(path + ("cases",), f"missing the case for option '{option}' of {rid}")
            cases = {opt: parse(cases_raw[opt], path + ("cases", opt)) for opt in reading.options if opt in cases_raw}
            return Switch(rid, cases)
        return parse(value, path)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _show(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else _kind(value)
