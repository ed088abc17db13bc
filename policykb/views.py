"""Listings of the knowledge base for people (text tables) and programs (JSON)."""

from __future__ import annotations

import json

from policykb.kb.describe import amount_text
from policykb.kb.messages import messages
from policykb.kb.model import Policy, Switch
from policykb.safetext import json_safe
from policykb.text import json_text, table


def _amount(policy: Policy, item):
    return item.amount.pick(policy.default_readings()) if isinstance(item.amount, Switch) else item.amount


def _switchable(value):
    """A plain value, or {reading, cases} for one that switches with a reading."""
    if isinstance(value, Switch):
        return {"reading": value.reading, "cases": {k: _switchable(v) for k, v in value.cases.items()}}
    return value


def item_relations(policy: Policy, item_id: str) -> list[str]:
    out = []
    for rel in policy.relations.values():
        groups = rel.members.cases.values() if isinstance(rel.members, Switch) else [rel.members]
        if any(item_id in g for g in groups) or rel.params.get("requires") == item_id:
            out.append(rel.id)
    return out


def json_line(data) -> str:
    """One line of JSON Lines output (a batch result, an audit finding), control characters escaped."""
    return json_safe(json.dumps(data, ensure_ascii=False)) + "\n"


def explanations_json(explanations) -> str:
    """What ``policykb why --format json`` prints: the explanations as a list."""
    return json_text([e.to_dict() for e in explanations])


def explanations_text(explanations, lang: str) -> str:
    return "\n".join(e.to_text(lang) for e in explanations)


def item_rows(policy: Policy) -> list[dict]:
    """One JSON-ready row per item: what ``kb list --format json`` prints."""
    rows = []
    for item in policy.items.values():
        amount = _amount(policy, item)
        rows.append(
            {
                "id": item.id,
                "measure": item.measure,
                "label": item.label,
                "title": item.title.to_dict(),
                "quote": item.quote,
                "amount_kind": amount.kind,
                "amount": {"zh": amount_text(policy, item.fact, amount, "zh"), "en": amount_text(policy, item.fact, amount, "en")},
                "applicants": list(item.applicants),
                "subject": item.subject,
                "fact": item.fact,
                "readings": list(item.readings),
                "relations": item_relations(policy, item.id),
                "payer": item.payer,
                "repeat": _switchable(item.repeat),
            }
        )
    return rows


def items_json(policy: Policy) -> str:
    return json_text(item_rows(policy))


def readings_rows(policy: Policy) -> list[dict]:
    """The readings of ambiguous sentences: question, quoted text, options, default, items affected."""
    return [
        {
            "id": r.id,
            "question": r.question.to_dict(),
            "quote": r.quote,
            "default": r.default,
            "options": {name: label.to_dict() for name, label in r.options.items()},
            "affects": r.affects if isinstance(r.affects, str) else list(r.affects),
        }
        for r in policy.readings.values()
    ]


def policy_summary(policy: Policy) -> dict:
    """What identifies a loaded policy: id, document, title, version, counts."""
    return {
        "id": policy.id,
        "document_number": policy.document_number,
        "title": policy.title.to_dict(),
        "issued": policy.issued.isoformat(),
        "in_force": [policy.in_force[0].isoformat(), policy.in_force[1].isoformat()],
        "kb_version": policy.version,
        "measures": len(policy.measures),
        "items": len(policy.items),
        "relations": len(policy.relations),
        "readings": len(policy.readings),
    }


def items_text(policy: Policy, lang: str = "zh") -> str:
    zh = lang == "zh"
    headers = ["条款", "项目编号", "名称", "类型", "金额", "解读"] if zh else ["Measure", "Item", "Title", "Kind", "Amount", "Readings"]
    rows = []
    for item in policy.items.values():
        amount = _amount(policy, item)
        rows.append(
            [
                item.label if zh else str(item.measure),
                item.id,
                item.title(lang),
                messages().amount_kind(amount.kind, lang),
                amount_text(policy, item.fact, amount, lang),
                ",".join(item.readings),
            ]
        )
    head = f"{policy.document_number} {policy.title(lang)}\n"
    foot = f"\n共 {len(rows)} 项；知识库版本 {policy.version[:12]}\n" if zh else f"\n{len(rows)} items; kb_version {policy.version[:12]}\n"
    return head + table(headers, rows, max_width={2: 40, 4: 56}) + foot
