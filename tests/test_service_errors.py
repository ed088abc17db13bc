"""Every error status of ``policykb serve`` as an RFC 9457 problem document, and the token rule.

Real servers on loopback: the session's (default limits), a restricted one (a
token, a 4 KiB body limit, a 1 ms timeout) and one over a broken KB.  The 500
path is exercised in-process through the app factory's extension seam, with a
route that fails, to check that the error id is in the log and no traceback in
the response.
"""

from __future__ import annotations

import json
import logging
import os
import socket

import httpx
import pytest
from test_broken_kb import FIXTURES, broken_copy

from conftest import ROOT
from servers import Server

JSON = {"content-type": "application/json"}
EXAMPLE = ROOT / "examples" / "ic-company.json"
TOKEN = "s3cret-token-for-tests-0123456789"


def problem(answer: httpx.Response, status: int, slug: str) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert body["type"] == f"urn:policykb:problem:{slug}"
    assert body["status"] == status and body["title"] and body["detail"]
    assert body["request_id"] == answer.headers["x-request-id"]
    assert "Traceback" not in answer.text
    return body


@pytest.fixture(scope="module")
def restricted(tmp_path_factory):
    token_file = tmp_path_factory.mktemp("token") / "token"
    token_file.write_text(TOKEN + "\n", encoding="ascii")
    with Server("--token-file", token_file, "--max-body", "65536", "--timeout", "0.001") as server:
        yield server


# --- 400 -------------------------------------------------------------------------------


def test_malformed_json_is_400_with_line_and_column(http):
    body = problem(http.post("/v1/evaluate", content=b'{"applicant": {"id": "A"},\n  "year": }', headers=JSON), 400, "invalid-json")
    assert body["problems"] == [{"where": "line 2, column 11", "message": "not valid JSON: Expecting value"}]


def test_duplicate_key_empty_body_and_bad_utf8_are_400(http):
    problem(http.post("/v1/evaluate", content=b'{"year": 2022, "year": 2023}', headers=JSON), 400, "invalid-json")
    problem(http.post("/v1/evaluate", content=b"  \n", headers=JSON), 400, "invalid-json")
    body = problem(http.post("/v1/evaluate", content=b'{"applicant": "\xff"}', headers=JSON), 400, "invalid-encoding")
    assert body["problems"][0]["where"] == "byte 15"


def test_malformed_yaml_is_400(http):
    problem(http.post("/v1/evaluate", content=b"applicant: [unclosed\n", headers={"content-type": "application/yaml"}), 400, "invalid-yaml")


def test_unknown_query_parameter_is_400_with_did_you_mean(http):
    body = problem(
        http.post("/v1/evaluate", params={"readings": "I-09:declared_only"}, content=EXAMPLE.read_bytes(), headers=JSON),
        400,
        "invalid-parameter",
    )
    assert "did you mean 'reading'" in body["detail"]


def test_bad_readings_are_400_with_did_you_mean(http):
    body = problem(
        http.post("/v1/evaluate", params={"reading": "I-9:declared_only"}, content=EXAMPLE.read_bytes(), headers=JSON),
        400,
        "invalid-parameter",
    )
    assert body["problems"][0]["where"] == "query.reading.I-9" and "did you mean 'I-09'" in body["problems"][0]["message"]
    body = problem(
        http.post("/v1/evaluate", params={"reading": "I-09:declared"}, content=EXAMPLE.read_bytes(), headers=JSON), 400, "invalid-parameter"
    )
    assert "did you mean 'declared_only'" in body["detail"]
    problem(http.post("/v1/evaluate", params={"reading": "I-09"}, content=EXAMPLE.read_bytes(), headers=JSON), 400, "invalid-parameter")
    problem(http.post("/v1/evaluate", params={"lang": "fr"}, content=EXAMPLE.read_bytes(), headers=JSON), 400, "invalid-parameter")
    problem(http.get("/v1/policies/taicang-2021-3/graph", params={"format": "svg"}), 400, "invalid-parameter")


# --- 404, 405 -----------------------------------------------------------------------------


def test_unknown_item_is_404_with_did_you_mean(http):
    body = problem(http.post("/v1/why/m01.equipmnt", content=EXAMPLE.read_bytes(), headers=JSON), 404, "not-found")
    assert "did you mean 'm01.equipment'" in body["detail"]
    problem(http.post("/v1/qualify/m99.nothing", content=EXAMPLE.read_bytes(), headers=JSON), 404, "not-found")
    body = problem(
        http.post("/v1/why/m01.equipment", params={"subject": "P-FAB-02"}, content=EXAMPLE.read_bytes(), headers=JSON), 404, "not-found"
    )
    assert "P-FAB-01" in body["detail"]
    body = problem(http.get("/v1/policies/taicang-2021-3/items/m01.equipmen"), 404, "not-found")
    assert "did you mean 'm01.equipment'" in body["detail"]


def test_unknown_policy_route_and_method(http):
    body = problem(http.get("/v1/policies/taicang-2021/items"), 404, "not-found")
    assert "taicang-2021-3" in body["detail"]
    problem(http.get("/v2/evaluate"), 404, "not-found")
    answer = http.get("/v1/evaluate")
    problem(answer, 405, "method-not-allowed")
    assert answer.headers["allow"] == "POST"


# --- 413, 415 ---------------------------------------------------------------------------


def test_wrong_media_type_is_415(http):
    answer = http.post("/v1/evaluate", content=EXAMPLE.read_bytes(), headers={"content-type": "text/plain"})
    problem(answer, 415, "unsupported-media-type")
    assert "application/json" in answer.headers["accept-post"]
    problem(http.post("/v1/evaluate", content=EXAMPLE.read_bytes()), 415, "unsupported-media-type")
    problem(
        http.post("/v1/evaluate", content=EXAMPLE.read_bytes(), headers={"content-type": "application/json; charset=latin-1"}),
        415,
        "unsupported-media-type",
    )
    problem(http.post("/v1/evaluate/batch", content=b"a,b\n", headers={"content-type": "text/csv"}), 415, "unsupported-media-type")


def test_declared_body_over_5_mib_is_413_before_it_is_read(service):
    """Only the head is sent: the answer comes without the server waiting for 6 MB."""
    head = (
        f"POST /v1/evaluate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {5 * 2**20 + 1}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", service.port), timeout=30) as sock:
        sock.sendall(head)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 413 ")
    body = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert body["type"] == "urn:policykb:problem:body-too-large" and body["limit"] == 5 * 2**20


def test_streamed_body_over_the_limit_is_413_while_read(restricted):
    def chunks():
        for _ in range(3):
            yield b" " * 30000  # 90,000 bytes in all, with no Content-Length: counted as they arrive

    with restricted.client(headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        answer = client.post("/v1/evaluate", content=chunks(), headers=JSON)
        body = problem(answer, 413, "body-too-large")
        assert body["limit"] == 65536
        small = client.post("/v1/policies", content=b"")
        assert small.status_code == 405


# --- 422 -------------------------------------------------------------------------------


def test_schema_violation_is_422_with_the_cli_problems(http, cli, tmp_path):
    doc = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    doc["facts"][0]["equipment_invesment"] = 1
    doc["applicant"]["kindd"] = "enterprise"
    doc["year"] = "2022"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    body = problem(http.post("/v1/evaluate", content=path.read_bytes(), headers=JSON), 422, "invalid-input")
    expected = cli("evaluate", path)
    assert expected.code == 2
    wheres = [p["where"] for p in body["problems"]]
    assert {"year", "applicant.kindd", "facts[0].equipment_invesment"} <= set(wheres)
    for p in body["problems"]:
        assert f"{p['where']}: {p['message']}" in expected.err
    assert any("did you mean 'kind'" in p["message"] for p in body["problems"])


def test_whatif_request_shape_is_422(http):
    body = problem(http.post("/v1/whatif", json={"aplication": {}, "set": "x"}), 422, "invalid-input")
    wheres = {p["where"] for p in body["problems"]}
    assert wheres == {"aplication", "application", "set"}
    assert "did you mean 'application'" in body["problems"][0]["message"]
    doc = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    problem(http.post("/v1/whatif", json={"application": doc}), 422, "invalid-input")
    body = problem(http.post("/v1/whatif", json={"application": doc, "set": ["facts[9].x=1"]}), 422, "invalid-input")
    assert "facts[9]" in body["detail"]


def test_batch_that_is_not_an_array_is_422(http):
    problem(http.post("/v1/evaluate/batch", content=EXAMPLE.read_bytes(), headers=JSON), 422, "invalid-input")


def test_audit_input_that_is_not_records_is_400_and_bad_forms_422(http):
    problem(http.post("/v1/audit", content=b"", headers={"content-type": "application/x-ndjson"}), 400, "invalid-records")
    files = {"applications": ("a.jsonl", b"{}", "application/x-ndjson")}
    body = problem(http.post("/v1/audit", files=files), 422, "invalid-input")
    assert body["problems"] == [{"where": "awards", "message": "missing (required)"}]
    files = {"record": ("a.jsonl", b"{}", "application/x-ndjson")}
    problem(http.post("/v1/audit", files=files), 422, "invalid-input")


# --- 401: the token rule ------------------------------------------------------------------


def test_token_is_required_everywhere_but_health(restricted):
    with restricted.client() as client:
        for path in ("/healthz", "/readyz", "/docs", "/docs/assets/docs.js"):
            assert client.get(path).status_code == 200, path
        for method, path in [("GET", "/v1/policies"), ("GET", "/openapi.json"), ("POST", "/v1/evaluate"), ("GET", "/nowhere")]:
            answer = client.request(method, path)
            body = problem(answer, 401, "unauthorized")
            assert answer.headers["www-authenticate"].startswith("Bearer")
            assert "Authorization: Bearer" in body["detail"]
        wrong = client.get("/v1/policies", headers={"Authorization": f"Bearer {TOKEN}x"})
        assert "not valid" in problem(wrong, 401, "unauthorized")["detail"]
        assert client.get("/v1/policies", headers={"Authorization": TOKEN}).status_code == 401
        right = client.get("/v1/policies", headers={"Authorization": f"Bearer {TOKEN}"})
        assert right.status_code == 200
        spec = client.get("/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"}).json()
        assert spec["security"] == [{"bearer": []}] and spec["paths"]["/healthz"]["get"]["security"] == []


def test_non_loopback_host_needs_a_token_file(cli, tmp_path):
    refused = cli("serve", "--host", "0.0.0.0", "--port", "1")
    assert refused.code == 2
    assert "--token-file" in refused.err and "0.0.0.0" in refused.err
    assert cli("serve", "--host", "192.0.2.7").code == 2
    assert cli("serve", "--host", "example.org").code == 2
    empty = tmp_path / "empty"
    empty.write_text("\n")
    assert "is empty" in cli("serve", "--host", "0.0.0.0", "--token-file", empty).err
    short = tmp_path / "short"
    short.write_text("abc\n")
    assert "at least 16" in cli("serve", "--token-file", short).err
    assert "no such file" in cli("serve", "--token-file", tmp_path / "none").err
    assert "is a folder, not a token file" in cli("serve", "--token-file", tmp_path).err
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # read, it would wait for a writer for ever
    refused = cli("serve", "--token-file", fifo)
    assert refused.code == 2 and f"--token-file: {fifo} is a FIFO; give a regular file\n" in refused.err


def test_settings_accepted_with_a_token_and_workers_capped(tmp_path, capsys):
    from policykb.service.config import ServiceConfig, is_loopback
    from policykb.service.server import checked, cpu_count

    token = tmp_path / "token"
    token.write_text(TOKEN)
    config = checked(ServiceConfig(host="0.0.0.0", workers=cpu_count() + 7), str(token))
    assert config.token == TOKEN and config.workers == cpu_count()
    assert f"running {cpu_count()}" in capsys.readouterr().err
    assert [is_loopback(h) for h in ("127.0.0.1", "127.8.0.1", "::1", "[::1]", "localhost", "0.0.0.0", "10.0.0.1", "::")] == [
        True,
        True,
        True,
        True,
        True,
        False,
        False,
        False,
    ]


@pytest.mark.parametrize(
    "args,words",
    [
        (("--workers", "0"), "--workers must be 1 to"),
        (("--workers", "100000"), "--workers must be 1 to"),
        (("--port", "70000"), "--port"),
        (("--max-body", "0"), "--max-body"),
        (("--timeout", "0"), "--timeout"),
        (("--kb", "/nonexistent/kb"), "not a knowledge-base folder"),
        (("--policy", "taicang"), "did you mean"),
        (("--decision-log", "/nonexistent/folder/log.jsonl"), "--decision-log"),
    ],
)
def test_bad_settings_exit_2_before_serving(cli, args, words):
    result = cli("serve", *args)
    assert result.code == 2 and words in result.err


# --- 504 -------------------------------------------------------------------------------


def test_request_over_the_timeout_is_504(restricted):
    with restricted.client(headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        # twelve evaluations of one application cannot finish within the 1 ms limit
        body = problem(client.post("/v1/readings", content=EXAMPLE.read_bytes(), headers=JSON), 504, "timeout")
        assert body["timeout_seconds"] == 0.001
        assert client.get("/v1/policies").status_code == 200  # no evaluation, no limit


# --- 503 -------------------------------------------------------------------------------


def test_broken_kb_is_503_from_readyz_and_v1(tmp_path):
    folder = broken_copy(next(f for f in FIXTURES if f.name == "bad_yaml"), tmp_path)
    with Server("--kb", folder, ready_status=503) as server, server.client() as client:
        assert client.get("/healthz").status_code == 200
        body = problem(client.get("/readyz"), 503, "kb-unavailable")
        assert any("m13.yaml" in p["where"] + p["message"] for p in body["problems"])
        problem(client.post("/v1/evaluate", content=EXAMPLE.read_bytes(), headers=JSON), 503, "kb-unavailable")
        problem(client.get("/v1/policies"), 503, "kb-unavailable")
        assert any(e.get("level") == "error" and "broken" in e["message"] for e in server.log_entries())


# --- 500 -------------------------------------------------------------------------------


def test_unexpected_error_is_500_with_an_error_id_in_the_log(caplog):
    """A route added through ``extra_routes`` that fails: the answer names an error id, the log has it."""
    import anyio
    from starlette.routing import Route

    from policykb.service.answers import answers
    from policykb.service.app import create_app

    @answers
    async def failing(request):
        return {}["no such key"]

    async def unguarded(request):
        raise RuntimeError("an unguarded failure")

    app = create_app(extra_routes=[Route("/failing", failing), Route("/unguarded", unguarded)])

    async def ask(path):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://test") as client:
            return await client.get(path)

    with caplog.at_level(logging.ERROR, logger="policykb.service"):
        for path in ("/failing", "/unguarded"):
            answer = anyio.run(ask, path)
            body = problem(answer, 500, "internal-error")
            assert body["error_id"] in body["detail"]
            assert "no such key" not in answer.text and "unguarded failure" not in answer.text
            record = next(r for r in caplog.records if body["error_id"] in r.getMessage())
            assert record.exc_info is not None


def test_malformed_form_is_400(http):
    boundary = "b0undary"
    parts = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\nx\r\n' for i in range(5))
    answer = http.post(
        "/v1/audit", content=(parts + f"--{boundary}--\r\n").encode(), headers={"content-type": f"multipart/form-data; boundary={boundary}"}
    )
    assert "Too many fields" in problem(answer, 400, "invalid-form")["detail"]
    unterminated = http.post(
        "/v1/audit",
        content=f'--{boundary}\r\nContent-Disposition: form-data; name="records"\r\n'.encode(),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert unterminated.status_code in (400, 422) and unterminated.headers["content-type"] == "application/problem+json"


def test_stream_past_the_timeout_ends_with_a_timeout_line(restricted):
    """The status of a stream is sent with its first line: a slice past the timeout ends it with an error line."""
    doc = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    project = next(f for f in doc["facts"] if f["type"] == "transformation_project")
    doc["facts"] += [dict(project, subject=f"P-{i}") for i in range(300)]  # one evaluation of tens of ms
    line = json.dumps(doc, ensure_ascii=False)
    with restricted.client(headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        small = json.dumps(json.loads(EXAMPLE.read_text(encoding="utf-8")), ensure_ascii=False)
        answer = client.post("/v1/evaluate/batch", content=f"{line}\n{small}\n".encode(), headers={"content-type": "application/x-ndjson"})
        assert answer.status_code == 200
        lines = [json.loads(text) for text in answer.text.splitlines()]
        assert len(lines) == 1
        assert lines[0]["index"] == 0 and lines[0]["error"]["kind"] == "Timeout" and "--timeout" in lines[0]["error"]["message"]


def test_command_line_does_not_load_the_server_stack():
    """`policykb evaluate` and friends build the parser, serve included, without importing Starlette."""
    import subprocess
    import sys

    code = "import sys, policykb.cli; policykb.cli.build_parser(); print('starlette' in sys.modules, 'uvicorn' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.stdout.split() == ["False", "False"], run.stderr


def test_yaml_aliases_are_refused_before_they_expand(http):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
    body = problem(http.post("/v1/evaluate", content=bomb.encode(), headers={"content-type": "application/yaml"}), 400, "invalid-yaml")
    assert body["problems"][0]["where"] == "line 2, column 8" and "alias" in body["detail"]
