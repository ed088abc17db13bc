"""A pytest plugin that runs the YAML cases kept next to a knowledge base.

Enable it with ``-p policykb.testing`` (the project's pytest configuration does).
It collects every ``*.yaml`` file in a ``cases/`` folder beside a ``policy.yaml``,
and runs each case through the evaluation pipeline of that KB.  A failure names
the file and the case and shows the decision as a table.

Case file format (docs/engine.md has the full description)::

    defaults:                     # merged into every case (optional)
      year: 2022
      applicant: {id: A1, name: 测试企业, kind: enterprise, ...}
    cases:
      - name: equipment investment exactly 3,000,000 qualifies (以上 includes the number)
        readings: {I-01: no_threshold}        # optional
        applicant: {industrial: false}        # optional, merged over the defaults
        facts:
          - {type: transformation_project, subject: P1, equipment_investment: 3000000}
        expect:
          - {item: m01.equipment, subject: P1, status: eligible, min: "0.00", max: "180000.00"}
        absent: [m01.digital_app]             # items that must have no outcome (optional)
        totals: {max: "180000.00"}            # optional
        totals_by_payer: {taicang: {max: "180000.00"}}  # optional: per payer (a payer left out must be absent)
        error: facts[0].equipment_investment  # instead of expect: the input must be refused
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from policykb.api import load
from policykb.engine.documents import yaml_dates_to_text
from policykb.errors import InputError, PolicyKBError

CASE_KEYS = ("name", "year", "applicant", "facts", "readings", "expect", "absent", "totals", "totals_by_payer", "error", "note")
EXPECT_KEYS = ("item", "subject", "status", "min", "max", "kind", "by", "readings", "missing")


def pytest_collect_file(parent, file_path: Path):
    if file_path.suffix == ".yaml" and file_path.parent.name == "cases" and (file_path.parent.parent / "policy.yaml").is_file():
        return CaseFile.from_parent(parent, path=file_path)
    return None


class CaseFile(pytest.File):
    def collect(self):
        data = yaml.safe_load(self.path.read_text(encoding="utf-8")) or {}
        unknown = set(data) - {"defaults", "cases"}
        if unknown:
            raise CaseError(f"{self.path.name}: unknown top-level keys {sorted(unknown)} (allowed: defaults, cases)")
        defaults = data.get("defaults") or {}
        names = set()
        for index, case in enumerate(data.get("cases") or []):
            name = case.get("name") or f"case {index}"
            if name in names:
                raise CaseError(f"{self.path.name}: two cases are named {name!r}")
            names.add(name)
            yield CaseItem.from_parent(self, name=name, case=case, defaults=defaults, index=index)


class CaseError(PolicyKBError):
    """A YAML case that does not hold (or is not written as a case): a failed test, not a crash."""


def _merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for k, v in override.items():
            out[k] = _merge(base.get(k), v) if k in base else v
        return out
    return copy.deepcopy(override)


def build_application(case: dict, defaults: dict) -> dict:
    # unquoted YAML dates arrive as date objects; an application file gets them as text
    return yaml_dates_to_text(
        {
            "applicant": _merge(defaults.get("applicant", {}), case.get("applicant", {})),
            "year": case.get("year", defaults.get("year")),
            "facts": copy.deepcopy(case.get("facts", [])),
        }
    )


_KBS: dict[str, Any] = {}


def kb_for(folder: Path):
    key = str(folder.resolve())
    if key not in _KBS:
        _KBS[key] = load(path=folder)
    return _KBS[key]


class CaseItem(pytest.Item):
    def __init__(self, *, case: dict, defaults: dict, index: int, **kwargs):
        super().__init__(**kwargs)
        self.case = case
        self.defaults = defaults
        self.index = index
        self.decision = None

    def runtest(self) -> None:
        unknown = set(self.case) - set(CASE_KEYS)
        if unknown:
            raise CaseError(f"unknown keys {sorted(unknown)} in the case (allowed: {', '.join(CASE_KEYS)})")
        kb = kb_for(self.path.parent.parent)
        document = build_application(self.case, self.defaults)
        readings = self.case.get("readings") or {}
        if "error" in self.case:
            self.expect_refusal(kb, document, readings)
            return
        try:
            self.decision = decision = kb.evaluate(document, readings)
        except InputError as exc:
            raise CaseError(f"the input was refused:\n{exc}") from None
        result = decision.to_dict()
        problems = [p for expected in self.case.get("expect") or [] for p in check_outcome(result, expected)]
        problems += absent_problems(result, self.case.get("absent") or [])
        problems += totals_problems(result, self.case.get("totals") or {}, self.case.get("totals_by_payer"))
        if not any(self.case.get(key) for key in ("expect", "absent", "totals", "totals_by_payer")):
            problems.append("the case asserts nothing (give expect, absent or totals)")
        if problems:
            raise CaseError("\n".join(problems))

    def expect_refusal(self, kb: Any, document: Any, readings: dict) -> None:
        """A case with ``error``: the input must be refused with a message that mentions it."""
        wanted = self.case["error"]
        try:
            kb.evaluate(document, readings)
        except InputError as exc:
            if wanted not in str(exc):
                raise CaseError(f"the input was refused, but the message does not mention {wanted!r}:\n{exc}") from None
            return
        raise CaseError(f"expected the input to be refused ({wanted}), but it was evaluated")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, CaseError):
            where = f"{self.path.relative_to(Path.cwd()) if self.path.is_relative_to(Path.cwd()) else self.path}::{self.name}"
            text = f"{where}\n{excinfo.value}"
            if self.decision is not None:
                text += "\n\n" + self.decision.to_text("en")
            return text
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, self.index, f"{self.path.name}::{self.name}"


def absent_problems(result: dict, items: list) -> list[str]:
    problems = []
    for item in items:
        present = [o for o in result["outcomes"] if o["item"] == item]
        if present:
            problems.append(f"{item}: expected no outcome, found {[o['status'] for o in present]}")
    return problems


def totals_problems(result: dict, totals: dict, wanted_payers: dict | None) -> list[str]:
    """The totals, and with ``totals_by_payer`` each payer's (a payer not listed must have none)."""
    problems = [
        f"totals.{bound}: expected {value}, got {result['totals'].get(bound)}"
        for bound, value in totals.items()
        if result["totals"].get(bound) != str(value)
    ]
    if wanted_payers is None:
        return problems
    got = result["totals_by_payer"]
    for payer in sorted(set(got) - set(wanted_payers)):
        problems.append(f"totals_by_payer.{payer}: expected no total, got {got[payer]}")
    for payer, bounds in wanted_payers.items():
        for bound, value in (bounds or {}).items():
            if got.get(payer, {}).get(bound) != str(value):
                problems.append(f"totals_by_payer.{payer}.{bound}: expected {value}, got {got.get(payer, {}).get(bound)}")
    return problems


def check_outcome(result: dict, expected: dict) -> list[str]:
    unknown = set(expected) - set(EXPECT_KEYS)
    if unknown:
        return [f"unknown keys {sorted(unknown)} in an expectation (allowed: {', '.join(EXPECT_KEYS)})"]
    label = f"{expected.get('item')}" + (f"[{expected['subject']}]" if "subject" in expected else "")
    outcome, problem = _the_outcome(result, expected, label)
    if outcome is None:
        return [problem]
    return (
        _status_problems(outcome, expected, label) + _amount_problems(outcome, expected, label) + _list_problems(outcome, expected, label)
    )


def _the_outcome(result: dict, expected: dict, label: str) -> tuple[dict | None, str]:
    """The one outcome an expectation names, or why there is none."""
    found = [o for o in result["outcomes"] if o["item"] == expected.get("item")]
    if "subject" in expected:
        found = [o for o in found if o["subject"] == str(expected["subject"])]
    if not found:
        seen = sorted({(o["item"], o["subject"]) for o in result["outcomes"]})
        return None, f"{label}: no outcome (outcomes: {seen})"
    if len(found) > 1:
        return None, f"{label}: several outcomes ({[o['subject'] for o in found]}); name the subject"
    return found[0], ""


def _status_problems(outcome: dict, expected: dict, label: str) -> list[str]:
    if "status" in expected and outcome["status"] != expected["status"]:
        return [f"{label}.status: expected {expected['status']}, got {outcome['status']}"]
    return []


def _amount_problems(outcome: dict, expected: dict, label: str) -> list[str]:
    problems = []
    for key in ("min", "max", "kind"):
        if key in expected:
            want = None if expected[key] is None else str(expected[key])
            if outcome["amount"][key] != want:
                problems.append(f"{label}.amount.{key}: expected {want}, got {outcome['amount'][key]}")
    return problems


def _list_problems(outcome: dict, expected: dict, label: str) -> list[str]:
    return [
        f"{label}.{key}: expected {sorted(expected[key])}, got {sorted(outcome[key])}"
        for key in ("by", "readings", "missing")
        if key in expected and sorted(outcome[key]) != sorted(expected[key])
    ]
