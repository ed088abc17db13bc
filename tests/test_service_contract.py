"""The contract of ``policykb serve``: the OpenAPI 3.1 document, answers that match it, and clients.

- the document validates as OpenAPI 3.1 (openapi-spec-validator), embeds the application
  schema ``policykb schema`` prints, and lists exactly the routes the app serves;
- property tests generated from it (schemathesis, a fixed seed, a bounded number of
  examples per operation): no 5xx, every status and content type documented, every
  JSON answer valid against its schema;
- every YAML case of the KB through ``POST /v1/evaluate`` gives the bytes
  ``policykb evaluate --format json`` prints (or, for a case that expects an error,
  the same problems);
- a client in another language (Node's fetch) evaluates an example.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from conftest import EXAMPLES, ROOT

JSON = {"content-type": "application/json"}
CASE_FILES = sorted((ROOT / "kb" / "taicang-2021-3" / "cases").glob("*.yaml"))


@pytest.fixture(scope="module")
def spec(http):
    answer = http.get("/openapi.json")
    assert answer.status_code == 200
    return answer.json()


def test_openapi_validates_as_3_1(spec):
    from openapi_spec_validator import OpenAPIV31SpecValidator

    assert spec["openapi"] == "3.1.0"
    OpenAPIV31SpecValidator(spec).validate()


def test_openapi_embeds_the_application_schema(spec, kb):
    """Re-inlining the components gives back exactly what ``policykb schema`` prints."""
    schemas = spec["components"]["schemas"]
    original = kb.schema()

    def inline_refs(node):
        if isinstance(node, dict):
            return {k: ("#/definitions/" + v.split("/")[-1] if k == "$ref" else inline_refs(v)) for k, v in node.items()}
        if isinstance(node, list):
            return [inline_refs(v) for v in node]
        return node

    rebuilt = inline_refs(schemas["Application"])
    rebuilt["definitions"] = {name: inline_refs(schemas[name]) for name in original["definitions"]}
    assert rebuilt == {k: v for k, v in original.items() if k not in ("$schema", "$id")}


def test_openapi_lists_exactly_the_served_routes(spec, service):
    from starlette.routing import Route

    from policykb.service.app import create_app

    served = set()
    for route in create_app().routes:
        if isinstance(route, Route) and route.path not in ("/openapi.json", "/docs"):
            for method in route.methods - {"HEAD"}:
                served.add((method.lower(), route.path.replace("{policy}", "{policy}")))
    documented = {(method, path) for path, ops in spec["paths"].items() for method in ops}
    assert documented == served


def test_answers_validate_against_their_schemas(spec, http, kb):
    """The documented schemas describe the real answers (beyond what property tests reach)."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    resource = Resource.from_contents(spec, default_specification=__import__("referencing").jsonschema.DRAFT202012)
    registry = Registry().with_resource("urn:spec", resource)

    def check(name, instance):
        Draft202012Validator({"$ref": f"urn:spec#/components/schemas/{name}"}, registry=registry).validate(instance)

    for example in EXAMPLES:
        check("Decision", http.post("/v1/evaluate", content=example.read_bytes(), headers=JSON).json())
        check("Application", json.loads(example.read_text(encoding="utf-8")))
    traced = http.post("/v1/evaluate", content=EXAMPLES[0].read_bytes(), headers=JSON, params={"trace": "true"}).json()
    check("Decision", traced)
    for row in http.get(f"/v1/policies/{kb.policy.id}/items").json():
        check("Item", row)
    for row in http.get(f"/v1/policies/{kb.policy.id}/readings").json():
        check("Reading", row)
    check("Policy", http.get(f"/v1/policies/{kb.policy.id}").json())
    ic = ROOT / "examples" / "ic-company.json"
    for e in http.post("/v1/why/m01.equipment", content=ic.read_bytes(), headers=JSON).json():
        check("Explanation", e)
    for route in ("/v1/qualify/m01.equipment", "/v1/readings", "/v1/runners-up"):
        check("Answer", http.post(route, content=ic.read_bytes(), headers=JSON).json())
    bad = http.post("/v1/evaluate", content=b"{}", headers=JSON).json()
    check("Problem", bad)
    lines = http.post("/v1/evaluate/batch", content=b"{}\n", headers={"content-type": "application/x-ndjson"}).text.splitlines()
    check("BatchError", json.loads(lines[0]))


# --- property tests --------------------------------------------------------------------------


def test_property_based_from_openapi(spec, service):
    """schemathesis, fixed seed: a bounded number of examples per operation, positive and negative."""
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode
    from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance, status_code_conformance

    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    schema = schemathesis.openapi.from_dict(spec)
    started = time.monotonic()
    calls = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            examples = 12 if operation.method.upper() == "POST" else 6

            @settings(
                max_examples=examples,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.explicit, Phase.generate],
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case):
                nonlocal calls
                calls += 1
                case.call_and_validate(base_url=service.url, checks=checks, timeout=30)

            try:
                run()
            except Unsatisfiable:
                assert mode == GenerationMode.NEGATIVE, operation.label  # nothing to get wrong on a route without inputs
        assert time.monotonic() - started < 240, "the property tests ran past their time bound"
    assert calls >= 100


# --- every YAML case -----------------------------------------------------------------------------


@pytest.mark.parametrize("case_file", CASE_FILES, ids=lambda p: p.stem)
def test_every_yaml_case_through_http_is_the_cli_json(http, cli, tmp_path, case_file):
    from policykb.testing import build_application

    data = yaml.safe_load(case_file.read_text(encoding="utf-8")) or {}
    defaults = data.get("defaults") or {}
    compared = 0
    for index, case in enumerate(data.get("cases") or []):
        document = build_application(case, defaults)
        path = tmp_path / f"case-{index}.json"
        path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
        readings = [f"{k}={v}" for k, v in (case.get("readings") or {}).items()]
        argv = ["evaluate", path, "--format", "json"] + [a for r in readings for a in ("--reading", r)]
        expected = cli(*argv)
        answer = http.post(
            "/v1/evaluate", content=path.read_bytes(), headers=JSON, params=[("reading", r.replace("=", ":")) for r in readings]
        )
        name = f"{case_file.name}: {case.get('name')}"
        if expected.code == 0:
            assert answer.status_code == 200, f"{name}: {answer.text}"
            assert answer.content == expected.out.encode("utf-8"), name
        else:
            assert expected.code == 2, name
            assert answer.status_code in (400, 422), f"{name}: {answer.status_code}"
            for p in answer.json()["problems"]:
                assert f"{p['where']}: {p['message']}" in expected.err or p["message"] in expected.err, name
        compared += 1
    assert compared == len(data.get("cases") or [])


# --- a client in another language ----------------------------------------------------------------


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@pytest.mark.parametrize(
    "example", [ROOT / "examples" / "software-firm.json", ROOT / "examples" / "telecom-operator.json"], ids=lambda p: p.stem
)
def test_node_fetch_client_evaluates_an_example(service, cli, example):
    script = Path(__file__).parent / "clients" / "evaluate.mjs"
    run = subprocess.run(["node", str(script), service.url, str(example), "I-09:declared_only"], capture_output=True, timeout=60)
    assert run.returncode == 0, run.stderr.decode()
    expected = cli("evaluate", example, "--reading", "I-09=declared_only", "--format", "json")
    assert run.stdout == expected.out.encode("utf-8")
    assert "outcomes, total up to" in run.stderr.decode()


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_node_fetch_client_reports_problems(service, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"applicant": {}, "year": 2022, "facts": []}', encoding="utf-8")
    run = subprocess.run(
        ["node", str(Path(__file__).parent / "clients" / "evaluate.mjs"), service.url, str(bad)], capture_output=True, timeout=60
    )
    assert run.returncode == 1
    assert "422 Unprocessable Content" in run.stderr.decode() and "applicant.id: missing" in run.stderr.decode()
