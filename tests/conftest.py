"""Shared fixtures: the loaded KB, the examples, and ways to run the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KB_DIR = ROOT / "kb" / "taicang-2021-3"
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))


@pytest.fixture(scope="session")
def kb():
    import policykb

    return policykb.load(path=KB_DIR)


@pytest.fixture(scope="session")
def policy(kb):
    return kb.policy


@pytest.fixture(scope="session")
def example_documents():
    """The bundled examples as the command line reads them (JSON numbers kept exact)."""
    from policykb.engine.documents import read_document

    return {p.stem: read_document(p) for p in EXAMPLES}


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


@pytest.fixture
def cli(capsys):
    """Run the command line in-process: cli('kb', 'list') → Run(code, out, err)."""
    from policykb.cli import main

    def run(*argv: str) -> Run:
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def run_process(*argv: str, env: dict | None = None, cwd: Path | None = None, timeout: int = 120) -> Run:
    """Run the installed ``policykb`` command in a fresh process."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    exe = Path(sys.executable).with_name("policykb")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "policykb"]
    proc = subprocess.run(command + [str(a) for a in argv], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=timeout)
    return Run(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def process():
    return run_process


@pytest.fixture(scope="session")
def service(tmp_path_factory):
    """One ``policykb serve`` for the session (one worker, a decision log), on a free loopback port."""
    from servers import Server

    folder = tmp_path_factory.mktemp("service")
    server = Server("--decision-log", folder / "decisions.jsonl")
    server.decision_log = folder / "decisions.jsonl"
    with server:
        yield server


@pytest.fixture(scope="session")
def http(service):
    with service.client() as client:
        yield client
