"""``policykb bench --http`` runs against a real server and reports its figures (not a timed test)."""

from __future__ import annotations

import json


def test_bench_http_reports_latency_and_throughput(process):
    run = process("bench", "--http", "--applications", "40", "--workers", "1", "--concurrency", "4", "--format", "json")
    assert run.code == 0, run.err
    result = json.loads(run.out)
    assert result["requests"] == 40 and result["workers"] == 1 and result["concurrency"] == 4
    assert result["errors"] == 0
    assert 0 < result["c1_p50_ms"] <= result["c1_p99_ms"]
    assert result["c4_per_second"] > 0 and 0 < result["c4_p50_ms"] <= result["c4_p99_ms"]
    assert len(result["kb_version"]) == 64


def test_bench_http_refuses_what_it_cannot_measure(cli):
    assert cli("bench", "--http", "--audit").code == 2
    assert cli("bench", "--http", "--reading", "I-09=declared_only").code == 2
    assert cli("bench", "--http", "--concurrency", "0").code == 2
