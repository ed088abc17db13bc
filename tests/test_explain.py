"""Explanations: why, why not, what if, how to qualify, readings, runners-up, the trace,
and the self-check of the rules engine against the Python reference."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from policykb.engine.synthetic import Generator
from policykb.explain import runners, sensitivity
from policykb.explain.qualify import QUALIFYING, qualify
from policykb.explain.selfcheck import disagreements
from policykb.explain.trace import trace_json
from policykb.explain.whatif import whatif
from policykb.explain.why import explain
from policykb.testing import build_application

from conftest import KB_DIR


def all_explanations(kb, example_documents):
    for name, doc in sorted(example_documents.items()):
        decision = kb.evaluate(doc)
        for o in decision.outcomes:
            yield name, decision, o, decision.explain(o.item.id, o.subject)


def test_every_outcome_of_every_example_is_explained_in_both_languages(kb, example_documents):
    count = 0
    for name, decision, o, e in all_explanations(kb, example_documents):
        count += 1
        zh, en = e.to_text("zh"), e.to_text("en")
        for text in (zh, en):
            assert o.item.id in text and o.item.quote in text, (name, o.item.id)
        assert "结果：" in zh and "Result:" in en and "结果：" not in en
        data = e.to_dict()
        assert data["status"] == o.status and data["kb_version"] == kb.version
        assert data["verdict"]["agree"] is True, (name, o.item.id)
        assert data["narrative"]["zh"] in zh and data["narrative"]["en"] in en
        assert {"conditions", "rules", "relations", "readings", "missing", "amount_steps", "text"} <= set(data)
        if o.status == "ineligible" and not o.by:
            failed = [r for r in data["conditions"] if r["verdict"] is False]
            assert failed, (name, o.item.id)
            for row in failed:
                assert row["text"]["zh"] in zh and (not row["says"] or row["says"] in zh)
        if o.status == "excluded":
            for by in o.by:
                assert by in zh and by in en
        if o.status == "undetermined":
            for field in o.missing:
                assert field in zh
        for rid in o.readings:
            assert rid in zh and rid in en
        if o.status in ("eligible", "reduced") and o.kind in ("ceiling", "exact", "range"):
            assert data["amount_steps"], (name, o.item.id)
    assert count >= 40


def test_why_not_names_the_value_the_threshold_and_the_words(kb, example_documents):
    e = kb.evaluate(example_documents["ic-company"]).explain("m01.equipment")
    zh = e.to_text("zh")
    assert "✗ 设备投资额 2,999,999.99 元 < 3,000,000 元" in zh
    assert "依据：“设备投资额达300万元及以上”" in zh
    assert e.data["failed"][0]["actual"] == "2999999.99" and e.data["failed"][0]["required"] == "3000000"


def test_an_exclusion_names_the_relation_the_winner_and_both_amounts(kb, example_documents):
    e = kb.evaluate(example_documents["precision-machinery-sme"]).explain("m01.demo", "P-2022-02")
    text = e.to_text("zh")
    assert "X-m01" in text and "m01.equipment" in text and "¥2,700,000.00" in text and "¥400,000.00" in text
    assert "上述项目，同一家企业当年度不可同时申报" in text
    relation = e.data["relations"][0]
    assert relation["id"] == "X-m01" and relation["winner"]["item"] == "m01.equipment"


def test_a_reduction_shows_the_prior_award_and_the_top_up(kb, example_documents):
    e = kb.evaluate(example_documents["precision-machinery-sme"]).explain("m02.provincial_demo")
    text = e.to_text("en")
    assert "G4" in text and "¥200,000.00" in text and "¥500,000.00" in text and "¥300,000.00" in text
    alt = e.data["readings"][0]
    assert alt["id"] == "I-05" and alt["alternatives"][0]["status"] == "excluded"


def test_readings_show_what_the_alternative_gives(kb, example_documents):
    e = kb.evaluate(example_documents["telecom-operator"]).explain("m14.scenario_5g", "S-PORT")
    alt = next(r for r in e.data["readings"] if r["id"] == "I-09")["alternatives"][0]
    assert alt["option"] == "declared_only" and alt["status"] == "eligible" and alt["amount"]["max"] == "500000.00"


def test_an_item_without_facts_is_explained_by_what_it_needs(kb, example_documents):
    e = kb.evaluate(example_documents["precision-machinery-sme"]).explain("m16.cmmi5")
    assert e.status == "absent" and e.data["needs"] == {"fact": "cmmi_certification", "select": {"level": [5]}}
    assert "CMMI" in e.to_text("zh")


def test_rounding_is_shown_as_a_step(kb):
    doc = {
        "applicant": {
            "id": "A",
            "name": "测试",
            "kind": "enterprise",
            "registered_in_taicang": True,
            "independent_legal_person": True,
            "industrial": True,
            "size": "sme",
        },
        "year": 2022,
        "facts": [
            {
                "type": "transformation_project",
                "subject": "P",
                "equipment_investment": "3333333.33",
                "demo_listed": False,
                "robot_system": False,
            }
        ],
    }
    e = kb.evaluate(doc).explain("m01.equipment")
    assert e.data["amount"]["max"] == "200000.00"
    assert e.data["amount_steps"][-1]["op"] == "round" and e.data["amount_steps"][-1]["inputs"]["exact"] == "199999.9998"


def test_explain_of_an_item_with_several_subjects_needs_a_subject(kb, example_documents):
    from policykb.errors import UnknownItemError

    decision = kb.evaluate(example_documents["precision-machinery-sme"])
    with pytest.raises(UnknownItemError, match="several subjects"):
        decision.explain("m01.equipment")
    with pytest.raises(UnknownItemError, match="did you mean 'm01.equipment'"):
        decision.explain("m01.equipmnt")
    assert len(explain(decision, "m01.equipment")) == 2


# -- qualify: every suggestion is re-checked here, independently ---------------------------


def apply_way(document: dict, way: dict) -> dict:
    doc = copy.deepcopy(document)
    removals = []
    for change in way["changes"]:
        if change["op"] == "set":
            path = change["path"]
            if path.startswith("applicant."):
                doc["applicant"][path[10:]] = change["value"]
            else:
                head, _, name = path.rpartition(".")
                doc["facts"][int(head[6:-1])][name] = change["value"]
        elif change["op"] == "add":
            doc["facts"].append(change["value"])
        else:
            removals.append(int(change["path"][6:-1]))
    for index in sorted(removals, reverse=True):
        doc["facts"].pop(index)
    return doc


def assert_ways_verify(kb, document, item, subject, result):
    for entry in result.to_dict()["results"]:
        for way in entry["ways"]:
            assert way["verified"]
            decision = kb.evaluate(apply_way(document, way), dict(kb.default_readings(), **way["readings"]))
            subject_after = entry["subject"]
            after = [o for o in decision.outcomes if o.item.id == item and o.subject == subject_after]
            assert after and after[0].status in QUALIFYING, (item, subject, way)


def test_qualify_suggestions_verify_for_every_item_of_every_example(kb, example_documents):
    checked = with_ways = 0
    for name, doc in sorted(example_documents.items()):
        decision = kb.evaluate(doc)
        for o in decision.outcomes:
            if o.status in QUALIFYING:
                continue
            result = qualify(kb, doc, o.item.id, o.subject)
            assert_ways_verify(kb, doc, o.item.id, o.subject, result)
            checked += 1
        for item in kb.policy.items:  # items the application holds no fact for: the fact to obtain
            if not any(o.item.id == item for o in decision.outcomes):
                result = qualify(kb, doc, item)
                assert_ways_verify(kb, doc, item, None, result)
                with_ways += bool(result.to_dict()["results"][0]["ways"])
                checked += 1
    assert checked >= 300 and with_ways >= 250


def test_qualify_gives_the_smallest_gap(kb, example_documents):
    result = qualify(kb, example_documents["ic-company"], "m01.equipment").to_dict()
    way = result["results"][0]["ways"][0]
    assert way["changes"] == [
        {
            "op": "set",
            "path": "facts[4].equipment_investment",
            "value": "3000000.00",
            "text": {
                "zh": "设备投资额 由 2,999,999.99 元 提高到 3,000,000 元（+0.01 元）",
                "en": "raise equipment investment from 2,999,999.99 yuan to 3,000,000 yuan (+0.01 yuan)",
            },
        }
    ]


def test_qualify_suggestions_verify_on_synthetic_applications(kb):
    checked = 0
    for doc in Generator(kb.policy, seed=31).applications(40):
        decision = kb.evaluate(doc)
        for o in decision.outcomes[:6]:
            if o.status in QUALIFYING:
                continue
            assert_ways_verify(kb, doc, o.item.id, o.subject, qualify(kb, doc, o.item.id, o.subject))
            checked += 1
    assert checked >= 40


# -- the self-check ---------------------------------------------------------------------------


def test_selfcheck_finds_no_disagreement_over_every_yaml_case(kb):
    total = 0
    for path in sorted((KB_DIR / "cases").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        by_readings: dict[tuple, list] = {}
        for case in data.get("cases") or []:
            if "error" in case:
                continue
            readings = tuple(sorted((case.get("readings") or {}).items()))
            by_readings.setdefault(readings, []).append(build_application(case, data.get("defaults") or {}))
        for readings, docs in by_readings.items():
            assert disagreements(kb, docs, dict(readings)) == [], path.name
            total += len(docs)
    assert total > 400


def test_selfcheck_finds_no_disagreement_over_synthetic_applications(kb):
    docs = list(Generator(kb.policy, seed=2021).applications(1500))
    assert disagreements(kb, docs) == []
    assert (
        disagreements(
            kb,
            docs[:500],
            {
                "I-01": "no_threshold",
                "I-02": "threshold",
                "I-06": "per_station",
                "I-14": "g1_literal",
                "I-07": "pro_rata",
                "I-10": "any_enterprise",
            },
        )
        == []
    )


# -- what if, readings, runners-up, trace -------------------------------------------------------


def test_whatif_crossing_a_boundary(kb, example_documents):
    result = whatif(kb, example_documents["ic-company"], sets=["facts[P-FAB-01].equipment_investment=3000000"]).to_dict()
    assert result["changes"] == [{"path": "facts[4].equipment_investment", "old": "2999999.99", "new": 3000000}]
    row = next(r for r in result["outcomes"] if r["item"] == "m01.equipment")
    assert row["before"]["status"] == "ineligible" and row["after"]["status"] == "eligible"
    assert row["after"]["amount"]["max"] == "180000.00"
    assert row["why"]["conditions"][0]["field"] == "equipment_investment" and row["why"]["conditions"][0]["verdict"] is True
    assert result["totals"]["after"]["max"] == "16130000.00"


def test_whatif_with_a_reading_and_no_change(kb, example_documents):
    result = whatif(kb, example_documents["telecom-operator"], readings={"I-09": "declared_only"}).to_dict()
    assert [(r["item"], r["subject"]) for r in result["outcomes"]] == [("m14.scenario_5g", "S-PORT")]


def test_readings_that_change_an_application(kb, example_documents):
    result = sensitivity.reading_effects(kb, example_documents["telecom-operator"])
    assert [(e["reading"], e["option"]) for e in result["effects"]] == [("I-09", "declared_only")]
    assert "I-06" in result["no_effect"]
    sme = sensitivity.reading_effects(kb, example_documents["precision-machinery-sme"])
    changed = {e["reading"] for e in sme["effects"]}
    # an SME: I-10 changes nothing; one project a year, exclusive G4, and each level paid (I-13) do
    assert changed == {"I-04", "I-05", "I-13"}


def test_runners_up_of_the_exclusive_group(kb, example_documents):
    groups = runners.runners_up(kb.evaluate(example_documents["precision-machinery-sme"]))
    x01 = next(g for g in groups if g["relation"] == "X-m01")
    suppressed = {(s["item"], s["would_have_paid"]) for s in x01["suppressed"]}
    assert suppressed == {("m01.demo", "400000.00"), ("m01.robot", "300000.00"), ("m01.digital_app", "180000.00")}
    assert {p["item"] for p in x01["paid"]} == {"m01.equipment"} and x01["quote"] == "上述项目，同一家企业当年度不可同时申报"
    software = runners.runners_up(kb.evaluate(example_documents["software-firm"]))
    assert software[0]["relation"] == "H-m12" and software[0]["suppressed"][0]["would_have_paid"] == "300000.00"


def test_trace_graph_links_facts_rules_outcomes_and_relations(kb, example_documents):
    decision = kb.evaluate(example_documents["precision-machinery-sme"])
    g = decision.trace()
    for o in decision.outcomes:
        node = f"outcome:{o.item.id}:{o.subject}"
        kinds = {g.edges[e]["kind"] for e in g.in_edges(node)}
        assert "about" in kinds
        if o.rules:
            assert "derived" in kinds
        if o.by:
            assert "acted" in kinds
    assert g.nodes["rule:X-m01"]["quote"] == kb.policy.relations["X-m01"].quote
    text = trace_json(decision)
    assert json.loads(text)["graph"]["kb_version"] == kb.version
    assert trace_json(kb.evaluate(example_documents["precision-machinery-sme"])) == text


# -- the command line ---------------------------------------------------------------------------


def test_why_command(cli):
    example = Path(__file__).parent.parent / "examples" / "ic-company.json"
    run = cli("why", example, "m01.equipment", "--lang", "en")
    assert run.code == 0 and "does not qualify" in run.out
    data = cli("why", example, "m20.first_set_equipment", "--format", "json").json()
    assert data[0]["status"] == "eligible" and data[0]["amount"] == {"kind": "range", "min": "400000.00", "max": "750000.00"}
    run = cli("why", example, "m01.equipmnt")
    assert run.code == 2 and "did you mean 'm01.equipment'" in run.err


def test_whatif_qualify_readings_runners_commands(cli):
    examples = Path(__file__).parent.parent / "examples"
    assert cli("whatif", examples / "ic-company.json", "--set", "facts[P-FAB-01].equipment_investment=3000000").code == 0
    run = cli("whatif", examples / "ic-company.json", "--set", "facts[NOPE].x=1")
    assert run.code == 2 and "no fact has that subject" in run.err
    assert cli("whatif", examples / "ic-company.json").code == 2
    run = cli("qualify", examples / "ic-company.json", "m01.equipment", "--format", "json")
    assert run.code == 0 and run.json()["results"][0]["ways"][0]["verified"]
    assert "I-09" in cli("readings", examples / "telecom-operator.json").out
    assert "X-m01" in cli("runners-up", examples / "precision-machinery-sme.json").out


# -- the readings I-12 … I-15 as an analyst sees them -------------------------------------------

_APPLICANT = {
    "id": "A-RD",
    "name": "解读测试",
    "kind": "enterprise",
    "registered_in_taicang": True,
    "independent_legal_person": True,
    "industrial": True,
    "size": "sme",
    "integrated_circuit": True,
}
_AFFECTED = {
    # I-12: the Suzhou IC top 20 again in 2022 after 2021
    "I-12": (
        {
            "applicant": _APPLICANT,
            "year": 2022,
            "facts": [
                {"type": "recognition", "award": "suzhou_ic_top20"},
                {"type": "prior_award", "source": "this_policy", "item": "m15.ic_suzhou_top20", "year": 2021, "amount": 200000},
            ],
        },
        "once_per_subject",
        ("m15.ic_suzhou_top20", "A-RD"),
        ("eligible", "200000.00"),
        ("excluded", "0.00"),
    ),
    # I-13: a workshop rated at Suzhou and at provincial level
    "I-13": (
        {
            "applicant": _APPLICANT,
            "year": 2022,
            "facts": [
                {"type": "recognition", "subject": "W1", "award": "suzhou_smart_workshop"},
                {"type": "recognition", "subject": "W1", "award": "provincial_smart_workshop"},
            ],
        },
        "each_level",
        ("m02.suzhou_workshop", "W1"),
        ("excluded", "0.00"),
        ("eligible", "200000.00"),
    ),
    # I-14: a telecom operator's Taicang branch
    "I-14": (
        {
            "applicant": dict(_APPLICANT, id="A-BR", kind="branch", independent_legal_person=False),
            "year": 2022,
            "facts": [{"type": "base_station_build", "subject": "BS", "planned_stations": 10, "stations_in_operation": 10}],
        },
        "g1_literal",
        ("m14.base_station", "BS"),
        ("eligible", "80000.00"),
        ("ineligible", "0.00"),
    ),
    # I-15: a loan whose Suzhou matching passes Suzhou's own cap
    "I-15": (
        {
            "applicant": _APPLICANT,
            "year": 2022,
            "facts": [
                {
                    "type": "loan",
                    "subject": "L1",
                    "via_platform": True,
                    "smart_transformation": True,
                    "disbursed": 300000000,
                    "suzhou_approved": True,
                }
            ],
        },
        "text_alone",
        ("m23.suzhou_matching", "L1"),
        ("reduced", "2000000.00"),
        ("eligible", "3000000.00"),
    ),
}


@pytest.mark.parametrize("rid", sorted(_AFFECTED))
def test_each_new_reading_is_named_and_its_switch_shown(kb, cli, tmp_path, rid):
    document, option, (item, subject), before, after = _AFFECTED[rid]

    def outcome(readings=None):
        found = [o for o in kb.evaluate(document, readings).to_dict()["outcomes"] if (o["item"], o["subject"]) == (item, subject)]
        return found[0]

    o = outcome()
    assert rid in o["readings"] and (o["status"], o["amount"]["max"]) == before
    switched = outcome({rid: option})
    assert rid in switched["readings"] and (switched["status"], switched["amount"]["max"]) == after
    result = sensitivity.reading_effects(kb, document)
    effect = next(e for e in result["effects"] if e["reading"] == rid)
    assert effect["option"] == option and any(r["item"] == item and r["subject"] == subject for r in effect["changes"])
    path = tmp_path / "app.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    out = cli("readings", path, "--lang", "en").out
    assert rid in out and kb.policy.readings[rid].options[option].en in out and item in out


def test_the_covers_of_g1_are_decided_by_the_rules_engine(kb):
    branch = _AFFECTED["I-14"][0]
    assert kb.evaluate(branch).covered == {i: "G1/cover1" for i in ("m14.base_station", "m14.scenario_5g", "m14.vertical_pilot")}
    assert kb.evaluate(branch, {"I-14": "g1_literal"}).covered == {}
    assert disagreements(kb, [branch]) == [] and disagreements(kb, [branch], {"I-14": "g1_literal"}) == []


def test_why_cites_suzhous_own_cap_for_the_matching_subsidy(kb):
    document = _AFFECTED["I-15"][0]
    e = kb.evaluate(document).explain("m23.suzhou_matching", "L1")
    text = e.to_text("zh")
    assert "CAP-m23-suzhou" in text and "单个企业每年最高奖励额度不超过200万元" in text and "2020-12-11" in text
    cap = next(r for r in e.data["relations"] if r["id"] == "CAP-m23-suzhou")
    assert cap["effect"] == "reduced" and cap["cites"][0]["clause"] == "（一）"


def test_qualify_names_the_relation_that_blocks_an_item_and_the_amount_to_beat(kb):
    """Issue 11 item 3: robot systems would meet m01.robot's conditions, but X-m01's tie-break
    keeps m01.equipment (both 6 % of the same investment): qualify says so, not 'cannot be met'."""
    doc = {
        "applicant": {
            "id": "A1",
            "name": "甲",
            "kind": "enterprise",
            "registered_in_taicang": True,
            "independent_legal_person": True,
            "industrial": True,
            "size": "sme",
        },
        "year": 2022,
        "facts": [
            {
                "type": "transformation_project",
                "subject": "P1",
                "equipment_investment": 5000000,
                "demo_listed": False,
                "robot_system": False,
            }
        ],
    }
    result = qualify(kb, doc, "m01.robot", "P1").to_dict()
    found = result["results"][0]
    assert found["ways"] == []
    blocked = found["blocked_by"]
    assert blocked["relation"] == "X-m01" and blocked["winner"] == "m01.equipment"
    assert blocked["needed_above"] == "300000.00" and blocked["amount"] == "300000.00"
    assert blocked["changes"][0]["path"] == "facts[0].robot_system" and blocked["changes"][0]["value"] is True
    text = qualify(kb, doc, "m01.robot", "P1").to_text("en")
    assert "X-m01 still excludes it" in text and "m01.equipment" in text and "cannot be met" not in text
