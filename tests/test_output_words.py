"""Output an analyst can read: facts named by subject, values in the KB's words, relations
in words with their codes, English that reads as English, tables fit to the terminal,
and JSON whose money always has two decimals and whose absent values are absent."""

from __future__ import annotations

import re

from conftest import ROOT

IC = ROOT / "examples" / "ic-company.json"
SME = ROOT / "examples" / "precision-machinery-sme.json"
SOFTWARE = ROOT / "examples" / "software-firm.json"


def test_whatif_names_the_fact_by_subject_with_values_in_the_kbs_words(cli):
    zh = cli("whatif", IC, "--set", "facts[P-FAB-01].equipment_investment=3000000").out
    assert "P-FAB-01（智能及数字化改造项目）的设备投资额：2,999,999.99 元 → 3,000,000 元" in zh
    assert "facts[" not in zh and "2999999.99" not in zh
    assert "m01.equipment（P-FAB-01）：不符合 → 符合，最高 ¥180,000.00" in zh
    en = cli("whatif", IC, "--set", "facts[P-FAB-01].equipment_investment=3000000", "--lang", "en").out
    assert "equipment investment of P-FAB-01 (smart/digital transformation project): 2,999,999.99 yuan → 3,000,000 yuan" in en
    assert "ineligible → eligible, up to ¥180,000.00" in en and "ineligible nothing" not in en
    assert "Total: ¥400,000.00–¥15,950,000.00 → ¥400,000.00–¥16,130,000.00" in en


def test_whatif_says_yes_and_no_and_names_added_and_removed_facts(cli):
    run = cli("whatif", SME, "--set", "facts[P-2022-02].demo_listed=false", "--remove", "facts[prior_award:W1]", "--lang", "en")
    assert run.code == 0, run.err
    assert "of P-2022-02 (smart/digital transformation project): yes → no" in run.out
    assert "fact removed: W1 (award already granted)" in run.out
    assert "True" not in run.out and "False" not in run.out


def test_whatif_shows_the_g4_top_up_step_as_why_does(cli):
    run = cli("whatif", SME, "--set", "facts[prior_award:W1].amount=100000")
    assert "m02.provincial_demo（W1）：核减，最高 ¥300,000.00 → 核减，最高 ¥400,000.00" in run.out
    assert "G4 就高不重复（解读 I-05：补差）" in run.out and "本项由 ¥500,000.00 核减为 ¥400,000.00" in run.out


def test_the_why_column_names_relations_and_provisions_in_words(cli):
    zh = cli("evaluate", SOFTWARE).out
    assert "就高不重复（H-m12） → m12.app_national" in zh and "就高不重复（G4）补差" in zh
    en = cli("evaluate", SOFTWARE, "--lang", "en").out
    assert "take the highest (H-m12) → m12.app_national" in en and "the higher applies (G4) top-up" in en
    sme = cli("evaluate", SME).out
    assert "互斥（X-m01） → m01.equipment" in sme


def test_english_says_measure_1_and_uses_an_en_dash(cli):
    why = cli("why", IC, "m01.equipment", "--lang", "en").out
    assert "m01.equipment measure 1 " in why and "Source: 太政发〔2021〕3号 measure 1:" in why
    assert "（一）" not in why and "measure （" not in why
    table = cli("evaluate", SME, "--lang", "en").out
    assert "～" not in table and "Suzhou ¥200,000.00–¥200,000.00" in table
    report = cli("audit", ROOT / "examples" / "audit" / "decisions.jsonl", "--lang", "en", "--format", "md").out
    assert "～" not in report and "measure 2" in report and "（" not in report.split("## Findings")[0]


def test_titles_fit_the_terminal_and_wide_shows_them_whole(cli, monkeypatch, kb):
    title = kb.policy.items["m12.app_national"].title.zh
    narrow = cli("evaluate", SOFTWARE).out
    assert title not in narrow and "…" in narrow, "cut to 44 columns when the width is unknown"
    monkeypatch.setenv("COLUMNS", "220")
    wide_terminal = cli("evaluate", SOFTWARE).out
    assert title in wide_terminal and all(len(line) <= 220 for line in wide_terminal.splitlines())
    monkeypatch.setenv("COLUMNS", "100")
    from policykb.text import width

    fitted = cli("evaluate", SOFTWARE).out
    table = [line for line in fitted.splitlines() if "SOL-ML" in line]
    assert table and all(width(line) <= 100 for line in table)
    monkeypatch.delenv("COLUMNS")
    wide = cli("evaluate", SOFTWARE, "--wide").out
    for item in kb.policy.items.values():
        if f"{item.id} " in wide:
            assert f"{item.id} {item.title.zh}" in wide


def test_a_legend_says_what_a_zero_minimum_means(cli):
    zh = cli("evaluate", SOFTWARE).out
    assert "“最高”类项目下限为 ¥0.00" in zh
    assert 'for an "up to" item Min is ¥0.00' in cli("evaluate", SOFTWARE, "--lang", "en").out


def _walk(value, path=""):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, f"{path}[{i}]")
    else:
        yield path, value


def test_why_json_money_has_two_decimals_and_absent_values_are_absent(cli):
    for example, item in (
        (SME, "m01.equipment"),
        (SOFTWARE, "m16.revenue_growth"),
        (SOFTWARE, "m12.app_suzhou"),
        (SME, "m02.provincial_demo"),
    ):
        data = cli("why", example, item, "--format", "json").json()
        for e in data:
            for path, value in _walk({"relations": e["relations"], "amount_steps": e["amount_steps"]}):
                if isinstance(value, str) and re.fullmatch(r"-?\d+\.\d+", value) and ".rate" not in path:
                    assert re.fullmatch(r"-?\d+\.\d\d", value), f"{path} = {value}"
            for rel in e["relations"]:
                assert None not in rel.values()
                for rival in rel.get("rivals", []) + ([rel["winner"]] if "winner" in rel else []):
                    assert rival.get("subject", "x") != ""
    x_m01 = next(
        r
        for r in cli("why", SME, "m01.equipment", "--subject", "P-2022-01", "--format", "json").json()[0]["relations"]
        if r["id"] == "X-m01"
    )
    assert ["m01.equipment", "2700000.00", "2700000.00"] in x_m01["detail"]["totals"]
    assert "subject" not in x_m01["winner"] and "before" not in x_m01


def test_english_listings_use_the_en_dash_too(cli):
    listing = cli("kb", "list", "--lang", "en").out
    assert "～" not in listing and "total sales × 10%–20%" in listing
    assert "10%～20%" in cli("kb", "list").out


def test_every_relation_and_provision_kind_and_finding_code_has_words(policy):
    from policykb.audit.findings import CODES
    from policykb.kb.messages import messages

    m = messages()
    kinds = {r.kind for r in policy.relations.values()} | {p.kind for p in policy.provisions.values()}
    assert kinds <= set(m.relation_kinds), kinds - set(m.relation_kinds)
    assert set(CODES) == set(m.finding_codes) and set(CODES.values()) == set(m.severities)
