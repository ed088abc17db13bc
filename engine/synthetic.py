"""Seeded synthetic applications: realistic mixes of facts with values at the boundaries.

Used by the benchmark and by the consistency self-check.  Everything comes from
the KB (fact types, fields, enum values, the thresholds in conditions), so a new
policy gets a generator for free.  The same seed gives the same applications.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from policykb.kb import conditions as cond
from policykb.kb.model import OWN_SOURCE, FieldSpec, Policy
from policykb.vocabulary import ProvisionKind


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


def admitted(policy: Policy) -> dict[str, list]:
    """Per applicant field, the values the eligibility provision's comparisons admit (eq, in)."""
    provision = policy.provision(ProvisionKind.ELIGIBILITY)
    found: dict[str, list] = {}
    for c in cond.compares(provision.conditions if provision is not None else None):
        if c.ref or not c.field.startswith("applicant.") or c.op not in ("eq", "in"):
            continue
        bucket = found.setdefault(c.field[len("applicant.") :], [])
        bucket.extend(v for v in (c.value if c.op == "in" else (c.value,)) if v not in bucket)
    return found


def _context_type(policy: Policy, kind: ProvisionKind) -> str | None:
    provision = policy.provision(kind)
    return provision.params.get("fact") if provision is not None else None


class Generator:
    def __init__(self, policy: Policy, seed: int = 2021):
        self.policy = policy
        self.rng = random.Random(seed)
        self.thresholds = thresholds(policy)
        self.item_types = [n for n, t in policy.vocabulary.fact_types.items() if t.role == "item"]
        self.counter = 0
        # the field that tells apart facts of one type and subject (award, level …), as validation has it
        self.selectors = {n: next(iter({f for i in policy.items.values() if i.fact == n for f in i.select}), None) for n in self.item_types}
        self.admitted = admitted(policy)
        # years around the period in force, and the days at its edges
        start, end = policy.in_force
        period = policy.provision(ProvisionKind.PERIOD)
        if period is not None:
            start, end = period.params["from"], period.params["to"]
        self.years = list(range(start.year - 1, end.year + 2))
        self.year_weights = [2] + [30] * (end.year - start.year + 1) + [3]
        one = dt.timedelta(days=1)
        self.edge_dates = tuple(d.isoformat() for d in (start - one, start, end, end + one))
        # the context fact types of awards already granted and of case-by-case support
        self.prior = _context_type(policy, ProvisionKind.HIGHEST_WINS)
        self.support = _context_type(policy, ProvisionKind.CASE_BY_CASE)

    def value(self, fact_type: str, spec: FieldSpec) -> Any:
        rng = self.rng
        near = self.thresholds.get((fact_type, spec.name), [])
        t = spec.type
        if t == "bool":
            return rng.random() < 0.75
        if t == "enum":
            return rng.choice(list(spec.values or {}))
        if t in ("integer", "count", "year"):
            return self.whole(spec, [v for v in near if isinstance(v, int)])
        if t == "money":
            return self.money([v for v in near if isinstance(v, Decimal)])
        return f"T{rng.randint(1, 99)}"

    def whole(self, spec: FieldSpec, near: list[int]) -> int:
        """A whole number, mostly at or next to a threshold of a condition."""
        rng = self.rng
        low = spec.minimum if spec.minimum is not None else 0
        high = spec.maximum if spec.maximum is not None else 500
        if near and rng.random() < 0.7:
            return max(low, rng.choice(near) + rng.choice((-1, 0, 1, 1, 2, 50)))
        return rng.randint(low, high)

    def money(self, near: list[Decimal]) -> Any:
        """An amount, often a fen either side of a threshold of a condition."""
        rng = self.rng
        if near and rng.random() < 0.6:
            base = rng.choice(near)
            delta = rng.choice((Decimal("-0.01"), Decimal(0), Decimal("0.01"), Decimal(1), Decimal(250000)))
            return f"{max(Decimal(0), base + delta):.2f}"
        return rng.choice((rng.randint(0, 50) * 100000, rng.randint(0, 99999999), rng.randint(1, 3000) * 10000))

    def fact(self, fact_type: str, subject: str) -> dict:
        ft = self.policy.vocabulary.fact_types[fact_type]
        out: dict[str, Any] = {"type": fact_type, "subject": subject}
        for name, spec in ft.fields.items():
            if self.rng.random() < 0.04 and not spec.required:  # sometimes a field is missing: undetermined
                continue
            out[name] = self.value(fact_type, spec)
        if self.rng.random() < 0.03:
            out["date"] = self.rng.choice(self.edge_dates)
        return out

    def applicant(self) -> dict:
        """An applicant of the vocabulary's fields, mostly one the eligibility provision admits."""
        rng = self.rng
        out: dict[str, Any] = {"id": f"SYN{self.counter:07d}", "name": f"合成申请人{self.counter}"}
        for name, spec in self.policy.vocabulary.applicant.items():
            if name in out:
                continue
            wanted = self.admitted.get(name)
            roll = rng.random()
            if wanted and roll < 0.97:  # the provision's first value is the common case
                out[name] = wanted[0] if roll < 0.87 else rng.choice(wanted)
            elif spec.type == "bool":
                out[name] = rng.random() < 0.5
            elif spec.type == "enum":
                out[name] = rng.choice(list(spec.values or {}))
            else:
                out[name] = self.value("", spec)
        return out

    def context_fact(self, fact_type: str, subject: str, year: int) -> dict:
        """An award already granted (or support enjoyed): every field of the context type."""
        rng = self.rng
        out: dict[str, Any] = {"type": fact_type, "subject": subject}
        for name, spec in self.policy.vocabulary.fact_types[fact_type].fields.items():
            if spec.type == "enum":
                values = list(spec.values or {})
                out[name] = rng.choice(values + [OWN_SOURCE] * (OWN_SOURCE in values))
            elif spec.type == "item":
                out[name] = rng.choice(list(self.policy.items))
            elif spec.type == "year":
                out[name] = year - rng.choice((0, 1))
            elif spec.type == "money":
                out[name] = rng.choice((50000, 100000, 200000, 1500000))
            elif spec.type == "bool":
                out[name] = rng.random() < 0.5
        return out

    def application(self, facts: int | None = None) -> dict:
        rng = self.rng
        self.counter += 1
        n = facts if facts is not None else rng.randint(6, 16)
        applicant = self.applicant()
        year = rng.choices(self.years, self.year_weights)[0]
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
        if self.prior and rng.random() < 0.25:
            facts_out.append(self.context_fact(self.prior, rng.choice(facts_out)["subject"], year))
        if self.support and rng.random() < 0.05:
            facts_out.append({"type": self.support, "subject": rng.choice(facts_out)["subject"]})
        return {"applicant": applicant, "year": year, "facts": facts_out}

    def applications(self, count: int, facts: int | None = None) -> Iterator[dict]:
        for _ in range(count):
            yield self.application(facts)
