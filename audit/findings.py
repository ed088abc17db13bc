"""Audit findings: one per problem, citing the clause, reproducible.

A finding names the record and line, the applicant, year, item and subject, a code
and its severity, the amount granted and the bounds the rules allow, the clause
(label and verbatim quote) and an explanation in Chinese and English.  A finding
that would not arise under some alternative reading says which.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from policykb.kb.model import Text
from policykb.money import fmt

# code → severity
CODES = {
    "NOT_ELIGIBLE": "error",
    "OVER_CEILING": "error",
    "UNDER_FLOOR": "warning",
    "EXCLUSIVE_CONFLICT": "error",
    "DUPLICATE_SAME_KIND": "error",
    "OVER_GROUP_CAP": "error",
    "OUT_OF_PERIOD": "error",
    "MISSING_REQUIREMENT": "error",
    "CASE_BY_CASE_CONFLICT": "error",
    "UNKNOWN_ITEM": "error",
    "UNDETERMINED": "warning",
    "INVALID_RECORD": "error",
}


@dataclass
class Finding:
    code: str
    record: int | None  # position of the record in the input, from 0
    line: int | None  # line in the input file (the CSV line of the grant for --awards), from 1
    decision_id: str | None
    applicant: str | None
    year: int | None
    item: str | None
    subject: str | None
    measure: int | None
    granted: Decimal | None
    allowed: tuple[Decimal | None, Decimal | None] | None
    clause: dict | None  # {"id", "label", "quote"}
    explanation: Text
    disappears_under: list[dict] = field(default_factory=list)  # [{"reading", "option"}]
    count: int = 1  # repeats of one grant (same item, subject, year, amount) found the same way

    @property
    def severity(self) -> str:
        return CODES[self.code]

    def key(self) -> tuple:
        return (self.code, self.record, self.item, self.subject)

    def sort_key(self) -> tuple:
        return (self.record if self.record is not None else -1, self.line or 0, self.item or "", self.subject or "", self.code)

    def to_dict(self) -> dict[str, Any]:
        return {
            "record": self.record,
            "line": self.line,
            "decision_id": self.decision_id,
            "applicant": self.applicant,
            "year": self.year,
            "item": self.item,
            "subject": self.subject,
            "measure": self.measure,
            "code": self.code,
            "severity": self.severity,
            "granted": fmt(self.granted),
            "allowed": None if self.allowed is None else {"min": fmt(self.allowed[0]), "max": fmt(self.allowed[1])},
            "clause": self.clause,
            "explanation": self.explanation.to_dict(),
            "disappears_under": list(self.disappears_under),
            "count": self.count,
        }
