"""Why a record is invalid, in both languages.

The readers and the application validator word their reasons in English, for every
caller.  In a Chinese report a reason of a known shape is said in Chinese here — the
field paths, values and file names kept as they are — and one of an unknown shape is
shown as it is.  The English is always the reason unchanged.
"""

from __future__ import annotations

import re

from policykb.kb.messages import messages
from policykb.kb.model import Text

# (pattern of the English reason, phrase in kb/messages.yaml); named groups fill the phrase
_SHAPES = [
    (re.compile(r"not valid JSON at column (?P<column>\d+): .*"), "r_not_json_at"),
    (re.compile(r"not valid JSON(: .*)?"), "r_not_json"),
    (re.compile(r"the line is not UTF-8 text"), "r_not_utf8"),
    (re.compile(r"expected an object with 'application' and 'decision'"), "r_not_record"),
    (re.compile(r"(?P<field>application\.applicant\.id): missing, .*"), "r_no_applicant_id"),
    (re.compile(r"(?P<field>decision): expected an object with decision_id, decided_on and granted"), "r_not_decision"),
    (re.compile(r"(?P<field>\S+): expected a list of \{item, subject, amount\}"), "r_not_grants"),
    (re.compile(r"(?P<field>\S+): expected an object \{item, subject, amount\}"), "r_not_grant"),
    (re.compile(r"(?P<field>\S+): missing \(required\)"), "r_missing"),
    (re.compile(r"(?P<field>\S+): unknown field.*"), "r_unknown_field"),
    (re.compile(r"(?P<field>\S+): expected non-empty text"), "r_empty"),
    (re.compile(r"… (?P<count>\d+) more"), "r_more"),
    (re.compile(r"no application for applicant '(?P<applicant>[^']*)' in year (?P<year>\S+) in (?P<file>\S+?)(;.*)?"), "r_no_application"),
]


def _one(reason: str) -> str:
    for pattern, phrase in _SHAPES:
        found = pattern.fullmatch(reason.strip())
        if found:
            values = {k: v for k, v in found.groupdict().items() if v is not None}
            return messages().say(phrase, "zh", **values)
    return reason


def reason_words(reason: str) -> Text:
    """The reason in Chinese where its shape is known, and as given in English."""
    parts = reason.split("; ")
    return Text("；".join(_one(p) for p in parts), reason)
