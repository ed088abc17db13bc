"""The relation graph: items as nodes, relations as labelled edges (networkx).

Symmetric relations (exclusive, highest, complementary) become one edge per pair of
members, in policy order; a group cap is a node of its own (kind ``cap``, with its
amount and payer) that each member points to; ``requires`` points from the item to
what it requires; ``excluded_by_other_reward`` points from a pseudo-node standing for
"any other reward for the same subject" to the item it excludes.  Edges whose
membership depends on a reading carry ``when`` (the options under which they hold).

The engine resolves relations with ``relation_groups`` (members per relation under
one set of readings), read off this graph; ``kb graph`` exports it.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from typing import Any

import networkx as nx

from policykb.vocabulary import RelationKind

from .model import Policy, Relation, Switch, Text

#: relations that point one way: from the item that requires, is excluded or is capped
DIRECTED = frozenset({RelationKind.REQUIRES, RelationKind.EXCLUDED_BY_OTHER_REWARD, RelationKind.GROUP_CAP})

OTHER_REWARD = "*other-reward"
# the other reward's node, unless the relation names it (``other_label``)
OTHER_REWARD_LABEL = Text("同一对象的其他奖励", "another reward for the same subject")


def _member_sets(rel: Relation) -> list[tuple[tuple[str, ...], dict | None]]:
    """(members, when) pairs: one per reading case, or one with when=None."""
    if isinstance(rel.members, Switch):
        return [(tuple(ms), {rel.members.reading: option}) for option, ms in rel.members.cases.items()]
    return [(tuple(rel.members), None)]


def build_graph(policy: Policy, readings: Mapping[str, str] | None = None) -> nx.MultiDiGraph:
    """The relation graph; with ``readings``, only the edges that hold under them."""
    g: nx.MultiDiGraph[str] = nx.MultiDiGraph(policy=policy.id, kb_version=policy.version)
    for item in policy.items.values():
        amount = item.amount.pick(policy.default_readings()) if isinstance(item.amount, Switch) else item.amount
        g.add_node(
            item.id,
            kind="item",
            measure=item.measure,
            label=item.label,
            order=item.order,
            title_zh=item.title.zh,
            title_en=item.title.en,
            amount_kind=amount.kind,
            payer=item.payer,
        )
    for rel in policy.relations.values():
        _add_relation(g, policy, rel, _relation_pairs(policy, rel, readings))
    return g


def _edge_pairs(policy: Policy, rel: Relation, members: tuple[str, ...]) -> list[tuple[str, str]]:
    """The edges one set of members makes: from each member to what it requires or to its cap,
    from another reward to each member, or between every two members of a symmetric relation."""
    if rel.kind == RelationKind.REQUIRES:
        return [(m, rel.params["requires"]) for m in members]
    if rel.kind == RelationKind.EXCLUDED_BY_OTHER_REWARD:
        return [(OTHER_REWARD, m) for m in members]
    ordered = sorted(members, key=lambda i: policy.items[i].order)
    if rel.kind == RelationKind.GROUP_CAP:
        # a cap is a node of its own (its amount and payer), each member pointing to it
        return [(m, rel.id) for m in ordered]
    return list(itertools.combinations(ordered, 2))


def _relation_pairs(policy: Policy, rel: Relation, readings: Mapping[str, str] | None) -> dict[tuple[str, str], list]:
    """Each edge of ``rel`` with the reading conditions (None: always) under which it holds."""
    whens: dict[tuple[str, str], list] = {}
    for members, when in _member_sets(rel):
        if readings is not None and when is not None and any(readings.get(k) != v for k, v in when.items()):
            continue
        for pair in _edge_pairs(policy, rel, members):
            whens.setdefault(pair, []).append(when)
    return whens


def _add_relation(g: nx.MultiDiGraph, policy: Policy, rel: Relation, whens: dict[tuple[str, str], list]) -> None:
    for (a, b), conditions in whens.items():
        if a == OTHER_REWARD and a not in g:
            label = rel.params.get("other_label") or OTHER_REWARD_LABEL
            g.add_node(OTHER_REWARD, kind="external", title_zh=label.zh, title_en=label.en, order=-1)
        if rel.kind == RelationKind.GROUP_CAP and b not in g:
            g.add_node(
                b,
                kind="cap",
                cap=str(rel.params["cap"]),
                payer=rel.payer,
                scope=rel.scope,
                title_zh=rel.title.zh,
                title_en=rel.title.en,
                order=len(policy.items) + list(policy.relations).index(rel.id),
            )
        when = None if any(c is None for c in conditions) or len(conditions) == len(_member_sets(rel)) else _merge(conditions)
        g.add_edge(
            a,
            b,
            key=rel.id,
            relation=rel.id,
            kind=rel.kind,
            scope=rel.scope,
            directed=rel.kind in DIRECTED,
            title_zh=rel.title.zh,
            title_en=rel.title.en,
            quote=rel.quote,
            when=when,
        )


def _merge(conditions: list[dict]) -> dict:
    merged: dict[str, list] = {}
    for c in conditions:
        for k, v in c.items():
            merged.setdefault(k, [])
            if v not in merged[k]:
                merged[k].append(v)
    return merged


def relation_groups(graph: nx.MultiDiGraph, policy: Policy) -> dict[str, tuple[str, ...]]:
    """Members of each relation in a graph built for one set of readings, in policy order."""
    members: dict[str, set[str]] = {}
    for a, b, data in graph.edges(data=True):
        rid = data["relation"]
        group = members.setdefault(rid, set())
        if data["kind"] in (RelationKind.REQUIRES, RelationKind.GROUP_CAP):
            group.add(a)
        elif data["kind"] == RelationKind.EXCLUDED_BY_OTHER_REWARD:
            group.add(b)
        else:
            group.update((a, b))
    return {rid: tuple(sorted(ms, key=lambda i: policy.items[i].order)) for rid, ms in members.items()}


# --- exports ---------------------------------------------------------------------


def to_json(g: nx.MultiDiGraph, policy: Policy) -> str:
    nodes = [{"id": n, **{k: v for k, v in d.items()}} for n, d in sorted(g.nodes(data=True), key=lambda nd: nd[1].get("order", 0))]
    edges = []
    for a, b, data in sorted(
        g.edges(data=True), key=lambda e: (e[2]["relation"], g.nodes[e[0]].get("order", 0), g.nodes[e[1]].get("order", 0))
    ):
        edges.append({"source": a, "target": b, **data})
    provisions = [
        {"id": p.id, "kind": p.kind, "title_zh": p.title.zh, "title_en": p.title.en, "quote": p.quote} for p in policy.provisions.values()
    ]
    doc = {"policy": policy.id, "kb_version": policy.version, "nodes": nodes, "edges": edges, "provisions": provisions}
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def _dot_quote(text: str) -> str:
    """A DOT string: backslashes and quotes escaped, a line break written as DOT's ``\\n``."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(g: nx.MultiDiGraph, lang: str = "zh") -> str:
    lines = ["digraph relations {", "  rankdir=LR;", '  node [shape=box, fontname="Noto Sans CJK SC"];']
    for n, d in sorted(g.nodes(data=True), key=lambda nd: nd[1].get("order", 0)):
        title = d.get(f"title_{lang}", "")
        label = f"{n}\n{d.get('label', '')} {title}".strip()
        shape = ", shape=ellipse, style=dashed" if d.get("kind") == "external" else ""
        if d.get("kind") == "cap":
            label = f"{n}\n≤ {d['cap']} ({d['payer']}, {d['scope']})\n{title}"
            shape = ", shape=hexagon"
        lines.append(f"  {_dot_quote(n)} [label={_dot_quote(label)}{shape}];")
    for a, b, data in sorted(g.edges(data=True), key=lambda e: (e[2]["relation"], e[0], e[1])):
        attrs = [f"label={_dot_quote(data['relation'] + _when_text(data.get('when')))}"]
        if not data["directed"]:
            attrs.append("dir=none")
        if data["kind"] in (RelationKind.EXCLUSIVE, RelationKind.EXCLUDED_BY_OTHER_REWARD):
            attrs.append("color=red")
        elif data["kind"] == RelationKind.HIGHEST:
            attrs.append("color=blue")
        elif data["kind"] == RelationKind.GROUP_CAP:
            attrs.append("style=dashed")
        lines.append(f"  {_dot_quote(a)} -> {_dot_quote(b)} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _mermaid_id(node: str) -> str:
    return "n_" + "".join(ch if ch.isalnum() else "_" for ch in node)


def to_mermaid(g: nx.MultiDiGraph, lang: str = "zh") -> str:
    lines = ["graph LR"]
    for n, d in sorted(g.nodes(data=True), key=lambda nd: nd[1].get("order", 0)):
        title = d.get(f"title_{lang}", "").replace('"', "'")
        if d.get("kind") == "cap":
            lines.append(f'  {_mermaid_id(n)}{{{{"{n}<br/>≤ {d["cap"]} ({d["payer"]}, {d["scope"]})<br/>{title}"}}}}')
            continue
        lines.append(f'  {_mermaid_id(n)}["{n}<br/>{d.get("label", "")} {title}"]')
    for a, b, data in sorted(g.edges(data=True), key=lambda e: (e[2]["relation"], e[0], e[1])):
        arrow = "-->" if data["directed"] else "---"
        label = data["relation"] + _when_text(data.get("when"))
        lines.append(f"  {_mermaid_id(a)} {arrow}|{label}| {_mermaid_id(b)}")
    return "\n".join(lines) + "\n"


def _when_text(when: Any) -> str:
    if not when:
        return ""
    parts = [f"{k}={'/'.join(v) if isinstance(v, list) else v}" for k, v in when.items()]
    return " [" + ", ".join(parts) + "]"
