"""The OpenAPI 3.1 document of the service, built from the served knowledge base.

The application schema is the one ``policykb schema`` prints (``kb.schema()``),
embedded, not copied: its ``definitions`` become components and its ``$ref``s are
pointed at them (``embed_schema``), so the document cannot drift from the KB.  The
answers' schemas describe the JSON the command line prints with ``--format json``.
"""

from __future__ import annotations

import copy
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from policykb import __version__
from policykb.text import json_text
from policykb.vocabulary import Status

from .answers import JSON_TYPE, answers, text_response
from .limits import JSON, JSONL, YAML

REF = "#/components/schemas/"


def embed_schema(schema: dict) -> tuple[dict, dict]:
    """kb.schema() as (the Application component, its definitions as components)."""
    schema = copy.deepcopy(schema)
    schema.pop("$schema", None)
    schema.pop("$id", None)
    definitions = schema.pop("definitions", {})

    def repoint(node):
        if isinstance(node, dict):
            return {
                k: (
                    REF + v[len("#/definitions/") :]
                    if k == "$ref" and isinstance(v, str) and v.startswith("#/definitions/")
                    else repoint(v)
                )
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [repoint(v) for v in node]
        return node

    return repoint(schema), {name: repoint(d) for name, d in definitions.items()}


def _ref(name: str) -> dict:
    return {"$ref": REF + name}


def _nullable(schema: dict) -> dict:
    return {"oneOf": [schema, {"type": "null"}]}


MONEY = {"type": "string", "pattern": r"^-?\d+\.\d{2}$", "description": "yuan, exactly two decimals"}
BILINGUAL = {"type": "object", "required": ["zh", "en"], "properties": {"zh": {"type": "string"}, "en": {"type": "string"}}}
RANGE = {"type": "object", "required": ["min", "max"], "properties": {"min": MONEY, "max": MONEY}, "additionalProperties": False}
OPEN_OBJECT = {"type": "object"}

ANSWER_SCHEMAS: dict[str, dict] = {
    "Decision": {
        "type": "object",
        "description": "What `policykb evaluate --format json` prints (docs/engine.md).",
        "required": ["policy", "kb_version", "applicant", "year", "readings", "outcomes", "totals", "totals_by_payer"],
        "properties": {
            "policy": {"type": "string"},
            "kb_version": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "applicant": {
                "type": "object",
                "required": ["id", "name"],
                "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
            },
            "year": {"type": "integer"},
            "readings": {"type": "object", "additionalProperties": {"type": "string"}},
            "outcomes": {"type": "array", "items": _ref("Outcome")},
            "totals": RANGE,
            "totals_by_payer": {"type": "object", "additionalProperties": RANGE},
            "trace": {
                "type": "object",
                "description": "with ?trace=true: the provenance — rule firings, derived facts and the "
                "resolved relation graph (networkx node-link JSON), as `policykb evaluate --format json --trace` "
                "prints it (docs/engine.md)",
            },
        },
        "additionalProperties": False,
    },
    "Outcome": {
        "type": "object",
        "required": ["item", "measure", "subject", "status", "amount", "by", "readings", "missing"],
        "properties": {
            "item": {"type": "string"},
            "measure": {"type": "integer"},
            "subject": {"type": "string"},
            "status": {"type": "string", "enum": [status.value for status in Status]},
            "amount": {
                "type": "object",
                "required": ["kind", "min", "max"],
                "properties": {"kind": {"type": "string"}, "min": _nullable(MONEY), "max": _nullable(MONEY)},
                "additionalProperties": False,
            },
            "by": {"type": "array", "items": {"type": "string"}},
            "readings": {"type": "array", "items": {"type": "string"}},
            "missing": {"type": "array", "items": {"type": "string"}},
        },
        "additionalProperties": False,
    },
    "BatchError": {
        "type": "object",
        "description": "A batch entry that could not be evaluated; `problems` name the bad fields.",
        "required": ["index", "error"],
        "properties": {
            "index": {"type": "integer", "minimum": 0},
            "error": {
                "type": "object",
                "required": ["kind", "message", "problems"],
                "properties": {
                    "kind": {"type": "string"},
                    "message": {"type": "string"},
                    "problems": {"type": "array", "items": _ref("ProblemItem")},
                },
            },
        },
    },
    "Explanation": {
        "type": "object",
        "description": "One element of what `policykb why --format json` prints (docs/explain.md).",
        "required": ["policy", "kb_version", "item", "status", "text"],
        "properties": {
            "policy": {"type": "string"},
            "kb_version": {"type": "string"},
            "item": {"type": "string"},
            "subject": {"type": ["string", "null"]},
            "status": {"type": "string"},
            "text": BILINGUAL
            | {"properties": {"zh": {"type": "array", "items": {"type": "string"}}, "en": {"type": "array", "items": {"type": "string"}}}},
        },
    },
    "Answer": {
        "type": "object",
        "description": "What `policykb whatif|qualify|readings|runners-up --format json` prints: the data, and `text` the same in words.",
        "required": ["policy", "kb_version", "text"],
        "properties": {
            "policy": {"type": "string"},
            "kb_version": {"type": "string"},
            "text": {
                "type": "object",
                "required": ["zh", "en"],
                "properties": {"zh": {"type": "array", "items": {"type": "string"}}, "en": {"type": "array", "items": {"type": "string"}}},
            },
        },
    },
    "WhatIfRequest": {
        "type": "object",
        "required": ["application"],
        "additionalProperties": False,
        "properties": {
            "application": _ref("Application"),
            "set": {
                "type": "array",
                "items": {"type": "string"},
                "description": "PATH=VALUE as `--set` (value as JSON; null removes)",
                "examples": [["facts[0].equipment_investment=3000000"]],
            },
            "add": {
                "type": "array",
                "items": {"oneOf": [{"type": "object"}, {"type": "string"}]},
                "description": "facts to add, as `--add`",
            },
            "remove": {"type": "array", "items": {"type": "string"}, "description": "facts[N] or facts[SUBJECT], as `--remove`"},
        },
    },
    "Policy": {
        "type": "object",
        "required": ["id", "document_number", "title", "issued", "in_force", "kb_version", "measures", "items", "relations", "readings"],
        "properties": {
            "id": {"type": "string"},
            "document_number": {"type": "string"},
            "title": BILINGUAL,
            "issued": {"type": "string", "format": "date"},
            "in_force": {"type": "array", "items": {"type": "string", "format": "date"}},
            "kb_version": {"type": "string"},
            "measures": {"type": "integer"},
            "items": {"type": "integer"},
            "relations": {"type": "integer"},
            "readings": {"type": "integer"},
        },
    },
    "Item": {
        "type": "object",
        "description": "One element of what `policykb kb list --format json` prints.",
        "required": [
            "id",
            "measure",
            "label",
            "title",
            "quote",
            "amount_kind",
            "amount",
            "applicants",
            "subject",
            "fact",
            "readings",
            "relations",
            "payer",
            "repeat",
        ],
        "properties": {
            "id": {"type": "string"},
            "measure": {"type": "integer"},
            "label": {"type": "string"},
            "title": BILINGUAL,
            "quote": {"type": "string"},
            "amount_kind": {"type": "string"},
            "amount": BILINGUAL,
            "applicants": {"type": "array", "items": {"type": "string"}},
            "subject": {"type": "string"},
            "fact": {"type": "string"},
            "readings": {"type": "array", "items": {"type": "string"}},
            "relations": {"type": "array", "items": {"type": "string"}},
            "payer": {"type": "string"},
            "repeat": {
                "oneOf": [
                    {"type": "string"},
                    {
                        "type": "object",
                        "description": "a repeat that depends on a reading: the reading and the repeat under each option",
                        "required": ["reading", "cases"],
                        "properties": {
                            "reading": {"type": "string"},
                            "cases": {"type": "object", "additionalProperties": {"type": "string"}},
                        },
                    },
                ]
            },
        },
    },
    "Reading": {
        "type": "object",
        "required": ["id", "question", "quote", "default", "options", "affects"],
        "properties": {
            "id": {"type": "string"},
            "question": BILINGUAL,
            "quote": {"type": "string"},
            "default": {"type": "string"},
            "options": {"type": "object", "additionalProperties": BILINGUAL},
            "affects": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        },
    },
    "AuditLine": {"type": "object", "description": "A finding (docs/audit.md), or — the last line — the report head with `summary`."},
    "ProblemItem": {
        "type": "object",
        "required": ["where", "message"],
        "properties": {
            "where": {"type": "string", "description": "the path of the bad field (facts[2].equipment_investment), or a line"},
            "message": {"type": "string"},
        },
    },
    "Problem": {
        "type": "object",
        "description": "RFC 9457 problem details; `problems` is the list the command line prints.",
        "required": ["type", "title", "status", "detail", "problems"],
        "properties": {
            "type": {"type": "string", "format": "uri"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
            "request_id": {"type": "string"},
            "problems": {"type": "array", "items": _ref("ProblemItem")},
            "error_id": {"type": "string", "description": "500 only: the id of the log entry with the details"},
        },
    },
    "Health": {
        "type": "object",
        "required": ["status"],
        "properties": {"status": {"type": "string"}, "policy": {"type": "string"}, "kb_version": {"type": "string"}},
    },
}

PARAMETERS = {
    "reading": {
        "name": "reading",
        "in": "query",
        "required": False,
        "style": "form",
        "explode": True,
        "description": "switch a reading of an ambiguous sentence, ID:OPTION (repeatable), as `--reading`",
        "schema": {"type": "array", "items": {"type": "string", "pattern": "^I-[0-9]{2}[:=][a-z0-9_]+$"}},
        "example": ["I-09:declared_only"],
    },
    "lang": {
        "name": "lang",
        "in": "query",
        "required": False,
        "description": "language of `format=text`",
        "schema": {"type": "string", "enum": ["zh", "en"], "default": "zh"},
    },
    "format": {
        "name": "format",
        "in": "query",
        "required": False,
        "description": "json (default) or the command line's text",
        "schema": {"type": "string", "enum": ["json", "text"], "default": "json"},
    },
    "trace": {
        "name": "trace",
        "in": "query",
        "required": False,
        "description": "add the derivation graph as `trace`",
        "schema": {"type": "boolean", "default": False},
    },
    "subject": {
        "name": "subject",
        "in": "query",
        "required": False,
        "description": "the subject, when the item has outcomes for several",
        "schema": {"type": "string"},
    },
    "item": {"name": "item", "in": "path", "required": True, "description": "item ID, e.g. m01.equipment", "schema": {"type": "string"}},
    "policy": {"name": "policy", "in": "path", "required": True, "description": "the served policy's ID", "schema": {"type": "string"}},
}

ERRORS = {
    "400": "malformed JSON/YAML, or a bad query parameter",
    "401": "missing or wrong bearer token (servers started with --token-file)",
    "404": "unknown policy, item or subject",
    "413": "body over the limit (--max-body)",
    "415": "wrong Content-Type",
    "422": "the application (or request) breaks its schema; `problems` name the fields",
    "500": "unexpected error; `error_id` is in the server log",
    "503": "the knowledge base is loading or broken",
    "504": "the request passed the timeout (--timeout)",
}


def _param(p: str | dict) -> dict:
    return p if isinstance(p, dict) else {"$ref": f"#/components/parameters/{p}"}


def _errors(*codes: str) -> dict:
    return {code: {"$ref": f"#/components/responses/E{code}"} for code in codes}


def _json(schema: dict, example: Any = None) -> dict:
    body: dict[str, Any] = {"schema": schema}
    if example is not None:
        body["example"] = example
    return body


def _with_text(schema: dict) -> dict:
    return {"application/json": _json(schema), "text/plain": _json({"type": "string"})}


def _application_body(example: Any) -> dict:
    content = {t: _json(_ref("Application"), example if t == "application/json" else None) for t in JSON}
    for t in YAML:
        content[t] = {"schema": {"type": "string", "description": "the application as YAML"}}
    return {"required": True, "content": content}


def _post(
    summary: str,
    description: str,
    params: list,
    ok: dict,
    *,
    body: dict,
    errors=("400", "404", "413", "415", "422", "500", "503", "504"),
    op: str,
) -> dict:
    return {
        "post": {
            "operationId": op,
            "summary": summary,
            "description": description,
            "parameters": [_param(p) for p in params],
            "requestBody": body,
            "responses": {"200": {"description": "OK", "content": ok}, **_errors(*errors)},
        }
    }


def _get(summary: str, params: list, ok: dict, *, op: str, errors=("400", "404", "500", "503"), description: str = "") -> dict:
    return {
        "get": {
            "operationId": op,
            "summary": summary,
            "description": description,
            "parameters": [_param(p) for p in params],
            "responses": {"200": {"description": "OK", "content": ok}, **_errors(*errors)},
        }
    }


def build(kb, *, token: bool = False, example: Any = None) -> dict:
    """The OpenAPI 3.1 document for ``kb`` (with bearer security when the server has a token)."""
    application, definitions = embed_schema(kb.schema())
    policy = kb.policy
    schemas = {"Application": application, **definitions, **ANSWER_SCHEMAS}
    jsonl = {t: {"schema": {"type": "string"}, "x-item-schema": _ref("Application")} for t in JSONL}
    paths = {
        "/v1/evaluate": _post(
            "Evaluate an application",
            "Who qualifies for what, and how much: `policykb evaluate --format json`.",
            ["reading", "lang", "format", "trace"],
            _with_text(_ref("Decision")),
            body=_application_body(example),
            op="evaluate",
        ),
        "/v1/evaluate/batch": _post(
            "Evaluate many applications",
            "A JSON array or JSON Lines of applications; answered as JSON Lines in input order, "
            "each a decision or an error naming the bad fields.",
            ["reading"],
            {"application/x-ndjson": {"schema": {"type": "string"}, "x-item-schema": {"oneOf": [_ref("Decision"), _ref("BatchError")]}}},
            body={"required": True, "content": {"application/json": _json({"type": "array", "items": _ref("Application")}), **jsonl}},
            op="evaluateBatch",
        ),
        "/v1/why/{item}": _post(
            "Why (or why not)",
            "One item's outcome, cited to the policy text: `policykb why --format json`.",
            ["item", "subject", "reading", "lang", "format"],
            _with_text({"type": "array", "items": _ref("Explanation")}),
            body=_application_body(None),
            op="why",
        ),
        "/v1/whatif": _post(
            "What if",
            "Evaluate a changed application and show what changes, and why: `policykb whatif --format json`.",
            ["reading", "lang", "format"],
            _with_text(_ref("Answer")),
            body={"required": True, "content": {"application/json": _json(_ref("WhatIfRequest"))}},
            op="whatif",
        ),
        "/v1/qualify/{item}": _post(
            "How to qualify",
            "The smallest changes that make the item pay, each verified: `policykb qualify --format json`.",
            ["item", "subject", "reading", "lang", "format"],
            _with_text(_ref("Answer")),
            body=_application_body(None),
            op="qualify",
        ),
        "/v1/readings": _post(
            "Readings that matter",
            "Which readings of ambiguous sentences change this application's outcome.",
            ["reading", "lang", "format"],
            _with_text(_ref("Answer")),
            body=_application_body(None),
            op="readings",
        ),
        "/v1/runners-up": _post(
            "Runners-up",
            "Items suppressed by take-the-highest or mutual exclusion, and what they would have paid.",
            ["reading", "lang", "format"],
            _with_text(_ref("Answer")),
            body=_application_body(None),
            op="runnersUp",
        ),
        "/v1/audit": _post(
            "Audit granted awards",
            "Records as JSON Lines or a JSON array, or a form with `awards` (CSV) and `applications` (JSON Lines); "
            "answered as JSON Lines: the findings as they are found, then the report head with the summary; with `format`, "
            "the whole report `policykb audit --format` writes (json, text, md, html) in `lang`.",
            [
                "reading",
                {
                    "name": "format",
                    "in": "query",
                    "required": False,
                    "description": "jsonl (default, streamed) or a whole report",
                    "schema": {"type": "string", "enum": ["jsonl", "json", "text", "md", "html"], "default": "jsonl"},
                },
                "lang",
            ],
            {
                "application/x-ndjson": {"schema": {"type": "string"}, "x-item-schema": _ref("AuditLine")},
                "application/json": _json(OPEN_OBJECT),
                "text/plain": _json({"type": "string"}),
                "text/markdown": _json({"type": "string"}),
                "text/html": _json({"type": "string"}),
            },
            body={
                "required": True,
                "content": {
                    "application/json": _json({"type": "array", "items": {"type": "object"}}),
                    **{t: {"schema": {"type": "string"}} for t in JSONL},
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "records": {"type": "string", "contentMediaType": "application/octet-stream"},
                                "applications": {"type": "string", "contentMediaType": "application/octet-stream"},
                                "awards": {"type": "string", "contentMediaType": "text/csv"},
                            },
                        }
                    },
                },
            },
            op="audit",
        ),
        "/v1/policies": _get(
            "The served policy",
            [],
            {"application/json": _json({"type": "array", "items": _ref("Policy")})},
            op="policies",
            errors=("400", "500", "503"),
        ),
        "/v1/policies/{policy}": _get("One policy", ["policy"], {"application/json": _json(_ref("Policy"))}, op="policy"),
        "/v1/policies/{policy}/items": _get(
            "Its items",
            ["policy"],
            {"application/json": _json({"type": "array", "items": _ref("Item")})},
            op="items",
            description="`policykb kb list --format json`",
        ),
        "/v1/policies/{policy}/items/{item}": _get("One item", ["policy", "item"], {"application/json": _json(_ref("Item"))}, op="item"),
        "/v1/policies/{policy}/graph": _get(
            "Relations between items",
            [
                "policy",
                {
                    "name": "format",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "enum": ["json", "dot", "mermaid"], "default": "json"},
                },
                "lang",
                "reading",
            ],
            {
                "application/json": _json(OPEN_OBJECT),
                "text/vnd.graphviz": _json({"type": "string"}),
                "text/plain": _json({"type": "string"}),
            },
            op="graph",
            description="`policykb kb graph`",
        ),
        "/v1/policies/{policy}/schema": _get(
            "The application JSON Schema",
            ["policy"],
            {"application/schema+json": _json(OPEN_OBJECT)},
            op="schema",
            description="`policykb schema`",
        ),
        "/v1/policies/{policy}/readings": _get(
            "Readings of ambiguous sentences",
            ["policy"],
            {"application/json": _json({"type": "array", "items": _ref("Reading")})},
            op="policyReadings",
        ),
        "/v1/policies/{policy}/vocabulary": _get(
            "What an application may say, for a form",
            ["policy"],
            {"application/json": _json(OPEN_OBJECT)},
            op="vocabulary",
            description="The applicant's and each fact type's fields with labels (zh, en), units, enum values and the sentences "
            "each feeds, and the KB's words for statuses and explanations (`policykb.forms.vocabulary`).",
        ),
        "/v1/policies/{policy}/text": _get(
            "The policy text",
            ["policy"],
            {"text/plain": _json({"type": "string"})},
            op="policyText",
            description="The text every quote is verbatim from.",
        ),
        "/healthz": _get("The process is up", [], {"application/json": _json(_ref("Health"))}, op="healthz", errors=()),
        "/readyz": _get(
            "The KB is loaded and has evaluated", [], {"application/json": _json(_ref("Health"))}, op="readyz", errors=("503",)
        ),
    }
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "policykb",
            "version": __version__,
            "summary": "Industrial-subsidy policy as rules: who qualifies for what, how much, and why.",
            "description": f"Serving {policy.id} ({policy.document_number}), kb_version {policy.version}. "
            "Every answer is the JSON the command line prints with `--format json`; errors are RFC 9457 problem documents.",
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "parameters": PARAMETERS,
            "responses": {
                f"E{code}": {"description": text, "content": {"application/problem+json": _json(_ref("Problem"))}}
                for code, text in ERRORS.items()
            },
        },
    }
    if token:
        document["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        document["security"] = [{"bearer": []}]
        for path in ("/healthz", "/readyz"):
            document["paths"][path]["get"]["security"] = []
        for spec in paths.values():
            for operation in spec.values():
                if operation.get("security") != []:
                    operation["responses"].setdefault("401", {"$ref": "#/components/responses/E401"})
    return document


@answers
async def openapi_json(request: Request):
    state = request.app.state
    kb = state.served.require()
    cached = getattr(state, "openapi_text", None)
    if cached is None:
        cached = state.openapi_text = json_text(build(kb, token=bool(state.config.token)))
    return text_response(cached, JSON_TYPE)


def routes() -> list[Route]:
    return [Route("/openapi.json", openapi_json, methods=["GET"])]
