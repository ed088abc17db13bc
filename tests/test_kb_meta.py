"""Code-health tests of the knowledge base, in the spirit of PolicyEngine's: nothing lost,
nothing unlabelled, every sentence traceable."""

from __future__ import annotations

import re
import shutil
from decimal import Decimal

from policykb.kb import conditions as cond
from policykb.kb.check import check_policy, squash
from policykb.kb.loader import content_hash, load_policy, measure_label
from policykb.kb.model import Switch
from policykb.vocabulary import AmountKind

from conftest import KB_DIR, ROOT

ITEMS_MD = ROOT / "docs" / "spec" / "items.md"  # the repository's copy of the inventory


def amounts_of(item):
    return list(item.amount.cases.values()) if isinstance(item.amount, Switch) else [item.amount]


def test_items_are_exactly_the_inventory(policy):
    assert len(policy.inventory) == 61
    assert len(set(policy.inventory)) == 61
    assert set(policy.items) == set(policy.inventory)
    assert list(policy.items) == list(policy.inventory), "items are listed in policy order, like the inventory"


def test_inventory_file_copies_items_md(policy):
    ids = re.findall(r"^\| (m\d\d\.[a-z0-9_]+) \|", ITEMS_MD.read_text(encoding="utf-8"), re.M)
    assert tuple(ids) == policy.inventory


def test_every_measure_has_items(policy):
    assert [m.number for m in policy.measures] == list(range(1, 26))
    for m in policy.measures:
        assert m.items, m.number
        assert m.label == measure_label(m.number)
        assert all(i.startswith(f"m{m.number:02d}.") for i in m.items)


def test_every_item_is_complete(policy):
    for item in policy.items.values():
        assert item.quote.strip(), item.id
        assert item.label == measure_label(item.measure), item.id
        assert item.title.zh.strip() and item.title.en.strip(), item.id
        assert re.search(r"[\u4e00-\u9fff]", item.title.zh), f"{item.id}: the Chinese title has no Chinese"
        assert item.applicants, item.id
        assert item.subject in policy.vocabulary.subject_kinds, item.id
        for amount in amounts_of(item):
            assert amount.kind in tuple(AmountKind), item.id


def test_every_quote_is_verbatim_in_the_shipped_text(policy):
    text = squash(policy.text)
    for item in policy.items.values():
        assert squash(item.quote) in text, item.id
        for c in cond.compares(item.conditions):
            assert squash(c.says) in text, (item.id, c.says)
    for rel in policy.relations.values():
        assert squash(rel.quote) in text, rel.id
    for prov in policy.provisions.values():
        assert squash(prov.quote) in text, prov.id


def test_shipped_text_is_the_cleaned_policy(policy):
    assert policy.text.startswith("太政发〔2021〕3号")
    assert "[bookmark" not in policy.text
    assert "\n一、支持工业企业智能化改造和数字化转型深入推进" in policy.text


def test_the_shipped_kb_checks_clean(policy):
    assert check_policy(policy) == []


def test_policy_identification(policy):
    import datetime as dt

    assert policy.document_number == "太政发〔2021〕3号"
    assert policy.issued == dt.date(2021, 1, 13)
    assert policy.in_force == (dt.date(2021, 1, 1), dt.date(2023, 12, 31))
    assert policy.authority.zh == "太仓市工业和信息化局"


def test_provisions_g1_to_g5(policy):
    assert list(policy.provisions) == ["G1", "G2", "G3", "G4", "G5"]


def test_relations_of_the_reading_rules(policy):
    assert set(policy.relations) == {
        "X-m01",
        "CAP-m01",
        "CAP-m23",
        "H-m02",
        "H-m04",
        "H-m12",
        "H-m15",
        "H-m16",
        "X-m14",
        "R-m23",
        "C-m23",
        "CAP-m23-suzhou",
    }


def test_default_readings_are_those_of_reading_rules(policy):
    # reading-rules.md §5, the "default" column
    assert policy.default_readings() == {
        "I-01": "threshold",
        "I-02": "no_threshold",
        "I-03": "three_items",
        "I-04": "several_projects",
        "I-05": "top_up",
        "I-06": "task_completed",
        "I-07": "whole_steps",
        "I-08": "subject",
        "I-09": "any_reward",
        "I-10": "sme_only",
        "I-11": "guaranteed",
        "I-12": "new_event",
        "I-13": "ladder",
        "I-14": "measure_words",
        "I-15": "suzhou_cap",
    }


def test_money_and_rates_are_exact_decimals(policy):
    for item in policy.items.values():
        for amount in amounts_of(item):
            for s in amount.sums():
                assert isinstance(s.value, Decimal), item.id
        for c in cond.compares(item.conditions):
            spec = policy.vocabulary.field(item.fact, c.field)
            if spec.type == "money" and c.ref is None:
                assert isinstance(c.value, Decimal), (item.id, c.field)


def test_boundary_words_match_operators(policy):
    # 以上 includes the number (≥), 超 excludes it (>): reading-rules §1
    for item in policy.items.values():
        for c in cond.compares(item.conditions):
            spec = policy.vocabulary.field(item.fact, c.field)
            if spec.type not in ("money", "count", "integer"):
                continue  # 省级以上 ("provincial or above") ranks levels, not numbers
            if "以上" in c.says:
                assert c.op == "gte", (item.id, c.says)
            if "超" in c.says and "不超过" not in c.says:
                assert c.op == "gt", (item.id, c.says)


def test_every_fact_field_has_bilingual_labels(policy):
    voc = policy.vocabulary
    for ft in voc.fact_types.values():
        assert ft.label.zh and ft.label.en
        for spec in list(ft.fields.values()) + list(ft.derived.values()):
            assert spec.label.zh and spec.label.en, (ft.name, spec.name)
            for value, label in (spec.values or {}).items():
                assert label.zh and label.en, (ft.name, spec.name, value)


def test_kb_version_is_a_content_hash(tmp_path):
    copy = tmp_path / "kb"
    shutil.copytree(KB_DIR, copy, ignore=shutil.ignore_patterns("cases"))
    assert content_hash(copy) == content_hash(KB_DIR)
    (copy / "cases").mkdir()
    (copy / "cases" / "extra.yaml").write_text("cases: []\n", encoding="utf-8")
    assert content_hash(copy) == content_hash(KB_DIR), "test cases are not part of the KB version"
    target = copy / "m03.yaml"
    target.write_text(target.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert content_hash(copy) != content_hash(KB_DIR)
    assert load_policy(copy).version == content_hash(copy)


def test_load_is_cached_per_content(kb):
    import policykb

    again = policykb.load(path=KB_DIR)
    assert again.policy is kb.policy


def test_wording_of_the_fidelity_review(policy):
    # the ladders quote the item sentences that make them, and say that the ladder is I-13
    for rid in ("H-m02", "H-m04", "H-m12", "H-m15", "H-m16"):
        rel = policy.relations[rid]
        assert rel.quote != "按就高不重复原则执行" and "I-13" in rel.rationale.zh and "I-13" in rel.rationale.en
        assert rel.members.reading == "I-13" and rel.members.cases["each_level"] == ()
    assert "获评苏州市级示范智能车间给予最高20万元奖励" in policy.relations["H-m02"].quote
    terms = {t.term: t for t in policy.glossary}
    assert terms["以上"].used_in == (1, 2, 9, 15, 16, 20) and terms["超"].used_in == (9, 11, 17, 25)
    targets = {t.id: t for t in policy.targets}
    revenue = targets["T-m09-revenue"].each
    assert (revenue.op, revenue.value) == ("gt", Decimal(500000000))
    assert "基本" in targets["T-coverage"].what.zh and "substantially" in targets["T-coverage"].what.en
    i15 = policy.readings["I-15"]
    assert i15.cites[0].quote == "单个企业每年最高奖励额度不超过200万元" and i15.cites[0].issued.isoformat() == "2020-12-11"
    caps = {r.id: r.payer for r in policy.relations.values() if r.kind == "group_cap"}
    assert caps == {"CAP-m01": "taicang", "CAP-m23": "taicang", "CAP-m23-suzhou": "suzhou"}


def test_a_cap_over_another_payers_item_and_a_stray_quote_are_reported(tmp_path):
    copy = tmp_path / "kb"
    shutil.copytree(KB_DIR, copy, ignore=shutil.ignore_patterns("cases"))
    relations = copy / "relations.yaml"
    relations.write_text(relations.read_text(encoding="utf-8").replace("    payer: suzhou\n", "    payer: taicang\n"), encoding="utf-8")
    readings = copy / "readings.yaml"
    readings.write_text(
        readings.read_text(encoding="utf-8").replace("      - 按就高不重复原则执行\n", "      - 按就高不重复原则办理\n"), encoding="utf-8"
    )
    problems = [f"{p.where}: {p.message}" for p in check_policy(load_policy(copy))]
    assert any("CAP-m23-suzhou is taicang's cap, but m23.suzhou_matching" in p for p in problems), problems
    assert any("按就高不重复原则办理" in p for p in problems), problems


def test_docs_list_every_reading_with_its_options_and_default(policy):
    text = (ROOT / "docs" / "kb.md").read_text(encoding="utf-8")
    for rid, reading in policy.readings.items():
        row = next((line for line in text.splitlines() if line.startswith(f"| {rid} |")), None)
        assert row is not None, f"docs/kb.md does not list {rid}"
        assert f"**`{reading.default}`**" in row, rid
        for option, label in reading.options.items():
            marked = f"**`{option}`**" if option == reading.default else f"`{option}`"
            assert f"{marked} — {label.en}" in row, (rid, option)
