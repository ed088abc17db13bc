"""``policykb evaluate``: the decision as a table or JSON, and clean refusals."""

from __future__ import annotations

import json

import pytest

from conftest import EXAMPLES, ROOT, run_process


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_every_example_evaluates(cli, example, kb):
    run = cli("evaluate", example, "--format", "json")
    assert run.code == 0, run.err
    decision = run.json()
    assert decision["policy"] == "taicang-2021-3" and decision["kb_version"] == kb.version
    assert decision["outcomes"], "every example touches items"
    for o in decision["outcomes"]:
        assert set(o) == {"item", "measure", "subject", "status", "amount", "by", "readings", "missing"}
        assert set(o["amount"]) == {"kind", "min", "max"}
    for lang, word in (("zh", "合计"), ("en", "Total")):
        text = cli("evaluate", example, "--lang", lang)
        assert text.code == 0 and word in text.out and "¥" in text.out


def test_decision_json_shape_and_amount_strings(cli):
    decision = cli("evaluate", ROOT / "examples" / "precision-machinery-sme.json", "--format", "json").json()
    assert list(decision) == ["policy", "kb_version", "applicant", "year", "readings", "outcomes", "totals", "totals_by_payer"]
    assert decision["readings"]["I-05"] == "top_up" and len(decision["readings"]) == 15
    by = {(o["item"], o["subject"]): o for o in decision["outcomes"]}
    equipment = by[("m01.equipment", "P-2022-01")]
    assert equipment["status"] == "eligible" and equipment["amount"] == {"kind": "ceiling", "min": "0.00", "max": "2400000.00"}
    assert by[("m01.demo", "P-2022-02")]["by"] == ["X-m01"]
    assert by[("m02.provincial_demo", "W1")]["status"] == "reduced" and by[("m02.provincial_demo", "W1")]["by"] == ["G4"]
    assert by[("m06.diagnosis_factory", "F1")]["amount"] == {"kind": "none", "min": None, "max": None}
    assert by[("m23.suzhou_matching", "L-2022-01")]["amount"] == {"kind": "exact", "min": "200000.00", "max": "200000.00"}
    assert decision["totals_by_payer"]["suzhou"] == {"min": "200000.00", "max": "200000.00"}


def test_readings_switch_from_the_command_line(cli):
    telecom = ROOT / "examples" / "telecom-operator.json"
    default = cli("evaluate", telecom, "--format", "json").json()
    other = cli("evaluate", telecom, "--format", "json", "--reading", "I-09=declared_only").json()
    status = lambda d, s: next(o["status"] for o in d["outcomes"] if o["item"] == "m14.scenario_5g" and o["subject"] == s)
    assert status(default, "S-PORT") == "excluded" and status(other, "S-PORT") == "eligible"
    assert other["readings"]["I-09"] == "declared_only"


def test_bad_input_exits_2_naming_the_field(cli, tmp_path, example_documents):
    doc = dict(example_documents["software-firm"])
    doc["facts"] = [dict(doc["facts"][0], level="four")]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    run = cli("evaluate", path)
    assert run.code == 2
    assert "facts[0].level" in run.err and "whole number" in run.err
    assert "Traceback" not in run.err and run.out == ""


@pytest.mark.parametrize(
    "content, words",
    [
        ("{not json", "not valid JSON"),
        ("applicant: [unclosed", "not valid YAML"),
        ('{"applicant": {}, "year": 2022, "facts": [], "applicant": {}}', "duplicate key 'applicant'"),
    ],
)
def test_unreadable_files_exit_2(cli, tmp_path, content, words):
    path = tmp_path / ("x.json" if content.startswith("{") else "x.yaml")
    path.write_text(content, encoding="utf-8")
    run = cli("evaluate", path)
    assert run.code == 2 and words in run.err


def test_missing_file_and_bad_reading_exit_2(cli):
    assert cli("evaluate", "/no/such/file.json").code == 2
    run = cli("evaluate", ROOT / "examples" / "software-firm.json", "--reading", "I-06=per_sation")
    assert run.code == 2 and "did you mean 'per_station'" in run.err
    run = cli("evaluate", ROOT / "examples" / "software-firm.json", "--reading", "I-6")
    assert run.code == 2 and "ID=OPTION" in run.err


def test_yaml_applications_are_accepted(cli, tmp_path, example_documents):
    import yaml

    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(example_documents["software-firm"], allow_unicode=True), encoding="utf-8")
    assert (
        cli("evaluate", path, "--format", "json").json()
        == cli("evaluate", ROOT / "examples" / "software-firm.json", "--format", "json").json()
    )


def test_the_installed_command_evaluates_without_traceback(tmp_path):
    run = run_process("evaluate", ROOT / "examples" / "ic-company.json")
    assert run.code == 0 and "m20.first_set_equipment" in run.out
    bad = tmp_path / "bad.json"
    bad.write_text('{"applicant": 1}', encoding="utf-8")
    run = run_process("evaluate", bad)
    assert run.code == 2 and "Traceback" not in run.err
