"""Running an audit: applicant by applicant, in worker processes if asked, in input order.

Memory stays flat: at most a few groups of records per worker are in flight, and
findings go to the report's spool as they come.  ``--workers N`` spreads applicant
groups over N processes; the findings come back in the order of the input.  Ctrl-C
stops the workers at once (they ignore the signal themselves, so that none prints a
traceback) and the interrupt reaches the caller, who removes its temporary files.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor

from tqdm import tqdm

from policykb.engine.batch import init_worker, pool_context, worker_kb
from policykb.money import exact

from .checks import RecordIn, audit_applicant
from .findings import Finding
from .records import Source


def _audit_chunk(args: tuple[list[list[RecordIn]], dict[str, str]]) -> list[list[Finding]]:
    groups, readings = args
    with exact():
        return [audit_applicant(worker_kb(), records, readings) for records in groups]


def _stop(pool: ProcessPoolExecutor) -> None:
    """End the pool now: pending work cancelled, workers terminated (not waited for)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=5)


def audit_groups(
    kb, source: Source, readings: Mapping[str, str], workers: int = 1, progress: bool | None = None, chunk: int = 16
) -> Iterator[Finding]:
    """Findings of every applicant group of ``source``, in input order."""
    bar = tqdm(
        total=len(source),
        unit="applicant",
        file=sys.stderr,
        disable=(None if progress is None else not progress),
        mininterval=0.5,
        dynamic_ncols=True,
    )
    try:
        if workers <= 1:
            for records in source.groups():
                yield from audit_applicant(kb, records, readings)
                bar.update(1)
            return
        pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=pool_context(), initializer=init_worker, initargs=(kb.policy.path, kb.version)
        )
        finished = False
        try:
            pending: deque = deque()
            batch: list[list[RecordIn]] = []

            def drain(limit: int):
                while len(pending) > limit:
                    future, size = pending.popleft()
                    for findings in future.result():
                        yield from findings
                    bar.update(size)

            for records in source.groups():
                batch.append(records)
                if len(batch) >= chunk:
                    pending.append((pool.submit(_audit_chunk, (batch, dict(readings))), len(batch)))
                    batch = []
                    yield from drain(workers * 3)
            if batch:
                pending.append((pool.submit(_audit_chunk, (batch, dict(readings))), len(batch)))
            yield from drain(0)
            finished = True
        finally:
            if finished:
                pool.shutdown(wait=True)
            else:  # interrupted, or the consumer stopped early
                _stop(pool)
    finally:
        bar.close()
