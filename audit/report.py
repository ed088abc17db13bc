"""Audit reports: JSON, text, Markdown and HTML, each stamped with the KB version.

Findings are spooled to a temporary file as they arrive, while the counts by code,
measure and severity are kept; the report is written at the end, counts first.
"""

from __future__ import annotations

import html
import json
import tempfile
from collections import Counter
from decimal import Decimal
from typing import IO, Iterable

from policykb.kb.messages import messages
from policykb.money import fmt_cny

from .findings import CODES, Finding


class Spool:
    """Findings on disk, and their counts in memory."""

    def __init__(self):
        self.file = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
        self.by_code: Counter = Counter()
        self.by_severity: Counter = Counter()
        self.by_measure: Counter = Counter()
        self.count = 0

    def add(self, finding: Finding) -> None:
        self.file.write(json.dumps(finding.to_dict(), ensure_ascii=False) + "\n")
        self.count += 1
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


def _allowed(finding: dict) -> str:
    allowed = finding["allowed"]
    if not allowed:
        return "—"
    return f"{_amount(allowed['min'])}～{_amount(allowed['max'])}"


def report_head(kb, readings: dict, summary: dict, source: dict) -> dict:
    """What a JSON report says before its findings (the service streams it after them)."""
    return {"policy": kb.policy.id, "document_number": kb.policy.document_number, "kb_version": kb.version,
            "readings": dict(readings), "input": source, "summary": summary}


def write_json(out: IO[str], kb, readings: dict, summary: dict, spool: Spool, source: dict) -> None:
    text = json.dumps(report_head(kb, readings, summary, source), ensure_ascii=False, indent=2)
    out.write(text[:-2] + ',\n  "findings": [')
    first = True
    for finding in spool.findings():
        out.write(("\n    " if first else ",\n    ") + json.dumps(finding, ensure_ascii=False))
        first = False
    out.write("\n  ]\n}\n" if not first else "]\n}\n")


def _finding_line(f: dict, lang: str) -> str:
    where = f"#{f['record']}" + (f" L{f['line']}" if f["line"] else "")
    return (f"[{f['severity']}] {f['code']} {where} {f['applicant'] or '—'} {f['year'] or '—'} {f['item'] or '—'} {f['subject'] or '—'} "
            f"{_amount(f['granted'])} ({_allowed(f)}) — {f['explanation'][lang]}")


def write_text(out: IO[str], kb, readings: dict, summary: dict, spool: Spool, lang: str) -> None:
    m = messages()
    title, stamp = _header(kb, readings, lang)
    out.write(f"{title}\n{stamp}\n{m.say('report_counts', lang, records=summary['records'], applicants=summary['applicants'], findings=summary['findings'])}\n")
    codes = ", ".join(f"{k} {v}" for k, v in summary["by_code"].items() if v)
    if codes:
        out.write(f"{m.say('report_by_code', lang)}: {codes}\n")
    out.write("\n")
    if not summary["findings"]:
        out.write(m.say("report_none", lang) + "\n")
    for f in spool.findings():
        out.write(_finding_line(f, lang) + "\n")


def _count_tables(out: IO[str], summary: dict, lang: str, markdown: bool) -> None:
    m = messages()
    for key in ("code", "measure", "severity"):
        out.write(_count_table(m.say(f"report_by_{key}", lang), summary[f"by_{key}"], lang, markdown))


def _count_table(title: str, counts: dict, lang: str, md: bool) -> str:
    rows = [(k, v) for k, v in counts.items() if v]
    if md:
        lines = [f"### {title}", "", "| | |", "|---|---:|"] + [f"| {k} | {v} |" for k, v in rows] + [""]
        return "\n".join(lines) + "\n"
    cells = "".join(f"<tr><td>{html.escape(str(k))}</td><td class=n>{v}</td></tr>" for k, v in rows)
    return f"<h3>{html.escape(title)}</h3><table>{cells}</table>\n"


HEAD = ["#", "line", "severity", "code", "applicant", "year", "item", "subject", "granted", "allowed", "clause", "explanation"]


def _cells(f: dict, lang: str) -> list:
    """One finding as the cells of a report row, in the order of HEAD."""
    clause = f"{f['clause']['id']} {f['clause']['label']}：“{f['clause']['quote']}”" if f["clause"] else "—"
    return [f["record"], f["line"] or "", f["severity"], f["code"], f["applicant"] or "", f["year"] or "", f["item"] or "",
            f["subject"] or "", _amount(f["granted"]), _allowed(f), clause, f["explanation"][lang]]


def _md_cell(value) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def write_markdown(out: IO[str], kb, readings: dict, summary: dict, spool: Spool, lang: str) -> None:
    m = messages()
    title, stamp = _header(kb, readings, lang)
    out.write(f"# {title}\n\n{stamp}\n\n{m.say('report_counts', lang, records=summary['records'], applicants=summary['applicants'], findings=summary['findings'])}\n\n")
    _count_tables(out, summary, lang, True)
    out.write(f"## {m.say('report_findings', lang)}\n\n")
    if not summary["findings"]:
        out.write(m.say("report_none", lang) + "\n")
        return
    out.write("| " + " | ".join(HEAD) + " |\n|" + "---|" * len(HEAD) + "\n")
    for f in spool.findings():
        out.write("| " + " | ".join(_md_cell(c) for c in _cells(f, lang)) + " |\n")


def write_html(out: IO[str], kb, readings: dict, summary: dict, spool: Spool, lang: str) -> None:
    m = messages()
    title, stamp = _header(kb, readings, lang)
    e = html.escape
    out.write(f"<!DOCTYPE html>\n<html lang=\"{'zh-CN' if lang == 'zh' else 'en'}\"><head><meta charset=\"utf-8\"><title>{e(title)}</title>"
              "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .5em;vertical-align:top}"
              ".n{text-align:right}.error{color:#a00}.warning{color:#a60}</style></head><body>\n")
    out.write(f"<h1>{e(title)}</h1><p>{e(stamp)}</p><p>{e(m.say('report_counts', lang, records=summary['records'], applicants=summary['applicants'], findings=summary['findings']))}</p>\n")
    _count_tables(out, summary, lang, False)
    out.write(f"<h2>{e(m.say('report_findings', lang))}</h2>\n")
    if not summary["findings"]:
        out.write(f"<p>{e(m.say('report_none', lang))}</p></body></html>\n")
        return
    out.write("<table><tr>" + "".join(f"<th>{h}</th>" for h in HEAD) + "</tr>\n")
    for f in spool.findings():
        out.write(f"<tr class=\"{e(f['severity'])}\">" + "".join(f"<td>{e(str(c))}</td>" for c in _cells(f, lang)) + "</tr>\n")
    out.write("</table></body></html>\n")
