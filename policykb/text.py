"""Plain-text rendering helpers: display width of CJK text, aligned tables, wrapping, JSON text."""

from __future__ import annotations

import json
import unicodedata

import orjson


def json_text(data) -> str:
    """The JSON every ``--format json`` command prints and the service answers with: indented by
    two, UTF-8 as is, a newline at the end.

    orjson writes these bytes exactly as ``json.dumps(data, ensure_ascii=False, indent=2)``
    does, 25 times faster, for what our outputs hold (text, integers, booleans, null, lists,
    objects with text keys); for anything else — floats (written differently), Decimals,
    integers over 64 bits, lone surrogates — ``json`` writes it.
    """
    if not _has_float(data):
        try:
            return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode("utf-8") + "\n"
        except TypeError:
            pass
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def _has_float(value) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_float(v) for v in value)
    return False


def width(text: str) -> int:
    """Columns a string takes in a terminal (wide and full-width characters count 2)."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def pad(text: str, columns: int, right: bool = False) -> str:
    gap = max(0, columns - width(text))
    return (" " * gap + text) if right else (text + " " * gap)


def truncate(text: str, columns: int) -> str:
    if width(text) <= columns:
        return text
    out, used = "", 0
    for ch in text:
        w = 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
        if used + w > columns - 1:
            break
        out += ch
        used += w
    return out + "…"


def table(headers: list[str], rows: list[list[str]], right: set[int] | None = None, max_width: dict[int, int] | None = None) -> str:
    """An aligned table with a rule under the header; ``right`` holds right-aligned columns."""
    right = right or set()
    max_width = max_width or {}
    cells = [[truncate(c, max_width[i]) if i in max_width else c for i, c in enumerate(row)] for row in rows]
    widths = [width(h) for h in headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], width(cell))
    lines = ["  ".join(pad(h, widths[i], i in right) for i, h in enumerate(headers)).rstrip()]
    lines.append("  ".join("─" * w for w in widths))
    for row in cells:
        lines.append("  ".join(pad(c, widths[i], i in right) for i, c in enumerate(row)).rstrip())
    return "\n".join(lines)
