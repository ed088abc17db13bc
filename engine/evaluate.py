"""The evaluation pipeline: validate → facts → durable_rules → relation graph → decision.

``Evaluator`` holds, per loaded policy, the validator, the rules engine and what
depends on the readings (compiled ruleset, resolved conditions and amounts, the
relation groups), prepared once per combination of readings.  ``evaluate`` is
deterministic: facts are canonical, rules fire on sorted facts, and nothing
downstream depends on firing order.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Mapping

from policykb.errors import EngineError
from policykb.kb import conditions as cond
from policykb.kb import expressions
from policykb.kb.graph import build_graph, relation_groups
from policykb.kb.model import All, Amount, Compare, Item, Policy, resolve

from . import compiler as comp
from .amounts import compute
from .application import Application, Fact, Validator, parse_application
from .decision import Decision
from .outcomes import Outcome
from .resolve import Context, Statics, resolve_all
from .rules_engine import RulesEngine, fact_ids


@dataclass(frozen=True)
class Prepared:
    """Everything that depends on one combination of readings."""

    readings: Mapping[str, str]
    ruleset: str
    rules: Mapping[str, comp.RuleInfo]
    conditions: Mapping[str, Any]  # item ID → resolved condition (applicant kind first)
    checks: Mapping[str, Any]  # item ID → the condition compiled to a Python closure
    amounts: Mapping[str, Amount]
    groups: Mapping[str, tuple[str, ...]]
    eligibility: Any  # resolved G1 condition


_MET_STATUS = {"none": "service", "discretionary": "discretionary"}


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
    for name, values in item.select.items():
        if fact.get(name) not in values:
            return False
    return True


class Evaluator:
    def __init__(self, policy: Policy, engine: RulesEngine | None = None):
        self.policy = policy
        self.validator = Validator(policy)
        self.compiler = comp.Compiler(policy)
        self.engine = engine or RulesEngine()
        self._prepared: dict[tuple, Prepared] = {}
        self._lock = threading.Lock()
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
        g1 = policy.provision("eligibility")
        self.g1_rule = g1.id if g1 is not None else None
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
            rkey = comp.ruleset_key(self.policy, readings)
            name = comp.ruleset_name(self.policy, rkey)
            definition, info = self.compiler.compile(readings)
            self.engine.register(name, definition)
            g1 = self.policy.provision("eligibility")
            conditions = {i.id: full_condition(i, readings) for i in self.policy.items.values()}
            prepared = Prepared(
                readings=dict(readings),
                ruleset=name,
                rules=info,
                conditions=conditions,
                checks={iid: cond.compile_python(c) for iid, c in conditions.items()},
                amounts={i.id: resolve(i.amount, readings) for i in self.policy.items.values()},
                groups=relation_groups(build_graph(self.policy, readings), self.policy),
                eligibility=cond.resolve(g1.conditions, readings) if g1 is not None else cond.ALWAYS,
            )
            self._prepared[key] = prepared
            return prepared

    # -- facts for the engine
    def engine_facts(self, app: Application) -> tuple[list[dict], dict[str, Fact]]:
        voc = self.policy.vocabulary
        applicant = {}
        for name in self._engine_applicant_fields:
            value = app.applicant.get(name)
            if value is not None:
                applicant[name] = comp.engine_value(value, voc.applicant[name].type)
        item_facts = [f for f in app.facts if f.role == "item"]
        ids = fact_ids(len(item_facts) + 1)
        out = [{"id": ids[0], "t": comp.APPLICANT_TYPE, "applicant": applicant}]
        by_id: dict[str, Fact] = {}
        money = self._money_fields
        for fid, fact in zip(ids[1:], item_facts):
            record = {"id": fid, "t": fact.type, "subject": fact.subject, "applicant": applicant}
            in_fen = money[fact.type]
            for name, value in fact.values.items():
                if value is None:
                    continue
                # money is exact to the fen after validation; dates are never in conditions' facts
                record[name] = int(value * 100) if name in in_fen else value
            out.append(record)
            by_id[fid] = fact
        return out, by_id

    # -- the pipeline
    def evaluate(self, document: Any, readings: Mapping[str, str], *, source: str = "") -> Decision:
        app = document if isinstance(document, Application) else parse_application(self.policy, document, source=source, validator=self.validator)
        prepared = self.prepare(readings)
        facts, by_id = self.engine_facts(app)
        firings = self.engine.run(prepared.ruleset, facts)
        return self.decide(app, prepared, firings, by_id)

    def decide(self, app: Application, prepared: Prepared, firings, by_id: Mapping[str, Fact]) -> Decision:
        met: dict[tuple[str, str], list[str]] = {}
        g1_ok = self.g1_rule is None
        covered: dict[str, str] = {}  # item ID → the cover rule that admits the applicant for it
        for firing in firings:
            info = prepared.rules.get(firing.rule)
            if info is None:
                continue
            fid = firing.matched[0][1]  # item and provision rules bind one fact, "p"
            if info.kind == "provision":
                g1_ok = g1_ok or info.owner == self.g1_rule
                continue
            if info.kind == "cover":
                for item_id in info.covers:
                    covered.setdefault(item_id, info.name)
                continue
            met.setdefault((info.owner, by_id[fid].key), []).append(firing.rule)

        applicant = app.applicant
        checks, amounts, readings = prepared.checks, prepared.amounts, prepared.readings
        candidates: dict[tuple[str, str], list[Outcome]] = {}
        for fact in app.facts:
            if fact.role != "item":
                continue
            values = fact.values
            for item in self.relevant_items(fact):
                rules = met.get((item.id, fact.key))
                if rules:
                    verdict: bool | None = True
                else:
                    verdict = checks[item.id](values, applicant)
                    if verdict is True:
                        raise EngineError(
                            f"the rules engine did not fire {item.id} for {fact.key}, but its conditions hold; "
                            "this is a bug in the compiler or in durable_rules"
                        )
                o = Outcome(item, fact.subject, fact, [fact], verdict, rules or [])
                o.amount_spec = amounts[item.id]
                o.readings.update(item.readings)
                if verdict is True:
                    computed = o.computed = compute(amounts[item.id], values.get, readings)
                    if computed.missing:
                        o.status = "undetermined"
                        o.missing = self.inputs_missing(fact, list(computed.missing))
                    else:
                        o.status = _MET_STATUS.get(computed.kind, "eligible")
                        o.low, o.high = computed.low, computed.high
                elif verdict is None:
                    o.status = "undetermined"
                    o.missing = self.inputs_missing(fact, cond.unknown_fields(prepared.conditions[item.id], self.getter(app, fact)))
                else:
                    o.status = "ineligible"
                key = (item.id, fact.subject)
                group = candidates.get(key)
                if group is None:
                    candidates[key] = [o]
                else:
                    group.append(o)

        outcomes = [self.merge(group) for group in candidates.values()]
        outcomes.sort(key=lambda o: o.key)
        ctx = Context(self.policy, app, prepared.readings, prepared.groups, g1_ok, self.statics, covered=covered)
        resolve_all(outcomes, ctx)
        decision = Decision(self.policy, app, prepared.readings, outcomes, firings, by_id, g1_ok, self)
        decision.covered = dict(sorted(covered.items()))
        return decision

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
        rank = {"eligible": 0, "service": 0, "discretionary": 0, "undetermined": 1, "ineligible": 2}

        def key(o: Outcome):
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
