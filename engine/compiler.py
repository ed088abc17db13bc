"""Compile the KB into layered durable_rules JSON rulesets whose actions derive facts.

Three layers (docs/engine.md), each rule's action asserting derived facts that the
next layer joins on:

- provisions: the eligibility provision (G1) over the ``$applicant`` fact asserts
  ``$covered``; the period provision (G3) asserts ``$in_period`` for a year inside
  the period and ``$out_of_period`` for a fact dated outside it;
- items: one rule per item and branch of its condition (``$or`` fires once per
  true branch, trap 8) asserts ``$met`` (or ``$undetermined`` when an amount input
  is missing); one *unknown* rule per branch fires when no comparison of the branch
  is false and a field it needs is missing, and asserts ``$undetermined`` — so the
  three-valued verdict comes from firings, not from Python;
- relations (``engine/relation_rules.py``): joins of derived facts on shared keys
  (ladder, group, cap, kind, subject, year) that assert typed ``$edge`` facts.

Every pattern is a single fact tested with ``$and`` (a comma would mean a join,
trap 1), starts with a positive type test (trap 7), compares money in integer fen
(trap 9) and never uses negation (trap 6): rules only add facts; exclusion,
capping and take-the-highest are decided in the relation graph after the fixpoint.
Trap numbers are those of docs/durable_rules.md.

Which rules exist depends on the readings that switch conditions, so a ruleset is
compiled per combination of those readings (``ruleset_key``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from policykb.kb import conditions as cond
from policykb.kb.model import ALWAYS, All, Any_, Compare, Item, Policy, Provision, resolve, switch_readings
from policykb.money import to_fen
from policykb.vocabulary import ProvisionKind

from .relation_rules import key_problems, relation_rules

APPLICANT_TYPE = "$applicant"
MET_TYPE = "$met"
UNDETERMINED_TYPE = "$undetermined"
COVERED_TYPE = "$covered"
COVER_TYPE = "$cover"
IN_PERIOD_TYPE = "$in_period"
OUT_OF_PERIOD_TYPE = "$out_of_period"
EDGE_TYPE = "$edge"
BEGIN_TYPE = "$begin"
NEVER_TYPE = "$never"
RESERVED_FIELDS = ("t", "id", "sid", "subject", "applicant")

# durable_rules limits (docs/durable_rules.md, trap 12)
MAX_PATTERNS_PER_RULE = 16
MAX_ALPHA_NODES_PER_FACT = 64
MAX_PROPERTIES_PER_FACT = 253
MAX_CHILDREN_PER_ALPHA_NODE = 512
MAX_BRANCHES_PER_ITEM = 8


@dataclass(frozen=True)
class RuleInfo:
    """What a compiled rule stands for: an item (or provision) and, if split, its branch."""

    name: str
    owner: str  # item ID, provision ID or relation ID
    kind: str  # "item" | "unknown" | "provision" | "cover" | "period" | "period_date" | "relation"
    fact_type: str
    branch: int
    branches: int
    covers: tuple[str, ...] = ()  # kind "cover": the items it admits the applicant for
    fields: tuple[str, ...] = ()  # unknown rules: the fields the branch reads
    edge: str = ""  # relation rules: the kind of edge asserted


def condition_readings(policy: Policy) -> tuple[str, ...]:
    """The readings that change which rules exist (the others act after the rules)."""
    used: set[str] = set()
    for item in policy.items.values():
        used |= switch_readings(item.conditions)
    for prov in policy.provisions.values():
        used |= switch_readings(prov.conditions) | switch_readings(prov.params.get("covers"))
    return tuple(sorted(used))


def ruleset_key(policy: Policy, readings: Mapping[str, str]) -> tuple:
    return tuple((rid, readings[rid]) for rid in condition_readings(policy))


def engine_value(value: Any, field_type: str) -> Any:
    """A literal as the engine holds it: money in fen, dates as ISO text."""
    if field_type == "money":
        return to_fen(value)
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def dnf(node: Any) -> list[list[Compare]]:
    """Disjunctive normal form of a resolved condition: a list of conjunctions."""
    if node is ALWAYS:
        return [[]]
    if isinstance(node, Compare):
        return [[node]]
    if isinstance(node, All):
        result: list[list[Compare]] = [[]]
        for part in node.parts:
            result = [left + right for left in result for right in dnf(part)]
        return result
    if isinstance(node, Any_):
        return [conj for part in node.parts for conj in dnf(part)]
    raise TypeError(f"not a resolved condition: {node!r}")


class Compiler:
    """Turns one policy, under one set of readings, into a durable_rules ruleset."""

    def __init__(self, policy: Policy):
        self.policy = policy
        self.vocabulary = policy.vocabulary

    def field_type(self, fact_type: str | None, name: str) -> str:
        spec = self.vocabulary.field(fact_type or "", name) if fact_type else None
        if spec is None and name.startswith("applicant."):
            spec = self.vocabulary.applicant.get(name[len("applicant.") :])
        return spec.type if spec else "text"

    def test(self, fact_type: str | None, c: Compare) -> dict:
        ftype = self.field_type(fact_type, c.field)
        if c.ref:
            # durable_rules matches a comparison with a *missing* referenced field (seen
            # with $gte), so the referenced field must be tested for existence as well.
            op = "$eq" if c.op == "eq" else f"${'neq' if c.op == 'ne' else c.op}"
            return {"$and": [{"$ex": {c.ref: 1}}, {op: {c.field: {"$m": c.ref}}}]}
        if c.op == "in":
            values = [engine_value(v, ftype) for v in c.value]
            if len(values) == 1:
                return {c.field: values[0]}
            return {"$or": [{c.field: v} for v in values]}
        value = engine_value(c.value, ftype)
        if c.op == "eq":
            return {c.field: value}
        if c.op == "ne":
            return {"$neq": {c.field: value}}
        return {f"${c.op}": {c.field: value}}

    def not_false(self, fact_type: str | None, c: Compare) -> dict:
        """The comparison is true or unknown: a field it reads is missing, or it holds."""
        names = [c.field] + ([c.ref] if c.ref else [])
        return {"$or": [{"$nex": {n: 1}} for n in names] + [self.test(fact_type, c)]}

    def unknown_branch(self, fact_type: str | None, conj: list[Compare]) -> list[dict] | None:
        """Tests of the rule that fires when no comparison of ``conj`` is false and one
        reads a missing field (Kleene: the branch is unknown); None when it cannot be."""
        names: list[str] = []
        for c in conj:
            for n in (c.field, c.ref):
                if n and n not in names:
                    names.append(n)
        if not names:
            return None
        return [self.not_false(fact_type, c) for c in conj] + [{"$or": [{"$nex": {n: 1}} for n in names]}]

    def item_tests(self, item) -> list[dict]:
        """The tests every branch of an item's rule starts with: type, selector, applicant kind."""
        tests: list[dict] = [{"t": item.fact}]
        for fname, values in item.select.items():
            tests.append(self.test(item.fact, Compare(fname, "in", values, "")))
        tests.append(self.test(item.fact, Compare("applicant.kind", "in", item.applicants, "")))
        return tests

    def compile(self, readings: Mapping[str, str], keys: Mapping[str, Mapping[str, str]] | None = None) -> tuple[dict, dict[str, RuleInfo]]:
        rules: dict[str, dict] = {}
        info: dict[str, RuleInfo] = {}

        def add(name: str, rule: dict, rinfo: RuleInfo) -> None:
            rules[name] = rule
            info[name] = rinfo

        for prov in self.policy.provisions.values():
            self.provision_rules(prov, readings, add)
        for item in self.policy.items.values():
            self.item_rules(item, readings, add)
        if keys is not None:
            for name, (rule, rinfo) in relation_rules(self.policy, keys).items():
                add(name, rule, rinfo)
        # A no-op rule so that every session has fired once before delete_state (trap 4),
        # and a sink that every fact reaches so that no assert raises "not handled" (trap 3).
        rules["$begin"] = {"all": [{"m": {"t": BEGIN_TYPE}}], "run": "$begin"}
        rules["$sink"] = {"all": [{"x": {"$ex": {"t": 1}}}, {"n": {"t": NEVER_TYPE}}], "run": "$sink"}
        return rules, info

    def provision_rules(self, prov: Provision, readings: Mapping[str, str], add: Callable[[str, dict, RuleInfo], None]) -> None:
        """The period's rules, the provision's rule per branch of its conditions, and its covers'."""
        if prov.kind == ProvisionKind.PERIOD and "from" in prov.params and "to" in prov.params:
            self.period_rules(prov, add)
        if prov.conditions is None:
            return
        branches = dnf(cond.resolve(prov.conditions, readings))
        for k, conj in enumerate(branches):
            name = prov.id if len(branches) == 1 else f"{prov.id}#{k + 1}"
            add(name, self.applicant_rule(name, conj), RuleInfo(name, prov.id, "provision", APPLICANT_TYPE, k + 1, len(branches)))
        # A cover is a rule of its own on the applicant: when it fires, the provision does
        # not exclude the cover's items (the provision's own rule still decides for the rest).
        for j, cover in enumerate(resolve(prov.params.get("covers", ()), readings) or ()):
            branches = dnf(cond.resolve(cover.conditions, readings))
            for k, conj in enumerate(branches):
                name = f"{prov.id}/cover{j + 1}" + ("" if len(branches) == 1 else f"#{k + 1}")
                add(
                    name,
                    self.applicant_rule(name, conj),
                    RuleInfo(name, prov.id, "cover", APPLICANT_TYPE, k + 1, len(branches), tuple(cover.items)),
                )

    def applicant_rule(self, name: str, conj: list[Compare]) -> dict:
        tests = [{"t": APPLICANT_TYPE}] + [self.test(None, c) for c in conj]
        return {"all": [{"p": {"$and": tests}}], "run": name}

    @staticmethod
    def period_rules(prov: Provision, add: Callable[[str, dict, RuleInfo], None]) -> None:
        """The year inside the period; and each dated fact before or after it."""
        start, end = prov.params["from"], prov.params["to"]
        year = {"$and": [{"t": APPLICANT_TYPE}, {"$gte": {"year": start.year}}, {"$lte": {"year": end.year}}]}
        add(prov.id, {"all": [{"p": year}], "run": prov.id}, RuleInfo(prov.id, prov.id, "period", APPLICANT_TYPE, 1, 1))
        # ISO dates compare as text in the order of time; the type test is $ex date
        for k, test in enumerate(({"$lt": {"date": start.isoformat()}}, {"$gt": {"date": end.isoformat()}})):
            name = f"{prov.id}.date#{k + 1}"
            add(
                name,
                {"all": [{"p": {"$and": [{"$ex": {"date": 1}}, {"$ex": {"subject": 1}}, test]}}], "run": name},
                RuleInfo(name, prov.id, "period_date", "*", k + 1, 2),
            )

    def item_rules(self, item: Item, readings: Mapping[str, str], add: Callable[[str, dict, RuleInfo], None]) -> None:
        """One rule per branch of the item's conditions, and its unknown twin (a field missing)."""
        branches = dnf(cond.resolve(item.conditions, readings))
        head = self.item_tests(item)
        for k, conj in enumerate(branches):
            name = item.id if len(branches) == 1 else f"{item.id}#{k + 1}"
            tests = head + [self.test(item.fact, c) for c in conj]
            add(name, {"all": [{"p": {"$and": tests}}], "run": name}, RuleInfo(name, item.id, "item", item.fact, k + 1, len(branches)))
            unknown = self.unknown_branch(item.fact, conj)
            if unknown is not None:
                uname = f"?{name}"
                fields = tuple(dict.fromkeys(n for c in conj for n in (c.field, c.ref) if n))
                add(
                    uname,
                    {"all": [{"p": {"$and": head + unknown}}], "run": uname},
                    RuleInfo(uname, item.id, "unknown", item.fact, k + 1, len(branches), fields=fields),
                )


def joined_types(definition: dict) -> frozenset[str]:
    """The fact types the rules of a definition match by type (``{"t": X}``)."""
    found: set[str] = set()

    def walk(test: Any) -> None:
        if isinstance(test, dict):
            for key, value in test.items():
                if key == "t" and isinstance(value, str):
                    found.add(value)
                elif key in ("$and", "$or"):
                    for part in value:
                        walk(part)

    for rule in definition.values():
        for pattern in rule.get("all", ()):
            for test in pattern.values():
                walk(test)
    return frozenset(found)


def ruleset_name(policy: Policy, definition: dict) -> str:
    """A name per distinct compiled ruleset: the same rules share one registration."""
    digest = hashlib.sha256(json.dumps([policy.version, definition], sort_keys=True).encode()).hexdigest()[:12]
    return f"{policy.id}.{digest}"


def reading_combinations(policy: Policy) -> Iterable[dict[str, str]]:
    """Every combination of the condition-switching readings (the others at default)."""
    ids = condition_readings(policy)
    base = policy.default_readings()
    for choice in itertools.product(*(tuple(policy.readings[rid].options) for rid in ids)):
        combo = dict(base)
        combo.update(zip(ids, choice, strict=True))
        yield combo


def _flatten(test: Any, out: list) -> None:
    if isinstance(test, dict):
        for key, value in test.items():
            if key in ("$and", "$or"):
                for part in value:
                    _flatten(part, out)
            else:
                out.append(json.dumps({key: value}, sort_keys=True))


def limit_problems(policy: Policy) -> list[str]:
    """Ways the compiled rulesets would exceed durable_rules' limits (empty when none)."""
    problems: list[str] = []
    compiler = Compiler(policy)
    vocabulary = policy.vocabulary
    for name, ft in vocabulary.fact_types.items():
        for fname in list(ft.fields) + list(ft.derived):
            if fname in RESERVED_FIELDS:
                problems.append(f"fact type {name}: field '{fname}' is reserved by the engine ({', '.join(RESERVED_FIELDS)})")
        properties = len(ft.fields) + len(ft.derived) + len(vocabulary.common) + len(vocabulary.applicant) + len(RESERVED_FIELDS)
        if properties > MAX_PROPERTIES_PER_FACT:
            problems.append(f"fact type {name}: {properties} properties per asserted fact; durable_rules fails at 254 (error 302)")
    for readings in reading_combinations(policy):
        rules, info = compiler.compile(readings)
        per_type: dict[str, set] = {}
        branches: dict[str, int] = {}
        for rname, rule in rules.items():
            patterns = len(rule["all"])
            if patterns > MAX_PATTERNS_PER_RULE:
                problems.append(f"rule {rname}: {patterns} patterns; durable_rules fails at 17 (error 304)")
            if rname in info:
                ri = info[rname]
                branches[ri.owner] = ri.branches
                tests: list = []
                _flatten(rule["all"][0]["p"], tests)
                per_type.setdefault(ri.fact_type, set()).update(tests)
        for owner, count in branches.items():
            if count > MAX_BRANCHES_PER_ITEM:
                problems.append(f"{owner}: its conditions expand to {count} rules (any-branches); keep it at most {MAX_BRANCHES_PER_ITEM}")
        for ftype, distinct in per_type.items():
            if len(distinct) > MAX_ALPHA_NODES_PER_FACT:
                problems.append(
                    f"fact type {ftype}: up to {len(distinct)} distinct tests a fact may pass under readings "
                    f"{dict(ruleset_key(policy, readings))}; durable_rules fails above {MAX_ALPHA_NODES_PER_FACT} (error 303)"
                )
            if len(distinct) > MAX_CHILDREN_PER_ALPHA_NODE:
                problems.append(f"fact type {ftype}: {len(distinct)} conditions under one type node; ruleset creation hangs at 513")
    problems.extend(key_problems(policy))
    return sorted(set(problems))
