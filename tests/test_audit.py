"""Audit: every injected violation found with the right code and clause, clean decisions
give nothing, malformed records are reported without stopping the run."""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal

import pytest

from policykb.audit import synthetic


@pytest.fixture(scope="module")
def audit_set(kb):
    clean = synthetic.clean_records(kb, 60, seed=7)
    broken, expected, corrupt = synthetic.inject(kb, clean, seed=11)
    return clean, broken, expected, corrupt


def found(findings) -> list[tuple]:
    return sorted(((f["code"], f["record"], f["item"], f["subject"]) for f in findings), key=lambda e: (e[1], e[0]))


def test_clean_decisions_give_no_findings(kb, audit_set, cli, tmp_path):
    clean = audit_set[0]
    assert list(kb.audit(clean)) == []
    path = tmp_path / "clean.jsonl"
    path.write_text(synthetic.to_jsonl(clean), encoding="utf-8")
    run = cli("audit", path, "--format", "json")
    assert run.code == 0
    assert run.json()["summary"]["findings"] == 0 and run.json()["summary"]["records"] == len(clean)


def test_every_injected_violation_is_found_with_its_code_and_clause(kb, audit_set, cli, tmp_path):
    _, broken, expected, corrupt = audit_set
    assert {e[0] for e in expected} == {
        "NOT_ELIGIBLE",
        "OVER_CEILING",
        "UNDER_FLOOR",
        "EXCLUSIVE_CONFLICT",
        "DUPLICATE_SAME_KIND",
        "OVER_GROUP_CAP",
        "OUT_OF_PERIOD",
        "MISSING_REQUIREMENT",
        "CASE_BY_CASE_CONFLICT",
        "UNKNOWN_ITEM",
        "UNDETERMINED",
        "INVALID_RECORD",
    }
    path = tmp_path / "broken.jsonl"
    path.write_text(synthetic.to_jsonl(broken, corrupt), encoding="utf-8")
    run = cli("audit", path, "--format", "json")
    assert run.code == 1
    report = run.json()
    assert found(report["findings"]) == expected
    assert report["kb_version"] == kb.version
    clause_of = {
        "OVER_GROUP_CAP": "CAP-m23",
        "EXCLUSIVE_CONFLICT": "X-m01",
        "DUPLICATE_SAME_KIND": "G4",
        "MISSING_REQUIREMENT": "R-m23",
        "CASE_BY_CASE_CONFLICT": "G2",
        "OUT_OF_PERIOD": "G3",
    }
    for f in report["findings"]:
        assert f["severity"] == ("warning" if f["code"] in ("UNDER_FLOOR", "UNDETERMINED") else "error")
        assert f["explanation"]["zh"] and f["explanation"]["en"]
        if f["code"] in clause_of:
            assert f["clause"]["id"] == clause_of[f["code"]] and f["clause"]["quote"]
        elif f["code"] in ("NOT_ELIGIBLE", "OVER_CEILING", "UNDER_FLOOR", "UNDETERMINED"):
            assert f["clause"]["id"] == f["item"] and f["clause"]["quote"] == kb.policy.items[f["item"]].quote
        if f["code"] == "INVALID_RECORD":
            assert f["line"] == f["record"] + 1
    summary = report["summary"]
    assert summary["findings"] == len(expected) and summary["by_code"]["INVALID_RECORD"] == 2
    assert sum(summary["by_severity"].values()) == len(expected)


def test_amount_findings_carry_the_granted_and_allowed_bounds(kb, audit_set):
    _, broken, expected, corrupt = audit_set
    records = [r for i, r in enumerate(broken) if i not in corrupt]
    findings = {f.code: f.to_dict() for f in kb.audit(records) if f.code in ("OVER_CEILING", "UNDER_FLOOR")}
    for code, finding in findings.items():
        # the amount the injected record granted, as written (yuan and two decimals)
        _, record, item, subject = next(e for e in expected if e[0] == code)
        grant = next(g for g in broken[record]["decision"]["granted"] if (g["item"], g["subject"]) == (item, subject))
        assert (finding["item"], finding["subject"], finding["granted"]) == (item, subject, grant["amount"])
        assert re.fullmatch(r"\d+\.\d\d", finding["granted"])
    over, under = findings["OVER_CEILING"], findings["UNDER_FLOOR"]
    assert Decimal(over["granted"]) > Decimal(over["allowed"]["max"])
    # the injected exact sum is one fen short: the finding shows both sides to the fen
    assert Decimal(under["allowed"]["min"]) - Decimal(under["granted"]) == Decimal("0.01")


def test_workers_give_the_same_findings_in_the_same_order(audit_set, cli, tmp_path):
    _, broken, _, corrupt = audit_set
    path = tmp_path / "broken.jsonl"
    path.write_text(synthetic.to_jsonl(broken, corrupt), encoding="utf-8")
    one = cli("audit", path, "--format", "json", "--workers", "1").json()
    two = cli("audit", path, "--format", "json", "--workers", "2").json()
    assert one == two


def test_csv_awards_with_applications(kb, audit_set, cli, tmp_path):
    _, broken, expected, corrupt = audit_set
    apps, rows, seen = [], [], set()
    for i, r in enumerate(broken):
        if i in corrupt or not isinstance(r["decision"]["granted"], list):
            continue
        key = (r["application"]["applicant"]["id"], r["application"]["year"])
        if key not in seen:
            seen.add(key)
            apps.append(json.dumps(r["application"], ensure_ascii=False))
        for g in r["decision"]["granted"]:
            rows.append([key[0], key[1], g["item"], g["subject"], g["amount"], r["decision"]["decision_id"]])
    (tmp_path / "apps.jsonl").write_text("\n".join(apps) + "\n", encoding="utf-8")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["applicant_id", "year", "item", "subject", "amount", "decision_id"])
    writer.writerows(rows)
    rows_text = buffer.getvalue()
    (tmp_path / "awards.csv").write_text(rows_text, encoding="utf-8")
    run = cli("audit", tmp_path / "apps.jsonl", "--awards", tmp_path / "awards.csv", "--format", "json")
    assert run.code == 1
    codes = {f["code"] for f in run.json()["findings"]}
    wanted = {e[0] for e in expected} - {"INVALID_RECORD"}
    assert wanted <= codes
    for f in run.json()["findings"]:
        if f["code"] == "UNKNOWN_ITEM":
            line = rows_text.splitlines()[f["line"] - 1]
            assert "m26.bonus" in line, "the finding names the CSV line of the grant"


def test_a_finding_says_which_reading_would_make_it_disappear(kb):
    applicant = {
        "id": "R1",
        "name": "测试",
        "kind": "enterprise",
        "registered_in_taicang": True,
        "independent_legal_person": True,
        "industrial": True,
        "size": "sme",
    }
    record = {
        "application": {
            "applicant": applicant,
            "year": 2022,
            "facts": [
                {
                    "type": "transformation_project",
                    "subject": "P1",
                    "equipment_investment": 2000000,
                    "demo_listed": True,
                    "robot_system": False,
                }
            ],
        },
        "decision": {"decision_id": "D1", "decided_on": "2022-12-01", "granted": [{"item": "m01.demo", "subject": "P1", "amount": 160000}]},
    }
    (finding,) = kb.audit([record])
    assert finding.code == "NOT_ELIGIBLE"
    assert finding.disappears_under == [{"reading": "I-01", "option": "no_threshold"}]
    assert "I-01=no_threshold" in finding.explanation.en


def test_malformed_records_are_reported_and_the_rest_is_audited(cli, tmp_path, audit_set):
    clean = audit_set[0]
    lines = synthetic.to_jsonl(clean[:5]).splitlines()
    lines.insert(2, '{"application": {"applicant": {"id": "Z"}}, "decision": {"decision_id": "Z1", "granted": []}}')
    lines.insert(4, "[1, 2, 3]")
    lines.insert(5, "")
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = cli("audit", path, "--format", "json").json()
    invalid = [f for f in report["findings"] if f["code"] == "INVALID_RECORD"]
    assert [f["line"] for f in invalid] == [3, 5]
    assert "applicant.name" in invalid[0]["explanation"]["en"]
    assert report["summary"]["records"] == 7 and report["summary"]["findings"] == 2


@pytest.mark.parametrize(
    "fmt, words",
    [
        ("md", ["# 审计报告", "### 按问题类型", "| 超过最高额 OVER_CEILING |", "## 问题清单"]),
        ("html", ["<!DOCTYPE html>", "<h1>审计报告</h1>", "OVER_CEILING", "</html>"]),
        ("text", ["审计报告", "按问题类型", "OVER_CEILING"]),
    ],
)
def test_reports_open_with_counts_and_carry_the_kb_version(kb, audit_set, cli, tmp_path, fmt, words):
    _, broken, _, corrupt = audit_set
    path = tmp_path / "broken.jsonl"
    path.write_text(synthetic.to_jsonl(broken, corrupt), encoding="utf-8")
    run = cli("audit", path, "--format", fmt, "--no-progress")
    assert run.code == 1 and run.err == ""
    for word in words + [kb.version]:
        assert word in run.out, word
    en = cli("audit", path, "--format", fmt, "--lang", "en")
    assert "Audit report" in en.out


def test_report_to_a_file_is_atomic(audit_set, cli, tmp_path):
    path = tmp_path / "clean.jsonl"
    path.write_text(synthetic.to_jsonl(audit_set[0][:3]), encoding="utf-8")
    target = tmp_path / "report.html"
    assert cli("audit", path, "--format", "html", "--output", target).code == 0
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean.jsonl", "report.html"]


@pytest.mark.parametrize(
    "content, words",
    [
        ("", "empty"),
        ("  \n\r\n\t\n", "empty"),
        ("hello", None),  # garbage is one bad record (issue 10, item 8), not a refusal of the file
        ("[{bad", None),
        ('{"a": 1}', None),
    ],
)
def test_unusable_input_exits_2(cli, tmp_path, content, words):
    path = tmp_path / "in.jsonl"
    path.write_text(content, encoding="utf-8")
    run = cli("audit", path)
    if words is None:  # a JSON Lines file whose only record is malformed: a finding, not a refusal
        assert run.code == 1
        return
    assert run.code == 2 and words in run.err and "Traceback" not in run.err


def test_csv_header_and_missing_files_exit_2(cli, tmp_path):
    (tmp_path / "apps.jsonl").write_text("{}\n", encoding="utf-8")
    (tmp_path / "awards.csv").write_text("applicant,year\n", encoding="utf-8")
    run = cli("audit", tmp_path / "apps.jsonl", "--awards", tmp_path / "awards.csv")
    assert run.code == 2 and "lacks applicant_id" in run.err
    assert cli("audit", tmp_path / "nope.jsonl").code == 2


def test_library_audit_yields_findings(kb, audit_set):
    _, broken, expected, corrupt = audit_set
    records = [r if i not in corrupt else "garbage" for i, r in enumerate(broken)]
    findings = list(kb.audit(records))
    assert found([f.to_dict() for f in findings]) == expected
    assert set(findings[0].to_dict()) == {
        "record",
        "line",
        "decision_id",
        "applicant",
        "year",
        "item",
        "subject",
        "measure",
        "code",
        "severity",
        "granted",
        "allowed",
        "clause",
        "explanation",
        "disappears_under",
        "count",
    }


def test_kb_audit_reads_a_path_as_the_command_line_does(kb, cli):
    from pathlib import Path

    from conftest import ROOT

    decisions = ROOT / "examples" / "audit" / "decisions.jsonl"
    by_cli = cli("audit", decisions, "--format", "json").json()["findings"]
    for given in (str(decisions), Path(decisions)):
        findings = [f.to_dict() for f in kb.audit(given)]
        assert findings == by_cli, "a path is a file, read the way `policykb audit` reads it"
        assert not any(f["code"] == "INVALID_RECORD" and "expected an object" in f["explanation"]["en"] for f in findings)
    csv_cli = cli(
        "audit", ROOT / "examples/audit/applications.jsonl", "--awards", ROOT / "examples/audit/awards.csv", "--format", "json"
    ).json()
    assert [
        f.to_dict() for f in kb.audit(ROOT / "examples/audit/applications.jsonl", awards=ROOT / "examples/audit/awards.csv")
    ] == csv_cli["findings"]


@pytest.mark.parametrize("given", [b"records.jsonl", 42, {"application": {}, "decision": {}}])
def test_kb_audit_refuses_what_is_neither_a_path_nor_records(kb, given):
    with pytest.raises(TypeError, match="path to a file .* or an iterable of records"):
        kb.audit(given)


def test_invalid_record_reasons_are_said_in_chinese_and_kept_in_english(kb, example_documents):
    from policykb.audit.reasons import reason_words

    words = reason_words("not valid JSON at column 2: Expecting property name enclosed in double quotes")
    assert words.zh == "第 2 列起不是有效的 JSON" and words.en.startswith("not valid JSON at column 2: Expecting")
    both = reason_words("decision.granted: expected a list of {item, subject, amount}; facts: missing (required)")
    assert both.zh == "decision.granted 应为由 item、subject、amount 组成的列表；facts：缺失（必填）"
    assert reason_words("something new").zh == "something new", "a reason of unknown shape is shown as it is"
    assert reason_words("a: missing (required); … 4 more").zh == "a：缺失（必填）；……另有 4 项"
    (finding,) = kb.audit([{"application": example_documents["ic-company"], "decision": {"decision_id": "D", "granted": "all"}}])
    assert finding.code == "INVALID_RECORD" and "应为由 item、subject、amount 组成的列表" in finding.explanation.zh
    assert "decision.granted: expected a list" in finding.explanation.en
