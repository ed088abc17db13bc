"""Reading audit input: JSON Lines, a JSON array, or a CSV of awards with applications.

Awards of one applicant are audited together, wherever they stand in the file.  So
that memory stays flat on large files, JSON Lines and CSV input is read twice: a
first pass notes where each applicant's records are (byte offsets), and each
applicant's records are read again when it is audited.  A record that cannot be
read becomes an ``INVALID_RECORD`` finding with its line; the rest goes on.  A JSON
array is read whole.  Input is UTF-8; a byte-order mark is ignored.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from policykb.engine.documents import loads_json
from policykb.errors import InputError

from .checks import RecordIn

CSV_COLUMNS = ("applicant_id", "year", "item", "subject", "amount", "decision_id")
BOM = b"\xef\xbb\xbf"


@dataclass
class Group:
    """The records of one applicant (or one unreadable record), by where they are."""

    key: str
    locators: list
    invalid: RecordIn | None = None

    @property
    def first(self) -> int:
        return self.invalid.index if self.invalid is not None else self.locators[0][0]


@dataclass
class Source:
    """Applicant groups of an input, each read on demand, in order of first appearance."""

    groups: list[Group]
    loader: Callable[[list], list[RecordIn]]
    records: int
    applicants: int = field(init=False)

    def __post_init__(self):
        self.groups.sort(key=lambda g: g.first)
        self.applicants = sum(1 for g in self.groups if g.invalid is None)

    def __len__(self) -> int:
        return len(self.groups)

    def load(self, group: Group) -> list[RecordIn]:
        return [group.invalid] if group.invalid is not None else self.loader(group.locators)


def _applicant_key(record) -> str | None:
    try:
        value = record["application"]["applicant"]["id"]
    except (KeyError, TypeError):
        return None
    return value if isinstance(value, str) else None


def _parse_record(raw: bytes):
    """(record, None) for a usable record, or (what could be read, the reason it cannot be used)."""
    try:
        record = loads_json(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None, "the line is not UTF-8 text"
    except ValueError as exc:
        colno = getattr(exc, "colno", None)
        return None, (f"not valid JSON at column {colno}: {exc.msg}" if colno else f"not valid JSON: {exc}")
    if not isinstance(record, dict) or "application" not in record or "decision" not in record:
        return record if isinstance(record, dict) else None, "expected an object with 'application' and 'decision'"
    if _applicant_key(record) is None:
        return record, "application.applicant.id: missing, so the record cannot be grouped with its applicant"
    return record, None


def _lines(path: Path) -> Iterator[tuple[int, int, bytes]]:
    """(line number, byte offset, raw bytes) of every non-blank line."""
    with path.open("rb") as handle:
        line_no = 0
        while True:
            offset = handle.tell()
            raw = handle.readline()
            if not raw:
                return
            line_no += 1
            if line_no == 1 and raw.startswith(BOM):
                raw, offset = raw[len(BOM):], offset + len(BOM)
            if raw.strip():
                yield line_no, offset, raw


def _invalid(index: int, line: int | None, record, error: str) -> Group:
    record = record if isinstance(record, dict) else {}
    return Group(f"invalid:{index}", [], RecordIn(index, line, record.get("application"), record.get("decision"), error=error))


def open_jsonl(path: Path) -> Source:
    by_applicant: dict[str, Group] = {}
    invalid: list[Group] = []
    index = -1
    for index, (line_no, offset, raw) in enumerate(_lines(path)):
        record, error = _parse_record(raw)
        if error is None:
            key = _applicant_key(record)
            by_applicant.setdefault(key, Group(key, [])).locators.append((index, line_no, offset))
        else:
            invalid.append(_invalid(index, line_no, record, error))

    def load(locators) -> list[RecordIn]:
        out = []
        with path.open("rb") as handle:
            for index, line_no, offset in locators:
                handle.seek(offset)
                record, _ = _parse_record(handle.readline())
                out.append(RecordIn(index, line_no, record["application"], record["decision"]))
        return out

    return Source(list(by_applicant.values()) + invalid, load, index + 1)


def records_source(records) -> Source:
    """A source over records already in memory (the library's ``kb.audit``)."""
    items = list(records)
    by_applicant: dict[str, Group] = {}
    invalid: list[Group] = []
    for index, record in enumerate(items):
        if not isinstance(record, dict) or "application" not in record or "decision" not in record:
            invalid.append(_invalid(index, None, None, "expected an object with 'application' and 'decision'"))
        elif _applicant_key(record) is None:
            invalid.append(_invalid(index, None, record, "application.applicant.id: missing, so the record cannot be grouped with its applicant"))
        else:
            key = _applicant_key(record)
            by_applicant.setdefault(key, Group(key, [])).locators.append((index,))

    def load(locators) -> list[RecordIn]:
        return [RecordIn(i, None, items[i]["application"], items[i]["decision"]) for (i,) in locators]

    return Source(list(by_applicant.values()) + invalid, load, len(items))


def open_json_array(path: Path) -> Source:
    try:
        data = loads_json(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise InputError(f"{path.name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except ValueError as exc:
        where = f" (line {exc.lineno}, column {exc.colno}: {exc.msg})" if hasattr(exc, "lineno") else f" ({exc})"
        raise InputError(f"{path.name}: not valid JSON{where}; give a JSON array of records or JSON Lines") from None
    if not isinstance(data, list):
        raise InputError(f"{path.name}: expected a JSON array of records ({{application, decision}}) or JSON Lines")
    return records_source(data)


class _OffsetLines:
    """Lines of a text file for ``csv.reader``, remembering where the next line starts."""

    def __init__(self, handle):
        self.handle = handle
        self.next_offset = handle.tell()

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = self.handle.readline()
        if not line:
            raise StopIteration
        self.next_offset = self.handle.tell()
        return line


def _csv_rows(path: Path) -> Iterator[tuple[int, int, list[str]]]:
    """(first line, offset, fields) of every CSV row — quoted newlines kept inside their row."""
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        lines = _OffsetLines(handle)
        reader = csv.reader(lines)
        while True:
            start, first_line = lines.next_offset, reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            if any(cell.strip() for cell in row):
                yield first_line, start, row


def _csv_row_at(path: Path, offset: int) -> list[str]:
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        handle.seek(offset)
        return next(csv.reader(_OffsetLines(handle)))


def open_csv_awards(applications: Path, awards: Path) -> Source:
    """Awards as CSV rows (applicant_id, year, item, subject, amount, decision_id) and the
    applications they were decided on, as JSON Lines keyed by applicant id and year."""
    app_index: dict[tuple[str, int], list[tuple[int, int]]] = {}
    unreadable: list[int] = []
    for line_no, offset, raw in _lines(applications):
        try:
            doc = loads_json(raw.decode("utf-8"))
            key = (doc["applicant"]["id"], int(doc["year"]))
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            unreadable.append(line_no)
            continue
        app_index.setdefault(key, []).append((line_no, offset))
    try:
        rows = _csv_rows(awards)
        header_row = next(rows, None)
        header = [h.strip() for h in (header_row[2] if header_row else [])]
        missing = [c for c in CSV_COLUMNS if c not in header]
        if missing:
            raise InputError(f"{awards.name}: the CSV header lacks {', '.join(missing)} (expected columns: {', '.join(CSV_COLUMNS)})")
        decisions: dict[tuple[str, str, str], tuple[int, list[tuple[int, int]]]] = {}
        invalid: list[Group] = []
        index = 0  # records are numbered in order of first appearance: a decision, or a bad row
        for line_no, offset, row in rows:
            if len(row) != len(header):
                invalid.append(_invalid(index, line_no, None, f"line {line_no}: {len(row)} fields, the header has {len(header)}"))
                index += 1
                continue
            values = dict(zip(header, row))
            key = (values["applicant_id"].strip(), values["year"].strip(), values["decision_id"].strip())
            if key not in decisions:
                decisions[key] = (index, [])
                index += 1
            decisions[key][1].append((line_no, offset))
    except UnicodeDecodeError as exc:
        raise InputError(f"{awards.name}: not UTF-8 text ({exc.reason})") from None
    except csv.Error as exc:
        raise InputError(f"{awards.name}: not a CSV file ({exc})") from None

    by_applicant: dict[str, Group] = {}
    for key, (n, lines) in decisions.items():
        by_applicant.setdefault(key[0], Group(key[0], [])).locators.append((n, key, lines))

    def load(locators) -> list[RecordIn]:
        out = []
        for index, (applicant_id, year, decision_id), lines in locators:
            grants, grant_lines = [], []
            for line_no, offset in lines:
                values = dict(zip(header, _csv_row_at(awards, offset)))
                grant = {"item": values["item"].strip(), "amount": values["amount"].strip()}
                if values["subject"].strip():
                    grant["subject"] = values["subject"].strip()
                grants.append(grant)
                grant_lines.append(line_no)
            application, error = None, None
            try:
                found = app_index.get((applicant_id, int(year)), [])
            except ValueError:
                found, error = [], f"line {lines[0][0]}: year '{year}' is not a year"
            if error is None and not found:
                extra = f"; {applications.name} has unreadable lines {', '.join(map(str, unreadable[:5]))}" if unreadable else ""
                error = f"no application for applicant '{applicant_id}' in year {year} in {applications.name}{extra}"
            elif len(found) > 1:
                error = f"{len(found)} applications for applicant '{applicant_id}' in year {year} (lines {', '.join(str(f[0]) for f in found)} of {applications.name})"
            elif found:
                with applications.open("rb") as handle:
                    handle.seek(found[0][1])
                    application = loads_json(handle.readline().decode("utf-8-sig"))
            out.append(RecordIn(index, lines[0][0], application, {"decision_id": decision_id, "granted": grants},
                                grant_lines=grant_lines, error=error))
        return out

    return Source(list(by_applicant.values()) + invalid, load, index)


def open_input(path: str | Path, awards: str | Path | None = None) -> Source:
    for given in [p for p in (path, awards) if p is not None]:
        p = Path(given)
        if p.is_dir():
            raise InputError(f"{p} is a folder, not a file")
        if not p.is_file():
            raise InputError(f"no such file: {p}")
    p = Path(path)
    if awards is not None:
        return open_csv_awards(p, Path(awards))
    with p.open("rb") as handle:
        head = handle.read(4096)
    head = head[len(BOM):] if head.startswith(BOM) else head
    head = head.lstrip()
    if not head:
        raise InputError(f"{p.name}: the file is empty")
    if head.startswith(b"["):
        return open_json_array(p)
    if head.startswith(b"{"):
        return open_jsonl(p)
    raise InputError(f"{p.name}: expected JSON Lines (one record per line) or a JSON array of records")
