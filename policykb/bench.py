"""``policykb bench``: seeded synthetic applications through the whole pipeline.

Reports, as text or JSON:

- ``median_ms`` — the median time of one evaluation in this process, from the
  application document to the decision JSON object (validate → facts →
  durable_rules → relation graph → decision);
- ``engine_only_median_ms`` — the median time of the durable_rules run alone
  (assert, fire with the actions deriving their facts, delete the session) on the
  same facts;
- ``firings_per_application`` — the mean number of rule firings of one evaluation;
- ``overhead_ratio`` — median_ms / engine_only_median_ms;
- ``per_second`` — applications per second of wall time through
  ``evaluate_many`` with ``workers`` processes;
- ``peak_rss_mb`` — the largest resident memory of this process or a worker;
- ``rss_growth_pct`` — resident memory at the end of the single-process run
  against after its first tenth (the warm-up);
- ``load_1000_rss_growth_mb`` — resident memory after 1,000 ``policykb.load()``
  calls of the same KB against before them.

With ``--audit``: seeded synthetic audit records (clean decisions with injected
violations) written as JSON Lines and audited from the file by ``policykb audit`` in a
fresh process, reporting ``records``, ``workers``, ``seconds`` (process start and KB
load included), ``records_per_second``, ``cpu_seconds`` (the audit and its workers), ``peak_rss_mb`` (the audit process),
``peak_rss_workers_mb`` (its workers together) and ``findings``.  The audit must find exactly the
injected violations (by code and count); if not, the benchmark stops with an error (exit 70)
naming the difference.
"""

from __future__ import annotations

import gc
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from array import array
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psutil

from policykb.api import load
from policykb.audit import synthetic
from policykb.engine.application import parse_application
from policykb.engine.batch import iter_evaluate_many
from policykb.engine.derive import Derivation
from policykb.engine.synthetic import Generator
from policykb.errors import EngineError


class BenchMismatch(EngineError):
    """The audit benchmark found other findings than the ones injected: a bug in the
    audit or in the synthetic set, never a result to report."""


def _mismatch(found: Counter, injected: Counter) -> str:
    lines = [f"the audit found {sum(found.values())} findings, but {sum(injected.values())} were injected:"]
    for code in sorted(set(found) | set(injected)):
        if found[code] != injected[code]:
            lines.append(f"  {code}: found {found[code]}, injected {injected[code]}")
    lines.append("the figures are not reported: a benchmark whose audit is wrong measures nothing")
    return "\n".join(lines)


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def _load_growth(kb, document, calls: int = 1000) -> float:
    """Resident memory grown by ``calls`` times ``load().evaluate(document)``."""
    gc.collect()
    before = _rss_mb()
    path = kb.policy.path
    for _ in range(calls):
        load(path=path).evaluate(document)
    gc.collect()
    return round(_rss_mb() - before, 2)


class _PeakRss:
    """The highest resident memory of a process, and of its workers together, sampled
    every 0.1 s on a thread until ``stop()``."""

    def __init__(self, pid: int):
        self.pid = pid
        self.parent = 0.0
        self.children = 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        try:
            me = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._done.wait(0.1):
            try:
                self.parent = max(self.parent, me.memory_info().rss / 2**20)
                self.children = max(self.children, sum(c.memory_info().rss for c in me.children()) / 2**20)
            except psutil.Error:
                pass

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


def run(kb, applications: int = 2000, workers: int = 2, seed: int = 2021, readings=None) -> dict:
    readings = kb.readings_with(readings)

    def documents() -> Iterator[dict]:  # regenerated, never all held
        return Generator(kb.policy, seed).applications(applications)

    evaluator = kb.evaluator
    prepared = evaluator.prepare(readings)
    for doc in Generator(kb.policy, seed + 1).applications(50):  # warm up
        evaluator.evaluate(doc, readings).to_dict()

    # Each document: the whole pipeline, then the durable_rules run alone on the same
    # facts, interleaved so that both see the same state of the process.
    gc.collect()
    # preallocated, so that the measurements do not grow the memory being measured
    timings = array("d", bytes(8 * applications))
    engine_timings = array("d", bytes(8 * applications))
    warm_rss = None
    tenth = max(1, applications // 10)
    firings = 0
    for i, doc in enumerate(documents()):
        start = time.perf_counter()
        evaluator.evaluate(doc, readings).to_dict()
        timings[i] = time.perf_counter() - start
        app = parse_application(kb.policy, doc, validator=evaluator.validator)
        facts, by_id = evaluator.engine_facts(app, prepared.keys)
        derivation = Derivation(evaluator, app, prepared, by_id)
        start = time.perf_counter()
        firings += len(evaluator.engine.run(prepared.ruleset, facts, derivation, prepared.joined))
        engine_timings[i] = time.perf_counter() - start
        if i + 1 == tenth:
            gc.collect()
            warm_rss = _rss_mb()
    gc.collect()
    end_rss = _rss_mb()
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    load_growth = _load_growth(kb, next(iter(Generator(kb.policy, seed + 2).applications(1))))

    start = time.perf_counter()
    count = sum(1 for _ in iter_evaluate_many(kb, documents(), readings, workers=workers))
    elapsed = time.perf_counter() - start
    if count != applications:
        raise EngineError(f"the throughput run returned {count} results for {applications} applications")

    median_ms = statistics.median(timings) * 1000
    engine_ms = statistics.median(engine_timings) * 1000
    peak_kb = max(peak_self, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return {
        "applications": applications,
        "workers": workers,
        "seed": seed,
        "median_ms": round(median_ms, 4),
        "per_second": round(applications / elapsed, 1),
        "engine_only_median_ms": round(engine_ms, 4),
        "overhead_ratio": round(median_ms / engine_ms, 3) if engine_ms else None,
        "firings_per_application": round(firings / applications, 2),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "rss_growth_pct": round((end_rss - warm_rss) / warm_rss * 100, 2) if warm_rss else None,
        "load_1000_rss_growth_mb": load_growth,
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "kb_version": kb.version,
    }


def run_audit(kb, records: int = 2000, workers: int = 2, seed: int = 2021, readings=None) -> dict:
    """Audit a seeded synthetic set from its file by running ``policykb audit`` in a fresh
    process, so that its memory is the audit's alone (not the generator's), workers included."""
    readings = kb.readings_with(readings)
    applicants = max(60, records // 2)  # enough applicants of each kind for every injected violation
    clean = synthetic.clean_records(kb, applicants, seed=seed)
    made = applicants
    while len(clean) < records:  # a top-up batch: new applicants, new decision IDs
        clean += synthetic.clean_records(kb, applicants, seed=seed + len(clean), first=made, first_decision=len(clean))
        made += applicants
    broken, expected, corrupt = synthetic.inject(kb, clean[:records], seed=seed)
    count = len(broken)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "records.jsonl"
        path.write_text(synthetic.to_jsonl(broken, corrupt), encoding="utf-8")
        del clean, broken
        changed = [f"--reading={k}={v}" for k, v in sorted(readings.items()) if kb.policy.readings[k].default != v]
        command = [
            sys.executable,
            "-m",
            "policykb.cli",
            "audit",
            str(path),
            "--kb",
            str(kb.policy.path),
            "--format",
            "json",
            "--no-progress",
            "--workers",
            str(workers),
            "--output",
            str(Path(folder) / "report.json"),
            *changed,
        ]
        start = time.perf_counter()
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        process = subprocess.Popen(command, stderr=subprocess.PIPE)
        peak = _PeakRss(process.pid)
        _, err = process.communicate()
        peak.stop()
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime
        if process.returncode not in (0, 1):
            raise EngineError(f"the audit failed (exit {process.returncode}): {err.decode('utf-8', 'replace')[-500:]}")
        summary = json.loads((Path(folder) / "report.json").read_text(encoding="utf-8"))["summary"]
    found = Counter({code: n for code, n in summary["by_code"].items() if n})
    injected = Counter(code for code, *_ in expected)
    if found != injected:
        raise BenchMismatch(_mismatch(found, injected))
    return {
        "records": count,
        "workers": workers,
        "seconds": round(elapsed, 3),
        "records_per_second": round(count / elapsed, 1),
        "cpu_seconds": round(cpu, 3),
        "peak_rss_mb": round(peak.parent, 1),
        "peak_rss_workers_mb": round(peak.children, 1),
        "findings": summary["findings"],
        "findings_injected": len(expected),
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "kb_version": kb.version,
    }


def to_text(result: dict) -> str:
    lines = [f"{key:24} {value}" for key, value in result.items()]
    return "\n".join(lines) + "\n"


def to_json(result: dict) -> str:
    return json.dumps(result, indent=2) + "\n"
