"""The JSON Schema of an application, generated from the fact vocabulary.

Draft-07, widely supported, so that other services can validate before they call
us; ``jsonschema`` reports every error against it with its path, and the engine's
precompiled fast path (engine/fastpath.py) checks exactly the same constraints.  Money is a number or a decimal
string in yuan; the two-decimal rule and dates are re-checked when the input is
coerced (engine/application.py), where exact values are at hand.
"""

from __future__ import annotations

from policykb.money import MONEY_LIMIT

from .model import FieldSpec, Policy

MONEY_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,2})?$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
MAX_FACTS = 2000
# Below 10^12 yuan (an exact integer bound, one constant in policykb/money.py), so that amounts
# in fen stay far inside the rules engine's 64-bit integers.
MAX_COUNT = 10**12


def field_schema(spec: FieldSpec, item_ids: list[str]) -> dict:
    t = spec.type
    desc = f"{spec.label.zh} / {spec.label.en}"
    if t == "money":
        out: dict = {
            "type": ["integer", "number", "string"],
            "minimum": 0,
            "exclusiveMaximum": MONEY_LIMIT,
            "pattern": MONEY_PATTERN,
            "description": desc + " (yuan; at most two decimals)",
        }
    elif t in ("count", "integer", "year"):
        out = {"type": "integer", "description": desc}
        low = spec.minimum if spec.minimum is not None else (0 if t == "count" else (1990 if t == "year" else None))
        high = spec.maximum if spec.maximum is not None else (2100 if t == "year" else (MAX_COUNT if t == "count" else None))
        if low is not None:
            out["minimum"] = low
        if high is not None:
            out["maximum"] = high
    elif t == "bool":
        out = {"type": "boolean", "description": desc}
    elif t == "enum":
        out = {"type": "string", "enum": list(spec.values or {}), "description": desc}
    elif t == "date":
        out = {"type": "string", "pattern": DATE_PATTERN, "description": desc + " (YYYY-MM-DD)"}
    elif t == "item":
        out = {"type": "string", "enum": item_ids, "description": desc}
    elif t == "items":
        out = {"type": "array", "items": {"type": "string", "enum": item_ids}, "uniqueItems": True, "description": desc}
    else:
        out = {"type": "string", "minLength": 1, "description": desc}
    return out


def subject_needed(policy: Policy, fact_type: str) -> tuple[str, list] | None:
    """For a fact type whose subject is optional: (selector field, values) of the facts that
    concern a workshop, factory, project … and so must name it — derived from the items."""
    ft = policy.vocabulary.fact_types[fact_type]
    if ft.subject_required:
        return None
    items = [i for i in policy.items.values() if i.fact == fact_type]
    fields = {name for i in items for name in i.select}
    if len(fields) != 1:
        return None
    (field,) = fields
    values = [v for i in items if i.subject != "enterprise" for v in i.select.get(field, ())]
    return (field, values) if values else None


def application_schema(policy: Policy) -> dict:
    voc = policy.vocabulary
    item_ids = list(policy.items)
    applicant = {
        "type": "object",
        "description": f"{voc.applicant_label.zh} / {voc.applicant_label.en}",
        "properties": {name: field_schema(spec, item_ids) for name, spec in voc.applicant.items()},
        "required": [name for name, spec in voc.applicant.items() if spec.required],
        "additionalProperties": False,
    }
    definitions: dict = {"applicant": applicant}
    branches = []
    for name, ft in voc.fact_types.items():
        props: dict = {"type": {"const": name}}
        for cname, spec in voc.common.items():
            props[cname] = field_schema(spec, item_ids)
        for fname, spec in ft.fields.items():
            props[fname] = field_schema(spec, item_ids)
        required = ["type"] + (["subject"] if ft.subject_required else [])
        required += [f for f, spec in ft.fields.items() if spec.required]
        definition: dict = {
            "type": "object",
            "description": f"{ft.label.zh} / {ft.label.en}",
            "properties": props,
            "required": required,
            "additionalProperties": False,
        }
        conditional = []
        for fname, spec in ft.fields.items():
            if spec.required_when:
                conditional.append(
                    {
                        "if": {
                            "properties": {k: {"const": v} for k, v in spec.required_when.items()},
                            "required": list(spec.required_when),
                        },
                        "then": {"required": [fname]},
                    }
                )
        needed = subject_needed(policy, name)
        if needed:
            field, values = needed
            conditional.append({"if": {"properties": {field: {"enum": values}}, "required": [field]}, "then": {"required": ["subject"]}})
        if conditional:
            definition["allOf"] = conditional
        definitions[f"fact.{name}"] = definition
        branches.append(
            {"if": {"properties": {"type": {"const": name}}, "required": ["type"]}, "then": {"$ref": f"#/definitions/fact.{name}"}}
        )
    definitions["fact"] = {
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"type": "string", "enum": list(voc.fact_types)}},
        "allOf": branches,
    }
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": f"https://policykb.invalid/schema/{policy.id}/application.json",
        "title": f"Application under {policy.document_number} {policy.title.zh}",
        "description": "applicant + year + facts; money in yuan; see `policykb help engine` (docs/engine.md in the repository)",
        "type": "object",
        "required": ["applicant", "year", "facts"],
        "additionalProperties": False,
        "properties": {
            "policy": {"const": policy.id, "description": "optional: the policy this application is for"},
            "applicant": {"$ref": "#/definitions/applicant"},
            "year": {"type": "integer", "minimum": 1990, "maximum": 2100, "description": "申报年度 / year of the application"},
            "facts": {"type": "array", "maxItems": MAX_FACTS, "items": {"$ref": "#/definitions/fact"}},
        },
        "definitions": definitions,
    }
