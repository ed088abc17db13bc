"""Reading audit input: JSON Lines, a JSON array, or a CSV of awards with applications.

Awards of one applicant are audited together, wherever they stand in the file.  So
that memory stays flat on large files, JSON Lines and CSV input is read twice: a
first pass notes where each applicant's lines are (byte offsets), and each
applicant's lines are read again when it is audited.  A line that cannot be read
becomes an ``INVALID_RECORD`` finding with its line number; the rest goes on.
A JSON array is read whole.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Iterator

from policykb.errors import InputError

from .checks import RecordIn

CSV_COLUMNS = ("applicant_id", "year", "item", "subject", "amount", "decision_id")


def _loads(text: str):
    return json.loads(text, parse_float=Decimal)


def _applicant_key(record) -> str | None:
    try:
        value = record["application"]["applicant"]["id"]
    except (KeyError, TypeError):
        return None
    return value if isinstance(value, str) else None


class Source:
    """Applicant groups of an input, each a list of ``RecordIn`` read on demand."""

    def __init__(self, groups: list[tuple[str, list]], loader, records: int):
        self.groups = groups  # [(applicant key, [locator …])], in order of first appearance
        self.loader = loader  # locator list → [RecordIn]
        self.records = records

    def __len__(self) -> int:
        return len(self.groups)

    def load(self, locators: list) -> list[RecordIn]:
        return self.loader(locators)


def _read_lines(path: Path, locators: list) -> list[RecordIn]:
    out = []
    with path.open("rb") as handle:
        for index, line_no, offset in locators:
            handle.seek(offset)
            raw = handle.readline().decode("utf-8")
            record = _loads(raw)
            out.append(RecordIn(index, line_no, record.get("application"), record.get("decision")))
    return out


def _lines(path: Path, skip_header: bool = False) -> Iterator[tuple[int, int, bytes]]:
    """(line number, byte offset, raw bytes) of every non-blank line."""
    with path.open("rb") as handle:
        line_no = 0
        if skip_header:
            handle.readline()
            line_no = 1
        while True:
            offset = handle.tell()
            raw = handle.readline()
            if not raw:
                return
            line_no += 1
            if raw.strip():
                yield line_no, offset, raw


def _parse_record(raw: bytes):
    """(record, None) for a usable JSON Lines record, or (what could be read, the reason)."""
    try:
        record = _loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None, "the line is not UTF-8 text"
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON at column {exc.colno}: {exc.msg}"
    if not isinstance(record, dict) or "application" not in record or "decision" not in record:
        return record if isinstance(record, dict) else None, "expected an object with 'application' and 'decision'"
    if _applicant_key(record) is None:
        return record, "application.applicant.id: missing, so the record cannot be grouped with its applicant"
    return record, None


def open_jsonl(path: Path) -> Source:
    groups: dict[str, list] = {}
    invalid: list[RecordIn] = []
    index = -1
    for index, (line_no, offset, raw) in enumerate(_lines(path)):
        record, error = _parse_record(raw)
        if error is None:
            groups.setdefault(_applicant_key(record), []).append((index, line_no, offset))
        else:
            record = record or {}
            invalid.append(RecordIn(index, line_no, record.get("application"), record.get("decision"), error=error))
    ordered = sorted(groups.items(), key=lambda kv: kv[1][0][0])
    source = Source(ordered, lambda locs: _read_lines(path, locs), index + 1)
    return _with_invalid(source, invalid)


def _first_index(locators: list) -> int:
    head = locators[0]
    return head[1].index if head[0] == "invalid" else head[0]


def _with_invalid(source: Source, invalid: list[RecordIn]) -> Source:
    """Unreadable records become groups of their own, in input order."""
    if not invalid:
        return source
    loader = source.loader
    groups = source.groups + [(f"#invalid:{r.index}", [("invalid", r)]) for r in invalid]
    groups.sort(key=lambda kv: _first_index(kv[1]))

    def load(locators):
        if locators[0][0] == "invalid":
            return [locators[0][1]]
        return loader(locators)

    return Source(groups, load, source.records)


def open_json_array(path: Path) -> Source:
    try:
        data = _loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path.name}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
                         "give a JSON array of records or JSON Lines") from None
    if not isinstance(data, list):
        raise InputError(f"{path.name}: expected a JSON array of records ({{application, decision}}) or JSON Lines")
    return records_source(data)


def records_source(records) -> Source:
    """A source over records already in memory (the library's ``kb.audit``)."""
    groups: dict[str, list] = {}
    invalid = []
    items = list(records)
    for index, record in enumerate(items):
        if not isinstance(record, dict) or "application" not in record or "decision" not in record:
            invalid.append(RecordIn(index, None, None, None, error="expected an object with 'application' and 'decision'"))
            continue
        key = _applicant_key(record)
        if key is None:
            invalid.append(RecordIn(index, None, record.get("application"), record.get("decision"),
                                    error="application.applicant.id: missing, so the record cannot be grouped with its applicant"))
            continue
        groups.setdefault(key, []).append((index,))
    ordered = sorted(groups.items(), key=lambda kv: kv[1][0][0])

    def load(locators):
        return [RecordIn(i, None, items[i]["application"], items[i]["decision"]) for (i,) in locators]

    return _with_invalid(Source(ordered, load, len(items)), invalid)


def open_csv_awards(applications: Path, awards: Path) -> Source:
    """Awards as CSV rows (applicant_id, year, item, subject, amount, decision_id) and the
    applications they were decided on, as JSON Lines keyed by applicant id and year."""
    app_index: dict[tuple[str, int], int] = {}
    for _, offset, raw in _lines(applications):
        try:
            doc = _loads(raw.decode("utf-8"))
            key = (doc["applicant"]["id"], int(doc["year"]))
        except (ValueError, KeyError, TypeError):
            continue  # an application that cannot be keyed is reported with the awards that need it
        app_index.setdefault(key, offset)
    with awards.open("rb") as handle:
        header = [h.strip() for h in next(csv.reader(io.StringIO(handle.readline().decode("utf-8-sig"))), [])]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise InputError(f"{awards.name}: the CSV header lacks {', '.join(missing)} (expected columns: {', '.join(CSV_COLUMNS)})")
    rows: dict[tuple[str, str, str], list] = {}  # (applicant, year, decision) → [(line, offset)]
    order: list[tuple[str, str, str]] = []
    for line_no, offset, raw in _lines(awards, skip_header=True):
        try:
            values = next(csv.reader(io.StringIO(raw.decode("utf-8"))), [])
        except (UnicodeDecodeError, csv.Error):
            values = []
        row = dict(zip(header, values))
        key = (row.get("applicant_id", ""), row.get("year", ""), row.get("decision_id", ""))
        if key not in rows:
            rows[key] = []
            order.append(key)
        rows[key].append((line_no, offset))

    groups: dict[str, list] = {}
    for index, key in enumerate(order):
        groups.setdefault(key[0], []).append((index, key, rows[key]))

    def load(locators) -> list[RecordIn]:
        out = []
        with awards.open("rb") as handle, applications.open("rb") as apps:
            for index, (applicant_id, year, decision_id), lines in locators:
                grants, grant_lines, error = [], [], None
                for line_no, offset in lines:
                    handle.seek(offset)
                    values = next(csv.reader(io.StringIO(handle.readline().decode("utf-8"))), [])
                    row = dict(zip(header, values))
                    grant = {"item": row.get("item", "").strip(), "amount": row.get("amount", "").strip()}
                    if row.get("subject", "").strip():
                        grant["subject"] = row["subject"].strip()
                    grants.append(grant)
                    grant_lines.append(line_no)
                try:
                    app_offset = app_index.get((applicant_id, int(year)))
                except ValueError:
                    app_offset, error = None, f"line {lines[0][0]}: year '{year}' is not a year"
                application = None
                if app_offset is None and error is None:
                    error = f"no application for applicant '{applicant_id}' in year {year} in {applications.name}"
                elif app_offset is not None:
                    apps.seek(app_offset)
                    application = _loads(apps.readline().decode("utf-8"))
                decision = {"decision_id": decision_id, "granted": grants}
                out.append(RecordIn(index, lines[0][0], application, decision, grant_lines=grant_lines, error=error))
        return out

    ordered = sorted(groups.items(), key=lambda kv: kv[1][0][0])
    return Source(ordered, load, len(order))


def open_input(path: str | Path, awards: str | Path | None = None) -> Source:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"no such file: {p}")
    if awards is not None:
        a = Path(awards)
        if not a.is_file():
            raise InputError(f"no such file: {a}")
        return open_csv_awards(p, a)
    with p.open("rb") as handle:
        head = handle.read(4096).lstrip()
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:].lstrip()
    if not head:
        raise InputError(f"{p.name}: the file is empty")
    if head.startswith(b"["):
        return open_json_array(p)
    if head.startswith(b"{"):
        return open_jsonl(p)
    raise InputError(f"{p.name}: expected JSON Lines (one record per line) or a JSON array of records")


def iterate(source: Source) -> Iterator[tuple[str, list[RecordIn]]]:
    for key, locators in source.groups:
        yield key, source.load(locators)
