"""The consistency self-check: the rules engine against the Python reference.

For every outcome of every evaluated application, the item's declarative
conditions are re-evaluated one by one in plain Python; the verdict must be "met"
exactly when the engine fired a rule for that fact.  The applicant's G1 check, and
the covers of G1 that admit the applicant for some items (I-14), are compared the same way.  Returns the disagreements (none is the only good answer).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from policykb.kb import conditions as cond
from policykb.kb.model import resolve


def _applicant_getter(applicant: Mapping[str, Any]) -> Callable[[str], Any]:
    """Read ``applicant.x`` fields (the only ones G1 and its covers read)."""
    return lambda name: applicant.get(name[10:]) if name.startswith("applicant.") else None


def disagreements(kb, documents: Iterable[Any], readings: Mapping[str, str] | None = None) -> list[dict]:
    evaluator = kb.evaluator
    full = kb.readings_with(readings)
    prepared = evaluator.prepare(full)
    g1 = kb.policy.provision("eligibility")
    out = []
    for index, document in enumerate(documents):
        decision = evaluator.evaluate(document, full)
        app = decision.application
        if g1 is not None:
            applicant_get = _applicant_getter(app.applicant)
            python_g1 = cond.holds(prepared.eligibility, applicant_get)
            if (python_g1 is True) != decision.g1_ok:
                out.append({"index": index, "item": g1.id, "subject": app.applicant["id"], "engine": decision.g1_ok, "python": python_g1})
            python_covered = set()
            for cover in resolve(g1.params.get("covers", ()), full) or ():
                if cond.holds(cond.resolve(cover.conditions, full), applicant_get) is True:
                    python_covered.update(cover.items)
            if python_covered != set(decision.covered):
                out.append(
                    {
                        "index": index,
                        "item": f"{g1.id} covers",
                        "subject": app.applicant["id"],
                        "engine": sorted(decision.covered),
                        "python": sorted(python_covered),
                    }
                )
        for o in decision.outcomes:
            python = cond.holds(prepared.conditions[o.item.id], evaluator.getter(app, o.fact))
            engine = bool(o.rules)
            if engine != (python is True):
                out.append(
                    {"index": index, "item": o.item.id, "subject": o.subject, "fact": o.fact.key, "engine": engine, "python": python}
                )
    return out
