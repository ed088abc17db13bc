"""Reading audit input: JSON Lines, a JSON array, or a CSV of awards with applications.

Awards of one applicant are audited together, wherever they stand in the input.  So
that memory does not grow with the input, the input is read once into an index on
disk (a temporary SQLite file: each record's bytes, its applicant, its line), and
each applicant's records are read back from it when the applicant is audited.  Memory
is therefore flat in the number of lines — in whatever order the file is, sorted by
applicant or not — and bounded by the records of the largest applicant, which are
audited together.  Standard input (``-``) is read the same way.

Nothing is dropped: every non-blank line (every element of an array, every CSV row) is
a record, and a record that cannot be used — not JSON, not UTF-8, a duplicate key, a
line longer than the document limit, nesting too deep, a lone surrogate, an odd
number, no applicant id — becomes an ``INVALID_RECORD`` finding with its line while
the rest is audited.  Lines may end in ``\\n``, ``\\r\\n`` or ``\\r``.  Only an input
that cannot be read at all (missing, a folder or a device, empty, a JSON array larger
than the document limit, a CSV without the expected header) is an input error.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

from policykb.engine.documents import STDIN, display_name, guard_problems, loads_json, regular_file
from policykb.errors import InputError, TooLargeError
from policykb.limits import MAX_DOCUMENT_BYTES
from policykb.numbers import NumberError, read_whole, shown

from .checks import RecordIn

CSV_COLUMNS = ("applicant_id", "year", "item", "subject", "amount", "decision_id")
BOM = b"\xef\xbb\xbf"
_EOL = re.compile(rb"\r\n|\r|\n")
_CHUNK = 1 << 16


# --- lines ------------------------------------------------------------------------------


def physical_lines(handle, limit: int = MAX_DOCUMENT_BYTES) -> Iterator[tuple[int, bytes | None, int]]:
    """(line number, content without its line ending, length) of every line of a binary
    stream; lines end in \\n, \\r\\n or \\r.  A line longer than ``limit`` is skipped without
    being held in memory and yielded as ``None`` content (with its length)."""
    buf = b""
    line_no = 0
    skipping = -1  # the length seen so far of a line too long to keep, or -1
    first = True
    while True:
        chunk = handle.read(_CHUNK)
        eof = not chunk
        if first and chunk:
            first = False
            if chunk.startswith(BOM):
                chunk = chunk[len(BOM) :]
        buf += chunk
        start = 0
        for match in _EOL.finditer(buf):
            if match.group() == b"\r" and match.end() == len(buf) and not eof:
                break  # a \r at the end of a chunk may be the first half of \r\n
            line_no += 1
            content = buf[start : match.start()]
            if skipping >= 0:
                yield line_no, None, skipping + len(content)
                skipping = -1
            elif len(content) > limit:
                yield line_no, None, len(content)
            else:
                yield line_no, content, len(content)
            start = match.end()
        buf = buf[start:]
        if skipping >= 0 or len(buf) > limit:
            skipping = max(skipping, 0) + len(buf) - (1 if buf.endswith(b"\r") else 0)
            buf = b"\r" if buf.endswith(b"\r") else b""
        if eof:
            if skipping >= 0:
                yield line_no + 1, None, skipping
            elif buf:
                yield line_no + 1, buf, len(buf)
            return


def _too_long(length: int) -> str:
    return f"the line is {length:,} bytes long, more than the limit of {MAX_DOCUMENT_BYTES:,} for one record"


# --- one record ---------------------------------------------------------------------------


def applicant_key(record) -> str | None:
    try:
        value = record["application"]["applicant"]["id"]
    except (KeyError, TypeError):
        return None
    return value if isinstance(value, str) and value else None


def check_record(record: Any) -> str | None:
    """Why a parsed record cannot be audited, or None."""
    problems = guard_problems(record, limit=3)
    if problems:
        return "; ".join(str(p) for p in problems)
    if not isinstance(record, dict) or "application" not in record or "decision" not in record:
        return "expected an object with 'application' and 'decision'"
    if applicant_key(record) is None:
        return "application.applicant.id: missing or not text, so the record cannot be grouped with its applicant"
    return None


def parse_line(raw: bytes) -> tuple[Any, str | None]:
    """(record, None) for a usable record, or (what could be read, the reason it cannot be used)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"the line is not UTF-8 text ({exc.reason} at byte {exc.start})"
    try:
        record = loads_json(text)
    except ValueError as exc:
        colno = getattr(exc, "colno", None)  # json.JSONDecodeError's; orjson's error is one too
        return None, (f"not valid JSON at column {colno}: {getattr(exc, 'msg', exc)}" if colno else f"not valid JSON: {exc}")
    return record, check_record(record)


def _invalid(index: int, line: int | None, record: Any, error: str) -> RecordIn:
    record = record if isinstance(record, dict) and not guard_problems(record, limit=1) else {}
    application = record.get("application")
    decision = record.get("decision")
    return RecordIn(index, line, application, decision, error=error)


def _hash(key: str) -> bytes:
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16).digest()


# --- the index on disk -------------------------------------------------------------------


class Source:
    """Applicant groups of an input, read back one at a time from an index on disk, in
    order of first appearance.  ``records`` counts every record read; ``applicants`` the
    distinct applicants.  ``close()`` removes the index (and any copy of standard input)."""

    def __init__(self, name: str):
        self.name = name
        self.folder = tempfile.mkdtemp(prefix="policykb-audit-")
        self.db = sqlite3.connect(os.path.join(self.folder, "index.sqlite"), isolation_level=None, check_same_thread=False)
        for statement in (
            "PRAGMA journal_mode=OFF",
            "PRAGMA synchronous=OFF",
            "PRAGMA cache_size=-4096",
            "PRAGMA temp_store=FILE",
            "CREATE TABLE record (idx INTEGER PRIMARY KEY, akey BLOB, line INTEGER, body BLOB, error TEXT)",
            "CREATE TABLE grp (first INTEGER PRIMARY KEY, akey BLOB UNIQUE)",
        ):
            self.db.execute(statement)
        self.objects: dict[int, Any] = {}  # records already in memory (a JSON array, the library's list)
        self.records = 0
        self.applicants = 0
        self.groups_count = 0

    # -- building
    def execute(self, statement: str, values: tuple = ()):
        if not self.db.in_transaction:
            self.db.execute("BEGIN")  # one transaction for the whole index: fast inserts
        return self.db.execute(statement, values)

    def add_record(self, line: int | None, body: bytes | None, akey: str | None, error: str | None, obj: Any = None) -> None:
        index = self.records
        self.records += 1
        if obj is not None:
            self.objects[index] = obj
        digest = _hash(akey) if akey is not None and error is None else None
        self.execute("INSERT INTO record VALUES (?, ?, ?, ?, ?)", (index, digest, line, body, error))
        self.execute("INSERT OR IGNORE INTO grp VALUES (?, ?)", (index, digest))

    def finish(self) -> Source:
        self.execute("CREATE INDEX record_akey ON record (akey, idx)")
        self.db.execute("COMMIT")
        self.groups_count = self.db.execute("SELECT count(*) FROM grp").fetchone()[0]
        self.applicants = self.db.execute("SELECT count(*) FROM grp WHERE akey IS NOT NULL").fetchone()[0]
        return self

    def __len__(self) -> int:
        return self.groups_count

    # -- reading back
    def groups(self) -> Iterator[list[RecordIn]]:
        """The records of each applicant (or one unusable record), in input order."""
        cursor = self.db.execute("SELECT first, akey FROM grp ORDER BY first")
        while True:
            rows = cursor.fetchmany(256)
            if not rows:
                return
            for first, akey in rows:
                if akey is None:
                    yield [self._record(*self.db.execute("SELECT idx, line, body, error FROM record WHERE idx = ?", (first,)).fetchone())]
                else:
                    found = self.db.execute("SELECT idx, line, body, error FROM record WHERE akey = ? ORDER BY idx", (akey,)).fetchall()
                    yield [self._record(*row) for row in found]

    def _record(self, index: int, line: int | None, body: bytes | None, error: str | None) -> RecordIn:
        record = self.objects.get(index)
        if error is not None:
            if record is None and body is not None:
                record, _ = parse_line(body)  # what could be read, for the finding's applicant and decision
            return _invalid(index, line, record, error)
        if record is None:
            assert body is not None  # a record read without error has its bytes
            record = loads_json(body.decode("utf-8"))
        return RecordIn(index, line, record["application"], record["decision"])

    def close(self) -> None:
        try:
            self.db.close()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _CsvSource(Source):
    """Awards from CSV rows, each decision with the application it was made on."""

    def __init__(self, name: str, applications: str):
        super().__init__(name)
        self.applications = applications
        for statement in (
            "CREATE TABLE app (akey BLOB, year INTEGER, line INTEGER, body BLOB)",
            "CREATE TABLE decision (idx INTEGER PRIMARY KEY, dkey BLOB UNIQUE, applicant TEXT, year TEXT, decision_id TEXT)",
            "CREATE TABLE grant_row (idx INTEGER, line INTEGER, item TEXT, subject TEXT, amount TEXT)",
        ):
            self.db.execute(statement)
        self.unreadable: list[int] = []

    def finish(self) -> Source:
        self.execute("CREATE INDEX app_key ON app (akey, year)")
        self.execute("CREATE INDEX grant_idx ON grant_row (idx, line)")
        return super().finish()

    def _record(self, index: int, line: int | None, body: bytes | None, error: str | None) -> RecordIn:
        if error is not None:
            return _invalid(index, line, None, error)
        applicant, year, decision_id = self.db.execute(
            "SELECT applicant, year, decision_id FROM decision WHERE idx = ?", (index,)
        ).fetchone()
        grants, grant_lines = [], []
        for grant_line, item, subject, amount in self.db.execute(
            "SELECT line, item, subject, amount FROM grant_row WHERE idx = ? ORDER BY line", (index,)
        ):
            grant = {"item": item, "amount": amount}
            if subject:
                grant["subject"] = subject
            grants.append(grant)
            grant_lines.append(grant_line)
        application, problem = None, None
        try:
            year_number = read_whole(year, "a year", 1000, 9999)
        except NumberError as exc:
            year_number, problem = None, f"line {line}: year: {exc}"
        if year_number is not None:
            found = self.db.execute(
                "SELECT line, body FROM app WHERE akey = ? AND year = ? ORDER BY line", (_hash(applicant), year_number)
            ).fetchall()
            apps = self.applications
            if not found:
                extra = f"; {apps} has unreadable lines {', '.join(map(str, self.unreadable[:5]))}" if self.unreadable else ""
                problem = f"no application for applicant {shown(applicant)} in year {year_number} in {apps}{extra}"
            elif len(found) > 1:
                problem = f"{len(found)} applications for applicant {shown(applicant)} in year {year_number} (lines {', '.join(str(f[0]) for f in found[:10])} of {apps})"
            else:
                application = loads_json(found[0][1].decode("utf-8"))
        return RecordIn(index, line, application, {"decision_id": decision_id, "granted": grants}, grant_lines=grant_lines, error=problem)


# --- opening an input -------------------------------------------------------------------


def _open_binary(path: str, folder: str):
    """A binary handle on a regular file; standard input is first copied into ``folder``
    (so that it is read the same way, and a pipe can be read to its end only once)."""
    if path == STDIN:
        copy = os.path.join(folder, "stdin")
        with open(copy, "wb") as out:
            shutil.copyfileobj(sys.stdin.buffer, out, _CHUNK)
        return open(copy, "rb")
    return os.fdopen(regular_file(path, "a file of records"), "rb")


def _first_byte(handle) -> bytes:
    """The first byte that is not white space (or a byte-order mark), without moving."""
    start = handle.tell()
    try:
        head = handle.read(len(BOM))
        if head != BOM:
            handle.seek(start)
        while True:
            chunk = handle.read(_CHUNK)
            if not chunk:
                return b""
            stripped = chunk.lstrip()
            if stripped:
                return stripped[:1]
    finally:
        handle.seek(start)


def _read_jsonl(source: Source, handle) -> None:
    for line_no, raw, length in physical_lines(handle):
        if raw is None:
            source.add_record(line_no, None, None, _too_long(length))
            continue
        if not raw.strip():
            continue
        record, error = parse_line(raw)
        source.add_record(line_no, raw, applicant_key(record) if error is None else None, error)


def _read_array(source: Source, handle, name: str) -> bool:
    """Records of a JSON array; False when the input is not one JSON document (then it is
    read as JSON Lines: a first line ``[1]`` or ``[garbage`` is one bad record, not a refusal)."""
    size = os.fstat(handle.fileno()).st_size
    if size > MAX_DOCUMENT_BYTES:
        first_line = handle.readline(64).strip().lstrip(BOM).strip()
        handle.seek(0)
        if first_line == b"[":
            raise TooLargeError(
                f"{name}: a JSON array is read whole and may be at most {MAX_DOCUMENT_BYTES:,} bytes; "
                "write the records as JSON Lines (one record per line) instead"
            )
        return False
    data = handle.read()
    handle.seek(0)
    try:
        text = data.decode("utf-8-sig")
        records = loads_json(text, duplicates="mark")
    except (UnicodeDecodeError, ValueError, json.JSONDecodeError):
        return False
    if not isinstance(records, list):
        return False
    for record in records:  # read whole, within the document limit: kept in memory
        error = check_record(record)
        source.add_record(None, None, applicant_key(record) if error is None else None, error, obj=record)
    return True


def open_jsonl(path: str) -> Source:
    """JSON Lines or a JSON array, from a file or ``-``."""
    source = Source(display_name(path))
    try:
        with _open_binary(str(path), source.folder) as handle:
            first = _first_byte(handle)
            if not first:
                raise InputError(f"{source.name}: the file is empty (no records)")
            if not (first == b"[" and _read_array(source, handle, source.name)):
                _read_jsonl(source, handle)
        return source.finish()
    except BaseException:
        source.close()
        raise


def records_source(records) -> Source:
    """A source over records already in memory (the library's ``kb.audit``)."""
    source = Source("<records>")
    try:
        for record in records:  # the caller's records, kept by reference
            error = check_record(record)
            source.add_record(None, None, applicant_key(record) if error is None else None, error, obj=record)
        return source.finish()
    except BaseException:
        source.close()
        raise


def _csv_lines(handle, notes: dict) -> Iterator[str]:
    """Decoded physical lines for ``csv.reader``, noting the line number of each; bytes that
    are not UTF-8 survive as surrogate escapes, so that only their row is refused."""
    for line_no, raw, _ in physical_lines(handle):
        notes["line"] = line_no
        if raw is None:
            notes.setdefault("too_long", set()).add(line_no)
            yield "\n"
            continue
        yield raw.decode("utf-8", "surrogateescape") + "\n"


_UNDECODED = re.compile("[\udc80-\udcff]")


def open_csv_awards(applications: str, awards: str) -> Source:
    """Awards as CSV rows (applicant_id, year, item, subject, amount, decision_id) and the
    applications they were decided on, as JSON Lines keyed by applicant id and year."""
    apps_name, awards_name = display_name(applications), display_name(awards)
    if str(applications) == STDIN and str(awards) == STDIN:
        raise InputError("only one of the applications and the awards can be read from standard input (-)")
    source = _CsvSource(awards_name, apps_name)
    try:
        _index_applications(source, str(applications))
        _read_awards(source, str(awards), awards_name)
        return source.finish()
    except BaseException:
        source.close()
        raise


def _index_applications(source: _CsvSource, applications: str) -> None:
    """Each readable application line, keyed by applicant and year; the first few unreadable
    lines are noted for the messages of awards that find no application."""
    with _open_binary(applications, source.folder) as handle:
        for line_no, raw, _ in physical_lines(handle):
            if raw is not None and not raw.strip():
                continue
            doc, error = (None, "too long") if raw is None else _parse_application_line(raw)
            if doc is None or error is not None:
                if len(source.unreadable) < 5:
                    source.unreadable.append(line_no)
                continue
            source.execute("INSERT INTO app VALUES (?, ?, ?, ?)", (_hash(doc["applicant"]["id"]), doc["year"], line_no, raw))


def _read_awards(source: _CsvSource, awards: str, awards_name: str) -> None:
    """The CSV rows: the header first (its columns checked), then one award a row; a row that
    cannot be read is an invalid record, a header that cannot be read refuses the file."""
    csv.field_size_limit(MAX_DOCUMENT_BYTES)
    with _open_binary(awards, source.folder) as handle:
        if not _first_byte(handle):
            raise InputError(f"{awards_name}: the file is empty (no header, no awards)")
        notes: dict = {}
        reader = csv.reader(_csv_lines(handle, notes), strict=True)
        header = None
        while True:
            start_line = notes.get("line", 0) + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                if header is None:
                    raise InputError(f"{awards_name}: the CSV header cannot be read ({exc})") from None
                source.add_record(start_line, None, None, f"line {start_line}: not a CSV row ({exc})")
                continue
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header = _csv_header(row, awards_name)
                continue
            _add_award(source, start_line, row, header, notes)


def _csv_header(row: list[str], awards_name: str) -> list[str]:
    header = [h.strip() for h in row]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise InputError(f"{awards_name}: the CSV header lacks {', '.join(missing)} (expected columns: {', '.join(CSV_COLUMNS)})")
    return header


def _parse_application_line(raw: bytes):
    try:
        doc = loads_json(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None, "unreadable"
    if guard_problems(doc, limit=1) or not isinstance(doc, dict) or not isinstance(doc.get("applicant"), dict):
        return None, "unusable"
    key, year = doc["applicant"].get("id"), doc.get("year")
    if not isinstance(key, str) or type(year) is not int:
        return None, "unusable"
    return doc, None


def _add_award(source: _CsvSource, line: int, row: list[str], header: list[str], notes: dict) -> None:
    too_long = notes.get("too_long")
    if too_long and any(line <= n <= notes["line"] for n in too_long):
        source.add_record(line, None, None, f"line {line}: a line longer than {MAX_DOCUMENT_BYTES:,} bytes")
        return
    if any(_UNDECODED.search(cell) for cell in row):
        source.add_record(line, None, None, f"line {line}: not UTF-8 text")
        return
    if len(row) != len(header):
        source.add_record(line, None, None, f"line {line}: {len(row)} fields, the header has {len(header)}")
        return
    values = {h: cell.strip() for h, cell in zip(header, row, strict=True)}
    problems = guard_problems(values, limit=2)
    if problems or not values["applicant_id"]:
        reason = "; ".join(str(p) for p in problems) or "applicant_id: empty"
        source.add_record(line, None, None, f"line {line}: {reason}")
        return
    dkey = hashlib.blake2b(
        "\x00".join((values["applicant_id"], values["year"], values["decision_id"])).encode("utf-8"), digest_size=16
    ).digest()
    found = source.execute("SELECT idx FROM decision WHERE dkey = ?", (dkey,)).fetchone()
    if found is None:
        index = source.records
        source.execute(
            "INSERT INTO decision VALUES (?, ?, ?, ?, ?)", (index, dkey, values["applicant_id"], values["year"], values["decision_id"])
        )
        source.add_record(line, None, values["applicant_id"], None)
    else:
        index = found[0]
    source.execute("INSERT INTO grant_row VALUES (?, ?, ?, ?, ?)", (index, line, values["item"], values["subject"], values["amount"]))


def open_input(path: str, awards: str | None = None) -> Source:
    """The records of an audit input: JSON Lines or a JSON array in ``path``, or CSV
    ``awards`` with the applications in ``path``; ``-`` is standard input."""
    if awards is not None:
        return open_csv_awards(str(path), str(awards))
    return open_jsonl(str(path))
