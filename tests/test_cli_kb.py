"""The KB views of the command line: check, list, graph — and clean failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from policykb.kb.check import squash

from conftest import ROOT, run_process


def test_kb_check_is_clean(cli, policy):
    run = cli("kb", "check")
    assert run.code == 0
    assert "25 条措施 61 个项目" in run.out and "检查通过" in run.out and "知识库版本" in run.out
    assert policy.version in run.out
    run = cli("kb", "check", "--lang", "en")
    assert run.code == 0
    assert "61 items in 25 measures" in run.out and "clean" in run.out
    assert policy.version in run.out


def test_a_subcommands_bad_option_shows_that_subcommands_usage(cli):
    run = cli("kb", "check", "--bogus")
    assert run.code == 2 and "usage: policykb kb check" in run.err and "unrecognized arguments: --bogus" in run.err
    run = cli("kb", "check", "--lang", "fr")
    assert run.code == 2 and "usage: policykb kb check" in run.err
    run = cli("evaluate", ROOT / "examples" / "ic-company.json", "--bogus")
    assert run.code == 2 and "usage: policykb evaluate" in run.err


def test_kb_list_json_lists_the_61_items_with_verbatim_quotes(cli, policy):
    run = cli("kb", "list", "--format", "json")
    assert run.code == 0
    rows = run.json()
    assert [r["id"] for r in rows] == list(policy.inventory)
    text = squash(policy.text)
    for row in rows:
        assert isinstance(row["measure"], int) and 1 <= row["measure"] <= 25
        assert row["label"].startswith("（") and row["label"].endswith("）")
        assert row["title"]["zh"] and row["title"]["en"]
        assert squash(row["quote"]) in text
        assert row["amount_kind"] in ("ceiling", "exact", "range", "none", "discretionary")
    by_id = {r["id"]: r for r in rows}
    assert by_id["m01.equipment"]["relations"] == ["X-m01", "CAP-m01"]
    assert by_id["m16.revenue_growth"]["readings"] == ["I-07"]


def test_kb_list_text_in_both_languages(cli):
    zh = cli("kb", "list")
    en = cli("kb", "list", "--lang", "en")
    assert zh.code == en.code == 0
    assert "项目编号" in zh.out and "m14.base_station" in zh.out and "共 61 项" in zh.out
    assert "Item" in en.out and "61 items" in en.out


def test_kb_graph_json_has_items_and_labelled_relations(cli, policy):
    run = cli("kb", "graph", "--format", "json")
    graph = run.json()
    nodes = {n["id"] for n in graph["nodes"] if n["kind"] == "item"}
    assert nodes == set(policy.items)
    relations = {e["relation"] for e in graph["edges"]}
    assert relations == set(policy.relations)
    x01 = [e for e in graph["edges"] if e["relation"] == "X-m01"]
    assert len(x01) == 6  # four items, every pair
    assert all(e["scope"] == "enterprise_year" and e["quote"] for e in x01)
    requires = [e for e in graph["edges"] if e["relation"] == "R-m23"]
    assert requires == [dict(requires[0], source="m23.suzhou_matching", target="m23.loan_interest")]
    cap = [e for e in graph["edges"] if e["relation"] == "CAP-m01" and "m01.digital_app" in (e["source"], e["target"])]
    assert cap and all(e["when"] == {"I-03": ["all_four"]} for e in cap)


def test_kb_graph_under_a_reading_drops_edges_that_do_not_hold(cli):
    default = cli("kb", "graph", "--format", "json", "--reading", "I-03=three_items").json()
    assert not [e for e in default["edges"] if e["relation"] == "CAP-m01" and "m01.digital_app" in (e["source"], e["target"])]


@pytest.mark.parametrize("fmt, marker", [("dot", "digraph relations"), ("mermaid", "graph LR")])
def test_kb_graph_text_formats(cli, fmt, marker):
    run = cli("kb", "graph", "--format", fmt)
    assert run.code == 0 and marker in run.out and "X-m01" in run.out and "R-m23" in run.out


def test_a_cap_is_a_node_of_its_own_with_its_members(cli):
    mermaid = cli("kb", "graph", "--format", "mermaid").out
    assert "n_m23_loan_interest --- n_m23_loan_interest" not in mermaid and "---|CAP-m23|" not in mermaid
    assert 'n_CAP_m23{{"CAP-m23<br/>≤ 2000000 (taicang, enterprise_year)' in mermaid
    assert "n_m23_loan_interest -->|CAP-m23| n_CAP_m23" in mermaid
    assert "n_m23_suzhou_matching -->|CAP-m23-suzhou [I-15=suzhou_cap]| n_CAP_m23_suzhou" in mermaid
    graph = cli("kb", "graph", "--format", "json").json()
    caps = {n["id"]: n for n in graph["nodes"] if n["kind"] == "cap"}
    assert {k: (v["cap"], v["payer"]) for k, v in caps.items()} == {
        "CAP-m01": ("3000000", "taicang"),
        "CAP-m23": ("2000000", "taicang"),
        "CAP-m23-suzhou": ("2000000", "suzhou"),
    }
    assert sorted(e["source"] for e in graph["edges"] if e["target"] == "CAP-m01") == [
        "m01.demo",
        "m01.digital_app",
        "m01.equipment",
        "m01.robot",
    ]
    assert not [e for e in graph["edges"] if e["source"] == e["target"]]
    text_alone = cli("kb", "graph", "--format", "json", "--reading", "I-15=text_alone").json()
    assert not [e for e in text_alone["edges"] if e["relation"] == "CAP-m23-suzhou"]


def test_kb_list_shows_the_taicang_interest_subsidy_as_exact(cli):
    rows = {r["id"]: r for r in cli("kb", "list", "--format", "json").json()}
    assert rows["m23.loan_interest"]["amount_kind"] == "exact" and rows["m23.suzhou_matching"]["amount_kind"] == "exact"
    assert rows["m15.ic_suzhou_top20"]["repeat"] == {"reading": "I-12", "cases": {"new_event": "yearly", "once_per_subject": "once"}}
    assert rows["m16.cmmi5"]["repeat"] == "once" and rows["m14.base_station"]["repeat"] == "yearly"
    assert rows["m01.robot"]["subject"] == "enterprise" and rows["m02.provincial_demo"]["subject"] == "workshop_or_pilot"


def test_usage_errors_exit_2_without_traceback(cli):
    run = cli("kb", "list", "--format", "xml")
    assert run.code == 2 and "invalid choice" in run.err and "Traceback" not in run.err
    run = cli("kb", "check", "--kb", "/nonexistent/kb")
    assert run.code == 2 and "not a knowledge-base folder" in run.err
    run = cli("kb", "list", "--policy", "taicang-2012-3")
    assert run.code == 2 and "did you mean 'taicang-2021-3'" in run.err


def test_output_file_is_written_atomically(cli, tmp_path):
    target = tmp_path / "items.json"
    run = cli("kb", "list", "--format", "json", "--output", target)
    assert run.code == 0 and run.out == ""
    assert len(json.loads(target.read_text(encoding="utf-8"))) == 61
    assert [p.name for p in tmp_path.iterdir()] == ["items.json"]
    run = cli("kb", "list", "--output", tmp_path / "missing" / "x.txt")
    assert run.code == 2 and not (tmp_path / "missing").exists()


def test_the_installed_command_runs(policy):
    run = run_process("kb", "check")
    assert run.code == 0, run.err
    assert policy.version in run.out


def _durable_built_without_the_flag(tmp_path: Path) -> dict:
    """A PYTHONPATH whose ``durable`` fails to import the way an unflagged build does on 3.13."""
    fake = tmp_path / "durable"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "engine.py").write_text("raise ImportError('durable_rules_engine.cpython-313.so: undefined symbol: PyEval_CallObject')\n")
    return {"PYTHONPATH": str(tmp_path)}


def test_an_unflagged_durable_rules_build_is_named_with_the_rebuild_command(tmp_path):
    env = _durable_built_without_the_flag(tmp_path)
    run = run_process("evaluate", ROOT / "examples" / "software-firm.json", env=env)
    assert run.code == 70
    assert "Traceback" not in run.err
    assert "CPPFLAGS=-DPyEval_CallObject=PyObject_CallObject" in run.err
    example = ROOT / "examples" / "software-firm.json"
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import policykb\ntry:\n    policykb.load().evaluate(r'{example}')\nexcept ImportError as exc:\n    print(type(exc).__name__)",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, **env},
    )
    assert probe.stdout.strip() == "UnsupportedPythonError", probe.stderr
