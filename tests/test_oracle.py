"""The plain-Python condition evaluator is an oracle, never an authority.

``policykb.kb.conditions.evaluate`` is the one plain-Python evaluation of a
condition.  Here it is run beside the rules over every YAML case and 10,000 seeded
synthetic applications (0 disagreements in met items and in final outcomes), and
then made to raise: evaluate, evaluate_many and audit must give the same results,
because outcomes are decided by rule firings and the relation graph only.
"""

from __future__ import annotations

import inspect

import pytest
import yaml

from policykb.audit import synthetic as audit_synthetic
from policykb.engine.synthetic import Generator
from policykb.errors import InputError
from policykb.kb import conditions as cond
from policykb.testing import build_application

from conftest import EXAMPLES, KB_DIR

ALTERNATIVE = {
    "I-01": "no_threshold",
    "I-02": "threshold",
    "I-04": "one_project",
    "I-05": "exclusive",
    "I-06": "per_station",
    "I-07": "pro_rata",
    "I-08": "applicant",
    "I-09": "declared_only",
    "I-10": "any_enterprise",
}


def _case_documents():
    for path in sorted((KB_DIR / "cases").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        defaults = data.get("defaults") or {}
        for case in data.get("cases") or []:
            if "error" not in case:
                yield build_application(case, defaults), case.get("readings") or {}


def disagreements(kb, document, readings) -> list[str]:
    """Where the rules and the Python oracle disagree on one application."""
    evaluator = kb.evaluator
    full = kb.readings_with({k: v for k, v in readings.items() if k in kb.policy.readings})
    try:
        decision = evaluator.evaluate(document, full)
    except InputError:
        return []
    prepared = evaluator.prepare(full)
    app = decision.application
    out: list[str] = []
    # G1: the applicant is covered exactly when its rule derived $covered
    if prepared.eligibility is not cond.ALWAYS:
        python_g1 = cond.holds(prepared.eligibility, lambda n: app.applicant.get(n[10:]) if n.startswith("applicant.") else None)
        if (python_g1 is True) != decision.g1_ok:
            out.append(f"G1: python {python_g1}, rules {decision.g1_ok}")
    # met items: for every relevant (item, fact), met / unknown / false as the firings derived it
    derived = {d for f in decision.firings for d in f.derived}
    fid_of = {f.key: fid for fid, f in decision.facts_by_id.items()}
    for fact in app.facts:
        if fact.role != "item":
            continue
        fid = fid_of[fact.key]
        for item in evaluator.relevant_items(fact):
            python = cond.holds(prepared.conditions[item.id], evaluator.getter(app, fact))
            met = f"met:{item.id}:{fid}" in derived
            undetermined = f"undetermined:{item.id}:{fid}" in derived
            fired_met = any(f.rule.split("#")[0] == item.id and dict(f.matched).get("p") == fid for f in decision.firings)
            rules = True if fired_met else (None if undetermined else False)
            if python != rules:
                out.append(f"{item.id} on {fact.key}: python {python}, rules {rules} (met fact {met})")
    # final outcomes follow the verdict: false → ineligible, unknown → undetermined,
    # true → never ineligible unless G1 or G3 acted, undetermined only for a missing amount input
    periods = {p.id for p in kb.policy.provisions.values() if p.kind in ("eligibility", "period")}
    for o in decision.outcomes:
        python = cond.holds(prepared.conditions[o.item.id], evaluator.getter(app, o.fact))
        if python is False and o.status != "ineligible":
            out.append(f"{o.item.id}@{o.subject}: python false, status {o.status}")
        elif python is None and o.status != "undetermined" and not (set(o.by) & periods):
            out.append(f"{o.item.id}@{o.subject}: python unknown, status {o.status}")
        elif python is True and o.status == "ineligible" and not (set(o.by) & periods):
            out.append(f"{o.item.id}@{o.subject}: python true, status ineligible")
        elif python is True and o.status == "undetermined" and not (o.computed is None and o.missing):
            out.append(f"{o.item.id}@{o.subject}: python true, undetermined without a missing amount input")
    return out


def test_rules_and_oracle_agree_on_every_yaml_case(kb):
    found = []
    count = 0
    for document, readings in _case_documents():
        count += 1
        found += disagreements(kb, document, readings)
    assert count > 400
    assert found == []


@pytest.mark.parametrize("readings", [{}, ALTERNATIVE], ids=["defaults", "alternative"])
def test_rules_and_oracle_agree_on_synthetic_applications(kb, readings):
    found = []
    for document in Generator(kb.policy, seed=2026).applications(5000):
        found += disagreements(kb, document, readings)
        assert len(found) < 20, found
    assert found == []


def test_outcomes_do_not_depend_on_the_python_evaluator(kb, monkeypatch):
    from policykb.engine.documents import read_document

    documents = [read_document(p) for p in EXAMPLES] + list(Generator(kb.policy, seed=5).applications(200))
    records = audit_synthetic.clean_records(kb, 60, seed=7)
    broken, _, _ = audit_synthetic.inject(kb, records, seed=11)
    before_one = [kb.evaluate(d).to_json() for d in documents]
    before_many = kb.evaluate_many(documents, workers=1)
    before_audit = [f.to_dict() for f in kb.audit(records)] + [f.to_dict() for f in kb.audit(broken)]

    def refuse(*_, **__):
        raise AssertionError("the plain-Python condition evaluator was asked to decide")

    original = cond.evaluate
    monkeypatch.setattr(cond, "evaluate", refuse)
    with pytest.raises(AssertionError):
        cond.holds(cond.ALWAYS, lambda n: None)
    # a fresh evaluator, so nothing prepared before the patch is reused
    from policykb.engine.evaluate import Evaluator

    monkeypatch.setattr(kb, "_evaluator", Evaluator(kb.policy))
    assert [kb.evaluate(d).to_json() for d in documents] == before_one
    assert kb.evaluate_many(documents, workers=1) == before_many

    # The audit decides every finding with the same rules and graph; it asks the Python
    # evaluator only to *word* why a grant's conditions fail (NOT_ELIGIBLE's reason).
    callers: set[str] = set()

    def word_only(node, get):
        callers.add(inspect.stack()[2].function)
        return original(node, get)

    monkeypatch.setattr(cond, "evaluate", word_only)
    assert [f.to_dict() for f in kb.audit(records)] + [f.to_dict() for f in kb.audit(broken)] == before_audit
    assert callers <= {"failed_reasons"}, callers
