"""The audit's relation verdicts come from the engine's rules and graph (issue 8 item 4).

The grants under audit are asserted as ``$grant`` facts into the evaluation's own ruleset;
the grant rules derive the edges; the graph resolution says what each grant is allowed.
``audit/checks.py`` only words the verdicts: every relational finding names the graph edge
and relation that produced it, and without the engine's verdicts there is none.
"""

from __future__ import annotations

from policykb.audit import checks, synthetic
from policykb.engine import grants
from policykb.engine.provenance import award_node

APPLICANT = {
    "id": "AG",
    "name": "审计图测试",
    "kind": "enterprise",
    "registered_in_taicang": True,
    "independent_legal_person": True,
    "industrial": True,
    "size": "sme",
}
PROJECT = {"type": "transformation_project", "subject": "P1", "equipment_investment": 30000000, "demo_listed": False, "robot_system": False}

# the codes a relation (or a provision relating awards) decides
RELATIONAL = {"EXCLUSIVE_CONFLICT", "OVER_GROUP_CAP", "DUPLICATE_SAME_KIND", "MISSING_REQUIREMENT"}


def record(year, facts, grants_, decision="D1", day="12-01"):
    return {
        "application": {"applicant": APPLICANT, "year": year, "facts": facts},
        "decision": {"decision_id": decision, "decided_on": f"{year}-{day}", "granted": grants_},
    }


def loan(subject, disbursed, approved=False):
    return {
        "type": "loan",
        "subject": subject,
        "via_platform": True,
        "smart_transformation": True,
        "disbursed": disbursed,
        "suzhou_approved": approved,
    }


def violations() -> list[dict]:
    """One applicant's records breaking every relation: X-m01, CAP-m23, G4, R-m23, X-m14."""
    scenario = {"type": "fiveg_scenario_case", "subject": "S", "selected": True, "actual_investment": 400000}
    return [
        record(
            2022,
            [PROJECT, dict(PROJECT, subject="D1", demo_listed=True)],
            [
                {"item": "m01.equipment", "subject": "P1", "amount": "1800000.00"},
                {"item": "m01.demo", "subject": "D1", "amount": "500000.00"},
            ],
        ),
        record(
            2022,
            [loan("L1", 150000000), loan("L2", 150000000)],
            [
                {"item": "m23.loan_interest", "subject": "L1", "amount": "1500000.00"},
                {"item": "m23.loan_interest", "subject": "L2", "amount": "1500000.00"},
            ],
            decision="D2",
            day="12-02",
        ),
        record(
            2022,
            [loan("L3", 10000000, approved=True)],
            [{"item": "m23.suzhou_matching", "subject": "L3", "amount": "100000.00"}],
            decision="D3",
            day="12-03",
        ),
        record(
            2022,
            [{"type": "recognition", "subject": "W", "award": "suzhou_smart_workshop"}],
            [{"item": "m02.suzhou_workshop", "subject": "W", "amount": "200000.00"}],
            decision="D4",
            day="12-04",
        ),
        record(
            2022,
            [{"type": "recognition", "subject": "W", "award": "suzhou_smart_workshop"}],
            [{"item": "m02.suzhou_workshop", "subject": "W", "amount": "200000.00"}],
            decision="D5",
            day="12-05",
        ),
        record(
            2021,
            [scenario, {"type": "recognition", "subject": "S", "award": "fiveg_vertical_pilot"}],
            [
                {"item": "m14.vertical_pilot", "subject": "S", "amount": "1000000.00"},
                {"item": "m14.scenario_5g", "subject": "S", "amount": "400000.00"},
            ],
            decision="D6",
        ),
    ]


def audited(kb, records, readings=None):
    ins = [checks.RecordIn(i, i + 1, r["application"], r["decision"]) for i, r in enumerate(records)]
    audit = checks.ApplicantAudit(kb, ins, kb.readings_with(readings))
    return audit, audit.run()


def test_every_relational_finding_names_the_graph_edge_that_produced_it(kb):
    audit, findings = audited(kb, violations())
    codes = sorted(f.code for f in findings)
    assert codes == ["DUPLICATE_SAME_KIND", "EXCLUSIVE_CONFLICT", "MISSING_REQUIREMENT", "NOT_ELIGIBLE", "OVER_GROUP_CAP"]
    graph = audit.resolved.graph
    fired = {f.rule for f in audit.resolved.firings}
    for f in findings:
        g = next(g for g in audit.resolved.verdicts if audit.sources.get((f.code, g.grant)) is g and g.grant.startswith(f"{f.record}."))
        source, target, key = g.edge
        data = graph.edges[source, target, key]
        # the edge was derived by a rule of the ruleset, from the grant's own award
        assert data["rule"] in fired and data["rule"].startswith("~grant")
        assert g.relation == f.clause["id"] == data["relation"]
        award = award_node(f.item, f.subject, f.year)
        assert award in (source, target)
        assert graph.nodes[award]["kind"] == "award"
        assert any(graph.nodes[n]["kind"] == "grant" for n, _ in graph.in_edges(award))
    kinds = {graph.edges[v.edge]["kind"] for v in audit.resolved.verdicts}
    assert kinds == {"claims", "cap_use", "same_kind", "needs", "other_reward"}


def test_the_audit_decides_nothing_relational_itself(kb, monkeypatch):
    records = violations()
    before = [f.code for f in kb.audit(records)]
    assert set(before) >= RELATIONAL

    real = grants.resolve_grants

    def no_verdicts(*args, **kwargs):
        resolved = real(*args, **kwargs)
        resolved.verdicts.clear()
        return resolved

    monkeypatch.setattr(grants, "resolve_grants", no_verdicts)
    # without the graph's verdicts no relational finding is left: checks.py has none of its own
    assert [f.code for f in kb.audit(records)] == []
    # the grant's own checks stay: a grant above its own ceiling is the record's evaluation's finding
    over = record(2023, [PROJECT], [{"item": "m01.equipment", "subject": "P1", "amount": "1800000.01"}], decision="D9")
    assert [f.code for f in kb.audit(records + [over])] == ["OVER_CEILING"]


def test_grants_run_through_the_evaluations_ruleset_and_evaluations_fire_no_grant_rule(kb):
    audit, _ = audited(kb, violations())
    prepared = kb.evaluator.prepare(kb.readings_with(None))
    grant_rules = {name for name, info in prepared.rules.items() if info.kind == "grant"}
    assert {f.rule for f in audit.resolved.firings} <= grant_rules
    assert {"~grant_claims", "~grant_cap", "~grant_kind", "~grant_needs", "~grant_other#1"} <= {f.rule for f in audit.resolved.firings}
    for r in violations():
        decision = kb.evaluate(r["application"])
        assert decision.readings == prepared.readings and not {f.rule for f in decision.firings} & grant_rules


def test_the_rules_see_one_fact_per_award_however_many_records_repeat_it(kb):
    record_ = next(
        r for r in synthetic.clean_records(kb, 12, seed=7) if any(g["item"].startswith("m01.") for g in r["decision"]["granted"])
    )
    sizes = []
    for n in (5, 60):
        records = [{"application": record_["application"], "decision": dict(record_["decision"], decision_id=f"R{i}")} for i in range(n)]
        audit, _ = audited(kb, records)
        graph = audit.resolved.graph
        sizes.append((len(audit.resolved.firings), sum(1 for _, d in graph.nodes(data=True) if d["kind"] == "award")))
        assert sum(1 for _, d in graph.nodes(data=True) if d["kind"] == "grant") == n * len(record_["decision"]["granted"])
    # firings and awards (the facts the rules join) do not grow with the repeats; grant nodes do
    assert sizes[0] == sizes[1]


def test_a_declared_award_of_a_grant_under_audit_is_that_grant_whatever_amount_it_states(kb):
    first = record(2021, [loan("L1", 10000000)], [{"item": "m23.loan_interest", "subject": "L1", "amount": "99999.99"}])
    declared = {
        "type": "prior_award",
        "subject": "L1",
        "source": "this_policy",
        "item": "m23.loan_interest",
        "year": 2021,
        "amount": 100000,
    }
    later = record(2022, [declared, PROJECT], [{"item": "m01.equipment", "subject": "P1", "amount": "1000000.00"}], decision="D2")
    # the 2022 application declares the 2021 grant (at the amount due): one award, short of its sum
    assert sorted((f.code, f.item) for f in kb.audit([first, later])) == [("UNDER_FLOOR", "m23.loan_interest")]
    # an award of the item for another loan is another award
    other = record(
        2022, [dict(declared, subject="L9"), PROJECT], [{"item": "m01.equipment", "subject": "P1", "amount": "1000000.00"}], decision="D2"
    )
    assert sorted((f.code, f.item) for f in kb.audit([first, other])) == [("UNDER_FLOOR", "m23.loan_interest")]


def test_another_reward_declared_in_any_of_the_applicants_applications_counts(kb):
    scenario = {"type": "fiveg_scenario_case", "subject": "S", "selected": True, "actual_investment": 400000}
    pilot = {"type": "prior_award", "subject": "S", "source": "this_policy", "item": "m14.vertical_pilot", "year": 2021, "amount": 1000000}
    grant = record(2022, [scenario], [{"item": "m14.scenario_5g", "subject": "S", "amount": "400000.00"}])
    other = record(2022, [pilot, PROJECT], [{"item": "m01.equipment", "subject": "P1", "amount": "1000000.00"}], decision="D2")
    assert sorted((f.code, f.item) for f in kb.audit([grant, other])) == [("NOT_ELIGIBLE", "m14.scenario_5g")]
    assert [f.code for f in kb.audit([grant])] == []


def test_the_readings_an_audit_tries_come_from_the_kb(kb):
    policy = kb.policy
    _, findings = audited(kb, violations())
    tried = checks.alternative_readings(policy, findings)
    # the provisions' readings (they act on every item) and those of the relations joining a flagged item
    assert {"I-05", "I-08", "I-14"} <= set(tried)  # G4, G2, G1
    assert {"I-04", "I-09", "I-15"} <= set(tried)  # X-m01, X-m14, CAP-m23-suzhou
    only_cap = [f for f in findings if f.item == "m23.loan_interest"]
    narrow = set(checks.alternative_readings(policy, only_cap))
    assert "I-09" not in narrow and "I-04" not in narrow
    assert narrow >= {"I-05", "I-08", "I-14"}


def test_a_second_policy_is_audited_with_no_audit_code_of_its_own():
    """The fixture policy linhe-2024-7 has its own exclusive group and group cap: the same
    audit finds their violations from its KB alone."""
    from pathlib import Path

    import policykb

    linhe = policykb.load(path=Path(__file__).parent / "fixtures" / "linhe-2024-7")
    policy = linhe.policy
    applicant = {
        "id": "L-9",
        "name": "临河测试企业",
        "kind": "enterprise",
        "registered_in_linhe": True,
        "independent_legal_person": True,
        "size": "sme",
    }
    application = {
        "applicant": applicant,
        "year": 2024,
        "facts": [
            {"type": "recognition", "award": "demo_enterprise"},
            {"type": "recognition", "award": "smart_workshop"},
            {"type": "skills_training", "trainees": 300},
            {"type": "talent_hiring", "hires": 8},
        ],
    }
    decision = linhe.evaluate(application)
    due = {o.item.id: o.computed.high for o in decision.outcomes}  # what each item allows on its own
    cap_rel = next(r for r in policy.relations.values() if r.kind == "group_cap")
    exclusive = next(r for r in policy.relations.values() if r.kind == "exclusive")
    first, second = sorted(cap_rel.members, key=lambda i: policy.items[i].order)
    assert due[first] + due[second] > cap_rel.params["cap"]
    kept, other = sorted(exclusive.members, key=lambda i: -due[i])
    records = [
        {
            "application": application,
            "decision": {
                "decision_id": "D1",
                "decided_on": "2024-06-01",
                "granted": [{"item": kept, "amount": str(due[kept])}, {"item": other, "amount": str(due[other])}],
            },
        },
        {
            "application": application,
            "decision": {
                "decision_id": "D2",
                "decided_on": "2024-07-01",
                "granted": [{"item": first, "amount": str(due[first])}, {"item": second, "amount": str(due[second])}],
            },
        },
    ]
    found = {(f.code, f.item): f for f in linhe.audit(records)}
    g4 = policy.provision("highest_wins")
    # the two items of the exclusive group are also one G4 kind for the one subject (the applicant)
    assert set(found) == {("EXCLUSIVE_CONFLICT", other), ("OVER_GROUP_CAP", second), ("DUPLICATE_SAME_KIND", other)}
    assert found[("DUPLICATE_SAME_KIND", other)].clause["id"] == g4.id
    assert found[("EXCLUSIVE_CONFLICT", other)].clause["id"] == exclusive.id
    over = found[("OVER_GROUP_CAP", second)]
    assert over.clause["id"] == cap_rel.id and over.allowed == (0, cap_rel.params["cap"] - due[first])
    # the readings it would try are the fixture's own
    assert set(checks.alternative_readings(policy, list(found.values()))) <= set(policy.readings)
