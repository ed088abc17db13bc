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

# Each line: the phrase in kb/messages.yaml, then the pattern of the English reason it words
# (named groups fill the phrase).  The first pattern that matches the whole reason wins.
_TABLE = r"""
r_not_json_at     not valid JSON at column (?P<column>\d+): .*
r_not_json        not valid JSON(: .*)?
r_not_utf8        the line is not UTF-8 text
r_not_record      expected an object with 'application' and 'decision'
r_no_applicant_id (?P<field>application\.applicant\.id): missing, .*
r_not_decision    (?P<field>decision): expected an object with decision_id, decided_on and granted
r_not_grants      (?P<field>\S+): expected a list of \{item, subject, amount\}
r_not_grant       (?P<field>\S+): expected an object \{item, subject, amount\}
r_missing         (?P<field>\S+): missing \(required\)
r_unknown_field   (?P<field>\S+): unknown field.*
r_empty           (?P<field>\S+): expected non-empty text
r_more            … (?P<count>\d+) more
r_no_application  no application for applicant '(?P<applicant>[^']*)' in year (?P<year>\S+) in (?P<file>\S+?)(;.*)?
"""
_SHAPES = [(re.compile(pattern), phrase) for phrase, pattern in (line.split(maxsplit=1) for line in _TABLE.strip().splitlines())]


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
