"""The inference core: rules that chain, the relation graph, process and memory hygiene."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

import policykb
from policykb.engine import compiler as comp

from conftest import KB_DIR


def _prior(item, amount, subject, year=2021):
    return {"type": "prior_award", "subject": subject, "source": "this_policy", "item": item, "year": year, "amount": amount}


# -- the rules chain ------------------------------------------------------------------


def test_item_rules_derive_met_facts_that_relation_rules_join(kb, example_documents):
    decision = kb.evaluate(example_documents["precision-machinery-sme"])
    by_rule = {}
    for firing in decision.firings:
        by_rule.setdefault(firing.rule, []).append(firing)
    # each item firing derived a $met fact; a relation rule joined two derived facts
    assert all(f.derived and f.derived[0].startswith(("met:", "undetermined:")) for f in by_rule["m01.equipment"])
    derived = {d for f in decision.firings for d in f.derived}
    requires = by_rule["~requires#1"]
    assert requires and all(dict(f.matched)["a"] in derived and dict(f.matched)["b"] in derived for f in requires)
    edges = [d for _, _, d in decision.graph.edges(data=True) if d["kind"] == "satisfies"]
    assert {e["relation"] for e in edges} == {"R-m23"}
    # the exclusive group is the relation's member edges, one per outcome
    members = [b for a, b, d in decision.graph.out_edges("clause:X-m01", data=True) if d["kind"] == "member"]
    assert sorted(members) == sorted(
        f"outcome:{o.item.id}@{o.subject}" for o in decision.outcomes if o.item.id.startswith("m01.") and o.verdict is True
    )


def test_relation_rules_stay_linear_in_the_facts_of_one_application(kb):
    """Hostile input: many projects of one enterprise-year must not make pairwise joins."""

    def firings(n):
        doc = {
            "applicant": {
                "id": "A",
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
                    "subject": f"P{i}",
                    "equipment_investment": 5000000 + i,
                    "demo_listed": True,
                    "robot_system": True,
                }
                for i in range(n)
            ]
            + [_prior("m01.equipment", 1000, f"Q{i}", 2022) for i in range(n)],
        }
        return len(kb.evaluate(doc).firings)

    small, large = firings(50), firings(400)
    assert large <= 8 * small + 20  # 8 times the facts: at most 8 times the firings


def test_a_missing_field_is_undetermined_by_a_rule(kb):
    doc = {
        "applicant": {
            "id": "A",
            "name": "甲",
            "kind": "enterprise",
            "registered_in_taicang": True,
            "independent_legal_person": True,
            "industrial": True,
            "size": "sme",
        },
        "year": 2022,
        "facts": [{"type": "transformation_project", "subject": "P1", "demo_listed": True}],
    }
    decision = kb.evaluate(doc)
    o = decision.outcome("m01.equipment")
    assert o.status == "undetermined" and o.missing == ["equipment_investment"]
    fired = {f.rule for f in decision.firings}
    assert "?m01.equipment" in fired and "m01.equipment" not in fired
    # a false comparison beside the missing field: the unknown rule does not fire, the item is ineligible
    doc["facts"][0]["demo_listed"] = False
    assert kb.evaluate(doc).outcome("m01.demo").status == "ineligible"


def test_unknown_rules_fire_once_per_fact_however_many_fields_are_missing(kb):
    doc = {
        "applicant": {
            "id": "A",
            "name": "甲",
            "kind": "enterprise",
            "registered_in_taicang": True,
            "independent_legal_person": True,
            "industrial": True,
            "size": "sme",
        },
        "year": 2022,
        "facts": [{"type": "transformation_project", "subject": "P1"}],
    }
    decision = kb.evaluate(doc)
    derived = [d for f in decision.firings for d in f.derived]
    assert len(derived) == len(set(derived))  # $or fired per branch, yet each fact is derived once


def test_the_graph_resolves_take_the_highest_from_edges(kb):
    doc = {
        "applicant": {
            "id": "A",
            "name": "甲",
            "kind": "enterprise",
            "registered_in_taicang": True,
            "independent_legal_person": True,
            "industrial": True,
            "size": "sme",
        },
        "year": 2022,
        "facts": [
            {"type": "cloud_star_rating", "subject": "A", "stars": 3, "actual_investment": 50000},
            {"type": "cloud_star_rating", "subject": "A", "stars": 5, "actual_investment": 50000},
        ],
    }
    decision = kb.evaluate(doc)
    edges = [(a, b, d) for a, b, d in decision.graph.edges(data=True) if d["kind"] == "highest"]
    assert [(a, b, d["relation"]) for a, b, d in edges] == [("outcome:m04.cloud_star3@A", "outcome:m04.cloud_star5@A", "H-m04")]
    statuses = {o.item.id: (o.status, o.by) for o in decision.outcomes}
    assert statuses == {"m04.cloud_star3": ("excluded", ["H-m04"]), "m04.cloud_star5": ("eligible", [])}


def test_a_prior_award_of_zero_reduces_nothing(kb):
    doc = {
        "applicant": {
            "id": "A",
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
                "equipment_investment": 10000000,
                "demo_listed": False,
                "robot_system": False,
            },
            _prior("m01.equipment", 0, "P1"),
        ],
    }
    o = kb.evaluate(doc).outcome("m01.equipment")
    assert o.status == "eligible" and o.high == 600000 and o.by == []
    doc["facts"][1]["amount"] = "0.01"
    o = kb.evaluate(doc).outcome("m01.equipment")
    assert o.status == "reduced" and str(o.high) == "599999.99" and o.by == ["G4"]


# -- process and memory hygiene ----------------------------------------------------------


def test_load_returns_the_same_knowledge_base_for_the_same_content():
    first = policykb.load(path=KB_DIR)
    assert policykb.load(path=KB_DIR) is first
    assert policykb.load() is policykb.load()


def test_the_orjson_shim_is_confined_to_the_wrapper(kb, example_documents):
    import durable.engine

    kb.evaluate(example_documents["precision-machinery-sme"])
    assert durable.engine.json is json  # outside the wrapper's calls durable_rules sees the stdlib
    assert json.dumps({"a": 1}, ensure_ascii=False) == '{"a": 1}'


def test_pools_never_fork():
    from policykb.engine.batch import pool_context

    assert pool_context().get_start_method() in ("forkserver", "spawn")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_process_forked_while_another_thread_evaluates_does_not_hang(kb, example_documents):
    doc = example_documents["precision-machinery-sme"]
    reference = kb.evaluate(doc).to_json()
    stop = threading.Event()

    def busy():
        while not stop.is_set():
            kb.evaluate(doc)

    thread = threading.Thread(target=busy, daemon=True)
    thread.start()
    try:
        for _ in range(40):  # enough forks to land inside the engine, a graph, a lock
            time.sleep(0.003)
            pid = os.fork()
            if pid == 0:  # the child: evaluate, report by exit code, never return into pytest
                try:
                    os._exit(0 if kb.evaluate(doc).to_json() == reference else 1)
                except BaseException:
                    os._exit(2)
            deadline = time.monotonic() + 30
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
                if time.monotonic() > deadline:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                    pytest.fail("the forked child hung on the engine's lock")
                time.sleep(0.01)
            assert os.waitstatus_to_exitcode(status) == 0
    finally:
        stop.set()
        thread.join()


def test_compiled_rules_carry_the_three_layers(kb):
    prepared = kb.evaluator.prepare(kb.default_readings())
    kinds = {info.kind for info in prepared.rules.values()}
    assert {"provision", "period", "item", "unknown", "relation"} <= kinds
    assert comp.MET_TYPE == "$met"


# -- the decision carries its provenance ------------------------------------------------


def test_the_provenance_serialises_and_reads_back(kb, example_documents):
    from policykb.engine import provenance

    decision = kb.evaluate(example_documents["precision-machinery-sme"])
    data = json.loads(decision.to_json(include_trace=True))
    trace = data["trace"]
    derived_ids = {f["id"] for f in trace["derived"]}
    assert all(set(f["derived"]) <= derived_ids for f in trace["firings"])
    assert {d for f in trace["firings"] for d in f["derived"]} == derived_ids  # every derived fact has its firing
    graph = provenance.from_data(trace["graph"])
    assert sorted(graph.nodes) == sorted(decision.graph.nodes)
    assert graph.number_of_edges() == decision.graph.number_of_edges()
    # the resolution is in the graph: each excluded outcome has an edge from what excluded it
    for o in decision.outcomes:
        if o.status == "excluded":
            acted = {d["by"] for _, _, d in graph.in_edges(f"outcome:{o.item.id}@{o.subject}", data=True) if d["kind"] == "acted"}
            assert set(o.by) <= acted
    assert "trace" not in decision.to_dict()  # the JSON contract is unchanged without the flag


def test_evaluate_prints_the_provenance_graph_as_dot(cli):
    from conftest import ROOT

    run = cli("evaluate", ROOT / "examples" / "security-service.json", "--format", "dot")
    assert run.code == 0 and run.out.startswith("digraph provenance {")
    assert '"clause:G2" -> "outcome:m25.security_pilot@SP-PORT" [label="excluded by G2"' in run.out


def test_a_join_on_a_field_the_bound_fact_lacks_is_guarded():
    """durable_rules 2.0.28 raises error 311 on an ordering join whose bound fact lacks the
    field (docs/engine.md); the relation rules test every joined field with $ex."""
    from policykb.engine.rules_engine import RulesEngine
    from policykb.errors import EngineError

    def run(guard: bool):
        engine = RulesEngine()
        a = {"$and": [{"t": "$met"}, {"$ex": {"year": 1}}]} if guard else {"t": "$met"}
        engine.register(
            "join311",
            {
                "j": {"all": [{"a": a}, {"p": {"$and": [{"t": "prior"}, {"$lte": {"year": {"a": "year"}}}]}}], "run": "j"},
                "$begin": {"all": [{"m": {"t": "$begin"}}], "run": "$begin"},
                "$sink": {"all": [{"x": {"$ex": {"t": 1}}}, {"n": {"t": "$never"}}], "run": "$sink"},
            },
        )
        return engine.run("join311", [{"id": "f1", "t": "$met"}, {"id": "f2", "t": "prior", "year": 2020}])

    with pytest.raises(EngineError, match="311"):
        run(guard=False)
    assert run(guard=True) == []
    from policykb.engine.relation_rules import relation_rules

    kb = policykb.load(path=KB_DIR)
    for name, (rule, _) in relation_rules(kb.policy, kb.evaluator.prepare(kb.default_readings()).keys).items():
        present: dict[str, set] = {}
        references: list[tuple[str, str, str]] = []  # (binding, its field, the bound fact's binding and field)
        for pattern in rule["all"]:
            ((binding, test),) = pattern.items()
            tests = test["$and"]
            present[binding] = {n for t in tests for n in t.get("$ex", {})}
            for t in tests:
                for op, body in t.items():
                    pairs = body.items() if op.startswith("$") and isinstance(body, dict) else [(op, body)]
                    for field, value in pairs:
                        if isinstance(value, dict) and len(value) == 1 and not next(iter(value)).startswith("$"):
                            ((other, other_field),) = value.items()
                            references.append((binding, field, f"{other}.{other_field}"))
        assert references or len(rule["all"]) == 1, name  # a one-fact rule (a grant's membership) joins nothing
        for binding, field, ref in references:
            other, other_field = ref.split(".")
            assert field in present[binding] and other_field in present[other], (name, binding, field, ref)


def test_kb_check_refuses_an_item_in_two_relations_of_one_kind(kb):
    import dataclasses

    from policykb.engine.relation_rules import key_problems

    assert key_problems(kb.policy) == []
    h = kb.policy.relations["H-m16"]
    twin = dataclasses.replace(h, id="H-twin")
    policy = dataclasses.replace(kb.policy, relations={**kb.policy.relations, "H-twin": twin})
    problems = key_problems(policy)
    assert problems and all("H-m16" in p and "H-twin" in p for p in problems)


def test_the_provenance_does_not_depend_on_how_many_evaluations_came_before(kb, example_documents):
    document = example_documents["ic-company"]
    first = kb.evaluate(document).to_json(include_trace=True)
    for other in example_documents.values():
        kb.evaluate(other)
    assert kb.evaluate(document).to_json(include_trace=True) == first
    assert '"sid"' not in first
