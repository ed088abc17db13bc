"""The engine's guarantees: determinism, the durable_rules traps (numbered as in
docs/durable_rules.md), batches, and the
consistency of the rules with the Python reference evaluation."""

from __future__ import annotations

import copy
import random
import subprocess
import sys
import threading

import pytest

from policykb.engine import rules_engine
from policykb.engine.application import parse_application
from policykb.engine.rules_engine import RulesEngine, fnv1a32
from policykb.engine.synthetic import Generator
from policykb.errors import EngineError, InputError
from policykb.kb.schema import MAX_FACTS

from conftest import ROOT


def test_shuffled_facts_give_identical_bytes(kb, example_documents):
    rng = random.Random(3)
    for name, doc in example_documents.items():
        reference = kb.evaluate(doc).to_json()
        for _ in range(5):
            shuffled = copy.deepcopy(doc)
            rng.shuffle(shuffled["facts"])
            for fact in shuffled["facts"]:  # key order inside a fact does not matter either
                items = list(fact.items())
                rng.shuffle(items)
                fact.clear()
                fact.update(items)
            assert kb.evaluate(shuffled).to_json() == reference, name


def test_output_is_identical_across_hash_seeds_and_processes(tmp_path):
    example = ROOT / "examples" / "precision-machinery-sme.json"
    outputs = set()
    for seed in ("0", "1", "12345", "random"):
        proc = subprocess.run(
            [sys.executable, "-m", "policykb", "evaluate", str(example), "--format", "json"],
            capture_output=True,
            text=True,
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
            cwd=tmp_path,
        )
        assert proc.returncode == 0, proc.stderr
        outputs.add(proc.stdout)
    assert len(outputs) == 1


def test_synthetic_decisions_are_stable_under_shuffling(kb):
    rng = random.Random(8)
    for doc in Generator(kb.policy, seed=99).applications(60):
        reference = kb.evaluate(doc).to_json()
        shuffled = copy.deepcopy(doc)
        rng.shuffle(shuffled["facts"])
        assert kb.evaluate(shuffled).to_json() == reference


def test_an_evaluation_where_no_rule_fires(kb):
    """Only $begin fires (trap 4: delete_state after nothing fired used to segfault): not
    covered by G1, and a year outside G3's period, so no provision rule fires either."""
    doc = {
        "applicant": {
            "id": "X",
            "name": "无",
            "kind": "research_institution",
            "registered_in_taicang": False,
            "independent_legal_person": False,
            "industrial": False,
            "size": "large",
        },
        "year": 2020,
        "facts": [],
    }
    decision = kb.evaluate(doc)
    assert decision.outcomes == [] and decision.firings == []
    assert decision.to_dict()["totals"] == {"min": "0.00", "max": "0.00"}


def test_more_evaluations_than_durable_rules_has_sessions(kb, example_documents):
    """1,100 evaluations in one process: more than the 1,024 live sids of a ruleset (trap 12)."""
    doc = example_documents["software-firm"]
    reference = kb.evaluate(doc).to_json()
    for _ in range(1100):
        decision = kb.evaluate(doc)
    assert decision.to_json() == reference


def test_four_threads_at_once_agree_with_one(kb):
    docs = list(Generator(kb.policy, seed=4).applications(40))
    expected = [kb.evaluate(d).to_json() for d in docs]
    results: dict[int, list[str]] = {}
    errors = []

    def worker(n: int) -> None:
        try:
            results[n] = [kb.evaluate(d).to_json() for d in docs]
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(results[n] == expected for n in range(4))


@pytest.mark.parametrize("second,refused", [("fact-909936", True), ("fact-25389", False)])
def test_durable_rules_identifies_facts_by_fnv1a32(kb, example_documents, second, refused):
    """rules_engine checks at import that the ids f0…f4095 have distinct fnv1a32 hashes (trap 11);
    that check holds only if fnv1a32 is the engine's identity: two ids with one hash are one
    fact to durable_rules (the second refused as already seen), ids with two hashes are two."""
    first = "fact-25388"
    assert (fnv1a32(first) == fnv1a32(second)) is refused
    app = parse_application(kb.policy, example_documents["software-firm"])
    facts, _ = kb.evaluator.engine_facts(app)
    facts[1]["id"], facts[2]["id"] = first, second
    prepared = kb.evaluator.prepare(kb.default_readings())
    if refused:
        with pytest.raises(EngineError, match="already been observed"):
            kb.evaluator.engine.run(prepared.ruleset, facts)
    else:
        assert kb.evaluator.engine.run(prepared.ruleset, facts)


def test_the_largest_application_stays_within_the_checked_fact_ids():
    # the applicant's fact and MAX_FACTS facts: all among the ids whose hashes were checked at import
    assert MAX_FACTS + 1 <= rules_engine._MAX_FACTS


def test_engine_errors_become_engine_errors():
    engine = RulesEngine()
    with pytest.raises(EngineError, match="not registered"):
        engine.run("nope", [])
    with pytest.raises(EngineError, match="refused ruleset"):
        engine.register("bad", {"r": {"all": [{"p": {"t": "x"}}]}})  # no action


def test_a_duplicate_fact_id_is_an_engine_error_not_a_crash(kb, example_documents):
    evaluator = kb.evaluator
    app = parse_application(kb.policy, example_documents["software-firm"])
    facts, _ = evaluator.engine_facts(app)
    facts[2]["id"] = facts[1]["id"]
    prepared = evaluator.prepare(kb.default_readings())
    with pytest.raises(EngineError):
        evaluator.engine.run(prepared.ruleset, facts)
    # the engine is still usable afterwards
    assert kb.evaluate(example_documents["software-firm"]).outcomes


def test_rules_agree_with_the_python_reference_on_synthetic_applications(kb):
    """Every fired rule's conditions hold in Python, and no relevant fact whose conditions
    hold was missed (the pipeline raises EngineError on a miss)."""
    from policykb.kb import conditions as cond

    evaluator = kb.evaluator
    for readings in (
        {},
        {"I-01": "no_threshold", "I-02": "threshold", "I-06": "per_station", "I-07": "pro_rata", "I-10": "any_enterprise"},
    ):
        full = kb.readings_with(readings)
        prepared = evaluator.prepare(full)
        for doc in Generator(kb.policy, seed=21).applications(300):
            decision = evaluator.evaluate(doc, full)
            for o in decision.outcomes:
                verdict = cond.holds(prepared.conditions[o.item.id], evaluator.getter(decision.application, o.fact))
                assert (verdict is True) == bool(o.rules), (o.item.id, o.fact.key)


def test_evaluate_many_keeps_input_order_and_reports_bad_applications(kb, example_documents):
    docs = [example_documents[n] for n in sorted(example_documents)] * 30
    bad = copy.deepcopy(docs[0])
    bad["facts"][0]["type"] = "nonsense"
    docs.insert(7, bad)
    serial = kb.evaluate_many(docs, workers=1)
    parallel = kb.evaluate_many(docs, workers=2)
    assert serial == parallel
    assert serial[7]["index"] == 7 and serial[7]["error"]["kind"] == "InputError"
    assert serial[7]["error"]["problems"][0]["where"] == "facts[0].type"
    assert serial[0] == kb.evaluate(docs[0]).to_dict()
    with pytest.raises(InputError):
        kb.evaluate_many(docs, workers=0)
