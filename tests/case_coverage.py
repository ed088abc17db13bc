"""What the YAML cases next to the KB still fail to cover.

Every case is evaluated; the report lists, per item, what is missing:

- a case in which the item qualifies (eligible, reduced, service or discretionary)
  and one in which it is ineligible;
- for every numeric threshold in its conditions (under every reading): a case
  with the field exactly at the threshold and one just past it on the other side
  (one fen for money, one unit for counts), in a case that states an expectation
  for the item;
- for an item cap and a range floor: an outcome whose amount before the cap (or
  the floor) lies within one fen of it, and one beyond it;
- for every relation and provision G1–G4: an expectation naming it in ``by``
  (complementary relations: both members eligible for one subject);
- for every reading option: a case that selects it (the default counts when no
  case overrides the reading).

Run ``python tests/case_coverage.py [prefix …]`` for the report of some items;
``tests/test_case_coverage.py`` asserts that nothing is missing.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

import yaml

from policykb.api import load
from policykb.engine.amounts import compute
from policykb.errors import InputError
from policykb.kb import conditions as cond
from policykb.kb.model import Switch
from policykb.testing import build_application

ROOT = Path(__file__).resolve().parent.parent
KB = ROOT / "kb" / "taicang-2021-3"
CASES = KB / "cases"


def load_cases():
    out = []
    for path in sorted(CASES.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        defaults = data.get("defaults") or {}
        for case in data.get("cases") or []:
            out.append((path.name, case, build_application(case, defaults)))
    return out


def unit(field_type: str) -> Decimal:
    return Decimal("0.01") if field_type == "money" else Decimal(1)


def report(prefixes: tuple[str, ...] = ()) -> dict[str, list[str]]:
    kb = load(path=KB)
    policy = kb.policy
    cases = load_cases()
    missing: dict[str, list[str]] = {}

    def need(key: str, what: str) -> None:
        missing.setdefault(key, []).append(what)

    evaluated = []  # (file, case, decision)
    used_options: set[tuple[str, str]] = set()
    for fname, case, document in cases:
        readings = case.get("readings") or {}
        full = kb.readings_with(readings)
        used_options.update(full.items())
        if "error" in case:
            continue
        try:
            evaluated.append((fname, case, kb.evaluate(document, readings)))
        except InputError as exc:
            need(f"{fname}: {case.get('name')}", f"its input is refused: {exc}")

    expected_by: set[str] = set()
    statuses: dict[str, set[str]] = {}
    expected_items_per_case: list[set[str]] = []
    for _, case, decision in evaluated:
        items = set()
        for e in case.get("expect") or []:
            items.add(e.get("item"))
            expected_by.update(e.get("by") or [])
            if "status" in e:
                statuses.setdefault(e["item"], set()).add(e["status"])
        expected_items_per_case.append(items)

    for item in policy.items.values():
        if prefixes and not item.id.startswith(prefixes):
            continue
        seen = statuses.get(item.id, set())
        if not seen & {"eligible", "reduced", "service", "discretionary"}:
            need(item.id, "a case where it qualifies")
        if "ineligible" not in seen:
            need(item.id, "a case where it is ineligible")
        facts = []  # (fact values, fact type) in cases that expect this item
        outcomes = []
        for (_, case, decision), items in zip(evaluated, expected_items_per_case):
            for o in decision.outcomes:
                if o.item.id == item.id:
                    outcomes.append((o, decision))
            if item.id in items:
                facts += [f for f in decision.application.facts if f.type == item.fact]
        for c in cond.compares(item.conditions):
            if c.op not in ("gt", "gte", "lt", "lte") or c.field.startswith("applicant."):
                continue
            spec = policy.vocabulary.field(item.fact, c.field)
            step = unit(spec.type)
            if c.ref:
                at = [f for f in facts if f.get(c.field) is not None and f.get(c.ref) is not None and f.get(c.field) == f.get(c.ref)]
                other = -step if c.op in ("gte", "lt") else step
                past = [
                    f for f in facts if f.get(c.field) is not None and f.get(c.ref) is not None and f.get(c.field) == f.get(c.ref) + other
                ]
                if not at:
                    need(item.id, f"{c.field} exactly equal to {c.ref}")
                if not past:
                    need(item.id, f"{c.field} = {c.ref} {'−' if other < 0 else '+'}{abs(other)}")
                continue
            threshold = Decimal(c.value)
            other = threshold - step if c.op in ("gte", "lt") else threshold + step
            values = {Decimal(f.get(c.field)) for f in facts if f.get(c.field) is not None}
            if threshold not in values:
                need(item.id, f"{c.field} exactly at {threshold} ({c.op})")
            if other not in values:
                need(item.id, f"{c.field} just past the boundary, at {other}")
        amounts = item.amount.cases.values() if isinstance(item.amount, Switch) else [item.amount]
        for amount in amounts:
            bounded = [(label, s) for label, s in (("cap", amount.cap), ("floor", amount.floor)) if s is not None]
            if amount.kind not in ("ceiling", "exact", "range") or (amount.fixed is not None):
                continue
            for label, bound in bounded:
                near = beyond = False
                for o, decision in outcomes:
                    if o.verdict is not True:
                        continue
                    get = lambda name, f=o.fact, a=decision.application: (
                        a.applicant.get(name[10:]) if name.startswith("applicant.") else f.get(name)
                    )
                    raw = _uncapped(amount, get, decision.readings, label)
                    if raw is None:
                        continue
                    if abs(raw - bound.value) < Decimal("0.01"):
                        near = True
                    if (label == "cap" and raw > bound.value) or (label == "floor" and raw < bound.value):
                        beyond = True
                if not near:
                    need(item.id, f"an amount before the {label} within one fen of {bound.value}")
                if not beyond:
                    need(item.id, f"an amount beyond the {label} {bound.value}")

    if not prefixes:
        for rel in policy.relations.values():
            if rel.kind == "complementary":
                ok = False
                for _, _, decision in evaluated:
                    pairs = {(o.item.id, o.subject) for o in decision.outcomes if o.status in ("eligible", "reduced")}
                    ms = rel.members
                    subjects = {s for (i, s) in pairs if i == ms[0]} & {s for (i, s) in pairs if i == ms[1]}
                    ok = ok or bool(subjects)
                if not ok:
                    need(rel.id, "a case where both members are paid for one subject")
            elif rel.id not in expected_by:
                need(rel.id, "an expectation naming it in by")
        for prov in policy.provisions.values():
            if prov.kind != "authority" and prov.id not in expected_by:
                need(prov.id, "an expectation naming it in by")
        for rid, reading in policy.readings.items():
            for option in reading.options:
                if (rid, option) not in used_options:
                    need(rid, f"a case with {rid}={option}")
    return missing


def _uncapped(amount, get, readings, label):
    """The amount before the cap (label cap) or before the floor (label floor)."""
    from dataclasses import replace

    if label == "cap":
        computed = compute(replace(amount, cap=None), get, readings)
        return computed.high if computed.low is not None or computed.high is not None else None
    computed = compute(replace(amount, floor=None, cap=None, kind="exact" if amount.kind == "ceiling" else amount.kind), get, readings)
    return computed.low


if __name__ == "__main__":
    result = report(tuple(sys.argv[1:]))
    for key, whats in sorted(result.items()):
        print(key)
        for what in whats:
            print(f"  - {what}")
    print(f"{sum(len(v) for v in result.values())} gaps" if result else "nothing missing")
