"""The one neutraliser of control characters for everything a person reads.

Input may carry terminal escapes (ESC, OSC, BEL, CSI), carriage returns, bidirectional
overrides or lone surrogates in a name or a subject.  Text meant for people — plain
text, Markdown, HTML, error messages — shows them as visible escapes (``\\x1b``)
instead of letting a terminal or a browser act on them.  JSON output keeps the data
exact but writes such characters as ``\\u`` escapes, so that it too is safe to print.
"""

from __future__ import annotations

import html
import re

# C0 controls except tab and newline, DEL, C1 controls, line/paragraph separators,
# bidirectional embeddings, overrides and isolates, and lone surrogates.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_UNSAFE_CELL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """Text with every unsafe character shown as an escape; tab and newline are kept."""
    return _UNSAFE.sub(_escape, text)


def visible_line(text: str) -> str:
    """For one cell or one line: newlines and tabs escaped too."""
    return _UNSAFE_CELL.sub(_escape, text)


def json_safe(text: str) -> str:
    """JSON text with the unsafe characters that ``json.dumps(ensure_ascii=False)`` leaves
    raw (C1 controls, separators, bidi controls) written as ``\\u`` escapes: same data."""
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def html_text(value) -> str:
    """HTML-escaped and neutralised."""
    return html.escape(visible_line(str(value)))


_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|])")


def md_cell(value) -> str:
    """One Markdown table cell: neutralised, Markdown and HTML syntax escaped, one line."""
    text = visible_line(str(value))
    text = text.replace("&", "&amp;")
    return _MD_SPECIAL.sub(r"\\\1", text)
