"""Real ``policykb serve`` processes for tests: a free loopback port, started, ready, stopped.

``Server`` runs ``python -m policykb serve`` as a subprocess bound to 127.0.0.1 on
a port picked free, waits until ``/readyz`` answers (200, or 503 for a broken KB),
and on ``stop()`` sends SIGTERM and waits (SIGKILL only if it hangs).  Its
standard error — the structured log — is kept in a file for assertions and for
the failure message.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, *args: str, ready_status: int = 200, env: dict | None = None):
        self.args = [str(a) for a in args]
        self.ready_status = ready_status
        self.env = env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(tempfile.mkstemp(prefix="policykb-serve-", suffix=".log")[1])
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 90) -> Server:
        env = dict(os.environ, **(self.env or {}))
        env.pop("POLICYKB_SERVE_CONFIG", None)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "policykb", "serve", "--host", "127.0.0.1", "--port", str(self.port), *self.args],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"policykb serve exited with {self.proc.returncode}:\n{self.log()}")
            try:
                answer = httpx.get(self.url + "/readyz", timeout=5)
                if answer.status_code == self.ready_status == 200:
                    return self
                if answer.status_code == self.ready_status == 503 and "kb-unavailable" in answer.text:
                    return self  # a broken KB, as expected (not one still loading)
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"policykb serve was not ready within {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_entries(self) -> list[dict]:
        out = []
        for line in self.log().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 30) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: the server and its workers only
            self.proc.wait(10)
            raise RuntimeError(f"policykb serve did not stop within {timeout} s of SIGTERM:\n{self.log()}")

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=kwargs.pop("timeout", 60), **kwargs)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        self.log_path.unlink(missing_ok=True)
