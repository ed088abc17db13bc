"""Bad input never gives a traceback, a wrong exit code, a silent guess or a half-written file.
Each test reproduces a problem found by reviewing the command line with hostile input."""

from __future__ import annotations

import copy
import decimal
import json
import os
import stat
from decimal import Decimal

import pytest

import policykb
from policykb.audit import synthetic

from conftest import ROOT

EXAMPLE = ROOT / "examples" / "software-firm.json"


def test_csv_rows_with_the_wrong_number_of_fields_are_invalid_records(kb, cli, tmp_path):
    records = synthetic.clean_records(kb, 6, seed=2)
    r = next(r for r in records if r["decision"]["granted"])
    (tmp_path / "apps.jsonl").write_text(json.dumps(r["application"], ensure_ascii=False) + "\n", encoding="utf-8")
    g = r["decision"]["granted"][0]
    a = r["application"]["applicant"]["id"]
    y = r["application"]["year"]
    csv_text = (
        "applicant_id,year,item,subject,amount,decision_id\n"
        f"{a},{y},{g['item']},{g['subject']},900,000.00,D1\n"  # an unquoted thousands separator: 7 fields
        f"{a},{y},{g['item']}\n"  # too short
        f'{a},{y},{g["item"]},"{g["subject"]}",{g["amount"]},"D\n2"\n'
    )  # a quoted newline stays in its row
    (tmp_path / "awards.csv").write_text(csv_text, encoding="utf-8")
    report = cli("audit", tmp_path / "apps.jsonl", "--awards", tmp_path / "awards.csv", "--format", "json").json()
    invalid = [f for f in report["findings"] if f["code"] == "INVALID_RECORD"]
    assert [(f["line"], "7 fields" in f["explanation"]["en"] or "3 fields" in f["explanation"]["en"]) for f in invalid] == [
        (2, True),
        (3, True),
    ]
    assert report["summary"]["records"] == 3 and report["summary"]["findings"] == 2


def test_awards_name_unreadable_and_duplicate_applications(kb, cli, tmp_path):
    r = next(r for r in synthetic.clean_records(kb, 6, seed=2) if r["decision"]["granted"])
    app = json.dumps(r["application"], ensure_ascii=False)
    g = r["decision"]["granted"][0]
    a, y = r["application"]["applicant"]["id"], r["application"]["year"]
    (tmp_path / "awards.csv").write_text(
        f"applicant_id,year,item,subject,amount,decision_id\n{a},{y},{g['item']},{g['subject']},{g['amount']},D1\n", encoding="utf-8"
    )
    (tmp_path / "twice.jsonl").write_text(app + "\n" + app + "\n", encoding="utf-8")
    run = cli("audit", tmp_path / "twice.jsonl", "--awards", tmp_path / "awards.csv", "--format", "json")
    assert "2 applications for applicant" in run.json()["findings"][0]["explanation"]["en"]
    (tmp_path / "broken.jsonl").write_text("{not json\n", encoding="utf-8")
    run = cli("audit", tmp_path / "broken.jsonl", "--awards", tmp_path / "awards.csv", "--format", "json")
    assert "unreadable lines 1" in run.json()["findings"][0]["explanation"]["en"]


def test_the_largest_amount_is_accepted_by_both_validators_and_one_more_fen_by_neither(kb, cli, tmp_path, example_documents):
    for value, code in (("999999999999.99", 0), ("1000000000000", 2), (Decimal("999999999999.99"), 0)):
        doc = copy.deepcopy(example_documents["precision-machinery-sme"])
        doc["facts"][0]["equipment_investment"] = value
        path = tmp_path / "max.json"
        path.write_text(
            json.dumps(doc, default=str) if not isinstance(value, Decimal) else json.dumps(doc, default=float), encoding="utf-8"
        )
        run = cli("evaluate", path, "--format", "json")
        assert run.code == code, run.err
        if code:
            assert "999,999,999,999.99" in run.err


@pytest.mark.parametrize(
    "content, words",
    [
        ("[" * 100000 + "]" * 100000, "nested too deeply"),
        ('{"applicant": {}, "year": 2022, "year": 2019, "facts": []}', "duplicate key 'year'"),
    ],
)
def test_hostile_json_is_an_input_error(cli, tmp_path, content, words):
    path = tmp_path / "x.json"
    path.write_text(content, encoding="utf-8")
    run = cli("evaluate", path)
    assert run.code == 2 and words in run.err and "Traceback" not in run.err


def test_yaml_duplicate_keys_and_flow_style_yaml(cli, tmp_path, example_documents):
    import yaml

    doc = example_documents["software-firm"]
    text = yaml.safe_dump(json.loads(json.dumps(doc, default=str)), allow_unicode=True)
    (tmp_path / "dup.yaml").write_text(text.replace("year: 2022", "year: 2022\nyear: 2019"), encoding="utf-8")
    run = cli("evaluate", tmp_path / "dup.yaml")
    assert run.code == 2 and "duplicate key" in run.err and "year" in run.err
    (tmp_path / "flow.yaml").write_text(
        yaml.safe_dump(json.loads(json.dumps(doc, default=str)), allow_unicode=True, default_flow_style=True).replace('"', "'"),
        encoding="utf-8",
    )
    assert cli("evaluate", tmp_path / "flow.yaml", "--format", "json").code == 0


def test_a_byte_order_mark_is_ignored_everywhere(kb, cli, tmp_path):
    text = EXAMPLE.read_text(encoding="utf-8")
    (tmp_path / "bom.json").write_text("\ufeff" + text, encoding="utf-8")
    assert cli("evaluate", tmp_path / "bom.json").code == 0
    records = synthetic.clean_records(kb, 3, seed=2)
    (tmp_path / "bom.jsonl").write_text("\ufeff" + synthetic.to_jsonl(records), encoding="utf-8")
    assert cli("audit", tmp_path / "bom.jsonl", "--format", "json").json()["summary"]["findings"] == 0
    (tmp_path / "bom-array.json").write_text("\ufeff" + json.dumps(records, ensure_ascii=False), encoding="utf-8")
    assert cli("audit", tmp_path / "bom-array.json").code == 0


def test_non_utf8_bytes_make_one_invalid_record_not_a_refusal(cli, tmp_path):
    # issue 10, item 8: only a file that cannot be read at all is exit 2
    (tmp_path / "latin.json").write_bytes(b'[{"application": "\xe9"}]')
    run = cli("audit", tmp_path / "latin.json", "--format", "json")
    report = run.json()
    assert run.code == 1 and report["summary"]["records"] == 1
    assert report["findings"][0]["code"] == "INVALID_RECORD" and "UTF-8" in report["findings"][0]["explanation"]["en"]
    (tmp_path / "apps.jsonl").write_text("{}\n", encoding="utf-8")
    (tmp_path / "awards.csv").write_bytes(
        b"applicant_id,year,item,subject,amount,decision_id\nA,2022,m01.demo,P,\xe9,D\nB,2022,m01.demo,P,1,E\n"
    )
    run = cli("audit", tmp_path / "apps.jsonl", "--awards", tmp_path / "awards.csv", "--format", "json")
    report = run.json()
    assert run.code == 1 and report["summary"]["records"] == 2 and "Traceback" not in run.err
    assert [f["code"] for f in report["findings"]] == ["INVALID_RECORD", "INVALID_RECORD"]
    assert "UTF-8" in report["findings"][0]["explanation"]["en"] and "no application" in report["findings"][1]["explanation"]["en"]


def test_jsonl_duplicate_keys_make_an_invalid_record(cli, tmp_path):
    (tmp_path / "dk.jsonl").write_text('{"application": {"applicant": {"id": "A"}}, "decision": {}, "decision": {}}\n', encoding="utf-8")
    finding = cli("audit", tmp_path / "dk.jsonl", "--format", "json").json()["findings"][0]
    assert finding["code"] == "INVALID_RECORD" and "duplicate key 'decision'" in finding["explanation"]["en"]


def test_two_facts_of_one_type_and_subject_are_refused_not_merged(cli, tmp_path, example_documents):
    doc = copy.deepcopy(example_documents["precision-machinery-sme"])
    doc["facts"].append(dict(doc["facts"][0], equipment_investment=4000000))
    path = tmp_path / "dup.json"
    path.write_text(json.dumps(doc, default=str), encoding="utf-8")
    run = cli("evaluate", path)
    assert run.code == 2 and "a second transformation_project fact for subject 'P-2022-01'" in run.err
    # two different awards for one workshop are two things, not one
    ok = copy.deepcopy(example_documents["precision-machinery-sme"])
    ok["facts"].append({"type": "recognition", "subject": "W1", "award": "suzhou_smart_workshop"})
    assert policykb.load().evaluate(ok).outcome("m02.suzhou_workshop", "W1").status == "excluded"


def test_output_problems_are_caught_before_the_work(cli, tmp_path):
    folder = tmp_path / "adir"
    folder.mkdir()
    run = cli("kb", "list", "--output", folder)
    assert run.code == 2 and "is a folder" in run.err
    run = cli("audit", ROOT / "examples" / "audit" / "decisions.jsonl", "--output", folder)
    assert run.code == 2 and "is a folder" in run.err


def test_output_files_get_ordinary_permissions(cli, tmp_path):
    target = tmp_path / "schema.json"
    target.write_text("old", encoding="utf-8")
    os.chmod(target, 0o644)
    assert cli("schema", "--output", target).code == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    fresh = tmp_path / "fresh.json"
    old = os.umask(0o022)
    try:
        assert cli("schema", "--output", fresh).code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o644


def test_library_misuse_is_an_input_error(kb, example_documents):
    with pytest.raises(policykb.InputError, match="expected a mapping"):
        kb.evaluate(example_documents["software-firm"], readings="I-01=no_threshold")
    doc = copy.deepcopy(example_documents["software-firm"])
    doc["facts"][2]["sales_revenue"] = Decimal("NaN")
    with pytest.raises(policykb.InputError, match="finite number"):
        kb.evaluate(doc)


def test_the_callers_decimal_context_does_not_change_amounts(kb, example_documents):
    reference = kb.evaluate(example_documents["precision-machinery-sme"]).to_json()
    with decimal.localcontext() as ctx:
        ctx.prec = 6
        ctx.rounding = decimal.ROUND_DOWN
        assert kb.evaluate(example_documents["precision-machinery-sme"]).to_json() == reference
        assert (
            kb.evaluate(example_documents["precision-machinery-sme"]).explain("m01.equipment", "P-2022-01").data["amount"]["max"]
            == "2400000.00"
        )


def test_whatif_refuses_contradictory_changes_and_names_the_file(cli):
    ic = ROOT / "examples" / "ic-company.json"
    run = cli("whatif", ic, "--remove", "facts[0]", "--set", "facts[0].note=x")
    assert run.code == 2 and "removed by --remove" in run.err
    run = cli("whatif", ic, "--remove", "facts[3]", "--remove", "facts[WT-300]")  # the same fact, twice
    assert run.code == 2 and "already removed" in run.err
    run = cli("whatif", ic, "--set", "facts[0].type=nonsense")
    assert run.code == 2 and "ic-company.json" in run.err


def test_small_things(cli):
    run = cli("kb")
    assert run.code == 2 and "check" in run.err and "graph" in run.err
    run = cli("evaluate", EXAMPLE, "--reading", "I-01=threshold", "--reading", "I-01=no_threshold")
    assert run.code == 2 and "given twice" in run.err
    why = cli("why", ROOT / "examples" / "ic-company.json", "m02.suzhou_workshop")
    assert "结果：无相关事实" in why.out and "absent" not in why.out
    run = cli("audit", ROOT / "examples", "--awards", ROOT / "examples" / "audit" / "awards.csv")
    assert run.code == 2 and "is a folder" in run.err
