"""Every route of ``policykb serve``, through a real server and a real HTTP client.

Each answer is compared with what the matching command prints with ``--format
json`` (run in-process): the same bytes, since both render through the same
functions.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import EXAMPLES, ROOT

JSON = {"content-type": "application/json"}
CASE_FILES = sorted((ROOT / "kb" / "taicang-2021-3" / "cases").glob("*.yaml"))


def post(http, path, file: Path, **kwargs):
    return http.post(path, content=file.read_bytes(), headers=JSON, **kwargs)


def test_healthz_and_readyz(http, kb):
    assert http.get("/healthz").json() == {"status": "up"}
    ready = http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "policy": kb.policy.id, "kb_version": kb.version}


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_evaluate_is_the_cli_json(http, cli, example):
    answer = post(http, "/v1/evaluate", example)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    expected = cli("evaluate", example, "--format", "json")
    assert expected.code == 0
    assert answer.content == expected.out.encode("utf-8")


def test_evaluate_with_readings_lang_and_text(http, cli):
    example = ROOT / "examples" / "telecom-operator.json"
    answer = post(http, "/v1/evaluate", example, params={"reading": "I-09:declared_only"})
    assert answer.content == cli("evaluate", example, "--reading", "I-09=declared_only", "--format", "json").out.encode()
    assert answer.json()["readings"]["I-09"] == "declared_only"
    text = post(http, "/v1/evaluate", example, params={"format": "text", "lang": "en"})
    assert text.headers["content-type"].startswith("text/plain")
    assert text.text == cli("evaluate", example, "--lang", "en").out


def test_evaluate_yaml_body(http, cli):
    example = ROOT / "examples" / "software-firm.json"
    import yaml

    body = yaml.safe_dump(json.loads(example.read_text(encoding="utf-8")), allow_unicode=True)
    answer = http.post("/v1/evaluate", content=body.encode(), headers={"content-type": "application/yaml"})
    assert answer.status_code == 200
    assert answer.content == cli("evaluate", example, "--format", "json").out.encode()


def test_evaluate_trace(http, kb, example_documents, cli):
    example = ROOT / "examples" / "ic-company.json"
    answer = post(http, "/v1/evaluate", example, params={"trace": "true"})
    assert answer.content == cli("evaluate", example, "--format", "json", "--trace").out.encode()
    data = answer.json()
    assert {"firings", "derived", "graph"} <= set(data["trace"])
    assert data["trace"]["firings"], "the rule firings that built the decision"
    plain = post(http, "/v1/evaluate", ROOT / "examples" / "ic-company.json").json()
    assert {k: v for k, v in data.items() if k != "trace"} == plain


def test_why_is_the_cli_json(http, cli):
    example = ROOT / "examples" / "ic-company.json"
    answer = post(http, "/v1/why/m01.equipment", example)
    assert answer.status_code == 200
    assert answer.content == cli("why", example, "m01.equipment", "--format", "json").out.encode()
    text = post(http, "/v1/why/m01.equipment", example, params={"format": "text", "lang": "en"})
    assert text.text == cli("why", example, "m01.equipment", "--lang", "en").out


def test_why_with_subject(http, cli):
    example = ROOT / "examples" / "software-firm.json"
    answer = post(http, "/v1/why/m19.solution", example, params={"subject": "SOL-ML"})
    expected = cli("why", example, "m19.solution", "--subject", "SOL-ML", "--format", "json")
    assert (answer.status_code, answer.content) == (200, expected.out.encode()) or expected.code != 0


def test_qualify_is_the_cli_json(http, cli):
    example = ROOT / "examples" / "ic-company.json"
    answer = post(http, "/v1/qualify/m01.equipment", example)
    assert answer.status_code == 200
    assert answer.content == cli("qualify", example, "m01.equipment", "--format", "json").out.encode()


@pytest.mark.parametrize("route,command", [("/v1/readings", "readings"), ("/v1/runners-up", "runners-up")])
@pytest.mark.parametrize(
    "example", [ROOT / "examples" / "software-firm.json", ROOT / "examples" / "precision-machinery-sme.json"], ids=lambda p: p.stem
)
def test_explanations_are_the_cli_json(http, cli, route, command, example):
    answer = post(http, route, example)
    assert answer.status_code == 200
    assert answer.content == cli(command, example, "--format", "json").out.encode()
    text = post(http, route, example, params={"format": "text", "lang": "en"})
    assert text.text == cli(command, example, "--lang", "en").out


def test_readings_from_a_chosen_start(http, cli):
    example = ROOT / "examples" / "telecom-operator.json"
    answer = post(http, "/v1/readings", example, params={"reading": "I-09:declared_only"})
    assert answer.content == cli("readings", example, "--reading", "I-09=declared_only", "--format", "json").out.encode()


def test_whatif_is_the_cli_json(http, cli):
    example = ROOT / "examples" / "ic-company.json"
    body = {"application": json.loads(example.read_text(encoding="utf-8")), "set": ["facts[P-FAB-01].equipment_investment=3000000"]}
    answer = http.post("/v1/whatif", json=body)
    assert answer.status_code == 200
    expected = cli("whatif", example, "--set", "facts[P-FAB-01].equipment_investment=3000000", "--format", "json")
    assert answer.content == expected.out.encode()


def test_whatif_add_remove_and_reading(http, cli):
    example = ROOT / "examples" / "software-firm.json"
    fact = {"type": "dcmm_certification", "first_time": True, "date": "2022-11-01", "subject": "X2"}
    body = {"application": json.loads(example.read_text(encoding="utf-8")), "add": [fact], "remove": ["facts[0]"]}
    answer = http.post("/v1/whatif", json=body, params={"reading": "I-09:declared_only"})
    expected = cli(
        "whatif", example, "--add", json.dumps(fact), "--remove", "facts[0]", "--reading", "I-09=declared_only", "--format", "json"
    )
    assert expected.code == 0, expected.err
    assert answer.content == expected.out.encode()


def test_whatif_exact_numbers_in_added_facts(http, cli):
    example = ROOT / "examples" / "ic-company.json"
    raw = example.read_text(encoding="utf-8")
    fact = '{"type": "transformation_project", "subject": "P-NEW", "equipment_investment": 3000000.10, "date": "2022-05-01"}'
    body = '{"application": ' + raw + ', "add": [' + fact + "]}"
    answer = http.post("/v1/whatif", content=body.encode(), headers=JSON)
    expected = cli("whatif", example, "--add", fact, "--format", "json")
    assert answer.status_code == (200 if expected.code == 0 else 422)
    if expected.code == 0:
        assert answer.content == expected.out.encode()
        assert "3000000.10" in answer.text


def test_batch_streams_json_lines_in_order(http, kb, example_documents):
    lines = [json.dumps(json.loads(p.read_text(encoding="utf-8")), ensure_ascii=False) for p in EXAMPLES]
    lines.insert(2, "{not json")
    lines.insert(4, json.dumps({"applicant": 3}))
    answer = http.post("/v1/evaluate/batch", content=("\n".join(lines) + "\n").encode(), headers={"content-type": "application/x-ndjson"})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/x-ndjson"
    results = [json.loads(line) for line in answer.text.splitlines()]
    assert len(results) == len(EXAMPLES) + 2
    assert results[2]["index"] == 2 and results[2]["error"]["problems"][0]["where"] == "line 3"
    assert results[4]["index"] == 4 and {p["where"] for p in results[4]["error"]["problems"]} >= {"applicant", "year", "facts"}
    good = [r for r in results if "error" not in r]
    assert [r["applicant"]["id"] for r in good] == [example_documents[p.stem]["applicant"]["id"] for p in EXAMPLES]
    for path, result in zip(EXAMPLES, good):
        assert result == json.loads(kb.evaluate(path).to_json())


def test_batch_json_array_and_readings(http, kb, example_documents):
    body = "[" + ",".join(p.read_text(encoding="utf-8") for p in EXAMPLES) + "]"
    answer = http.post("/v1/evaluate/batch", content=body.encode(), headers=JSON, params={"reading": "I-06:per_station"})
    results = [json.loads(line) for line in answer.text.splitlines()]
    assert [r["readings"]["I-06"] for r in results] == ["per_station"] * len(EXAMPLES)
    assert results == [json.loads(kb.evaluate(p, {"I-06": "per_station"}).to_json()) for p in EXAMPLES]


def test_audit_json_lines_streams_findings_then_summary(http, cli):
    records = ROOT / "examples" / "audit" / "decisions.jsonl"
    answer = http.post("/v1/audit", content=records.read_bytes(), headers={"content-type": "application/x-ndjson"})
    assert answer.status_code == 200
    lines = [json.loads(line) for line in answer.text.splitlines()]
    report = cli("audit", records, "--format", "json").json()
    head, findings = lines[-1], lines[:-1]
    assert findings == report["findings"]
    assert head["summary"] == report["summary"]
    assert {k: head[k] for k in ("policy", "kb_version", "readings")} == {k: report[k] for k in ("policy", "kb_version", "readings")}
    assert head["input"] == {"file": "request body", "awards": None}


def test_audit_multipart_awards_csv(http, cli):
    folder = ROOT / "examples" / "audit"
    files = {
        "applications": ("applications.jsonl", (folder / "applications.jsonl").read_bytes(), "application/x-ndjson"),
        "awards": ("awards.csv", (folder / "awards.csv").read_bytes(), "text/csv"),
    }
    answer = http.post("/v1/audit", files=files)
    assert answer.status_code == 200, answer.text
    lines = [json.loads(line) for line in answer.text.splitlines()]
    report = cli("audit", folder / "applications.jsonl", "--awards", folder / "awards.csv", "--format", "json").json()
    assert lines[:-1] == report["findings"]
    assert lines[-1]["summary"] == report["summary"]
    assert lines[-1]["input"] == {"file": "applications.jsonl", "awards": "awards.csv"}


def test_audit_json_array(http, cli, tmp_path):
    records = []
    for line in (ROOT / "examples" / "audit" / "decisions.jsonl").read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            pass  # the example carries deliberately broken lines
    (tmp_path / "records.json").write_text(json.dumps(records[:20], ensure_ascii=False), encoding="utf-8")
    answer = http.post("/v1/audit", content=(tmp_path / "records.json").read_bytes(), headers=JSON)
    lines = [json.loads(line) for line in answer.text.splitlines()]
    report = cli("audit", tmp_path / "records.json", "--format", "json").json()
    assert lines[:-1] == report["findings"] and lines[-1]["summary"] == report["summary"]


def test_policies(http, kb, cli):
    listing = http.get("/v1/policies")
    assert listing.status_code == 200
    assert [p["id"] for p in listing.json()] == [kb.policy.id]
    one = http.get(f"/v1/policies/{kb.policy.id}").json()
    assert one == listing.json()[0]
    assert one["kb_version"] == kb.version and one["items"] == len(kb.policy.items)


def test_items_are_kb_list_json(http, kb, cli):
    answer = http.get(f"/v1/policies/{kb.policy.id}/items")
    assert answer.content == cli("kb", "list", "--format", "json").out.encode()
    for row in json.loads(answer.text)[:5]:
        one = http.get(f"/v1/policies/{kb.policy.id}/items/{row['id']}")
        assert one.status_code == 200 and one.json() == row


@pytest.mark.parametrize("fmt", ["json", "dot", "mermaid"])
def test_graph_is_kb_graph(http, kb, cli, fmt):
    answer = http.get(f"/v1/policies/{kb.policy.id}/graph", params={"format": fmt, "lang": "en"})
    assert answer.status_code == 200
    assert answer.text == cli("kb", "graph", "--format", fmt, "--lang", "en").out
    restricted = http.get(f"/v1/policies/{kb.policy.id}/graph", params={"format": fmt, "reading": "I-04:one_project"})
    assert restricted.text == cli("kb", "graph", "--format", fmt, "--reading", "I-04=one_project").out


def test_schema_is_policykb_schema(http, kb, cli):
    answer = http.get(f"/v1/policies/{kb.policy.id}/schema")
    assert answer.headers["content-type"] == "application/schema+json"
    assert answer.content == cli("schema").out.encode()


def test_policy_readings(http, kb):
    rows = http.get(f"/v1/policies/{kb.policy.id}/readings").json()
    assert [r["id"] for r in rows] == list(kb.policy.readings)
    for row in rows:
        reading = kb.policy.readings[row["id"]]
        assert row["default"] == reading.default and list(row["options"]) == list(reading.options)
        assert row["question"] == reading.question.to_dict()


def test_request_id_and_server_timing(http):
    example = ROOT / "examples" / "software-firm.json"
    answer = http.post("/v1/evaluate", content=example.read_bytes(), headers={**JSON, "X-Request-Id": "case-42.a"})
    assert answer.headers["x-request-id"] == "case-42.a"
    timing = answer.headers["server-timing"]
    assert re.fullmatch(r"eval;dur=\d+\.\d{3}, app;dur=\d+\.\d{3}", timing), timing
    fresh = http.get("/healthz", headers={"X-Request-Id": "bad id\twith spaces"})
    assert re.fullmatch(r"[0-9a-f]{32}", fresh.headers["x-request-id"])


def test_access_log_is_structured(http, service):
    http.get("/v1/policies", headers={"X-Request-Id": "access-log-probe"})
    for _ in range(400):  # the line is written just after the answer is sent
        entries = [e for e in service.log_entries() if e.get("request_id") == "access-log-probe"]
        if entries:
            break
        import time

        time.sleep(0.05)
    assert entries and entries[0]["logger"] == "policykb.access"
    assert entries[0]["status"] == 200 and entries[0]["path"] == "/v1/policies" and entries[0]["duration_ms"] >= 0


@pytest.mark.skipif(__import__("shutil").which("curl") is None, reason="curl is not installed")
def test_readme_curl_examples_answer_as_the_cli(service, cli):
    import subprocess

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = [line.strip() for line in readme.splitlines() if line.strip().startswith("curl ") and "127.0.0.1:8000" in line]
    assert commands
    for command in commands:
        run = subprocess.run(
            ["bash", "-c", command.replace("http://127.0.0.1:8000", service.url)], cwd=ROOT, capture_output=True, timeout=60
        )
        assert run.returncode == 0, command
        file = re.search(r"@(\S+)", command).group(1)
        route = re.search(r"/v1/([a-z-]+)(?:/(\S+?))?['?\s]", command + " ")
        if route.group(1) == "evaluate":
            expected = cli("evaluate", ROOT / file, "--format", "json").out
        else:
            expected = cli(route.group(1), ROOT / file, route.group(2), "--lang", "en").out
        assert run.stdout.decode("utf-8") == expected, command


def test_large_bodies_are_parsed_off_the_event_loop_with_the_same_answer(http, cli):
    """Over 64 KiB the body is parsed in a worker thread: the same answer, and the server keeps answering meanwhile."""
    example = ROOT / "examples" / "precision-machinery-sme.json"
    padded = example.read_bytes().rstrip() + b" " * 100_000 + b"\n"
    answer = http.post("/v1/evaluate", content=padded, headers=JSON)
    assert answer.status_code == 200
    assert answer.content == cli("evaluate", example, "--format", "json").out.encode()
    batch = ("[" + ",".join([example.read_text(encoding="utf-8")] * 40) + "]").encode() + b" " * 70_000
    lines = http.post("/v1/evaluate/batch", content=batch, headers=JSON).text.splitlines()
    assert len(lines) == 40 and len(set(lines)) == 1


def test_control_characters_are_refused_as_the_cli_refuses_them(http, cli, tmp_path):
    doc = json.loads((ROOT / "examples" / "software-firm.json").read_text(encoding="utf-8"))
    doc["applicant"]["name"] = "云启\u0085\u202e软件"
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    answer = http.post("/v1/evaluate", content=path.read_bytes(), headers=JSON)
    expected = cli("evaluate", path, "--format", "json")
    assert expected.code == 2 and answer.status_code == 422
    problems = answer.json()["problems"]
    assert problems and all(f"{p['where']}: {p['message']}" in expected.err for p in problems)
    assert "\u0085" not in answer.text  # the message shows the character as an escape, never raw
