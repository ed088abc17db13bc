"""Evaluating many applications in worker processes, results in input order.

Decisions travel between processes as data: each result is the decision's JSON
object (``Decision.to_dict()``), or, for an application that cannot be evaluated,
``{"index": i, "error": {"kind", "message", "problems": [{"where", "message"}]}}``
— one bad application never stops a batch.  Each worker loads the KB once.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any

from policykb.api import load, load_checked_by_parent
from policykb.errors import EngineError, InputError, PolicyKBError

_worker_kb = None


def error_result(index: int, exc: PolicyKBError) -> dict:
    problems = [{"where": p.where, "message": p.message} for p in getattr(exc, "problems", [])]
    return {"index": index, "error": {"kind": type(exc).__name__, "message": str(exc), "problems": problems}}


def evaluate_one(kb, index: int, application: Any, readings: Mapping[str, str]) -> dict:
    try:
        return kb.evaluate(application, readings).to_dict()
    except InputError as exc:
        return error_result(index, exc)


def init_worker(path: str, version: str | None = None) -> None:
    """Load the KB once in a worker process (evaluation and audit workers alike); the
    parent checked it already, so the worker skips ``kb check`` when the content matches.

    Workers ignore Ctrl-C: the parent alone handles it and ends them, so that an interrupt
    prints one line, not a traceback per worker."""
    global _worker_kb  # noqa: PLW0603 — a pool initializer can only leave its KB in a module global
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker_kb = load_checked_by_parent(path, version) if version else load(path=path)
    _worker_kb.evaluator.prepare(_worker_kb.default_readings())  # compile and register before the first chunk


def worker_kb():
    return _worker_kb


def _run_chunk(args) -> list[dict]:
    start, applications, readings = args
    return [evaluate_one(_worker_kb, start + i, app, readings) for i, app in enumerate(applications)]


def pool_context():
    """forkserver where the platform has it, else spawn — never fork: forking a process
    whose other threads may hold the engine's lock (a server, a GUI) can deadlock the
    child (Python 3.12 warns of it).  The fork server preloads policykb, so a worker
    starts in milliseconds and loads the KB once in ``init_worker``."""
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["policykb.api", "policykb.engine.evaluate", "policykb.audit.checks"])
        return context
    return multiprocessing.get_context("spawn")


@contextmanager
def worker_pool(kb, workers: int):
    """A process pool whose workers hold ``kb``; a pool that cannot start is an EngineError."""
    try:
        with ProcessPoolExecutor(
            max_workers=workers, mp_context=pool_context(), initializer=init_worker, initargs=(kb.policy.path, kb.version)
        ) as pool:
            yield pool
    except BrokenProcessPool as exc:
        raise EngineError(
            "the worker processes stopped before finishing; a script that asks for workers > 1 must run its "
            'top-level code under `if __name__ == "__main__":` (workers start with forkserver or spawn, '
            "which import the script again)"
        ) from exc


def iter_evaluate_many(
    kb, applications: Iterable[Any], readings: Mapping[str, str] | None = None, workers: int = 1, chunk_size: int = 64
) -> Iterator[dict]:
    """Results one by one, in input order, with a bounded number of chunks in flight
    (so that a city's worth of applications never sits in memory at once)."""
    readings = kb.readings_with(readings)
    if workers < 1:
        raise InputError(f"workers must be at least 1; found {workers}")
    if workers == 1:
        for i, app in enumerate(applications):
            yield evaluate_one(kb, i, app, readings)
        return
    with worker_pool(kb, workers) as pool:
        pending: deque = deque()
        chunk: list = []
        start = 0
        for app in applications:
            chunk.append(app)
            if len(chunk) == chunk_size:
                pending.append(pool.submit(_run_chunk, (start, chunk, readings)))
                start += len(chunk)
                chunk = []
                while len(pending) > workers * 4:
                    yield from pending.popleft().result()
        if chunk:
            pending.append(pool.submit(_run_chunk, (start, chunk, readings)))
        while pending:
            yield from pending.popleft().result()


def evaluate_many(
    kb, applications: Iterable[Any], readings: Mapping[str, str] | None = None, workers: int = 1, chunk_size: int = 64
) -> list[dict]:
    """Evaluate every application; ``workers`` > 1 uses that many processes."""
    apps = list(applications)
    if workers > 1 and len(apps) <= chunk_size:
        workers = 1  # one chunk: a pool would only add its start-up time
    return list(iter_evaluate_many(kb, apps, readings, workers, chunk_size))
