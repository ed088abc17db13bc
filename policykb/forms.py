"""The fact vocabulary as data for forms: what an application may say, labelled.

``vocabulary(policy)`` is what ``GET /v1/policies/{id}/vocabulary`` answers and what the
workbench's application editor is generated from: the applicant's fields and each fact
type's, with labels, units and enum values in both languages, and for each field the
sentences of the policy it feeds; plus the KB's words for statuses, amount kinds and
explanation phrases, so that a client shows nothing policy-specific of its own.
"""

from __future__ import annotations

from policykb.kb.conditions import compares
from policykb.kb.describe import YUAN
from policykb.kb.messages import messages
from policykb.kb.model import Policy, Switch


def _field_json(spec, feeds: list[dict]) -> dict:
    out = {
        "name": spec.name,
        "type": spec.type,
        "label": spec.label.to_dict(),
        "required": bool(spec.required),
        "unit": spec.unit.to_dict() if spec.unit else (YUAN.to_dict() if spec.type == "money" else None),
        "values": [{"value": k, "label": v.to_dict()} for k, v in (spec.values or {}).items()],
        "minimum": spec.minimum,
        "maximum": spec.maximum,
        "required_when": dict(spec.required_when) if spec.required_when else None,
        "feeds": feeds,
    }
    return out


def vocabulary(policy: Policy) -> dict:
    """What an application may say, with every label in both languages and, for each field,
    the items whose sentences it feeds (the words a condition compares it against, or the
    amount it is the base of) — what a form needs to be generated from the KB alone."""
    feeds = _feeds(policy)
    voc = policy.vocabulary
    return {
        "policy": policy.id,
        "kb_version": policy.version,
        "document_number": policy.document_number,
        "title": policy.title.to_dict(),
        "applicant": {
            "label": voc.applicant_label.to_dict(),
            "fields": [_field_json(s, feeds.get(("applicant", n), [])) for n, s in voc.applicant.items()],
        },
        "common": [_field_json(s, []) for s in voc.common.values()],
        "fact_types": [
            {
                "type": name,
                "label": ft.label.to_dict(),
                "subject_kind": {"id": ft.subject_kind, "label": voc.subject_kinds[ft.subject_kind].to_dict()}
                if ft.subject_kind in voc.subject_kinds
                else None,
                "subject_required": ft.subject_required,
                "role": ft.role,
                "items": [i.id for i in policy.items.values() if i.fact == name],
                "fields": [_field_json(s, feeds.get((name, n), [])) for n, s in ft.fields.items()],
            }
            for name, ft in voc.fact_types.items()
        ],
        "statuses": {k: v.to_dict() for k, v in messages().statuses.items()},
        "amount_kinds": {k: v.to_dict() for k, v in messages().amount_kinds.items()},
        "sections": {k[len("section_") :]: v.to_dict() for k, v in messages().phrases.items() if k.startswith("section_")},
        "phrases": {k: v.to_dict() for k, v in messages().phrases.items()},
    }


def _feeds(policy: Policy) -> dict[tuple[str, str], list[dict]]:
    """(fact type, field) → the provisions and items whose sentences the field feeds."""
    feeds: dict[tuple[str, str], list[dict]] = {}

    def feed(fact_type: str, name: str, part, says: str) -> None:
        rows = feeds.setdefault((fact_type, name), [])
        if not any(r["item"] == part.id and r["says"] == says for r in rows):
            rows.append({"item": part.id, "label": getattr(part, "label", ""), "title": part.title.to_dict(), "says": says or part.quote})

    def feed_field(fact_type: str, name: str, part, says: str) -> None:
        if name.startswith("applicant."):
            feed("applicant", name[len("applicant.") :], part, says)
        else:
            feed(fact_type, name, part, says)

    for provision in policy.provisions.values():
        for c in compares(provision.conditions) if provision.conditions is not None else ():
            if c.field.startswith("applicant."):
                feed_field("applicant", c.field, provision, c.says)
    for item in policy.items.values():
        for c in compares(item.conditions):
            for name in filter(None, (c.field, c.ref)):
                feed_field(item.fact, name, item, c.says)
        amounts = item.amount.cases.values() if isinstance(item.amount, Switch) else [item.amount]
        for amount in amounts:
            for name in amount.inputs():
                feed(item.fact, name, item, item.quote)
    return feeds
