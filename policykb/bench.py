"""``policykb bench``: seeded synthetic applications through the whole pipeline.

Reports, as text or JSON:

- ``median_ms`` — the median time of one evaluation in this process, from the
  application document to the decision JSON object (validate → facts →
  durable_rules → relation graph → decision);
- ``engine_only_median_ms`` — the median time of the durable_rules run alone
  (assert, fire, delete the session) on the same facts;
- ``overhead_ratio`` — median_ms / engine_only_median_ms;
- ``per_second`` — applications per second of wall time through
  ``evaluate_many`` with ``workers`` processes;
- ``peak_rss_mb`` — the largest resident memory of this process or a worker;
- ``rss_growth_pct`` — resident memory at the end of the single-process run
  against after its first tenth (the warm-up).

With ``--audit``: seeded synthetic audit records (clean decisions with injected
violations) written as JSON Lines and audited from the file as ``policykb audit``
does, reporting ``records``, ``workers``, ``seconds``, ``records_per_second`` and
``findings``.
"""

from __future__ import annotations

import gc
import json
import resource
import statistics
import sys
import time

import psutil


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def run(kb, applications: int = 2000, workers: int = 2, seed: int = 2021, readings=None) -> dict:
    from policykb.engine.application import parse_application
    from policykb.engine.synthetic import Generator

    readings = kb.readings_with(readings)
    documents = list(Generator(kb.policy, seed).applications(applications))
    evaluator = kb.evaluator
    for doc in documents[:50]:  # warm up: compile and register the ruleset
        evaluator.evaluate(doc, readings).to_dict()

    gc.collect()
    timings = []
    warm_rss = None
    tenth = max(1, len(documents) // 10)
    for i, doc in enumerate(documents):
        start = time.perf_counter()
        evaluator.evaluate(doc, readings).to_dict()
        timings.append(time.perf_counter() - start)
        if i + 1 == tenth:
            gc.collect()
            warm_rss = _rss_mb()
    gc.collect()
    end_rss = _rss_mb()

    prepared = evaluator.prepare(readings)
    engine_timings = []
    for doc in documents[: min(len(documents), 5000)]:
        facts, _ = evaluator.engine_facts(parse_application(kb.policy, doc, validator=evaluator.validator))
        start = time.perf_counter()
        evaluator.engine.run(prepared.ruleset, facts)
        engine_timings.append(time.perf_counter() - start)

    start = time.perf_counter()
    results = kb.evaluate_many(documents, readings, workers=workers)
    elapsed = time.perf_counter() - start
    assert len(results) == len(documents)

    median_ms = statistics.median(timings) * 1000
    engine_ms = statistics.median(engine_timings) * 1000
    peak_kb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return {
        "applications": len(documents),
        "workers": workers,
        "seed": seed,
        "median_ms": round(median_ms, 4),
        "per_second": round(len(documents) / elapsed, 1),
        "engine_only_median_ms": round(engine_ms, 4),
        "overhead_ratio": round(median_ms / engine_ms, 3) if engine_ms else None,
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "rss_growth_pct": round((end_rss - warm_rss) / warm_rss * 100, 2) if warm_rss else None,
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "kb_version": kb.version,
    }


def run_audit(kb, records: int = 2000, workers: int = 2, seed: int = 2021) -> dict:
    import tempfile
    from pathlib import Path

    from policykb.audit import synthetic
    from policykb.audit.records import open_input
    from policykb.audit.run import audit_groups

    readings = kb.default_readings()
    applicants = max(12, records // 2)
    clean = synthetic.clean_records(kb, applicants, seed=seed)
    while len(clean) < records:
        clean += synthetic.clean_records(kb, applicants, seed=seed + len(clean))
    broken, expected, corrupt = synthetic.inject(kb, clean[:records], seed=seed)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "records.jsonl"
        path.write_text(synthetic.to_jsonl(broken, corrupt), encoding="utf-8")
        start = time.perf_counter()
        source = open_input(path)
        findings = sum(1 for _ in audit_groups(kb, source, readings, workers=workers, progress=False))
        elapsed = time.perf_counter() - start
    return {
        "records": len(broken),
        "workers": workers,
        "seconds": round(elapsed, 3),
        "records_per_second": round(len(broken) / elapsed, 1),
        "findings": findings,
        "findings_injected": len(expected),
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "kb_version": kb.version,
    }


def to_text(result: dict) -> str:
    lines = [f"{key:24} {value}" for key, value in result.items()]
    return "\n".join(lines) + "\n"


def to_json(result: dict) -> str:
    return json.dumps(result, indent=2) + "\n"
