"""Decisions for people and spreadsheets: many applications at once, CSV rows, an HTML report.

``policykb evaluate`` reads one application, several files, or JSON Lines (one
application per line).  Each input yields an ``Entry``: its decision, or the error
that kept it from being evaluated (named by file and line).  The writers here turn a
stream of entries into JSON Lines, CSV (one row per outcome), text tables, or one
self-contained HTML page (no script, no external asset; every value escaped).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO

from policykb.engine.decision import Decision, amount_dict
from policykb.engine.documents import loads_json, parse_text, read_document, read_text, regular_file
from policykb.errors import InputError, PolicyKBError
from policykb.kb.messages import messages
from policykb.money import fmt_cny
from policykb.safetext import html_block, visible_line

JSON_LINES = (".jsonl", ".ndjson")
#: one application as read: (source, line in a JSON Lines file, the document or None, the error or None)
Document = tuple[str, int | None, object | None, str | None]


@dataclass
class Entry:
    """One application of the input: where it came from, and its decision or error."""

    source: str
    line: int | None  # the line in a JSON Lines file, from 1
    decision: Decision | None = None
    error: str | None = None

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}" if self.line else self.source


STDIN = "-"


def is_json_lines(path: str | Path) -> bool:
    return str(path) != STDIN and Path(path).suffix.lower() in JSON_LINES


def read_stdin() -> str:
    """Standard input as text, within the one-document size limit of every reader."""
    return read_text(STDIN, "standard input")


def looks_like_json_lines(text: str) -> bool:
    """Several lines, each a JSON object on its own: JSON Lines rather than one document."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return len(lines) > 1 and all(line.startswith("{") and line.endswith("}") for line in lines)


def _json_lines(numbered: Iterable[tuple[int, bytes]], source: str) -> Iterator[Document]:
    for line_no, raw in numbered:
        try:
            yield source, line_no, loads_json(raw.decode("utf-8")), None
        except UnicodeDecodeError:
            yield source, line_no, None, "the line is not UTF-8 text"
        except json.JSONDecodeError as exc:
            yield source, line_no, None, f"not valid JSON at column {exc.colno}: {exc.msg}"
        except ValueError as exc:  # a duplicate key, nesting too deep
            yield source, line_no, None, f"not valid JSON: {exc}"


def documents(paths: Iterable[str], stdin: str | None = None) -> Iterator[Document]:
    """(source, line, document, error) for every application of ``paths``, in order; a
    file or line that cannot be read gives its error instead of a document.  ``-`` is
    standard input (``stdin``, when already read): one document, or JSON Lines."""
    for path in paths:
        if str(path) == STDIN:
            yield from _stdin_documents(stdin if stdin is not None else read_stdin())
        elif is_json_lines(path):
            yield from _json_lines_file(path)
        else:
            yield _file_document(path)


def _stdin_documents(text: str) -> Iterator[Document]:
    if looks_like_json_lines(text):
        numbered = ((n, line.encode("utf-8")) for n, line in enumerate(text.splitlines(), 1) if line.strip())
        yield from _json_lines(numbered, "<stdin>")
        return
    try:
        yield "<stdin>", None, parse_text(text, "<stdin>"), None
    except InputError as exc:
        yield "<stdin>", None, None, str(exc)


def _file_document(path: str) -> Document:
    try:
        return path, None, read_document(path), None
    except InputError as exc:
        return path, None, None, str(exc)


def _json_lines_file(path: str) -> Iterator[Document]:
    from policykb.audit.records import physical_lines  # deferred: sqlite3; the command line imports this module at start

    try:
        handle = open(regular_file(path, "a JSON Lines file"), "rb")  # noqa: SIM115 - only opening is an input error
    except InputError as exc:
        yield path, None, None, str(exc)
        return
    with handle:
        for line_no, raw, length in physical_lines(handle):
            if raw is None:
                yield path, line_no, None, f"the line is {length:,} bytes long, more than the limit for one application"
            elif raw.strip():
                yield from _json_lines([(line_no, raw)], path)


def evaluate_entries(kb, paths: Iterable[str], readings, stdin: str | None = None) -> Iterator[Entry]:
    """Every application of ``paths`` evaluated under ``readings``, in input order."""
    for source, line, document, error in documents(paths, stdin):
        if error is not None:
            yield Entry(source, line, error=error)
            continue
        name = f"{source}:{line}" if line else source
        try:
            yield Entry(source, line, decision=kb.evaluate(document, readings, source=name))
        except PolicyKBError as exc:
            message = str(exc)
            yield Entry(source, line, error=message[len(name) + 2 :] if message.startswith(name + ": ") else message)


# --- CSV ------------------------------------------------------------------------------

CSV_HEADER = (
    "source",
    "line",
    "applicant_id",
    "applicant_name",
    "year",
    "measure",
    "item",
    "title",
    "subject",
    "status",
    "status_label",
    "amount_kind",
    "min",
    "max",
    "by",
    "why",
    "readings",
    "missing",
    "kb_version",
)


def csv_rows(entry: Entry, lang: str) -> list[list]:
    """One row per outcome; amounts are plain decimal strings a spreadsheet sums exactly."""
    d = entry.decision
    assert d is not None  # the writers are given the entries that have a decision
    m = messages()
    app = d.application
    rows = []
    for o in d.outcomes:
        amount = amount_dict(o)
        rows.append(
            [
                entry.source,
                entry.line or "",
                app.applicant["id"],
                app.applicant["name"],
                app.year,
                o.item.measure,
                o.item.id,
                o.item.title(lang),
                o.subject,
                o.status,
                m.status(o.status, lang),
                amount["kind"],
                amount["min"] or "",
                amount["max"] or "",
                " ".join(o.by),
                d.reason(o, lang),
                " ".join(sorted(o.readings)),
                " ".join(o.missing),
                d.kb_version,
            ]
        )
    return [[_csv_cell(cell) for cell in row] for row in rows]


def _csv_cell(value):
    """A cell a spreadsheet shows as text: control characters made visible, and a leading
    = + - @ quoted so that a name or subject is never run as a formula."""
    if not isinstance(value, str):
        return value
    text = visible_line(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def csv_writer(out: IO[str]):
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    return writer


# --- HTML -----------------------------------------------------------------------------

STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;line-height:1.4}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .5em;vertical-align:top;text-align:left}"
    ".n{text-align:right;white-space:nowrap}tr.explain td{border-top:none;background:#fafafa}"
    "details pre{white-space:pre-wrap;margin:.5em 0}.excluded,.ineligible{color:#777}"
)


def html_head(out: IO[str], kb, readings: dict, lang: str) -> None:
    m = messages()
    e = html_block
    title = m.say("html_title", lang)
    policy = kb.policy
    out.write(
        f'<!DOCTYPE html>\n<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
        f"<title>{e(title)} — {e(policy.document_number)}</title><style>{STYLE}</style></head><body>\n"
    )
    out.write(f"<h1>{e(title)}</h1>\n<p>{e(policy.document_number)} {e(policy.title(lang))}</p>\n")
    out.write(f"<p>{e(m.say('html_stamp', lang, version=kb.version))}</p>\n")


def html_decision(out: IO[str], entry: Entry, lang: str) -> None:
    m = messages()
    e = html_block
    d = entry.decision
    assert d is not None  # the writers are given the entries that have a decision
    zh = lang == "zh"
    app = d.application
    out.write(
        f"<section><h2>{e(app.applicant['name'])} <small>{e(app.applicant['id'])} · {e(str(app.year))} · {e(entry.where)}</small></h2>\n"
    )
    headers = (
        ["条款", "项目", "对象", "结果", "下限", "上限", "说明"] if zh else ["Measure", "Item", "Subject", "Status", "Min", "Max", "Why"]
    )
    out.write("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in headers) + "</tr>\n")
    for o in d.outcomes:
        amount = amount_dict(o)
        cells = [o.item.label if zh else str(o.item.measure), f"{o.item.id} {o.item.title(lang)}", o.subject, m.status(o.status, lang)]
        money = [fmt_cny(Decimal(amount[k])) if amount[k] is not None else "—" for k in ("min", "max")]
        out.write(
            f'<tr class="{e(o.status)}">'
            + "".join(f"<td>{e(c)}</td>" for c in cells)
            + "".join(f"<td class=n>{e(c)}</td>" for c in money)
            + f"<td>{e(d.reason(o, lang))}</td></tr>\n"
        )
        explanation = d.explain(o.item.id, o.subject, alternatives=False)
        out.write(
            f"<tr class=explain><td colspan=7><details><summary>{e(m.say('html_explain', lang, item=o.item.id, subject=o.subject))}</summary>"
            f"<pre>{e(explanation.to_text(lang))}</pre></details></td></tr>\n"
        )
    low, high = d.totals()
    out.write(
        f"<tr><td></td><td><b>{'合计' if zh else 'Total'}</b></td><td></td><td></td>"
        f"<td class=n><b>{e(fmt_cny(low))}</b></td><td class=n><b>{e(fmt_cny(high))}</b></td><td></td></tr></table>\n"
    )
    out.write(f"<p>{e(m.say('table_legend', lang))}</p></section>\n")


def html_readings(out: IO[str], kb, readings: dict, lang: str) -> None:
    m = messages()
    e = html_block
    out.write(f"<h2>{e(m.say('html_readings', lang))}</h2>\n<table>")
    for rid, reading in kb.policy.readings.items():
        chosen = readings[rid]
        mark = m.say("readings_default", lang) if chosen == reading.default else m.say("readings_switched", lang)
        out.write(
            f"<tr><td>{e(rid)}</td><td>{e(reading.question(lang))}</td><td>{e(reading.options[chosen](lang))} "
            f"<small>({e(chosen)}, {e(mark)})</small></td></tr>\n"
        )
    out.write("</table>\n")


def html_tail(out: IO[str]) -> None:
    out.write("</body></html>\n")


def json_line(entry: Entry) -> str:
    assert entry.decision is not None  # the writers are given the entries that have a decision
    return json.dumps(entry.decision.to_dict(), ensure_ascii=False, separators=(",", ":")) + "\n"
