"""What each rule firing derives: the actions of the compiled rules, for one evaluation.

The rules engine calls ``Derivation.__call__(rule, bindings)`` for every firing and
asserts the facts it returns, so later rules can join on them:

- an item rule derives ``$met`` for (item, fact), carrying the amount computed from
  the KB formula in exact decimals (as text) and the item's relation keys, or
  ``$undetermined`` when an input of the amount is missing;
- an unknown rule derives ``$undetermined`` for (item, fact), naming the fields the
  applicant must supply;
- provision rules derive ``$covered`` (G1), ``$in_period`` and ``$out_of_period``;
- relation rules derive ``$edge`` facts.

A fact already derived is not derived again (``$or`` fires once per true branch,
docs/durable_rules.md trap 8), so every id is unique.  Nothing here evaluates a condition: the verdicts
are the firings themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policykb.kb.model import resolve

from . import compiler as comp
from .amounts import Computed, compute
from .application import Application, Fact


class Derivation:
    """The derived facts of one evaluation, in the order the rules derived them."""

    def __init__(self, evaluator, app: Application, prepared, by_id: Mapping[str, Fact]):
        self.evaluator = evaluator
        self.app = app
        self.prepared = prepared
        self.by_id = by_id
        self.facts: dict[str, dict] = {}  # derived fact id → fact
        self.computed: dict[str, Computed] = {}  # $met id → its amount
        self.missing: dict[str, list[str]] = {}  # $undetermined id → fields to supply
        self.rules: dict[str, list[str]] = {}  # $met id → every rule (branch) that derived it
        # A $met fact is asserted back only when a relation rule could join it (the wrapper
        # asserts the joined types): with no award or support declared and no item of an
        # "other reward" relation in reach, only items with a relation key can be joined.
        self.local: set[str] = set()  # ids of derived $met facts kept out of the session
        self.assert_every_met = any(f.role == "context" for f in app.facts) or any(f.type in prepared.other_fact_types for f in app.facts)

    def __call__(self, rule: str, bindings: dict) -> list[dict]:
        info = self.prepared.rules.get(rule)
        if info is None:
            return []
        kind = info.kind
        if kind == "item":
            return self.item(info, bindings["p"])
        if kind == "unknown":
            return self.unknown(info, bindings["p"])
        if kind == "relation":
            return self.edge(info, bindings)
        if kind == "provision":
            return self.new({"id": f"covered:{info.owner}", "t": comp.COVERED_TYPE, "by": info.owner})
        if kind == "cover":  # a cover of G1 admits the applicant for some items (I-14)
            return self.new({"id": f"cover:{info.name}", "t": comp.COVER_TYPE, "by": info.owner, "rule": info.name})
        if kind == "period":
            return self.new({"id": f"in_period:{info.owner}", "t": comp.IN_PERIOD_TYPE, "by": info.owner})
        if kind == "period_date":
            fid = bindings["p"]["id"]
            return self.new({"id": f"out_of_period:{fid}", "t": comp.OUT_OF_PERIOD_TYPE, "by": info.owner, "fact": fid})
        return []

    def new(self, fact: dict) -> list[dict]:
        if fact["id"] in self.facts:
            return []
        self.facts[fact["id"]] = fact
        return [fact]

    def item(self, info, p: dict) -> list[dict]:
        fid = p["id"]
        fact = self.by_id[fid]
        item = self.evaluator.policy.items[info.owner]
        mid = f"met:{item.id}:{fid}"
        uid = f"undetermined:{item.id}:{fid}"
        if mid in self.facts or uid in self.facts:
            if mid in self.rules:
                self.rules[mid].append(info.name)
            return []
        amount = self.prepared.amounts[item.id]
        computed = compute(amount, fact.values.get, self.prepared.readings)
        if computed.missing:
            self.missing[uid] = self.evaluator.inputs_missing(fact, list(computed.missing))
            return self.new(
                {
                    "id": uid,
                    "t": comp.UNDETERMINED_TYPE,
                    "item": item.id,
                    "fact": fid,
                    "subject": fact.subject,
                    "rule": info.name,
                    "reason": "amount",
                }
            )
        self.computed[mid] = computed
        self.rules[mid] = [info.name]
        met = {
            "id": mid,
            "t": comp.MET_TYPE,
            "item": item.id,
            "fact": fid,
            "subject": fact.subject,
            "rule": info.name,
            "n": len(self.facts) + 1,
            "year": self.app.year,
            "repeat": resolve(item.repeat, self.prepared.readings),
            "applicant_id": self.app.applicant_id,
            "amount_kind": computed.kind,
        }
        if computed.low is not None:
            met["low"] = str(computed.low)
        if computed.high is not None:
            met["high"] = str(computed.high)
        keys = self.prepared.keys[item.id]
        met.update(keys)
        derived = self.new(met)
        if not self.assert_every_met and not (keys.keys() - {"kind"}) and item.id not in self.prepared.needed:
            met["$local"] = True  # no relation rule can join it in this evaluation
        return derived

    def unknown(self, info, p: dict) -> list[dict]:
        fid = p["id"]
        fact = self.by_id[fid]
        uid = f"undetermined:{info.owner}:{fid}"
        if uid in self.facts:
            return []
        get = self.evaluator.getter(self.app, fact)
        names = [n for n in self.prepared.fields[info.owner] if get(n) is None]
        self.missing[uid] = self.evaluator.inputs_missing(fact, names)
        return self.new(
            {
                "id": uid,
                "t": comp.UNDETERMINED_TYPE,
                "item": info.owner,
                "fact": fid,
                "subject": fact.subject,
                "rule": info.name,
                "reason": "condition",
            }
        )

    def edge(self, info, bindings: dict) -> list[dict]:
        edge = info.edge
        if "y" in bindings:  # an award or support joined with the applicant: an edge to the clause
            other = bindings.get("p") or bindings["s"]
            relation = {"claimed": other.get("group"), "cap_used": other.get("cap")}.get(edge) or info.owner
            source, target = other["id"], relation
        else:
            a = bindings["a"]
            if edge == "highest":
                relation = a["ladder"]
            elif edge == "other_reward":
                relation = a["other"]
            elif edge == "satisfies":
                relation = a["needs_rel"]
            else:  # top_up, case_by_case: the provision that owns the rule
                relation = info.owner
            # the edge points from the fact that acts (rival, award, support) to the outcome it acts on
            other = bindings.get("b") or bindings.get("p") or bindings["s"]
            source, target = (a["id"], other["id"]) if edge == "highest" else (other["id"], a["id"])
        return self.new(
            {
                "id": f"edge:{edge}:{relation}:{source}>{target}",
                "t": comp.EDGE_TYPE,
                "kind": edge,
                "relation": relation,
                "source": source,
                "target": target,
                "rule": info.name,
            }
        )


def engine_context_fact(fact: Fact, fid: str, keys: Mapping[str, Mapping[str, str]], money: frozenset) -> dict[str, Any]:
    """A context fact (an award already granted, support enjoyed) as the rules see it:
    its fields, and the relation keys of the item it names."""
    record: dict[str, Any] = {"id": fid, "t": fact.type, "subject": fact.subject}
    for name, value in fact.values.items():
        if value is None:
            continue
        if isinstance(value, tuple):  # a list of items: the rules only need to know it is there
            if value:
                record["listed"] = True
            continue
        record[name] = int(value * 100) if name in money else value
    item_keys = keys.get(fact.values.get("item") or "")
    if item_keys:
        for field in ("group", "cap", "kind"):
            if field in item_keys:
                record[field] = item_keys[field]
    return record
