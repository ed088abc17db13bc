"""What a command-line user expects: batches and JSON Lines, CSV and HTML, the list of
readings, shell completion and ``policykb help``."""

from __future__ import annotations

import csv
import html.parser
import io
import json
import shutil
import subprocess

import pytest

from conftest import EXAMPLES, ROOT

SOFTWARE = ROOT / "examples" / "software-firm.json"
IC = ROOT / "examples" / "ic-company.json"


def test_several_files_give_one_decision_per_line_in_order(cli):
    run = cli("evaluate", *EXAMPLES, "--format", "json")
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert len(lines) == len(EXAMPLES)
    for line, example in zip(lines, EXAMPLES):
        assert json.loads(line) == cli("evaluate", example, "--format", "json").json()


def test_json_lines_bad_lines_are_reported_and_skipped_with_exit_1(cli, tmp_path, example_documents):
    good = [example_documents["software-firm"], example_documents["ic-company"]]
    bad_doc = dict(good[0], year="twenty")
    path = tmp_path / "batch.jsonl"
    path.write_text(
        "\n".join([json.dumps(good[0], default=str), "{cut off", json.dumps(bad_doc, default=str), "", json.dumps(good[1], default=str)])
        + "\n",
        encoding="utf-8",
    )
    run = cli("evaluate", path, "--format", "json", "--lang", "en")
    assert run.code == 1
    out = [json.loads(line) for line in run.out.splitlines()]
    assert [d["applicant"]["id"] for d in out] == [good[0]["applicant"]["id"], good[1]["applicant"]["id"]]
    assert f"{path}:2: skipped: not valid JSON" in run.err
    assert f"{path}:3: skipped:" in run.err and "year" in run.err
    assert "evaluated: 2, skipped: 2" in run.err and "Traceback" not in run.err
    assert "app/s" not in run.err and "%|" not in run.err, "a progress bar only on a terminal"


def test_a_missing_file_among_several_is_skipped(cli, tmp_path):
    run = cli("evaluate", SOFTWARE, tmp_path / "nope.json", "--format", "json")
    assert run.code == 1 and len(run.out.splitlines()) == 1
    assert "nope.json" in run.err and "no such file" in run.err


def test_csv_has_one_row_per_outcome_with_exact_amounts(cli):
    decision = cli("evaluate", SOFTWARE, "--format", "json").json()
    run = cli("evaluate", SOFTWARE, IC, "--format", "csv")
    assert run.code == 0
    rows = list(csv.DictReader(io.StringIO(run.out)))
    ic_outcomes = len(cli("evaluate", IC, "--format", "json").json()["outcomes"])
    assert len(rows) == len(decision["outcomes"]) + ic_outcomes
    first = [r for r in rows if r["source"] == str(SOFTWARE)]
    for row, outcome in zip(first, decision["outcomes"]):
        assert (row["item"], row["subject"], row["status"]) == (outcome["item"], outcome["subject"], outcome["status"])
        assert row["max"] == (outcome["amount"]["max"] or "") and row["kb_version"] == decision["kb_version"]
    excluded = next(r for r in first if r["status"] == "excluded")
    assert excluded["by"] == "H-m12" and "（H-m12）" in excluded["why"]


class _Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_html_report_is_self_contained_and_escaped(cli, tmp_path, example_documents):
    doc = dict(example_documents["software-firm"])
    doc["applicant"] = dict(doc["applicant"], name="<script>alert(1)</script>&Co")
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(doc, default=str, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "report.html"
    run = cli("evaluate", path, "--format", "html", "-o", out)
    assert run.code == 0, run.err
    page = out.read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;&amp;Co" in page
    parsed = _Page()
    parsed.feed(page)
    tags = [t for t, _ in parsed.tags]
    assert "script" not in tags and "link" not in tags and "img" not in tags
    assert not any(v and ("http:" in v or "https:" in v) for _, attrs in parsed.tags for v in attrs.values())
    outcomes = cli("evaluate", path, "--format", "json").json()["outcomes"]
    assert tags.count("details") == len(outcomes), "each outcome's explanation folds under it"
    assert "【条件】" in page and "I-05" in page and "本报告采用的解读" in page


def test_readings_without_a_file_lists_every_reading(cli, policy):
    run = cli("readings", "--format", "json")
    assert run.code == 0
    listed = run.json()["readings"]
    assert [r["id"] for r in listed] == list(policy.readings)
    for row in listed:
        reading = policy.readings[row["id"]]
        assert row["default"] == reading.default and row["question"]["zh"] == reading.question.zh
        assert [o["option"] for o in row["options"]] == list(reading.options)
    text = cli("readings", "--lang", "en", "--reading", "I-06=per_station").out
    for rid, reading in policy.readings.items():
        assert f"{rid} {reading.question.en}" in text
        for option in reading.options:
            assert f" {option}: " in text
    assert "per_station: " in text and "(switched)" in text and "(default)" in text


def test_help_prints_the_shipped_docs(cli):
    from policykb import helpdocs

    engine = (helpdocs.docs_dir() / "engine.md").read_text(encoding="utf-8")
    assert cli("help", "engine").out.rstrip("\n") == engine.rstrip("\n")
    listing = cli("help").out
    for topic in ("engine", "kb", "explain", "audit", "api", "readings", "durable_rules", "reading-rules", "items"):
        assert f"  {topic} " in listing
    wrong = cli("help", "engin")
    assert wrong.code == 2 and "did you mean 'engine'" in wrong.err
    assert "I-01" in cli("help", "readings").out


def test_the_wheel_carries_the_docs_that_help_reads():
    # `policykb help` must work where there is no repository: the docs are package data
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert "policykb.docs" in config["packages"] and config["package-dir"]["policykb.docs"] == "docs"
    assert {"*.md", "spec/*.md"} <= set(config["package-data"]["policykb.docs"])


def _complete(script: str, *words: str) -> list[str]:
    body = (
        script
        + "\nCOMP_WORDS=("
        + " ".join(f"'{w}'" for w in words)
        + ")\nCOMP_CWORD=$((${#COMP_WORDS[@]}-1))\n_policykb\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
    )
    proc = subprocess.run(["bash", "-c", body], capture_output=True, text=True, cwd=ROOT, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed (apt-get install bash)")
def test_bash_completion_completes_commands_options_choices_and_items(cli):
    script = cli("completion", "bash").out
    assert _complete(script, "policykb", "ev") == ["evaluate"]
    assert _complete(script, "policykb", "evaluate", "--format", "") == ["text", "json", "csv", "html", "dot"]
    assert _complete(script, "policykb", "kb", "") == ["check", "list", "graph"]
    assert "--lang" in _complete(script, "policykb", "kb", "check", "--l")
    assert _complete(script, "policykb", "why", str(IC), "m01.e") == ["m01.equipment"]
    assert "I-06=per_station" in _complete(script, "policykb", "evaluate", "--reading", "I-06")
    assert "engine" in _complete(script, "policykb", "help", "")


def test_zsh_and_fish_scripts_name_every_command(cli):
    from policykb.cli import build_parser, commands

    names = [n for n in commands(build_parser()) if " " not in n]
    for shell in ("zsh", "fish"):
        script = cli("completion", shell).out
        for name in names:
            assert name in script
        checker = shutil.which(shell)
        if checker:  # a syntax check where the shell is installed
            flag = "-n" if shell == "zsh" else "--no-execute"
            proc = subprocess.run([checker, flag], input=script, capture_output=True, text=True, timeout=30)
            assert proc.returncode == 0, proc.stderr
    assert cli("completion", "zsh").out.startswith("#compdef policykb")
    assert "complete -c policykb" in cli("completion", "fish").out


def _stdin(monkeypatch, data: bytes) -> None:
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


def test_evaluate_reads_standard_input_as_one_document_or_json_lines(cli, monkeypatch):
    _stdin(monkeypatch, IC.read_bytes())
    run = cli("evaluate", "-", "--format", "json")
    assert run.code == 0, run.err
    assert run.json() == cli("evaluate", IC, "--format", "json").json()
    lines = (ROOT / "examples" / "audit" / "applications.jsonl").read_bytes().splitlines()[:3]
    _stdin(monkeypatch, b"\n".join(lines) + b"\n")
    run = cli("evaluate", "-", "--format", "json")
    assert run.code == 0 and len(run.out.splitlines()) == 3
    _stdin(monkeypatch, b"{bad")
    run = cli("evaluate", "-")
    assert run.code == 2 and "<stdin>" in run.err and run.out == ""


def test_the_provenance_of_a_batch_is_refused_with_the_reason(cli):
    run = cli("evaluate", str(IC), str(ROOT / "examples" / "software-firm.json"), "--format", "dot")
    assert run.code == 2 and "one application" in run.err
    single = cli("evaluate", str(IC), "--format", "dot")
    assert single.code == 0 and single.out.startswith(("digraph", "strict digraph"))
