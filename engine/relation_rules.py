"""The relation layer of the rules: joins of derived facts that assert typed edges.

An item's ``$met`` fact carries the keys of the relations it belongs to under the
evaluation's readings (``relation_keys``): its take-the-highest ladder, its
exclusive group, its group cap, the item it requires, the "other reward" relation
it is subject to, and its *kind* for G4 (its ladder or exclusive group, else
itself).  Context facts (awards already granted, case-by-case support) carry the
same keys for the item they name.  The rules below join on those shared keys —
never one constant per item, so a fact meets a handful of alpha nodes however large
the KB (the 64-alpha-node limit, docs/durable_rules.md trap 12) — and each firing
asserts one ``$edge`` fact ``{kind, relation, source, target}``.  The relation
graph (``engine/provenance.py``) is built from those edges and resolves them.

Every joined field is tested for existence on both sides: a join comparison whose
bound fact lacks the field raises durable_rules error 311 and aborts the whole
batch (docs/engine.md, "New traps that chaining brings").
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

from policykb.kb.graph import build_graph, relation_groups
from policykb.kb.model import OWN_SOURCE, Policy, switch_readings
from policykb.vocabulary import ProvisionKind, RelationKind

# The value of a context fact's ``source`` that means "granted under this same policy"
# (a convention of the KB's context fact types, checked by the loader).
THIS_POLICY = OWN_SOURCE

# $met fields that hold relation keys, by relation kind
KEY_FIELDS: dict[str, str] = {
    RelationKind.HIGHEST: "ladder",
    RelationKind.EXCLUSIVE: "group",
    RelationKind.GROUP_CAP: "cap",
    RelationKind.EXCLUDED_BY_OTHER_REWARD: "other",
    RelationKind.REQUIRES: "needs",
}


def relation_keys(policy: Policy, readings: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Per item: {key field: value} for the relations it belongs to under ``readings``.

    ``needs`` is the required item (and ``needs_rel`` the relation); ``kind`` is the
    G4 same-kind key.  ``kb check`` refuses an item in two relations of one kind.
    """
    groups = relation_groups(build_graph(policy, readings), policy)
    keys: dict[str, dict[str, str]] = {i: {} for i in policy.items}
    for rid, members in groups.items():
        rel = policy.relations[rid]
        field = KEY_FIELDS.get(rel.kind)
        if field is None:
            continue
        for item_id in members:
            if rel.kind == RelationKind.REQUIRES:
                keys[item_id]["needs"] = rel.params["requires"]
                keys[item_id]["needs_rel"] = rid
            else:
                keys[item_id][field] = rid
    for item_id, k in keys.items():
        k["kind"] = k.get("ladder") or k.get("group") or item_id
    return keys


def key_problems(policy: Policy) -> list[str]:
    """Relation memberships the key-based rules cannot represent."""
    # only the readings that switch relation members matter here
    ids = sorted(set().union(*(switch_readings(r.members) for r in policy.relations.values())) if policy.relations else set())
    base = policy.default_readings()
    combos = [
        dict(base, **dict(zip(ids, choice, strict=True))) for choice in itertools.product(*(tuple(policy.readings[i].options) for i in ids))
    ]
    problems: set[str] = set()
    for readings in combos:
        groups = relation_groups(build_graph(policy, readings), policy)
        seen: dict[tuple[str, str], str] = {}
        for rid, members in groups.items():
            kind = policy.relations[rid].kind
            if kind not in KEY_FIELDS:
                continue
            for item_id in members:
                bucket = "kind" if kind in (RelationKind.HIGHEST, RelationKind.EXCLUSIVE) else kind
                other = seen.get((item_id, bucket))
                if other is not None:
                    problems.add(
                        f"{item_id}: member of both {other} and {rid}; the engine keys an item to one "
                        f"{'take-the-highest or exclusive' if bucket == 'kind' else kind} relation"
                    )
                seen[(item_id, bucket)] = rid
    return sorted(problems)


def _met(*tests: dict) -> dict:
    return {"$and": [{"t": "$met"}, *tests]}


def _ex(*names: str) -> list[dict]:
    return [{"$ex": {n: 1}} for n in names]


def _same(binding: str, *names: str) -> list[dict]:
    return [{n: {binding: n}} for n in names]


def relation_rules(policy: Policy, keys: Mapping[str, Mapping[str, str]]) -> dict:
    """name → (durable_rules rule, RuleInfo) for the relation layer."""
    # deferred: the compiler imports this module, and RuleInfo is the compiler's
    from .compiler import RuleInfo

    present = {k for item_keys in keys.values() for k in item_keys}
    g4 = policy.provision(ProvisionKind.HIGHEST_WINS)
    g2 = policy.provision(ProvisionKind.CASE_BY_CASE)
    prior = g4.params.get("fact") if g4 is not None else None
    support = g2.params.get("fact") if g2 is not None else None
    out: dict = {}

    def add(name: str, owner: str, edge: str, patterns: list[tuple[str, dict]]) -> None:
        rule = {"all": [{b: p} for b, p in patterns], "run": name}
        out[name] = (rule, RuleInfo(name, owner, "relation", "$met", 1, 1, edge=edge))

    def prior_pattern(*tests: dict) -> dict:
        return {"$and": [{"t": prior}, *tests]}

    if "ladder" in present:  # same ladder and subject: take the highest
        add(
            "~highest",
            RelationKind.HIGHEST,
            "highest",
            [
                ("a", _met(*_ex("ladder", "subject", "n"))),
                ("b", _met(*_ex("ladder", "subject", "n"), *_same("a", "ladder", "subject"), {"$gt": {"n": {"a": "n"}}})),
            ],
        )
    # An exclusive group (enterprise-year scope) is the relation's member edges, one per $met
    # fact, never a pair rule: pairs would be quadratic in the projects of one application.
    applicant = ("y", {"$and": [{"t": "$applicant"}, *_ex("year", "applicant_id")]})
    if g4 is not None and prior:
        # awards of this policy already granted this year, joined with the applicant's year (one
        # join per award, whatever the number of outcomes): the relation they count against
        this_year = [{"source": THIS_POLICY}, *_ex("year"), *_same("y", "year")]
        if "group" in present:  # an award of the exclusive group: its type stands this year
            add("~claimed", RelationKind.EXCLUSIVE, "claimed", [applicant, ("p", prior_pattern(*_ex("group"), *this_year))])
        if "cap" in present:  # an award under a cap uses it up
            add("~cap_used", RelationKind.GROUP_CAP, "cap_used", [applicant, ("p", prior_pattern(*_ex("cap"), *this_year))])
        # G4: an award of the same kind for the same subject, earlier or this year
        # ("once" items, their repeat resolved under the readings), or this year ("yearly")
        add(
            "~top_up#1",
            g4.id,
            "top_up",
            [
                ("a", _met({"repeat": "once"}, *_ex("kind", "subject", "year"))),
                ("p", prior_pattern(*_ex("kind", "subject", "year"), *_same("a", "kind", "subject"), {"$lte": {"year": {"a": "year"}}})),
            ],
        )
        add(
            "~top_up#2",
            g4.id,
            "top_up",
            [
                ("a", _met({"repeat": "yearly"}, *_ex("kind", "subject", "year"))),
                ("p", prior_pattern(*_ex("kind", "subject", "year"), *_same("a", "kind", "subject", "year"))),
            ],
        )
        # a yearly item is a new event each year, but an earlier award of another item of its
        # kind (a lower level of its ladder) still counts
        add(
            "~top_up#3",
            g4.id,
            "top_up",
            [
                ("a", _met({"repeat": "yearly"}, *_ex("kind", "subject", "year", "item"))),
                (
                    "p",
                    prior_pattern(
                        *_ex("kind", "subject", "year", "item"),
                        *_same("a", "kind", "subject"),
                        {"$lt": {"year": {"a": "year"}}},
                        {"$neq": {"item": {"a": "item"}}},
                    ),
                ),
            ],
        )
        if "other" in present:
            add(
                "~other#2",
                RelationKind.EXCLUDED_BY_OTHER_REWARD,
                "other_reward",
                [("a", _met(*_ex("other", "subject"))), ("p", prior_pattern(*_ex("subject"), *_same("a", "subject")))],
            )
        if "needs" in present:
            add(
                "~requires#2",
                RelationKind.REQUIRES,
                "satisfies",
                [
                    ("a", _met(*_ex("needs", "subject"))),
                    (
                        "p",
                        prior_pattern({"source": THIS_POLICY}, *_ex("item", "subject"), {"item": {"a": "needs"}}, *_same("a", "subject")),
                    ),
                ],
            )
    if "other" in present:  # another reward met now for the same subject
        add(
            "~other#1",
            RelationKind.EXCLUDED_BY_OTHER_REWARD,
            "other_reward",
            [
                ("a", _met(*_ex("other", "subject", "item"))),
                ("b", _met(*_ex("subject", "item"), *_same("a", "subject"), {"$neq": {"item": {"a": "item"}}})),
            ],
        )
    if "needs" in present:  # the required item met for the same subject
        add(
            "~requires#1",
            RelationKind.REQUIRES,
            "satisfies",
            [("a", _met(*_ex("needs", "subject"))), ("b", _met(*_ex("item", "subject"), {"item": {"a": "needs"}}, *_same("a", "subject")))],
        )
    out.update(grant_rules(policy, present, prior))
    if g2 is not None and support:  # case-by-case support for the subject, or given to the enterprise itself
        add(
            "~case_by_case#1",
            g2.id,
            "case_by_case",
            [("s", {"$and": [{"t": support}, *_ex("subject")]}), ("a", _met(*_ex("subject"), {"subject": {"s": "subject"}}))],
        )
        # support given to the enterprise itself that lists items: it concerns the listed items
        # whatever their subject (an edge to the provision, one per support)
        add(
            "~case_by_case#2",
            g2.id,
            "case_by_case",
            [applicant, ("s", {"$and": [{"t": support}, *_ex("subject", "listed"), {"subject": {"y": "applicant_id"}}]})],
        )
    return out


# The type of the facts the audit asserts: the awards granted for one item, subject and year.
GRANT_TYPE = "$grant"


def grant_rules(policy: Policy, present: set[str], prior: str | None) -> dict:
    """name → (rule, RuleInfo) for the awards under audit (``$grant`` facts, docs/audit.md).

    An evaluation asserts no ``$grant`` fact, so these rules never fire there; the audit
    runs the same ruleset over an applicant's grants and its declared awards
    (``engine/grants.py``).  A ``$grant`` fact stands for the awards of one item, subject and
    year (the keys the rules join on; amounts are never compared in rules), so the joins
    between grants are bounded by the KB's items, not by the number of records.  Every join
    is on shared keys, with ``$ex`` on both sides, as above.
    """
    # deferred: the compiler imports this module, and RuleInfo is the compiler's
    from .compiler import RuleInfo

    g4 = policy.provision(ProvisionKind.HIGHEST_WINS)
    out: dict = {}

    def add(name: str, owner: str, edge: str, patterns: list[tuple[str, dict]]) -> None:
        rule = {"all": [{b: p} for b, p in patterns], "run": name}
        out[name] = (rule, RuleInfo(name, owner, "grant", GRANT_TYPE, 1, 1, edge=edge))

    _grant_joins(add, present, g4.id if g4 is not None else None)
    if prior is not None:
        _declared_joins(add, present, prior, g4.id if g4 is not None else None)
    return out


def _grant(*tests: dict) -> dict:
    return {"$and": [{"t": GRANT_TYPE}, *tests]}


def _grant_joins(add, present: set[str], g4: str | None) -> None:
    """Membership (a grant of an exclusive group, a cap, a G4 kind, needing an item) and the
    joins between grants: the required item granted, another reward granted, for the subject."""
    if "group" in present:
        add("~grant_claims", RelationKind.EXCLUSIVE, "claims", [("a", _grant(*_ex("group", "year")))])
    if "cap" in present:
        add("~grant_cap", RelationKind.GROUP_CAP, "cap_use", [("a", _grant(*_ex("cap", "year")))])
    if g4 is not None:
        add("~grant_kind", g4, "same_kind", [("a", _grant(*_ex("kind", "subject")))])
    if "needs" in present:
        add("~grant_needs", RelationKind.REQUIRES, "needs", [("a", _grant(*_ex("needs", "subject")))])
        add(
            "~grant_requires#1",
            RelationKind.REQUIRES,
            "satisfies",
            [
                ("a", _grant(*_ex("needs", "subject"))),
                ("b", _grant(*_ex("item", "subject"), {"item": {"a": "needs"}}, *_same("a", "subject"))),
            ],
        )
    if "other" in present:
        add(
            "~grant_other#1",
            RelationKind.EXCLUDED_BY_OTHER_REWARD,
            "other_reward",
            [
                ("a", _grant(*_ex("other", "subject", "item"))),
                ("b", _grant(*_ex("subject", "item"), *_same("a", "subject"), {"$neq": {"item": {"a": "item"}}})),
            ],
        )


def _declared_joins(add, present: set[str], prior: str, g4: str | None) -> None:
    """The awards the applications declare, joined with the grants on the award's keys."""

    def declared(*tests: dict) -> dict:
        return {"$and": [{"t": prior}, *tests]}

    this_policy = {"source": THIS_POLICY}
    if "group" in present:
        add(
            "~grant_claimed",
            RelationKind.EXCLUSIVE,
            "claimed",
            [("a", _grant(*_ex("group", "year"))), ("p", declared(this_policy, *_ex("group", "year"), *_same("a", "group", "year")))],
        )
    if "cap" in present:
        add(
            "~grant_cap_used",
            RelationKind.GROUP_CAP,
            "cap_used",
            [("a", _grant(*_ex("cap", "year"))), ("p", declared(this_policy, *_ex("cap", "year"), *_same("a", "cap", "year")))],
        )
    if g4 is not None:
        add(
            "~grant_top_up",
            g4,
            "top_up",
            [("a", _grant(*_ex("kind", "subject"))), ("p", declared(*_ex("kind", "subject"), *_same("a", "kind", "subject")))],
        )
    if "needs" in present:
        add(
            "~grant_requires#2",
            RelationKind.REQUIRES,
            "satisfies",
            [
                ("a", _grant(*_ex("needs", "subject"))),
                ("p", declared(this_policy, *_ex("item", "subject"), {"item": {"a": "needs"}}, *_same("a", "subject"))),
            ],
        )
    if "other" in present:
        add(
            "~grant_other#2",
            RelationKind.EXCLUDED_BY_OTHER_REWARD,
            "other_reward",
            [("a", _grant(*_ex("other", "subject"))), ("p", declared(*_ex("subject"), *_same("a", "subject")))],
        )
