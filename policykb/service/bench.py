"""``policykb bench --http``: ``POST /v1/evaluate`` latency and throughput against a real server.

Starts ``policykb serve --workers W`` on a free loopback port, warms every worker,
then sends seeded synthetic applications (the generator ``policykb bench`` uses)
over keep-alive HTTP/1.1 connections from an asyncio client in this process:

- ``c1_p50_ms``, ``c1_p99_ms`` — latency, one connection, one request at a time;
- ``c16_per_second`` — requests per second of wall time over ``concurrency``
  connections (16 by default), with ``c16_p50_ms``/``c16_p99_ms`` under that load;
- ``server_cpu_ms_per_request``, ``client_cpu_ms_per_request`` — CPU time the server's
  processes and this client spent per request in the throughput run: on a shared machine
  the wall-clock figures depend on the other load, these much less
  (``cpus × 1000 / server_cpu_ms_per_request`` is what the server could answer alone);
- ``errors`` — answers other than 200 (the run fails if there are any).

The client shares the machine with the server; on 2 cores the figures include its cost.
"""

from __future__ import annotations

import asyncio
import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import psutil

from policykb.engine.synthetic import Generator
from policykb.errors import EngineError

from .routes import exact_json


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Connection:
    """A keep-alive HTTP/1.1 connection that sends one POST and reads one answer at a time."""

    def __init__(self, port: int):
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode(
            "ascii"
        )
        reader, writer = self.reader, self.writer
        if reader is None or writer is None:
            raise RuntimeError("post() before open()")
        writer.write(head + body)
        status_line = await reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await reader.readexactly(length)

    def close(self):
        if self.writer is not None:
            self.writer.close()


async def _measure(port: int, bodies: list[bytes], concurrency: int) -> tuple[list[float], int, float]:
    """Latencies (s), errors, wall time for sending every body once over ``concurrency`` connections."""
    connections = [_Connection(port) for _ in range(concurrency)]
    await asyncio.gather(*(c.open() for c in connections))
    latencies: list[float] = []
    errors = 0
    queue = iter(range(len(bodies)))

    async def drive(connection: _Connection):
        nonlocal errors
        for i in queue:
            start = time.perf_counter()
            status, _ = await connection.post("/v1/evaluate", bodies[i])
            latencies.append(time.perf_counter() - start)
            errors += status != 200

    start = time.perf_counter()
    try:
        await asyncio.gather(*(drive(c) for c in connections))
    finally:
        for c in connections:
            c.close()
    return latencies, errors, time.perf_counter() - start


def _server_cpu(pid: int) -> float:
    """CPU seconds used so far by the server process and its workers."""
    root = psutil.Process(pid)
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _wait_ready(port: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise EngineError(f"policykb serve exited with {proc.returncode} before it was ready")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                conn.close()
                return
            conn.close()
        except OSError:
            pass
        time.sleep(0.1)
    raise EngineError(f"policykb serve was not ready within {timeout:g} s")


def run_http(kb, applications: int = 2000, workers: int = 2, seed: int = 2021, concurrency: int = 16, kb_path: str | None = None) -> dict:
    bodies = [exact_json(doc).encode("utf-8") for doc in Generator(kb.policy, seed).applications(applications)]
    warm = [exact_json(doc).encode("utf-8") for doc in Generator(kb.policy, seed + 1).applications(200)]
    port = _free_port()
    log = tempfile.TemporaryFile()  # noqa: SIM115 - the server's output for as long as it runs; closed below
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "policykb",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--kb",
            kb_path or kb.policy.path,
            "--no-access-log",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_ready(port, proc)
        # every worker must be ready: warm up until a whole round over 2×workers connections succeeds
        for _ in range(100):
            _, errors, _ = asyncio.run(_measure(port, warm, 2 * workers))
            if not errors:
                break
            time.sleep(0.2)
        else:
            raise EngineError("the server's workers did not all become ready")
        one, errors_one, _ = asyncio.run(_measure(port, bodies, 1))
        server_before, client_before = _server_cpu(proc.pid), time.process_time()
        many, errors_many, wall = asyncio.run(_measure(port, bodies, concurrency))
        server_cpu, client_cpu = _server_cpu(proc.pid) - server_before, time.process_time() - client_before
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        log.close()
    errors = errors_one + errors_many
    if errors:
        raise EngineError(f"{errors} of {2 * applications} requests were not answered 200")
    return {
        "requests": applications,
        "workers": workers,
        "concurrency": concurrency,
        "seed": seed,
        "c1_p50_ms": round(statistics.median(one) * 1000, 3),
        "c1_p99_ms": round(_percentile(one, 0.99) * 1000, 3),
        f"c{concurrency}_per_second": round(applications / wall, 1),
        f"c{concurrency}_p50_ms": round(statistics.median(many) * 1000, 3),
        f"c{concurrency}_p99_ms": round(_percentile(many, 0.99) * 1000, 3),
        "server_cpu_ms_per_request": round(server_cpu / applications * 1000, 3),
        "client_cpu_ms_per_request": round(client_cpu / applications * 1000, 3),
        "errors": errors,
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "kb_version": kb.version,
    }
