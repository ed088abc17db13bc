"""Seeded synthetic applications: realistic mixes of facts with values at the boundaries.

Used by the benchmark and by the consistency self-check.  Everything comes from
the KB (fact types, fields, enum values, the thresholds in conditions), so a new
policy gets a generator for free.  The same seed gives the same applications.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any, Iterator

from policykb.kb import conditions as cond
from policykb.kb.model import FieldSpec, Policy


def thresholds(policy: Policy) -> dict[tuple[str, str], list]:
    """Every literal a condition compares a field with, keyed by (fact type, field)."""
    found: dict[tuple[str, str], list] = {}
    for item in policy.items.values():
        for c in cond.compares(item.conditions):
            if c.ref or c.field.startswith("applicant."):
                continue
            values = c.value if isinstance(c.value, tuple) else (c.value,)
            bucket = found.setdefault((item.fact, c.field), [])
            for v in values:
                if v not in bucket:
                    bucket.append(v)
    return found


class Generator:
    def __init__(self, policy: Policy, seed: int = 2021):
        self.policy = policy
        self.rng = random.Random(seed)
        self.thresholds = thresholds(policy)
        self.item_types = [n for n, t in policy.vocabulary.fact_types.items() if t.role == "item"]
        self.counter = 0
        # the field that tells apart facts of one type and subject (award, level …), as validation has it
        self.selectors = {n: next(iter({f for i in policy.items.values() if i.fact == n for f in i.select}), None)
                          for n in self.item_types}

    def value(self, fact_type: str, spec: FieldSpec) -> Any:
        rng = self.rng
        near = self.thresholds.get((fact_type, spec.name), [])
        t = spec.type
        if t == "bool":
            return rng.random() < 0.75
        if t == "enum":
            values = list(spec.values or {})
            return rng.choice(values)
        if t in ("integer", "count", "year"):
            low = spec.minimum if spec.minimum is not None else 0
            high = spec.maximum if spec.maximum is not None else 500
            numeric = [v for v in near if isinstance(v, int)]
            if numeric and rng.random() < 0.7:
                base = rng.choice(numeric)
                return max(low, base + rng.choice((-1, 0, 1, 1, 2, 50)))
            return rng.randint(low, high)
        if t == "money":
            numeric = [v for v in near if isinstance(v, Decimal)]
            if numeric and rng.random() < 0.6:
                base = rng.choice(numeric)
                delta = rng.choice((Decimal("-0.01"), Decimal(0), Decimal("0.01"), Decimal(1), Decimal(250000)))
                return f"{max(Decimal(0), base + delta):.2f}"
            return rng.choice((rng.randint(0, 50) * 100000, rng.randint(0, 99999999), rng.randint(1, 3000) * 10000))
        return f"T{rng.randint(1, 99)}"

    def fact(self, fact_type: str, subject: str) -> dict:
        ft = self.policy.vocabulary.fact_types[fact_type]
        out: dict[str, Any] = {"type": fact_type, "subject": subject}
        for name, spec in ft.fields.items():
            if self.rng.random() < 0.04:  # sometimes a field is missing: undetermined
                continue
            out[name] = self.value(fact_type, spec)
        if self.rng.random() < 0.03:
            out["date"] = self.rng.choice(("2020-12-31", "2021-01-01", "2023-12-31", "2024-01-01"))
        return out

    def application(self, facts: int | None = None) -> dict:
        rng = self.rng
        self.counter += 1
        n = facts if facts is not None else rng.randint(6, 16)
        kind = rng.choices(("enterprise", "social_organisation", "research_institution", "public_institution", "branch"), (88, 8, 2, 1, 1))[0]
        applicant = {
            "id": f"SYN{self.counter:07d}",
            "name": f"合成申请人{self.counter}",
            "kind": kind,
            "registered_in_taicang": rng.random() < 0.97,
            "independent_legal_person": rng.random() < 0.97,
            "industrial": rng.random() < 0.7,
            "size": rng.choice(("sme", "sme", "large")),
            "software_it_service": rng.random() < 0.3,
            "integrated_circuit": rng.random() < 0.1,
        }
        year = rng.choices((2020, 2021, 2022, 2023, 2024), (2, 30, 35, 30, 3))[0]
        facts_out = []
        subjects = [f"S{i}" for i in range(1, max(3, n // 2))]
        seen = set()
        for i in range(n):
            fact_type = rng.choice(self.item_types)
            fact = self.fact(fact_type, rng.choice(subjects) + f"-{fact_type[:3]}{i % 3}")
            selector = self.selectors.get(fact_type)
            # one fact per type, subject and selector value (two would be two views of one thing)
            signature = (fact_type, fact["subject"], fact.get(selector) if selector else None)
            if signature not in seen:
                seen.add(signature)
                facts_out.append(fact)
        item_ids = list(self.policy.items)
        if rng.random() < 0.25:
            same = rng.choice(facts_out)
            facts_out.append({
                "type": "prior_award", "subject": same["subject"],
                "source": rng.choice(("this_policy", "this_policy", "suzhou", "taicang")),
                "item": rng.choice(item_ids), "year": year - rng.choice((0, 1)),
                "amount": rng.choice((50000, 100000, 200000, 1500000)), "smart_digital": rng.random() < 0.5,
            })
        if rng.random() < 0.05:
            facts_out.append({"type": "case_by_case_support", "subject": rng.choice(facts_out)["subject"]})
        return {"applicant": applicant, "year": year, "facts": facts_out}

    def applications(self, count: int, facts: int | None = None) -> Iterator[dict]:
        for _ in range(count):
            yield self.application(facts)
