"""The evaluation pipeline: validate → facts → durable_rules → relation graph → decision.

``Evaluator`` holds, per loaded policy, the validator, the rules engine and what
depends on the readings (compiled ruleset, amounts, relation keys), prepared once
per combination of readings.  The rules decide which items are met, undetermined
or (by not firing) ineligible, and derive the relation edges; this module turns
the derived facts into outcomes, builds the relation graph from them and has
``engine/resolve.py`` resolve it.  No condition is evaluated in Python here.
``evaluate`` is deterministic: facts are canonical, rules fire on sorted facts,
and nothing downstream depends on firing order.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from policykb.kb import conditions as cond
from policykb.kb import expressions
from policykb.kb.model import All, Amount, Compare, Item, Policy, resolve
from policykb.vocabulary import AmountKind, ProvisionKind, Status

from . import compiler as comp
from . import provenance
from .application import Application, Fact, Validator, parse_application
from .decision import Decision
from .derive import Derivation, engine_context_fact
from .outcomes import Outcome
from .relation_rules import relation_keys
from .resolve import Context, Statics, resolve_all
from .rules_engine import Firing, RulesEngine, fact_ids


@dataclass(frozen=True)
class Prepared:
    """Everything that depends on one combination of readings."""

    readings: Mapping[str, str]
    ruleset: str
    rules: Mapping[str, comp.RuleInfo]
    conditions: Mapping[str, Any]  # item ID → resolved condition (applicant kind first), for explanations
    fields: Mapping[str, tuple[str, ...]]  # item ID → the fields its condition reads, in order
    amounts: Mapping[str, Amount]
    keys: Mapping[str, Mapping[str, str]]  # item ID → its relation keys (engine/relation_rules.py)
    joined: frozenset  # derived fact types some rule joins on: only those are asserted back
    needed: frozenset  # items some other item requires (a $met of one can satisfy a requirement)
    other_fact_types: frozenset  # fact types of the items of an "other reward" relation
    eligibility: Any  # resolved G1 condition, for explanations


_MET_STATUS: dict[str, Status] = {AmountKind.NONE: Status.SERVICE, AmountKind.DISCRETIONARY: Status.DISCRETIONARY}


def full_condition(item: Item, readings: Mapping[str, str]) -> Any:
    """An item's condition as the engine tests it: applicant kind, then the item's own."""
    kind = Compare("applicant.kind", "in", item.applicants, "")
    resolved = cond.resolve(item.conditions, readings)
    parts = (kind,) + (resolved.parts if isinstance(resolved, All) else (() if resolved is cond.ALWAYS else (resolved,)))
    return All(parts)


def relevant(item: Item, fact: Fact) -> bool:
    """Is ``fact`` about ``item``: its type, and its selector values (award, level …)?"""
    if fact.type != item.fact:
        return False
    return all(fact.get(name) in values for name, values in item.select.items())


_EVALUATORS: weakref.WeakSet[Evaluator] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for evaluator in list(_EVALUATORS):  # a lock held by another thread at fork time stays held
        evaluator._lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _covered(firings: list[Firing], prepared: Prepared) -> dict[str, str]:
    """Item ID → the cover rule of G1 that admits the applicant for it (I-14)."""
    covered: dict[str, str] = {}
    for firing in firings:
        info = prepared.rules.get(firing.rule)
        if info is not None and info.kind == "cover" and firing.derived:
            for item_id in info.covers:
                covered.setdefault(item_id, info.name)
    return covered


class Evaluator:
    def __init__(self, policy: Policy, engine: RulesEngine | None = None):
        self.policy = policy
        self.validator = Validator(policy)
        self.compiler = comp.Compiler(policy)
        self.engine = engine or RulesEngine()
        self._prepared: dict[tuple, Prepared] = {}
        self._lock = threading.Lock()
        _EVALUATORS.add(self)
        self.statics = Statics(policy)
        self.items_by_fact: dict[str, list[Item]] = {}
        for item in policy.items.values():
            self.items_by_fact.setdefault(item.fact, []).append(item)
        # Where every item of a fact type selects on the same single field (recognition →
        # award), relevance is a dictionary lookup instead of a scan of all its items.
        self._select_index: dict[str, tuple[str, dict]] = {}
        for fact_type, items in self.items_by_fact.items():
            fields = {tuple(i.select) for i in items}
            if len(fields) == 1 and len(next(iter(fields))) == 1:
                (field_name,) = next(iter(fields))
                index: dict = {}
                for i in items:
                    for value in i.select[field_name]:
                        index.setdefault(value, []).append(i)
                self._select_index[fact_type] = (field_name, index)
        g1 = policy.provision(ProvisionKind.ELIGIBILITY)
        self.g1_rule = g1.id if g1 is not None and g1.conditions is not None else None
        g3 = policy.provision(ProvisionKind.PERIOD)
        self.g3_rule = g3.id if g3 is not None else None
        self._engine_applicant_fields = [n for n in policy.vocabulary.applicant if n not in ("id", "name")]
        self._money_fields = {
            name: frozenset(f for f, spec in {**ft.fields, **ft.derived}.items() if spec.type == "money")
            for name, ft in policy.vocabulary.fact_types.items()
        }

    # -- per readings
    def prepare(self, readings: Mapping[str, str]) -> Prepared:
        key = tuple(sorted(readings.items()))
        prepared = self._prepared.get(key)
        if prepared is not None:
            return prepared
        with self._lock:
            prepared = self._prepared.get(key)
            if prepared is not None:
                return prepared
            keys = relation_keys(self.policy, readings)
            definition, info = self.compiler.compile(readings, keys)
            name = comp.ruleset_name(self.policy, definition)
            self.engine.register(name, definition)
            g1 = self.policy.provision(ProvisionKind.ELIGIBILITY)
            conditions = {i.id: full_condition(i, readings) for i in self.policy.items.values()}
            prepared = Prepared(
                readings=dict(readings),
                ruleset=name,
                rules=info,
                conditions=conditions,
                fields={iid: tuple(cond.fields(c)) for iid, c in conditions.items()},
                amounts={i.id: resolve(i.amount, readings) for i in self.policy.items.values()},
                keys=keys,
                joined=comp.joined_types(definition),
                needed=frozenset(k["needs"] for k in keys.values() if "needs" in k),
                other_fact_types=frozenset(self.policy.items[i].fact for i, k in keys.items() if "other" in k),
                eligibility=cond.resolve(g1.conditions, readings) if g1 is not None else cond.ALWAYS,
            )
            self._prepared[key] = prepared
            return prepared

    # -- facts for the engine
    def engine_facts(self, app: Application, keys: Mapping[str, Mapping[str, str]] | None = None) -> tuple[list[dict], dict[str, Fact]]:
        voc = self.policy.vocabulary
        applicant = {}
        for name in self._engine_applicant_fields:
            value = app.applicant.get(name)
            if value is not None:
                applicant[name] = comp.engine_value(value, voc.applicant[name].type)
        ids = fact_ids(len(app.facts) + 1)
        out = [{"id": ids[0], "t": comp.APPLICANT_TYPE, "applicant": applicant, "year": app.year, "applicant_id": app.applicant_id}]
        by_id: dict[str, Fact] = {}
        money = self._money_fields
        for fid, fact in zip(ids[1:], app.facts, strict=True):
            by_id[fid] = fact
            if fact.role != "item":
                out.append(engine_context_fact(fact, fid, keys or {}, money[fact.type]))
                continue
            record: dict[str, Any] = {"id": fid, "t": fact.type, "subject": fact.subject, "applicant": applicant}
            if fact.date is not None:
                record["date"] = fact.date.isoformat()
            in_fen = money[fact.type]
            for name, value in fact.values.items():
                if value is None:
                    continue
                # money is exact to the fen after validation
                record[name] = int(value * 100) if name in in_fen else value
            out.append(record)
        return out, by_id

    # -- the pipeline
    def evaluate(self, document: Any, readings: Mapping[str, str], *, source: str = "") -> Decision:
        app = (
            document
            if isinstance(document, Application)
            else parse_application(self.policy, document, source=source, validator=self.validator)
        )
        prepared = self.prepare(readings)
        facts, by_id = self.engine_facts(app, prepared.keys)
        derivation = Derivation(self, app, prepared, by_id)
        firings = self.engine.run(prepared.ruleset, facts, derivation, prepared.joined)
        return self.decide(app, prepared, firings, by_id, derivation)

    def decide(
        self, app: Application, prepared: Prepared, firings: list[Firing], by_id: Mapping[str, Fact], derivation: Derivation
    ) -> Decision:
        """Outcomes from the derived facts, then the relation graph resolves them."""
        derived = derivation.facts
        outcomes = self.outcomes(app, prepared, by_id, derivation)
        graph = provenance.build(self.policy, app, outcomes, derived, {fid: f.key for fid, f in by_id.items()})
        types = {f["t"] for f in derived.values()}
        g1_ok = self.g1_rule is None or comp.COVERED_TYPE in types
        in_period = self.g3_rule is None or comp.IN_PERIOD_TYPE in types
        out_of_period = {by_id[f["fact"]].key for f in derived.values() if f["t"] == comp.OUT_OF_PERIOD_TYPE}
        covered = _covered(firings, prepared)
        ctx = Context(self.policy, app, prepared.readings, graph, g1_ok, in_period, out_of_period, self.statics, covered=covered)
        resolve_all(outcomes, ctx)
        decision = Decision(
            self.policy, app, prepared.readings, outcomes, firings, by_id, g1_ok, graph=graph, derived=derived, covered=covered
        )
        return decision.resolved()

    def outcomes(self, app: Application, prepared: Prepared, by_id: Mapping[str, Fact], derivation: Derivation) -> list[Outcome]:
        """One outcome per item and subject, in policy order, from what the rules derived."""
        fid_of = {f.key: fid for fid, f in by_id.items()}
        candidates: dict[tuple[str, str], list[Outcome]] = {}
        for fact in app.facts:
            if fact.role != "item":
                continue
            fid = fid_of[fact.key]
            for item in self.relevant_items(fact):
                candidates.setdefault((item.id, fact.subject), []).append(self.outcome(item, fact, fid, prepared, derivation))
        return sorted((self.merge(group) for group in candidates.values()), key=lambda o: o.key)

    @staticmethod
    def outcome(item: Item, fact: Fact, fid: str, prepared: Prepared, derivation: Derivation) -> Outcome:
        """The outcome of one item for one fact: met, undetermined, or (no rule fired) ineligible."""
        mid, uid = f"met:{item.id}:{fid}", f"undetermined:{item.id}:{fid}"
        met, undetermined = derivation.facts.get(mid), derivation.facts.get(uid)
        verdict: bool | None = False  # no rule fired: a condition is false
        if met is not None:
            verdict = True
        elif undetermined is not None:
            verdict = True if undetermined["reason"] == "amount" else None
        o = Outcome(item, fact.subject, fact, [fact], verdict, list(derivation.rules.get(mid, ())))
        o.amount_spec = prepared.amounts[item.id]
        o.readings.update(item.readings)
        if met is not None:
            computed = o.computed = derivation.computed[mid]
            o.status = _MET_STATUS.get(computed.kind, Status.ELIGIBLE)
            o.low, o.high = computed.low, computed.high
        elif undetermined is not None:
            o.status = Status.UNDETERMINED
            o.missing = list(derivation.missing[uid])
            if undetermined["reason"] == "amount":
                o.rules = [undetermined["rule"]]
        else:
            o.status = Status.INELIGIBLE
        return o

    @staticmethod
    def getter(app: Application, fact: Fact):
        """Read ``applicant.x`` from the applicant and other names from the fact."""
        applicant, values = app.applicant, fact.values

        def get(name: str):
            if name.startswith("applicant."):
                return applicant.get(name[10:])
            return values.get(name)

        return get

    def relevant_items(self, fact: Fact) -> list[Item]:
        """The items a fact is about, in policy order."""
        indexed = self._select_index.get(fact.type)
        if indexed is not None:
            field_name, index = indexed
            return index.get(fact.get(field_name), [])
        return [i for i in self.items_by_fact.get(fact.type, ()) if relevant(i, fact)]

    @staticmethod
    def merge(group: list[Outcome]) -> Outcome:
        """One outcome per item and subject: the best of its facts (met, then largest)."""
        if len(group) == 1:
            return group[0]
        rank: dict[str, int] = {
            Status.ELIGIBLE: 0,
            Status.SERVICE: 0,
            Status.DISCRETIONARY: 0,
            Status.UNDETERMINED: 1,
            Status.INELIGIBLE: 2,
        }

        def key(o: Outcome) -> tuple:
            return (rank.get(o.status, 3), -(o.high or 0), o.fact.key)

        best = sorted(group, key=key)[0]
        best.facts = sorted((o.fact for o in group), key=lambda f: f.key)
        return best

    def inputs_missing(self, fact: Fact, names: list[str]) -> list[str]:
        """Missing fields as the applicant must supply them: derived fields → their inputs."""
        ft = self.policy.vocabulary.fact_types[fact.type]
        out: list[str] = []
        for name in names:
            spec = ft.derived.get(name)
            if spec is None:
                if name not in out:
                    out.append(name)
                continue
            inner = [n for n in expressions.fields_of(spec.expr) if fact.get(n) is None]
            for n in self.inputs_missing(fact, inner):
                if n not in out:
                    out.append(n)
        return out
