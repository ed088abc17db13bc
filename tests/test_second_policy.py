"""A second policy needs only a new KB folder (issue 12 item 3).

``tests/fixtures/linhe-2024-7`` is a small, fictional policy with its own text, fact types,
boundaries (以上, 超), amounts (exact rates with a cap, a ceiling, fixed sums, per-unit sums, a
service), relations (a take-the-highest ladder, an exclusive group, a group cap), a reading with
two options, its own payer, and YAML cases (run by the same case runner as the Taicang cases).
Every expected figure below is worked out from the fixture's own KB — its thresholds, rates,
caps and sums — never copied from a run.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

import policykb
from policykb.errors import KBError
from policykb.kb.check import check_folder
from policykb.kb.loader import load_policy

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).parent / "fixtures" / "linhe-2024-7"
FEN = Decimal("0.01")

APPLICANT = {
    "id": "L-9",
    "name": "临河测试企业",
    "kind": "enterprise",
    "registered_in_linhe": True,
    "independent_legal_person": True,
    "size": "sme",
}


@pytest.fixture(scope="module")
def linhe():
    return policykb.load(path=FIXTURE)


def evaluate(kb, facts, readings=None, **applicant):
    document = {"applicant": dict(APPLICANT, **applicant), "year": 2024, "facts": facts}
    return kb.evaluate(document, readings or {}).to_dict()


def outcome(result, item, subject=None):
    found = [o for o in result["outcomes"] if o["item"] == item and (subject is None or o["subject"] == subject)]
    assert len(found) == 1, f"{item}/{subject}: {found}"
    return found[0]


def fen(value: Decimal) -> str:
    return str(value.quantize(FEN, rounding=ROUND_HALF_UP))


def threshold(kb, item_id):
    """The one literal the item's conditions compare a fact field with, and its operator."""
    (c,) = [c for c in kb.policy.items[item_id].conditions.parts if not c.field.startswith("applicant.")]
    return c.op, c.value


# -- the KB loads and checks clean, with nothing of Taicang in it


def test_the_fixture_loads_and_checks_clean(linhe, cli):
    policy = linhe.policy
    assert policy.id == "linhe-2024-7"
    assert sorted(policy.items) == sorted(policy.inventory)
    assert {r.kind for r in policy.relations.values()} == {"highest", "exclusive", "group_cap"}
    assert list(policy.payers) == ["linhe"] and policy.default_payer == "linhe"
    assert {i.payer for i in policy.items.values()} == {"linhe"}
    _, problems = check_folder(FIXTURE)
    assert problems == []
    run = cli("kb", "check", "--kb", FIXTURE)
    assert run.code == 0, run.out + run.err
    assert "linhe-2024-7" in run.out


# -- boundaries, exactly at each threshold


def test_gte_boundary_includes_the_number(linhe):
    op, limit = threshold(linhe, "m01.equipment_basic")
    assert op == "gte"
    rate = linhe.policy.items["m01.equipment_basic"].amount.rate.value
    at = outcome(
        evaluate(linhe, [{"type": "equipment_project", "subject": "P", "equipment_investment": str(limit)}]), "m01.equipment_basic"
    )
    assert at["status"] == "eligible"
    assert at["amount"] == {"kind": "exact", "min": fen(rate * limit), "max": fen(rate * limit)}
    below = outcome(
        evaluate(linhe, [{"type": "equipment_project", "subject": "P", "equipment_investment": str(limit - FEN)}]), "m01.equipment_basic"
    )
    assert below["status"] == "ineligible"


def test_gt_boundary_excludes_the_number_and_the_ladder_takes_the_highest(linhe):
    op, limit = threshold(linhe, "m01.equipment_major")
    assert op == "gt"
    basic, major = (linhe.policy.items[i].amount for i in ("m01.equipment_basic", "m01.equipment_major"))
    at = evaluate(linhe, [{"type": "equipment_project", "subject": "P", "equipment_investment": str(limit)}])
    assert outcome(at, "m01.equipment_major")["status"] == "ineligible"
    assert outcome(at, "m01.equipment_basic")["status"] == "eligible"
    assert outcome(at, "m01.equipment_basic")["amount"]["max"] == fen(min(basic.rate.value * limit, basic.cap.value))
    above = limit + FEN
    result = evaluate(linhe, [{"type": "equipment_project", "subject": "P", "equipment_investment": str(above)}])
    kept, lost = outcome(result, "m01.equipment_major"), outcome(result, "m01.equipment_basic")
    assert kept["status"] == "eligible"
    assert kept["amount"]["max"] == fen(min(major.rate.value * above, major.cap.value))
    assert lost["status"] == "excluded" and lost["by"] == ["H-m01"]
    assert result["totals"]["max"] == kept["amount"]["max"]


def test_count_boundary_above_excludes_the_number(linhe):
    op, limit = threshold(linhe, "m04.training")
    assert op == "gt"
    (per,) = linhe.policy.items["m04.training"].amount.per_unit
    at = outcome(evaluate(linhe, [{"type": "skills_training", "trainees": limit}]), "m04.training")
    assert at["status"] == "ineligible"
    over = outcome(evaluate(linhe, [{"type": "skills_training", "trainees": limit + 1}]), "m04.training")
    assert over["status"] == "eligible"
    assert over["amount"]["max"] == fen(per.each * (limit + 1))


# -- relations acting


def test_exclusive_group_keeps_the_larger_award(linhe):
    sums = {i: linhe.policy.items[i].amount.fixed.value for i in ("m03.demo_enterprise", "m03.smart_workshop")}
    winner = max(sums, key=sums.get)
    loser = min(sums, key=sums.get)
    result = evaluate(linhe, [{"type": "recognition", "award": "demo_enterprise"}, {"type": "recognition", "award": "smart_workshop"}])
    assert outcome(result, winner)["status"] == "eligible"
    assert outcome(result, loser)["status"] == "excluded"
    assert outcome(result, loser)["by"] == ["X-m03"]
    assert result["totals"]["max"] == fen(sums[winner])
    alone = evaluate(linhe, [{"type": "recognition", "award": linhe.policy.items[loser].select["award"][0]}])
    assert outcome(alone, loser)["status"] == "eligible"  # alone, nothing excludes it
    assert outcome(alone, loser)["amount"]["max"] == fen(sums[loser])


def test_group_cap_cuts_the_smaller_share(linhe):
    cap = linhe.policy.relations["CAP-m04"].params["cap"]
    (train,) = linhe.policy.items["m04.training"].amount.per_unit
    (hire,) = linhe.policy.items["m04.talent"].amount.per_unit
    trainees = int(cap / train.each)  # training alone reaches the cap exactly
    hires = 3
    result = evaluate(linhe, [{"type": "skills_training", "trainees": trainees}, {"type": "talent_hiring", "hires": hires}])
    big, small = outcome(result, "m04.training"), outcome(result, "m04.talent")
    assert Decimal(big["amount"]["max"]) == train.each * trainees == cap
    assert big["status"] == "eligible"
    assert small["status"] == "excluded" and small["by"] == ["CAP-m04"]  # nothing of the cap is left
    assert result["totals"]["max"] == fen(cap)
    # one trainee fewer leaves exactly one trainee's worth of the cap for the hires
    result = evaluate(linhe, [{"type": "skills_training", "trainees": trainees - 1}, {"type": "talent_hiring", "hires": hires}])
    small = outcome(result, "m04.talent")
    assert small["status"] == "reduced" and small["amount"]["max"] == fen(train.each)
    assert Decimal(small["amount"]["max"]) < hire.each * hires
    assert result["totals_by_payer"] == {"linhe": {"min": fen(cap), "max": fen(cap)}}


def test_prior_award_of_another_policy_is_deducted(linhe):
    _, limit = threshold(linhe, "m01.equipment_basic")
    rate = linhe.policy.items["m01.equipment_basic"].amount.rate.value
    granted = Decimal("12345.67")
    result = evaluate(
        linhe,
        [
            {"type": "equipment_project", "subject": "P", "equipment_investment": str(limit)},
            {
                "type": "prior_award",
                "subject": "P",
                "source": "county_other",
                "item": "m01.equipment_basic",
                "year": 2024,
                "amount": str(granted),
            },
        ],
    )
    o = outcome(result, "m01.equipment_basic")
    assert o["status"] == "reduced" and o["by"] == ["G2"]
    assert o["amount"]["max"] == fen(rate * limit - granted)


# -- the reading


def test_the_reading_switches_the_cloud_subsidy(linhe):
    amount = linhe.policy.items["m02.cloud"].amount
    reading = linhe.policy.readings["I-01"]
    assert reading.default == "sme_only" and set(reading.options) == {"sme_only", "any_enterprise"}
    fee = Decimal("33333.33")
    facts = [{"type": "cloud_service", "cloud_fee": str(fee)}]
    default = outcome(evaluate(linhe, facts, size="large"), "m02.cloud")
    assert default["status"] == "ineligible" and default["readings"] == ["I-01"]
    other = outcome(evaluate(linhe, facts, {"I-01": "any_enterprise"}, size="large"), "m02.cloud")
    assert other["status"] == "eligible"
    assert other["amount"] == {"kind": "ceiling", "min": "0.00", "max": fen(min(amount.rate.value * fee, amount.cap.value))}
    capped = outcome(evaluate(linhe, [{"type": "cloud_service", "cloud_fee": str(amount.cap.value / amount.rate.value + 1)}]), "m02.cloud")
    assert capped["amount"]["max"] == fen(amount.cap.value)


# -- the other ways in: CLI, why, explain


def test_cli_evaluate_gives_the_api_decision(linhe, cli, tmp_path):
    facts = [
        {"type": "equipment_project", "subject": "P", "equipment_investment": "6000000"},
        {"type": "recognition", "award": "smart_workshop"},
        {"type": "diagnosis_request"},
    ]
    path = tmp_path / "app.json"
    path.write_text(json.dumps({"applicant": APPLICANT, "year": 2024, "facts": facts}, ensure_ascii=False), encoding="utf-8")
    run = cli("evaluate", "--kb", FIXTURE, path, "--format", "json")
    assert run.code == 0, run.err
    assert json.loads(run.out) == json.loads(json.dumps(evaluate(linhe, facts)))
    assert outcome(json.loads(run.out), "m05.diagnosis")["status"] == "service"
    table = cli("evaluate", "--kb", FIXTURE, path)
    assert table.code == 0 and "临政发〔2024〕7号" in table.out


def test_why_cites_the_fixture_text(linhe, cli, tmp_path):
    facts = [{"type": "skills_training", "trainees": 300}, {"type": "talent_hiring", "hires": 8}]
    explanation = linhe.evaluate({"applicant": APPLICANT, "year": 2024, "facts": facts}).explain("m04.talent")
    data = explanation.to_dict()
    assert data["status"] == "reduced"
    assert data["quote"] == linhe.policy.items["m04.talent"].quote
    assert "CAP-m04" in json.dumps(data["relations"], ensure_ascii=False)
    path = tmp_path / "app.json"
    path.write_text(json.dumps({"applicant": APPLICANT, "year": 2024, "facts": facts}, ensure_ascii=False), encoding="utf-8")
    run = cli("why", "--kb", FIXTURE, path, "m04.talent")
    assert run.code == 0, run.err
    assert linhe.policy.relations["CAP-m04"].quote in run.out
    assert linhe.policy.items["m04.talent"].quote in run.out


def test_why_speaks_of_the_fixture_only(linhe):
    explanation = linhe.evaluate({"applicant": APPLICANT, "year": 2024, "facts": [{"type": "diagnosis_request"}]}).explain("m05.diagnosis")
    text = explanation.to_text("zh") + explanation.to_text("en")
    assert "太仓" not in text and "Taicang" not in text


# -- synthetic applications come from the KB too


@pytest.mark.parametrize("readings", [{}, {"I-01": "any_enterprise"}], ids=["defaults", "I-01=any_enterprise"])
def test_synthetic_applications_of_the_fixture_agree_with_the_oracle(linhe, readings):
    from test_oracle import disagreements

    from policykb.engine.synthetic import Generator

    start, end = linhe.policy.provision("period").params["from"], linhe.policy.provision("period").params["to"]
    documents = list(Generator(linhe.policy, seed=12).applications(400))
    statuses = set()
    found: list[str] = []
    for document in documents:
        assert set(document["applicant"]) <= set(linhe.policy.vocabulary.applicant)
        assert start.year - 1 <= document["year"] <= end.year + 1
        for fact in document["facts"]:
            assert fact["type"] in linhe.policy.vocabulary.fact_types
        found += disagreements(linhe, document, readings)
        statuses |= {o["status"] for o in linhe.evaluate(document, readings).to_dict()["outcomes"]}  # every one is valid input
    assert found == []
    # the generator reaches both sides of the fixture's rules and its relations
    assert {"eligible", "ineligible", "excluded", "undetermined", "service"} <= statuses
    assert any(f["type"] == "prior_award" for d in documents for f in d["facts"])


def test_bench_runs_on_the_fixture(linhe, cli):
    run = cli("bench", "--kb", FIXTURE, "--applications", "20", "--workers", "1", "--format", "json")
    assert run.code == 0, run.err
    figures = json.loads(run.out)
    assert figures["kb_version"] == linhe.policy.version and figures["applications"] == 20
    assert figures["firings_per_application"] > 0


# -- the new KB keys are checked, with file and line


def broken(tmp_path: Path, name: str, old: str, new: str) -> Path:
    target = tmp_path / FIXTURE.name
    shutil.copytree(FIXTURE, target, ignore=shutil.ignore_patterns("cases"))
    path = target / name
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return target


@pytest.mark.parametrize(
    "name, old, new, words",
    [
        (
            "m04.yaml",
            "    repeat: yearly\n\n",
            "    repeat: yearly\n    payer: linhe_county\n\n",
            ["linhe-2024-7/m04.yaml:", "unknown payer 'linhe_county'", "allowed: linhe"],
        ),
        ("policy.yaml", "payers:\n", "default_payer: county\npayers:\n", ["linhe-2024-7/policy.yaml:", "unknown payer 'county'"]),
        ("policy.yaml", "  linhe: {zh", "  Linhe: {zh", ["policy.yaml:", "a payer ID is lower-case"]),
        ("relations.yaml", "    payer: linhe\n", "    payer: suzhou\n", ["relations.yaml:", "unknown payer 'suzhou'"]),
        (
            "facts.yaml",
            "          this_policy: {zh: 本措施",
            "          own: {zh: 本措施",
            ["general.yaml:", "needs the value 'this_policy'"],
        ),
    ],
)
def test_new_keys_are_checked_with_file_and_line(tmp_path, cli, name, old, new, words):
    folder = broken(tmp_path, name, old, new)
    with pytest.raises(KBError) as caught:
        load_policy(folder)
    report = "\n".join(str(p) for p in caught.value.problems)
    for word in words:
        assert word in report, report
    assert re.search(rf"{re.escape(folder.name)}/\w+\.yaml:\d+", report), report
    run = cli("kb", "check", "--kb", folder)
    assert run.code == 1 and words[1] in run.out


def test_declared_flag_and_sources_are_checked(tmp_path):
    relation = """
  - id: X-m02
    kind: excluded_by_other_reward
    title: {zh: 已获其他奖励的不再补贴, en: Not paid after another reward}
    members: [m02.cloud]
    scope: subject
    other_rewards: [granted, declared]
    declared_sources: [county_othr]
    declared_flag: year
    quote: 对企业购买云服务的
"""
    folder = broken(tmp_path, "relations.yaml", "relations:\n", "relations:\n" + relation)
    with pytest.raises(KBError) as caught:
        load_policy(folder)
    report = "\n".join(str(p) for p in caught.value.problems)
    assert "unknown source of a declared award 'county_othr'" in report and "did you mean 'county_other'" in report
    assert "'year' is not a bool field of prior_award" in report
    assert re.search(r"relations\.yaml:\d+", report)


def test_payers_default_to_the_issuer(tmp_path):
    folder = broken(tmp_path, "policy.yaml", "payers:\n  linhe: {zh: 临河县, en: Linhe County}\n", "")
    folder = broken_in_place(folder, "relations.yaml", "    payer: linhe\n", "")
    policy = load_policy(folder)
    assert list(policy.payers) == ["issuer"] and policy.payers["issuer"] == policy.issuer
    assert {i.payer for i in policy.items.values()} == {"issuer"}


def broken_in_place(folder: Path, name: str, old: str, new: str) -> Path:
    path = folder / name
    path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    return folder


# -- and nothing of a policy in the engine's code


POLICY_WORDS = re.compile(r"taicang|suzhou|太仓|苏州|smart_digital|\b(?:X|H|R|C|CAP)-m\d\d")
ENGINE_FILES = sorted(p for p in (ROOT / "engine").glob("*.py") if p.name not in ("decision.py", "provenance.py")) + sorted(
    (ROOT / "kb").glob("*.py")
)


def string_literals(path: Path) -> list[tuple[int, str]]:
    """The string constants of a module that are not docstrings (comments are not seen)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (n.lineno, n.value) for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings
    ]


@pytest.mark.parametrize("path", ENGINE_FILES, ids=[f"{p.parent.name}/{p.name}" for p in ENGINE_FILES])
def test_no_policy_literal_in_the_engine(path):
    found = [(line, s) for line, s in string_literals(path) if POLICY_WORDS.search(s)]
    if path.name == "loader.py":  # the policy shipped by default is named once, as a default
        found = [(line, s) for line, s in found if s != "taicang-2021-3"]
    assert found == []
