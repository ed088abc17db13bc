"""Audit reports: JSON, text, Markdown and HTML, each stamped with the KB version.

Findings are spooled to a temporary file as they arrive, while the counts by code,
measure and severity are kept; the report is written at the end, counts first.
Whatever the records carry, control characters reach no reader raw: text shows them
as escapes, Markdown and HTML escape their own syntax too, JSON writes \\u escapes
(policykb/safetext.py).
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Iterable
from decimal import Decimal
from typing import IO

from policykb.kb.messages import messages
from policykb.money import fmt_cny
from policykb.safetext import html_text, json_safe, md_cell, visible, visible_line

from .findings import CODES, Finding


class Spool:
    """Findings on disk, and their counts in memory."""

    def __init__(self):
        self.file = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 -- open as long as the report is written, closed by close()
        self.by_code: Counter = Counter()
        self.by_severity: Counter = Counter()
        self.by_measure: Counter = Counter()
        self.count = 0
        self.repeats = 0  # grants beyond the first that a finding with a count stands for

    def add(self, finding: Finding) -> None:
        # ASCII escapes: a lone surrogate in a record round-trips instead of failing to encode
        self.file.write(json.dumps(finding.to_dict()) + "\n")
        self.count += 1
        self.repeats += finding.count - 1
        self.by_code[finding.code] += 1
        self.by_severity[finding.severity] += 1
        self.by_measure[str(finding.measure) if finding.measure is not None else "-"] += 1

    def findings(self) -> Iterable[dict]:
        self.file.seek(0)
        for line in self.file:
            yield json.loads(line)

    def summary(self, records: int, applicants: int) -> dict:
        measures = sorted(self.by_measure, key=lambda m: (m == "-", int(m) if m.isdigit() else 0))
        return {
            "records": records,
            "applicants": applicants,
            "findings": self.count,
            "repeats": self.repeats,
            "by_code": {code: self.by_code.get(code, 0) for code in CODES},
            "by_severity": {"error": self.by_severity.get("error", 0), "warning": self.by_severity.get("warning", 0)},
            "by_measure": {m: self.by_measure[m] for m in measures},
        }

    def close(self) -> None:
        self.file.close()


def _header(kb, readings: dict, lang: str) -> tuple[str, str]:
    m = messages()
    changed = {k: v for k, v in readings.items() if kb.policy.readings[k].default != v}
    shown = ", ".join(f"{k}={v}" for k, v in changed.items()) or ("默认" if lang == "zh" else "defaults")
    return m.say("report_title", lang), m.say("report_stamp", lang, document=kb.policy.document_number, version=kb.version, readings=shown)


def _amount(value) -> str:
    return fmt_cny(Decimal(value)) if value is not None else "—"


def _allowed(finding: dict, lang: str) -> str:
    allowed = finding["allowed"]
    if not allowed:
        return "—"
    return messages().say("span", lang, low=_amount(allowed["min"]), high=_amount(allowed["max"]))


def report_head(kb, readings: dict, summary: dict, source: dict) -> dict:
    """What a JSON report says before its findings (the service streams it after them)."""
    return {
        "policy": kb.policy.id,
        "document_number": kb.policy.document_number,
        "kb_version": kb.version,
        "readings": dict(readings),
        "input": source,
        "summary": summary,
    }


def write_json(out: IO[str], kb, readings: dict, summary: dict, spool: Spool, source: dict) -> None:
    text = json_safe(json.dumps(report_head(kb, readings, summary, source), ensure_ascii=False, indent=2))
    out.write(text[:-2] + ',\n  "findings": [')
    first = True
    for finding in spool.findings():
        out.write(("\n    " if first else ",\n    ") + json_safe(json.dumps(finding, ensure_ascii=False)))
        first = False
    out.write("\n  ]\n}\n" if not first else "]\n}\n")


def _finding_line(f: dict, lang: str) -> str:
    m = messages()
    where = f"#{f['record']}" + (f" {m.say('report_line', lang, line=f['line'])}" if f["line"] else "")
    return (
        f"[{m.severity(f['severity'], lang)}] {m.code(f['code'], lang)} {where} {f['applicant'] or '—'} {f['year'] or '—'} "
        f"{f['item'] or '—'} {f['subject'] or '—'} {_amount(f['granted'])} ({_allowed(f, lang)}) — {f['explanation'][lang]}"
    )


def _counts_line(summary: dict, lang: str) -> str:
    m = messages()
    return ("，" if lang == "zh" else ", ").join(f"{m.code(k, lang)} {v}" for k, v in summary["by_code"].items() if v)


def write_text(out: IO[str], kb, readings: dict, summary: dict, spool: Spool, lang: str) -> None:
    m = messages()
    title, stamp = _header(kb, readings, lang)
    out.write(
        visible(f"{title}\n{stamp}\n")
        + f"{m.say('report_counts', lang, records=summary['records'], applicants=summary['applicants'], findings=summary['findings'])}\n"
    )
    codes = _counts_line(summary, lang)
    if codes:
        out.write(f"{m.say('report_by_code', lang)}{'：' if lang == 'zh' else ': '}{codes}\n")
    out.write("\n")
    if not summary["findings"]:
        out.write(m.say("report_none", lang) + "\n")
    for f in spool.findings():
        out.write(visible_line(_finding_line(f, lang)) + "\n")


def _count_tables(out: IO[str], kb, summary: dict, lang: str, markdown: bool) -> None:
    m = messages()
    measures = {str(measure.number): measure for measure in kb.policy.measures}

    def measure_name(key: str) -> str:
        if key == "-":
            return m.say("report_no_measure", lang)
        label = measures[key].label if key in measures else key
        return m.measure(label, key, lang)

    names = {
        "code": lambda k: m.code(k, lang),
        "measure": measure_name,
        "severity": lambda k: f"{m.severity(k, lang)} {k}" if lang == "zh" else k,
    }
    for key in ("code", "measure", "severity"):
        counts = {names[key](k): v for k, v in summary[f"by_{key}"].items()}
        out.write(_count_table(m.say(f"report_by_{key}", lang), counts, lang, markdown))


def _count_table(title: str, counts: dict, lang: str, md: bool) -> str:
    rows = [(k, v) for k, v in counts.items() if v]
    if md:
        lines = [f"### {title}", "", "| | |", "|---|---:|"] + [f"| {md_cell(k)} | {v} |" for k, v in rows] + [""]
        return "\n".join(lines) + "\n"
    cells = "".join(f"<tr><td>{html_text(k)}</td><td class=n>{v}</td></tr>" for k, v in rows)
    return f"<h3>{html_text(title)}</h3><table>{cells}</table>\n"


COLUMNS = ("record", "line", "severity", "code", "applicant", "year", "item", "subject", "granted", "allowed", "clause", "explanation")


def head(lang: str) -> list[str]:
    """The findings table's column headings in ``lang``."""
    m = messages()
    return [m.say(f"col_{c}", lang) for c in COLUMNS]


def _cells(f: dict, lang: str) -> list:
    """One finding as the cells of a report row, in the order of COLUMNS."""
    m = messages()
    clause = "—"
    if f["clause"]:
        label = m.measure(f["clause"]["label"], f["measure"], lang) if f["clause"]["label"] and f["measure"] else ""
        clause = f"{f['clause']['id']} {label}{'：' if lang == 'zh' else ': '}“{f['clause']['quote']}”".replace("  ", " ")
    return [
        f["record"],
        f["line"] or "",
        m.severity(f["severity"], lang),
        m.code(f["code"], lang),
        f["applicant"] or "",
        f["year"] or "",
        f["item"] or "",
        f["subject"] or "",
        _amount(f["granted"]),
        _allowed(f, lang),
        clause,
        f["explanation"][lang],
    ]


def write_markdown(out: IO[str], kb, readings: dict, summary: dict, spool: Spool, lang: str) -> None:
    m = messages()
    title, stamp = _header(kb, readings, lang)
    counts = m.say("report_counts", lang, records=summary["records"], applicants=summary["applicants"], findings=summary["findings"])
    out.write(f"# {md_cell(title)}\n\n{md_cell(stamp)}\n\n{counts}\n\n")
    _count_tables(out, kb, summary, lang, True)
    out.write(f"## {m.say('report_findings', lang)}\n\n")
    if not summary["findings"]:
        out.write(m.say("report_none", lang) + "\n")
        return
    columns = head(lang)
    out.write("| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n")
    for f in spool.findings():
        out.write("| " + " | ".join(md_cell(c) for c in _cells(f, lang)) + " |\n")
    out.write("\n")  # a table ends at a blank line: text pasted after the report stays out of it


def write_html(out: IO[str], kb, readings: dict, summary: dict, spool: Spool, lang: str) -> None:
    m = messages()
    title, stamp = _header(kb, readings, lang)
    e = html_text
    out.write(
        f'<!DOCTYPE html>\n<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8"><title>{e(title)}</title>'
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .5em;vertical-align:top}"
        ".n{text-align:right}.error{color:#a00}.warning{color:#a60}</style></head><body>\n"
    )
    counts = m.say("report_counts", lang, records=summary["records"], applicants=summary["applicants"], findings=summary["findings"])
    out.write(f"<h1>{e(title)}</h1><p>{e(stamp)}</p><p>{e(counts)}</p>\n")
    _count_tables(out, kb, summary, lang, False)
    out.write(f"<h2>{e(m.say('report_findings', lang))}</h2>\n")
    if not summary["findings"]:
        out.write(f"<p>{e(m.say('report_none', lang))}</p></body></html>\n")
        return
    out.write("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in head(lang)) + "</tr>\n")
    for f in spool.findings():
        out.write(
            f'<tr class="{e(f["severity"])}" data-code="{e(f["code"])}">'
            + "".join(f"<td>{e(str(c))}</td>" for c in _cells(f, lang))
            + "</tr>\n"
        )
    out.write("</table></body></html>\n")
