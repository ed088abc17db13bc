"""Operating ``policykb serve``: the decision log and its reopening on SIGHUP, graceful SIGTERM,
several worker processes, and 2,000 requests over 16 connections equal to sequential results.

Bounded: the load test sends exactly 2,000 requests with a 60 s client timeout each.
"""

from __future__ import annotations

import hashlib
import json
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import psutil

from conftest import EXAMPLES, ROOT
from servers import Server

JSON = {"content-type": "application/json"}


def wait_for(predicate, timeout: float = 30, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("condition not met in time")


def log_lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def test_decision_log_has_one_line_per_decision(http, service):
    example = ROOT / "examples" / "telecom-operator.json"
    body = example.read_bytes()
    answer = http.post("/v1/evaluate", content=body, headers={**JSON, "X-Request-Id": "dlog-1"}, params={"reading": "I-09:declared_only"})
    decision = answer.json()
    entry = wait_for(lambda: [e for e in log_lines(service.decision_log) if e["request_id"] == "dlog-1"])
    assert len(entry) == 1
    entry = entry[0]
    assert entry["route"] == "/v1/evaluate"
    assert entry["input_sha256"] == hashlib.sha256(body).hexdigest()
    assert {k: entry[k] for k in ("policy", "kb_version", "readings", "totals", "year")} == {
        k: decision[k] for k in ("policy", "kb_version", "readings", "totals", "year")
    }
    assert entry["applicant"] == decision["applicant"]["id"]
    assert entry["duration_ms"] > 0 and entry["time"].endswith("Z")
    # a refused application is not a decision; a batch logs each decision with its index
    http.post("/v1/evaluate", content=b'{"year": 1}', headers={**JSON, "X-Request-Id": "dlog-2"})
    batch = "\n".join(json.dumps(json.loads(p.read_text(encoding="utf-8"))) for p in EXAMPLES[:3]) + "\n{}\n"
    http.post("/v1/evaluate/batch", content=batch.encode(), headers={"content-type": "application/x-ndjson", "X-Request-Id": "dlog-3"})
    entries = wait_for(lambda: [e for e in log_lines(service.decision_log) if e["request_id"] == "dlog-3"] or None)
    entries = wait_for(lambda: len(e := [x for x in log_lines(service.decision_log) if x["request_id"] == "dlog-3"]) == 3 and e)
    assert [e["index"] for e in entries] == [0, 1, 2]
    assert all(e["route"] == "/v1/evaluate/batch" and e["input_sha256"] == hashlib.sha256(batch.encode()).hexdigest() for e in entries)
    assert not [e for e in log_lines(service.decision_log) if e["request_id"] == "dlog-2"]


def test_sighup_reopens_the_decision_log(http, service):
    rotated = service.decision_log.with_name("decisions.jsonl.1")
    example = (ROOT / "examples" / "software-firm.json").read_bytes()
    http.post("/v1/evaluate", content=example, headers={**JSON, "X-Request-Id": "before-rotation"})
    wait_for(lambda: any(e["request_id"] == "before-rotation" for e in log_lines(service.decision_log)))
    service.decision_log.rename(rotated)  # what logrotate does, before its postrotate SIGHUP
    service.signal(signal.SIGHUP)
    wait_for(lambda: any("SIGHUP" in e.get("message", "") for e in service.log_entries()))
    http.post("/v1/evaluate", content=example, headers={**JSON, "X-Request-Id": "after-rotation"})
    fresh = wait_for(lambda: log_lines(service.decision_log))
    assert [e["request_id"] for e in fresh] == ["after-rotation"]
    assert not any(e["request_id"] == "after-rotation" for e in log_lines(rotated))
    assert http.get("/readyz").status_code == 200  # SIGHUP did not stop the server


def test_sigterm_lets_in_flight_requests_finish(tmp_path):
    """A streamed batch is under way when SIGTERM arrives: every line still comes, then the server exits."""
    documents = [json.loads(p.read_text(encoding="utf-8")) for p in EXAMPLES]
    batch = "\n".join(json.dumps(documents[i % len(documents)], ensure_ascii=False) for i in range(600)) + "\n"
    server = Server("--no-access-log").start()
    try:
        with (
            httpx.Client(base_url=server.url, timeout=120) as client,
            client.stream("POST", "/v1/evaluate/batch", content=batch.encode(), headers={"content-type": "application/x-ndjson"}) as answer,
        ):
            lines = answer.iter_lines()
            first = next(lines)
            server.signal(signal.SIGTERM)
            rest = list(lines)
        results = [json.loads(line) for line in [first, *rest]]
        assert len(results) == 600 and all("error" not in r for r in results)
        # uvicorn ends by re-raising the SIGTERM it handled, after the graceful shutdown
        assert server.proc.wait(60) in (0, -signal.SIGTERM)
        assert any("shutdown" in e.get("message", "").lower() for e in server.log_entries())
        try:
            httpx.get(server.url + "/healthz", timeout=2)
            raise AssertionError("the server still answers after SIGTERM")
        except httpx.TransportError:
            pass
    finally:
        server.stop()


def _inputs():
    """Distinct applications: the examples and the examples under other readings."""
    out = []
    for path in EXAMPLES:
        body = path.read_bytes()
        out.append((body, {}))
        out.append((body, {"reading": "I-04:one_project"}))
        out.append((body, {"reading": "I-09:declared_only"}))
    return out


def test_2000_requests_over_16_connections_with_2_workers(kb, tmp_path):
    log = tmp_path / "decisions.jsonl"
    inputs = _inputs()
    expected = [
        kb.evaluate(
            json.loads(body, parse_float=__import__("decimal").Decimal),
            {r.split(":")[0]: r.split(":")[1] for r in [q["reading"]] if q} if q else None,
        )
        .to_json()
        .encode()
        for body, q in inputs
    ]
    with Server("--workers", "2", "--decision-log", log, "--no-access-log") as server:
        local = threading.local()
        clients = []

        def client() -> httpx.Client:
            if not hasattr(local, "client"):
                local.client = httpx.Client(base_url=server.url, timeout=60)
                clients.append(local.client)
            return local.client

        def one(n: int):
            body, query = inputs[n % len(inputs)]
            answer = client().post("/v1/evaluate", content=body, headers=JSON, params=query)
            return n, answer.status_code, answer.content

        try:
            with ThreadPoolExecutor(max_workers=16) as pool:
                results = list(pool.map(one, range(2000)))
        finally:
            for c in clients:
                c.close()
        statuses = [status for _, status, _ in results]
        assert statuses.count(200) == 2000, {s: statuses.count(s) for s in set(statuses)}
        mismatched = [n for n, _, content in results if content != expected[n % len(inputs)]]
        assert not mismatched, f"{len(mismatched)} answers differ from the sequential ones, first #{mismatched[0]}"
        # both workers answered, and every decision has one whole line in the shared log
        entries = wait_for(lambda: len(e := log_lines(log)) == 2000 and e)
        assert len({e["request_id"] for e in entries}) == 2000
        assert len({e.get("pid") for e in server.log_entries() if e.get("message") == "ready"}) == 2

        # SIGHUP to the supervisor: a rolling restart, so each new worker reopens the log
        old_workers = {e["pid"] for e in server.log_entries() if e.get("message") == "ready"}
        log.rename(log.with_name("decisions.jsonl.1"))
        server.signal(signal.SIGHUP)
        wait_for(lambda: len([e for e in server.log_entries() if e.get("message") == "ready"]) >= 4, timeout=90)
        wait_for(lambda: not any(psutil.pid_exists(pid) for pid in old_workers), timeout=90)  # the old ones have left
        with server.client() as c:
            answer = c.post("/v1/evaluate", content=inputs[0][0], headers={**JSON, "X-Request-Id": "after-hup"})
            assert answer.status_code == 200
        assert [e["request_id"] for e in wait_for(lambda: log_lines(log))] == ["after-hup"]
