"""Audit across grants: what the applications declare as already granted counts, rewards
obtained later do not, and I-04's one project a year is enforced."""

from __future__ import annotations

APPLICANT = {
    "id": "AR",
    "name": "审计关系测试",
    "kind": "enterprise",
    "registered_in_taicang": True,
    "independent_legal_person": True,
    "industrial": True,
    "size": "sme",
}


def record(year, facts, grants, decision="D1", day="12-01"):
    return {
        "application": {"applicant": APPLICANT, "year": year, "facts": facts},
        "decision": {"decision_id": decision, "decided_on": f"{year}-{day}", "granted": grants},
    }


def codes(kb, records, readings=None):
    return sorted((f.code, f.record, f.item, f.subject) for f in kb.audit(records, readings))


PROJECT = {"type": "transformation_project", "subject": "P1", "equipment_investment": 30000000, "demo_listed": False, "robot_system": False}


def test_an_award_declared_for_the_same_year_counts_against_the_cap(kb):
    prior = {"type": "prior_award", "subject": "P0", "source": "this_policy", "item": "m01.equipment", "year": 2022, "amount": 2000000}
    r = record(2022, [PROJECT, prior], [{"item": "m01.equipment", "subject": "P1", "amount": "1800000.00"}])
    assert codes(kb, [r]) == [("OVER_GROUP_CAP", 0, "m01.equipment", "P1")]
    within = record(2022, [PROJECT, prior], [{"item": "m01.equipment", "subject": "P1", "amount": "1000000.00"}])
    assert codes(kb, [within]) == []


def test_an_award_declared_for_another_type_the_same_year_is_exclusive(kb):
    prior = {"type": "prior_award", "subject": "D0", "source": "this_policy", "item": "m01.digital_app", "year": 2022, "amount": 1500000}
    r = record(2022, [PROJECT, prior], [{"item": "m01.equipment", "subject": "P1", "amount": "1000000.00"}])
    assert codes(kb, [r]) == [("EXCLUSIVE_CONFLICT", 0, "m01.equipment", "P1")]


def test_one_project_a_year_under_i04(kb):
    second = dict(PROJECT, subject="P2", equipment_investment=5000000)
    r = record(
        2022,
        [PROJECT, second],
        [
            {"item": "m01.equipment", "subject": "P1", "amount": "1800000.00"},
            {"item": "m01.equipment", "subject": "P2", "amount": "300000.00"},
        ],
    )
    assert codes(kb, [r]) == []
    found = list(kb.audit([r], {"I-04": "one_project"}))
    assert [(f.code, f.subject) for f in found] == [("EXCLUSIVE_CONFLICT", "P2")]


def test_suzhou_matching_stands_on_a_declared_taicang_subsidy(kb):
    loan = {
        "type": "loan",
        "subject": "L1",
        "via_platform": True,
        "smart_transformation": True,
        "disbursed": 10000000,
        "suzhou_approved": True,
    }
    prior = {"type": "prior_award", "subject": "L1", "source": "this_policy", "item": "m23.loan_interest", "year": 2021, "amount": 100000}
    r = record(2022, [loan, prior], [{"item": "m23.suzhou_matching", "subject": "L1", "amount": "100000.00"}])
    assert codes(kb, [r]) == []
    alone = record(2022, [loan], [{"item": "m23.suzhou_matching", "subject": "L1", "amount": "100000.00"}])
    assert codes(kb, [alone]) == [("MISSING_REQUIREMENT", 0, "m23.suzhou_matching", "L1")]


def test_a_5g_scenario_is_judged_by_rewards_obtained_by_then(kb):
    scenario = {"type": "fiveg_scenario_case", "subject": "S", "selected": True, "actual_investment": 400000}
    later = record(
        2022,
        [{"type": "recognition", "subject": "S", "award": "typical_application_scenario"}],
        [{"item": "m18.scenario", "subject": "S", "amount": "1000000.00"}],
        decision="D2",
    )
    first = record(2021, [scenario], [{"item": "m14.scenario_5g", "subject": "S", "amount": "400000.00"}])
    assert codes(kb, [first, later]) == []
    # another reward merely met, and not granted, is no reason either
    met_only = record(
        2021,
        [scenario, {"type": "recognition", "subject": "S", "award": "fiveg_vertical_pilot"}],
        [{"item": "m14.scenario_5g", "subject": "S", "amount": "400000.00"}],
    )
    assert codes(kb, [met_only]) == []
    # but a reward obtained before is
    both = record(
        2021,
        [scenario, {"type": "recognition", "subject": "S", "award": "fiveg_vertical_pilot"}],
        [
            {"item": "m14.vertical_pilot", "subject": "S", "amount": "1000000.00"},
            {"item": "m14.scenario_5g", "subject": "S", "amount": "400000.00"},
        ],
    )
    assert codes(kb, [both]) == [("NOT_ELIGIBLE", 0, "m14.scenario_5g", "S")]


def test_the_same_project_under_two_measure_1_items_in_two_years_is_a_duplicate(kb):
    y1 = record(2021, [dict(PROJECT, equipment_investment=10000000)], [{"item": "m01.equipment", "subject": "P1", "amount": "600000.00"}])
    y2 = record(
        2022,
        [dict(PROJECT, equipment_investment=10000000, demo_listed=True)],
        [{"item": "m01.demo", "subject": "P1", "amount": "800000.00"}],
        decision="D2",
    )
    assert codes(kb, [y1, y2]) == [("DUPLICATE_SAME_KIND", 1, "m01.demo", "P1")]
    topped_up = record(
        2022,
        [dict(PROJECT, equipment_investment=10000000, demo_listed=True)],
        [{"item": "m01.demo", "subject": "P1", "amount": "200000.00"}],
        decision="D2",
    )
    assert codes(kb, [y1, topped_up]) == []


def _repeated(kb, n: int) -> list[dict]:
    """One clean record with a measure 1 grant, repeated under ``n`` decision ids."""
    from policykb.audit import synthetic

    record = next(r for r in synthetic.clean_records(kb, 12, seed=7) if any(g["item"].startswith("m01.") for g in r["decision"]["granted"]))
    out = []
    for i in range(n):
        out.append({"application": record["application"], "decision": dict(record["decision"], decision_id=f"R{i:05d}")})
    return out


def test_repeats_of_one_grant_are_one_finding_with_a_count_and_explanations_stay_short(kb):
    import json

    small = [f.to_dict() for f in kb.audit(_repeated(kb, 30))]
    large = [f.to_dict() for f in kb.audit(_repeated(kb, 240))]
    assert small and large
    # the same findings, counted: the number of findings does not grow with the repeats
    assert [(f["code"], f["item"], f["subject"]) for f in small] == [(f["code"], f["item"], f["subject"]) for f in large]
    assert sum(f["count"] for f in large) > sum(f["count"] for f in small)
    assert {f["code"] for f in large} & {"DUPLICATE_SAME_KIND", "EXCLUSIVE_CONFLICT"}
    # no finding embeds the others: an explanation names at most a few and counts the rest
    longest = max(len(json.dumps(f["explanation"], ensure_ascii=False)) for f in large)
    assert longest < 1200
    assert len(json.dumps(large, ensure_ascii=False)) < 2 * len(json.dumps(small, ensure_ascii=False))


def _loan(subject, disbursed):
    return {
        "type": "loan",
        "subject": subject,
        "via_platform": True,
        "smart_transformation": True,
        "disbursed": disbursed,
        "suzhou_approved": False,
    }


def test_the_taicang_interest_subsidy_is_exact_and_a_grant_below_1_percent_is_under_floor(kb):
    exact = record(2022, [_loan("L1", 10000000)], [{"item": "m23.loan_interest", "subject": "L1", "amount": "100000.00"}])
    assert codes(kb, [exact]) == []
    short = record(2022, [_loan("L1", 10000000)], [{"item": "m23.loan_interest", "subject": "L1", "amount": "99999.99"}])
    found = list(kb.audit([short]))
    assert [(f.code, f.item, f.subject) for f in found] == [("UNDER_FLOOR", "m23.loan_interest", "L1")]
    assert found[0].to_dict()["allowed"] == {"min": "100000.00", "max": "100000.00"}


def test_a_loan_subsidy_cut_by_the_annual_cap_is_not_under_floor(kb):
    # 1.5M + 1.5M is due, CAP-m23 leaves 500,000 for the second loan: paying that is right
    first = record(2022, [_loan("L1", 150000000)], [{"item": "m23.loan_interest", "subject": "L1", "amount": "1500000.00"}])
    second = record(
        2022, [_loan("L2", 150000000)], [{"item": "m23.loan_interest", "subject": "L2", "amount": "500000.00"}], decision="D2", day="12-02"
    )
    assert codes(kb, [first, second]) == []
    # … but paying less than the cap leaves is still short
    less = record(
        2022, [_loan("L2", 150000000)], [{"item": "m23.loan_interest", "subject": "L2", "amount": "499999.99"}], decision="D2", day="12-02"
    )
    assert codes(kb, [first, less]) == [("UNDER_FLOOR", 1, "m23.loan_interest", "L2")]
    # within one application the decision itself applies the cap
    both = record(
        2022,
        [_loan("L1", 150000000), _loan("L2", 150000000)],
        [
            {"item": "m23.loan_interest", "subject": "L1", "amount": "1500000.00"},
            {"item": "m23.loan_interest", "subject": "L2", "amount": "500000.00"},
        ],
    )
    assert codes(kb, [both]) == []


def test_suzhous_matching_is_held_against_suzhous_own_cap_under_i15(kb):
    loan = dict(_loan("L1", 250000000), suzhou_approved=True)
    capped = record(
        2022,
        [loan],
        [
            {"item": "m23.loan_interest", "subject": "L1", "amount": "2000000.00"},
            {"item": "m23.suzhou_matching", "subject": "L1", "amount": "2000000.00"},
        ],
    )
    assert codes(kb, [capped]) == []
    full = record(
        2022,
        [loan],
        [
            {"item": "m23.loan_interest", "subject": "L1", "amount": "2000000.00"},
            {"item": "m23.suzhou_matching", "subject": "L1", "amount": "2500000.00"},
        ],
    )
    assert codes(kb, [full]) == [("OVER_GROUP_CAP", 0, "m23.suzhou_matching", "L1")]
    assert codes(kb, [full], {"I-15": "text_alone"}) == []
    assert codes(kb, [capped], {"I-15": "text_alone"}) == [("UNDER_FLOOR", 0, "m23.suzhou_matching", "L1")]


def test_a_ranking_paid_again_in_a_later_year_is_no_duplicate_under_i12(kb):
    first = record(
        2021,
        [{"type": "recognition", "award": "suzhou_ic_top20"}],
        [{"item": "m15.ic_suzhou_top20", "subject": "AR", "amount": "200000.00"}],
    )
    again = record(
        2022,
        [{"type": "recognition", "award": "suzhou_ic_top20"}],
        [{"item": "m15.ic_suzhou_top20", "subject": "AR", "amount": "200000.00"}],
        decision="D2",
    )
    assert codes(kb, [first, again]) == []
    assert codes(kb, [first, again], {"I-12": "once_per_subject"}) == [("DUPLICATE_SAME_KIND", 1, "m15.ic_suzhou_top20", "AR")]
    # a lower level in 2021 still counts against the higher level in 2022 (I-13 ladder) …
    lower = record(
        2021,
        [{"type": "recognition", "award": "suzhou_ic_top20_shortlist"}],
        [{"item": "m15.ic_suzhou_shortlist", "subject": "AR", "amount": "100000.00"}],
    )
    assert codes(kb, [lower, again]) == [("DUPLICATE_SAME_KIND", 1, "m15.ic_suzhou_top20", "AR")]
    # … but not when each level is paid in full (I-13 each_level)
    assert codes(kb, [lower, again], {"I-13": "each_level"}) == []
