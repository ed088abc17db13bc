"""The hostile-input suite (issue 10): a generated corpus through the command line, a
sample of it in subprocesses under a memory limit, and Hypothesis documents built from
the schema.

Every input must end with an exit code from the documented set (0, 1, 2 — never 70),
no traceback, no raw control character on standard output or error, an error message
of bounded size, and — for the audit — every record counted and every bad one reported.
"""

from __future__ import annotations

import csv
import json
import os
import re
import resource
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from hostile import BAD_LINES, RECORDS, audit_inputs, evaluate_inputs, example

UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e]")
EVALUATE = list(evaluate_inputs())
AUDIT = list(audit_inputs())
MEMORY_LIMIT = 1536 * 1024 * 1024  # address space of one subprocess
ROOT = Path(__file__).resolve().parent.parent


def test_the_corpus_is_large_and_spans_the_classes():
    names = [name for name, *_ in EVALUATE + AUDIT]
    assert len(names) == len(set(names)) and len(names) >= 300
    classes = {re.split(r"[-.]", name)[0] for name in names}
    assert {"number", "text", "shape", "date", "deep", "alias", "yaml", "truncated", "bigkey", "one", "array", "example", "long"} <= classes


def _clean(run) -> None:
    assert "Traceback" not in run.err and "internal error" not in run.err, run.err[-2000:]
    assert not UNSAFE.search(run.out) and not UNSAFE.search(run.err), "a control character reached the terminal"
    assert len(run.err) < 5_000, "an error message echoed too much of the input"


@pytest.mark.parametrize("name, kind, content", EVALUATE, ids=[e[0] for e in EVALUATE])
def test_evaluate_hostile_input(cli, tmp_path, name, kind, content):
    path = tmp_path / name
    path.write_bytes(content)
    run = cli("evaluate", path)
    assert run.code in (0, 2), (run.code, run.err[-2000:])
    _clean(run)
    if run.code == 2:
        assert run.err.startswith("policykb: error: ") and run.out == ""


_baseline: dict = {}


def _findings_without_invalid(report: dict) -> list:
    return sorted((f["code"], f["applicant"], f["item"], f["subject"]) for f in report["findings"] if f["code"] != "INVALID_RECORD")


@pytest.mark.parametrize("name, kind, content, records, bad, clean", AUDIT, ids=[a[0] for a in AUDIT])
def test_audit_hostile_input_drops_nothing(cli, tmp_path, name, kind, content, records, bad, clean):
    path = tmp_path / name
    path.write_bytes(content)
    run = cli("audit", path, "--format", "json", "--no-progress")
    assert run.code in (0, 1), (run.code, run.err[-2000:])
    _clean(run)
    report = run.json()
    assert report["summary"]["records"] == records
    if clean not in _baseline:  # the clean records alone
        (tmp_path / "clean.jsonl").write_bytes(clean)
        alone = cli("audit", tmp_path / "clean.jsonl", "--format", "json").json()
        _baseline[clean] = (_findings_without_invalid(alone), alone["summary"]["by_code"]["INVALID_RECORD"])
    others, invalid = _baseline[clean]
    # every bad record reported, and the good ones audited exactly as without it
    assert report["summary"]["by_code"]["INVALID_RECORD"] == invalid + bad
    assert _findings_without_invalid(report) == others


@pytest.mark.parametrize("fmt", ["text", "md", "html", "json"])
def test_no_format_lets_markup_or_escapes_through(cli, tmp_path, fmt):
    lines = RECORDS.read_text(encoding="utf-8").splitlines()[:3]
    record = json.loads(lines[0])
    record["application"]["applicant"]["id"] = "<script>alert(1)</script>|**x**"
    record["decision"]["granted"][0]["item"] = "m99.unknown"  # a finding that names the applicant
    bad = '{"application": {"applicant": {"id": "E\\u001b]0;pwn\\u0007\\u009b\\u202e"}}, "decision": {"note": "<img src=x>"}}'
    path = tmp_path / "x.jsonl"
    path.write_text("\n".join([json.dumps(record, ensure_ascii=False), bad] + lines[1:]) + "\n", encoding="utf-8")
    run = cli("audit", path, "--format", fmt)
    assert run.code == 1
    _clean(run)
    if fmt in ("md", "html"):
        assert "<script>" not in run.out and "<img" not in run.out
    if fmt == "md":
        assert "\\|\\*\\*x\\*\\*" in run.out
    if fmt == "json":
        assert {f["applicant"] for f in run.json()["findings"]} >= {"<script>alert(1)</script>|**x**"}


def test_text_output_neutralises_what_the_input_may_carry(cli, tmp_path):
    # text fields may not carry control characters at all; bidirectional overrides pass the
    # guard but are shown escaped
    doc = example()
    doc["applicant"]["name"] = "太仓\u202e云启"
    path = tmp_path / "bidi.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    run = cli("evaluate", path)
    assert run.code == 0 and "太仓\\u202e云启" in run.out
    _clean(run)
    assert "\\u202e" in cli("evaluate", path, "--format", "json").out


# --- the library: the same promises -----------------------------------------------------


@pytest.mark.parametrize("name, kind, content", [e for e in EVALUATE if e[0].endswith(".json")][::7])
def test_library_raises_only_input_errors(kb, name, kind, content):
    from policykb.engine.documents import parse_text
    from policykb.errors import InputError

    try:
        document = parse_text(content.decode("utf-8", "surrogatepass"), name)
        kb.evaluate(document)
    except InputError:
        pass
    except UnicodeDecodeError:
        pass  # not text at all: the file reader refuses it before parsing (tested above)


def test_evaluate_many_is_never_aborted_by_one_application(kb):
    from policykb.engine.documents import parse_text

    bad = [
        parse_text(c.decode("utf-8", "surrogatepass"), n)
        for n, _, c in EVALUATE
        if n
        in (
            "deep-field-100.json",
            "deep-field-495.json",
            "text-applicant.name-0.json",
            "text-facts.0.type-1.json",
            "shape-facts.0-2.json",
            "number-year-0.json",
            "shape-facts.0.type-1.json",
            "date-facts.0.date-0.json",
        )
    ]
    results = kb.evaluate_many([example()] + bad + [example()])
    assert len(results) == len(bad) + 2
    assert "error" not in results[0] and "error" not in results[-1]
    assert all(r["error"]["kind"] == "InputError" for r in results[1:-1])


def test_library_audit_turns_every_bad_record_into_an_invalid_record(kb):
    from policykb.engine.documents import loads_json

    good = [json.loads(line) for line in RECORDS.read_text(encoding="utf-8").splitlines()[:5]]
    bad = []
    for line in BAD_LINES:
        try:
            bad.append(loads_json(line, duplicates="mark"))
        except ValueError:
            bad.append(line)
    findings = [f.to_dict() for f in kb.audit(good + bad)]
    invalid = {f["record"] for f in findings if f["code"] == "INVALID_RECORD"}
    assert invalid == set(range(len(good), len(good) + len(bad)))


# --- numbers: one reader, decimal digits only -------------------------------------------


@pytest.mark.parametrize(
    "value, ok",
    [
        ("3000000", True),
        ("2999999.99", True),
        (3000000, True),
        (Decimal("0.01"), True),
        ("-0", True),
        ("5E6", False),
        ("0x2DC6C0", False),
        ("2_022", False),
        ("２０２２", False),
        ("1e999999", False),
        ("1" * 5001, False),
        (Decimal("1E+400"), False),
        (Decimal("Infinity"), False),
        (10**40, False),
        (float("inf"), False),
        (True, False),
        ("", False),
    ],
)
def test_one_number_reader(value, ok):
    from policykb.numbers import NumberError, read_decimal

    if ok:
        assert read_decimal(value) == Decimal(str(value))
    else:
        with pytest.raises(NumberError) as exc:
            read_decimal(value)
        assert len(str(exc.value)) < 300


def test_negative_zero_money_is_zero(kb, cli, tmp_path):
    from policykb.money import fmt, fmt_cny, parse_money

    assert fmt(parse_money("-0.00")) == "0.00" and fmt_cny(Decimal("-0.0")) == "¥0.00"
    doc = example()
    path = tmp_path / "z.json"
    path.write_text(json.dumps(doc).replace('"amount": 100000', '"amount": -0.0'), encoding="utf-8")
    for fmt_ in ("json", "text"):
        out = cli("evaluate", path, "--format", fmt_).out
        assert "-0.00" not in out


@pytest.mark.parametrize(
    "text, words",
    [
        ("year: 2022.0", "year: expected"),
        ("sales_revenue: 833:20:00", "not a number written in decimal digits"),
        ("sales_revenue: 0x2DC6C0", "not a number written in decimal digits"),
        ("sales_revenue: 5e6", "not a number written in decimal digits"),
        ("year: 2_022", "not a number written in decimal digits"),
        ("id: 913205850000000001", 'write it in quotes ("913205850000000001")'),
    ],
)
def test_yaml_numbers_are_decimal_digits_only_like_json(cli, tmp_path, text, words):
    import yaml

    key = text.split(":")[0]
    source = yaml.safe_dump(example(), allow_unicode=True, sort_keys=False)
    line = next(line for line in source.splitlines() if line.strip().startswith(key + ":"))
    path = tmp_path / "x.yaml"
    path.write_text(source.replace(line, line.split(":")[0] + ": " + text.split(": ", 1)[1], 1), encoding="utf-8")
    run = cli("evaluate", path)
    assert run.code == 2 and words in run.err, run.err
    json_path = tmp_path / "x.json"
    json_path.write_text(json.dumps(example()).replace("32000000", "3.2E7"), encoding="utf-8")
    assert "not a number written in decimal digits" in cli("evaluate", json_path).err


def test_jsonl_given_to_evaluate_points_to_audit(cli, tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps(example()) + "\n" + json.dumps(example()) + "\n", encoding="utf-8")
    run = cli("evaluate", path)
    assert run.code == 2 and "looks like JSON Lines" in run.err and "policykb audit" in run.err


# --- options and paths -------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "-1", "100000", "1e3", "１", "2_0", "", "x"])
def test_absurd_workers_are_refused(cli, value):
    run = cli("audit", RECORDS, "--workers", value)
    assert run.code == 2 and "--workers" in run.err and "Traceback" not in run.err


def test_workers_are_capped_at_the_cpus(cli):
    from policykb.cli import build_parser
    from policykb.limits import cpu_count

    args = build_parser().parse_args(["audit", str(RECORDS), "--workers", "1000"])
    assert args.workers == cpu_count()


@pytest.mark.parametrize("name", ["../../x", "/etc", "taicang-2021-3/../taicang-2021-3", "~"])
def test_shipped_policies_are_named_not_pathed(cli, name):
    run = cli("kb", "check", "--policy", name)
    assert run.code == 2 and "no policy" in run.err


def test_every_kb_file_lies_inside_its_folder_and_is_hashed(tmp_path):
    import shutil

    import policykb
    from policykb.errors import KBError

    src = ROOT / "kb" / "taicang-2021-3"
    folder = tmp_path / "kb"
    shutil.copytree(src, folder)
    (folder / "texts").mkdir()
    meta = (folder / "policy.yaml").read_text(encoding="utf-8")
    text_name = re.search(r"^text: *(\S+)", meta, re.M).group(1)
    shutil.move(folder / text_name, folder / "texts" / text_name)
    (folder / "policy.yaml").write_text(meta.replace(f"text: {text_name}", f"text: texts/{text_name}"), encoding="utf-8")
    version = policykb.load(path=folder).version
    (folder / "texts" / text_name).write_text((folder / "texts" / text_name).read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert policykb.load(path=folder).version != version  # the text is part of the version
    outside = tmp_path / "outside.txt"
    outside.write_text("x", encoding="utf-8")
    (folder / "policy.yaml").write_text(meta.replace(f"text: {text_name}", "text: ../outside.txt"), encoding="utf-8")
    with pytest.raises(KBError, match="outside"):
        policykb.load(path=folder)


# --- standard input ----------------------------------------------------------------------


def _run(args, stdin=None, timeout=120, env=None):
    """A subprocess of the command line under a memory limit."""

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    return subprocess.run(
        [sys.executable, "-m", "policykb.cli", *map(str, args)],
        input=stdin,
        capture_output=True,
        timeout=timeout,
        preexec_fn=limit,
        env=env,
    )


@pytest.fixture
def stdin(monkeypatch):
    """Give the in-process command line these bytes on standard input."""
    import io

    def feed(data: bytes) -> None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))

    return feed


def test_dash_reads_standard_input_for_every_file_command(cli, stdin):
    app = (ROOT / "examples" / "software-firm.json").read_bytes()
    for command in (
        ["evaluate", "-"],
        ["why", "-", "m16.dcmm"],
        ["runners-up", "-"],
        ["readings", "-"],
        ["qualify", "-", "m16.dcmm"],
        ["whatif", "-", "--set", "year=2023"],
    ):
        stdin(app)
        run = cli(*command, "--format", "json")
        assert run.code == 0, (command, run.err[-500:])
    stdin(RECORDS.read_bytes())
    # a record a line; with --awards, a record a decision of the awards file
    lines = RECORDS.read_text(encoding="utf-8").splitlines()
    assert cli("audit", "-", "--format", "json").json()["summary"]["records"] == len([line for line in lines if line.strip()])
    stdin((ROOT / "examples" / "audit" / "applications.jsonl").read_bytes())
    awards = ROOT / "examples" / "audit" / "awards.csv"
    run = cli("audit", "-", "--awards", awards, "--format", "json")
    with awards.open(encoding="utf-8", newline="") as rows:
        decisions = {row["decision_id"] for row in csv.DictReader(rows)}
    assert run.code == 1 and run.json()["summary"]["records"] == len(decisions)
    stdin(b"")
    assert cli("evaluate", "-").code == 2
    # and through a real pipe, once
    run = _run(["evaluate", "-", "--format", "json"], stdin=app, timeout=60)
    assert run.returncode == 0 and json.loads(run.stdout)["kb_version"]


def test_devices_fifos_and_oversized_files_are_refused(cli, tmp_path, stdin):
    run = cli("evaluate", "/dev/zero")
    assert run.code == 2 and "device" in run.err
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    run = cli("evaluate", fifo)  # opened without blocking: no writer is needed to be refused
    assert run.code == 2 and "FIFO" in run.err
    assert cli("audit", fifo).code == 2 and cli("audit", "/dev/zero").code == 2
    big = tmp_path / "big.json"
    big.write_bytes(b'{"a": "' + b"x" * (6 * 1024 * 1024) + b'"}')
    run = cli("evaluate", big)
    assert run.code == 2 and "larger than" in run.err
    stdin(big.read_bytes())
    run = cli("evaluate", "-")
    assert run.code == 2 and "larger than" in run.err
    array = tmp_path / "big-array.json"
    array.write_bytes(b"[\n" + b",\n".join([RECORDS.read_text(encoding="utf-8").splitlines()[0].encode()] * 6000) + b"\n]\n")
    run = cli("audit", array)
    assert run.code == 2 and "JSON Lines" in run.err


# --- a sample in subprocesses: bounded time and memory ----------------------------------

SAMPLE = ["alias-15.yaml", "deep-array-100000.json", "yaml-deep-3000.yaml", "number-year-2.json", "too-many-facts.json"]


@pytest.mark.parametrize("name", SAMPLE)
def test_sample_in_a_subprocess_under_a_memory_limit(tmp_path, name):
    content = next(c for n, _, c in EVALUATE if n == name)
    path = tmp_path / name
    path.write_bytes(content)
    start = time.monotonic()
    run = _run(["evaluate", path], timeout=60)
    assert run.returncode in (0, 2) and b"Traceback" not in run.stderr, run.stderr[-1000:]
    assert time.monotonic() - start < 60


def test_the_service_limit_is_the_reader_limit():
    from policykb.engine import documents
    from policykb.errors import TooLargeError
    from policykb.limits import MAX_DOCUMENT_BYTES

    assert MAX_DOCUMENT_BYTES == 5 * 1024 * 1024
    assert documents.read_bytes.__defaults__[-1] == documents.parse_bytes.__defaults__[-1] == MAX_DOCUMENT_BYTES
    body = json.dumps(example()).encode()
    assert documents.parse_bytes(body)["year"] == 2022
    with pytest.raises(TooLargeError) as exc:
        documents.parse_bytes(b" " * (MAX_DOCUMENT_BYTES + 1))
    assert exc.value.http_status == 413 and exc.value.exit_code == 2


def test_ctrl_c_during_a_parallel_audit_exits_130_cleanly(tmp_path):
    lines = RECORDS.read_text(encoding="utf-8").splitlines()
    body = []
    for copy_no in range(200):  # distinct applicants, minutes of work for both workers
        body += [line.replace('"AU0', f'"C{copy_no:03d}AU0') for line in lines]
    path = tmp_path / "many.jsonl"
    path.write_text("\n".join(body) + "\n", encoding="utf-8")
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = dict(os.environ, TMPDIR=str(temp))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "policykb.cli",
            "audit",
            str(path),
            "--workers",
            "2",
            "--no-progress",
            "--format",
            "json",
            "--output",
            str(tmp_path / "report.json"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env=env,
        # as from a terminal: a SIGINT ignored by this test process (an ignored
        # signal stays ignored across exec) must not be inherited
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    import psutil

    deadline = time.monotonic() + 60

    def workers() -> int:  # forkserver workers are the fork server's children, not the audit's
        try:
            helpers = psutil.Process(process.pid).children()
            servers = [c for c in helpers if "forkserver" in " ".join(c.cmdline())]
            return sum(len(server.children()) for server in servers) if servers else len(helpers)
        except psutil.Error:
            return 0

    while workers() < 2 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)  # until both workers run
    time.sleep(1)
    assert process.poll() is None, "the audit ended before it could be interrupted"
    os.killpg(process.pid, signal.SIGINT)  # as a terminal does: the whole process group
    try:
        out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail("the interrupted audit hung")
    assert process.returncode == 130, err[-1000:]
    assert b"Traceback" not in err and err.strip() == b"policykb: interrupted"
    assert list(temp.iterdir()) == [] and not (tmp_path / "report.json").exists()


# --- Hypothesis: documents from the schema, some fields hostile ---------------------------


def test_hypothesis_documents_from_the_schema(kb):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from policykb.errors import InputError

    schema = kb.schema()
    definitions = schema["definitions"]
    hostile = st.sampled_from(
        [
            None,
            True,
            -1,
            10**40,
            Decimal("1E+400"),
            "",
            "\ud800",
            "\x1b[2J",
            "x" * 5000,
            [],
            {},
            "２０２２",
            Decimal("-0.0"),
            2022.5,
            "2022-02-30",
        ]
    )

    def value(spec: dict):
        if "enum" in spec:
            valid = st.sampled_from(spec["enum"])
        elif "const" in spec:
            valid = st.just(spec["const"])
        else:
            kind = spec.get("type")
            kind = kind[0] if isinstance(kind, list) else kind
            if kind == "integer" and "pattern" in spec:  # money
                valid = st.integers(0, 10**12 - 1) | st.decimals(0, 10**6, places=2).map(str)
            elif kind == "integer":
                valid = st.integers(spec.get("minimum", -10), spec.get("maximum", 10**6))
            elif kind == "boolean":
                valid = st.booleans()
            elif kind == "array":
                valid = st.lists(value(spec.get("items", {})), max_size=3)
            elif spec.get("pattern", "").startswith("^[0-9]{4}-"):
                valid = st.dates().map(lambda d: d.isoformat())
            else:
                valid = st.text(min_size=1, max_size=12)
        return st.one_of(valid, valid, valid, hostile)

    def obj(definition: dict):
        props = {k: v for k, v in definition.get("properties", {}).items()}
        required = set(definition.get("required", []))
        return st.fixed_dictionaries(
            {k: value(v) for k, v in props.items() if k in required}, optional={k: value(v) for k, v in props.items() if k not in required}
        )

    facts = st.lists(st.one_of([obj(d) for name, d in sorted(definitions.items()) if name.startswith("fact.")]), max_size=6)
    documents = st.fixed_dictionaries(
        {"applicant": obj(definitions["applicant"]), "year": value({"type": "integer", "minimum": 2019, "maximum": 2024}), "facts": facts}
    )

    @settings(
        max_examples=150,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(documents)
    def evaluate_or_input_error(document):
        try:
            kb.evaluate(document)
        except InputError as exc:
            assert len(str(exc)) < 20_000
        records = [{"application": document, "decision": {"decision_id": "D", "granted": [{"item": "m01.equipment", "amount": "1"}]}}]
        findings = list(kb.audit(records))
        assert findings and all(f.record == 0 for f in findings)

    evaluate_or_input_error()


# --- the spreadsheet form ------------------------------------------------------------------

CSV_HEAD = b"applicant_id,year,item,subject,amount,decision_id\n"
CSV_ROWS = {
    "amount-1e400": b"AU00000,2023,m01.equipment,P2023-0,1e400,D1\n",
    "amount-10e40": b"AU00000,2023,m01.equipment,P2023-0," + b"1" + b"0" * 40 + b",D2\n",
    "amount-fullwidth": "AU00000,2023,m01.equipment,P2023-0,１００,D3\n".encode(),
    "amount-underscore": b"AU00000,2023,m01.equipment,P2023-0,1_000,D4\n",
    "year-fullwidth": "AU00000,２０２３,m01.equipment,P2023-0,100,D5\n".encode(),
    "year-underscore": b"AU00000,2_023,m01.equipment,P2023-0,100,D6\n",
    "year-huge": b"AU00000,1e999999,m01.equipment,P2023-0,100,D7\n",
    "not-utf8": b"AU00000,2023,m01.equipment,P\xe9,100,D8\n",
    "short-row": b"AU00000,2023\n",
    "bad-quote": b'AU00000,2023,m01.equipment,"P" x"y,100,D10\n',
    "control": b"AU00000,2023,m01.equipment,P\x1b[2J,100,D11\n",
}


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
def test_csv_awards_one_bad_row_is_one_invalid_record(cli, tmp_path, ending):
    apps = (ROOT / "examples" / "audit" / "applications.jsonl").read_bytes()
    hostile_app = json.loads(apps.splitlines()[0])
    hostile_app["year"] = "\u2603"
    apps_text = (
        apps.replace(b'"year": 2023', b'"year": 2023', 1) + json.dumps(hostile_app).replace('"\\u2603"', "1e999999").encode() + b"\n"
    )
    (tmp_path / "apps.jsonl").write_bytes(apps_text)
    good = (ROOT / "examples" / "audit" / "awards.csv").read_bytes().splitlines()[1:]
    rows = list(CSV_ROWS.values())
    # a field over the csv module's default limit (131,072) is data, not a broken file
    huge = b'AU00000,2023,m01.equipment,"' + b"x" * 200_000 + b'",100,D9\n'
    body = CSV_HEAD + b"".join(rows) + huge + b"\n".join(good) + b"\n"
    (tmp_path / "awards.csv").write_bytes(body.replace(b"\n", ending))
    run = cli("audit", tmp_path / "apps.jsonl", "--awards", tmp_path / "awards.csv", "--format", "json")
    assert run.code == 1
    _clean(run)
    report = run.json()
    (tmp_path / "good.csv").write_bytes(CSV_HEAD + b"\n".join(good) + b"\n")
    alone = cli("audit", tmp_path / "apps.jsonl", "--awards", tmp_path / "good.csv", "--format", "json").json()
    assert report["summary"]["records"] == alone["summary"]["records"] + len(rows) + 1
    assert report["summary"]["by_code"]["INVALID_RECORD"] == alone["summary"]["by_code"]["INVALID_RECORD"] + len(rows)
    extra = [f for f in _findings_without_invalid(report) if f not in _findings_without_invalid(alone)]
    assert [(code, subject[:3]) for code, _, _, subject in extra] == [("UNDETERMINED", "xxx")]


# --- slow paths are bounded -------------------------------------------------------------


def test_why_and_qualify_without_subject_are_bounded_on_large_applications(cli, tmp_path):
    doc = json.loads((ROOT / "examples" / "precision-machinery-sme.json").read_text(encoding="utf-8"))
    project = doc["facts"][0]
    doc["facts"] = [dict(project, subject=f"P{i:04d}", equipment_investment=1_000_000 + i) for i in range(300)]
    path = tmp_path / "many.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    for command in ("why", "qualify"):
        run = cli(command, path, "m01.equipment")
        assert run.code == 2 and "name one with --subject" in run.err and "P0000, P0001" in run.err
    assert cli("why", path, "m01.equipment", "--subject", "P0007").code == 0


def test_whatif_values_go_through_the_same_guard(cli, tmp_path):
    path = ROOT / "examples" / "software-firm.json"
    for change in ("year=1e999999", "year=2022.0", 'applicant.name="\\u001b]0;x\\u0007"', "year=" + "9" * 5001):
        run = cli("whatif", path, "--set", change)
        assert run.code == 2, (change, run.err)
        _clean(run)
    run = cli("whatif", path, "--add", "[" * 5000 + "]" * 5000)
    assert run.code == 2
    _clean(run)


def test_kb_yaml_aliases_are_refused_before_they_expand(tmp_path):
    import shutil

    import policykb
    from policykb.errors import KBError

    folder = tmp_path / "kb"
    shutil.copytree(ROOT / "kb" / "taicang-2021-3", folder)
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"] + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 12)]
    (folder / "glossary.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(KBError, match="alias"):
        policykb.load(path=folder)


def test_line_splitter_agrees_with_a_reference_on_any_bytes(monkeypatch):
    """\\n, \\r\\n and \\r end lines wherever the chunks fall; a long line is measured, not kept."""
    import io

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from policykb.audit import records

    monkeypatch.setattr(records, "_CHUNK", 5)

    @settings(max_examples=300, derandomize=True, deadline=None, database=None)
    @given(st.lists(st.sampled_from([b"a", b"bc", b"\r", b"\n", b"\r\n", b"xxxxxxxxxxxx", b"\xef\xbb\xbf"]), max_size=30))
    def agrees(parts):
        data = b"".join(parts)
        expected = re.split(rb"\r\n|\r|\n", data[3:] if data.startswith(b"\xef\xbb\xbf") else data)
        if expected and expected[-1] == b"":
            expected.pop()
        got = list(records.physical_lines(io.BytesIO(data), limit=8))
        assert [n for n, _, _ in got] == list(range(1, len(expected) + 1))
        assert [length for _, _, length in got] == [len(line) for line in expected]
        assert [content for _, content, _ in got] == [line if len(line) <= 8 else None for line in expected]

    agrees()


def test_the_application_yaml_loader_is_the_safe_loader_restricted_further(tmp_path, cli):
    """parse_yaml calls yaml.load with its own Loader: it must stay a SafeLoader, so that a
    YAML tag cannot build a Python object."""
    import yaml

    from policykb.engine import documents

    assert issubclass(documents._ApplicationLoader, (yaml.SafeLoader, getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
    path = tmp_path / "tagged.yaml"
    path.write_text("applicant: !!python/object/apply:os.system ['echo owned']\nyear: 2022\nfacts: []\n", encoding="utf-8")
    run = cli("evaluate", str(path))
    assert run.code == 2 and "Traceback" not in run.err
    assert "owned" not in run.out
