"""Chinese first: every command the README shows prints, in Chinese, no English word but
codes and IDs.

The commands are read from the README's "What it does" block and run as a new user would
(Chinese is the default).  A Latin word in the output must be one of: an ID of the KB (item,
relation, provision, reading and its options, finding code, fact type, field name, policy
ID), an ID or subject taken from the input, a word of the policy text itself (CMMI, DCMM,
APP …), or a hexadecimal KB version.  Machine formats (JSON, CSV, Mermaid, HTML markup, a
shell script), the English documentation `help` prints and `bench`'s measurement report are
for programs or maintainers and are not checked; the HTML report's text is.
"""

from __future__ import annotations

import html
import io
import json
import re
import shlex
import sys

import pytest

from conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCK = README.split("## What it does", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
MACHINE = {"json", "csv", "mermaid", "dot"}


def readme_commands() -> list[list[str]]:
    out = []
    for line in BLOCK.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line.startswith(("policykb ", "cat ")):
            continue
        if line.startswith("cat "):  # cat FILE | policykb …: the same command on the file
            _, rest = line.split("|", 1)
            line = rest.strip().replace(" -", " " + line.split()[1], 1)
        words = shlex.split(line)[1:]
        if words[:1] == ["serve"]:  # a server runs until stopped: tests/test_service_*.py start it
            continue
        if "-o" in words:  # write to standard output instead
            i = words.index("-o")
            del words[i : i + 2]
        if ">" in words:
            words = words[: words.index(">")]
        out.append(words)
    return out


COMMANDS = readme_commands()


def _is_machine(words: list[str]) -> bool:
    fmt = words[words.index("--format") + 1] if "--format" in words else None
    return fmt in MACHINE or words[0] in ("schema", "bench", "completion", "help")


def _expand(words: list[str]) -> list[str]:
    expanded = []
    for w in words:
        if "*" in w:
            expanded += sorted(str(p.relative_to(ROOT)) for p in ROOT.glob(w))
        else:
            expanded.append(w)
    return expanded


@pytest.fixture(scope="module")
def allowed(policy) -> set[str]:
    words: set[str] = set()
    words |= set(policy.items) | set(policy.relations) | set(policy.provisions) | set(policy.readings)
    for reading in policy.readings.values():
        words |= set(reading.options)
    from policykb.audit.findings import CODES

    words |= set(CODES) | set(CODES.values()) | {policy.id}  # codes and severities, kept beside their labels
    # the audit record's field paths, and the names of formats
    words |= {
        "application",
        "decision",
        "decision_id",
        "decided_on",
        "granted",
        "item",
        "subject",
        "amount",
        "decision.granted",
        "decision.decision_id",
        "application.applicant.id",
        "JSON",
        "UTF-8",
        "CSV",
    }
    vocabulary = policy.vocabulary
    for name, fact_type in vocabulary.fact_types.items():
        words.add(name)
        words |= set(fact_type.fields) | set(getattr(fact_type, "derived", {}) or {})
    words |= set(vocabulary.applicant) | {f"applicant.{n}" for n in vocabulary.applicant}
    words |= set(re.findall(r"[A-Za-z][A-Za-z0-9]*", policy.text))
    for path in list((ROOT / "examples").glob("*.json")) + list((ROOT / "examples" / "audit").glob("*")):
        words |= set(re.findall(r"[A-Za-z0-9][A-Za-z0-9_.:#\-]*", path.read_text(encoding="utf-8")))
    return words


LATIN = re.compile(r"(?<![A-Za-z0-9_.:#=\-])[A-Za-z0-9\-][A-Za-z0-9_.:#=\-]*")


def english_words(text: str, allowed: set[str]) -> list[str]:
    found = []
    for token in LATIN.findall(text):
        token = token.rstrip(".:-")
        if not re.search(r"[A-Za-z]", token) or token.startswith("--"):  # numbers; command-line options
            continue
        parts = re.split(r"[=:#]", token)
        if token in allowed or all(p in allowed or not p or re.fullmatch(r"[0-9a-f]{8,64}|\d+", p) for p in parts):
            continue
        if re.fullmatch(r"[0-9a-f]{12,64}", token):
            continue
        found.append(token)
    return found


def _visible(page: str) -> str:
    body = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    body = re.sub(r"<[^>]+>", " ", body)
    return html.unescape(body)


def test_the_readme_shows_the_habits():
    shown = " ".join(" ".join(c) for c in COMMANDS)
    for habit in (
        "evaluate examples/ic-company.json",
        "--format html",
        "--format csv",
        ".jsonl --format json",
        "readings",
        "completion bash",
        "help engine",
    ):
        assert habit in shown, habit
    assert "| policykb evaluate -" in BLOCK


@pytest.mark.parametrize("words", COMMANDS, ids=[" ".join(c)[:60] for c in COMMANDS])
def test_chinese_output_of_every_readme_command_has_no_english_but_codes_and_ids(words, cli, allowed, monkeypatch):
    if "<" in words:  # policykb … - < FILE: the file is standard input
        i = words.index("<")
        data = (ROOT / words[i + 1]).read_bytes()
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
        words = words[:i]
    if _is_machine(words):
        fmt = words[words.index("--format") + 1] if "--format" in words else None
        if fmt == "json" and words[0] not in ("schema", "bench"):
            run = cli(*_expand(words))
            assert run.code in (0, 1), run.err
            for line in run.out.splitlines() if not run.out.lstrip().startswith(("{", "[")) or "\n{" in run.out else [run.out]:
                json.loads(line)  # machine output stays machine-readable
        return
    run = cli(*_expand(words))
    assert run.code in (0, 1), run.err
    text = _visible(run.out) if "html" in words else run.out
    assert text.strip()
    named = {part for w in _expand(words) for part in re.split(r"[/=]", w)} | set(_expand(words))  # the files and options given
    assert english_words(text, allowed | named) == [], " ".join(words)
