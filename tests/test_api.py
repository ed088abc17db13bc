"""The public surface is exactly what docs/api.md lists (in the spirit of httpx's test)."""

from __future__ import annotations

import inspect
import os
import re
import shutil
import subprocess
import sys
import zipfile

import pytest

import policykb

from conftest import ROOT


def documented_names() -> list[str]:
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    section = text.split("## Names", 1)[1].split("##", 1)[0]
    return re.findall(r"^- `([A-Za-z_]+)`", section, re.M)


def test_all_matches_the_documented_names():
    assert sorted(policykb.__all__) == sorted(documented_names())


def test_nothing_else_is_exported():
    exported = {name for name in dir(policykb) if not name.startswith("_") and not inspect.ismodule(getattr(policykb, name))}
    assert exported == set(policykb.__all__) - {"__version__"}
    for name in policykb.__all__:
        assert hasattr(policykb, name)


def test_errors_form_one_hierarchy_with_exit_codes():
    for name in ("KBError", "InputError", "UnknownItemError", "EngineError"):
        cls = getattr(policykb, name)
        assert issubclass(cls, policykb.PolicyKBError)
    assert policykb.InputError.exit_code == 2 and policykb.KBError.exit_code == 3
    assert policykb.UnknownItemError.http_status == 404 and policykb.InputError.http_status == 400
    assert str(policykb.InputError("facts[0].x: bad")) == "facts[0].x: bad"


@pytest.mark.skipif(sys.platform == "win32", reason="builds a wheel")
def test_the_wheel_holds_one_namespace_and_the_kb(tmp_path):
    source = tmp_path / "src"  # build from a copy: an in-tree build would leave build/ behind
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info", "__pycache__", ".pytest_cache"))
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    (wheel,) = tmp_path.glob("policykb-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"policykb", next(t for t in tops if t.endswith(".dist-info"))}, tops
    for required in ("policykb/kb/taicang-2021-3/m01.yaml", "policykb/kb/taicang-2021-3/taicang-2021-3.txt",
                     "policykb/kb/messages.yaml", "policykb/engine/rules_engine.py", "policykb/explain/why.py",
                     "policykb/audit/checks.py"):
        assert required in names
    assert not any(n.startswith("policykb/kb/taicang-2021-3/cases/") and not n.endswith(".yaml") for n in names)
    # `policykb help TOPIC` reads the docs from the package: an installed user has no repository
    assert "policykb/docs/engine.md" in names and "policykb/docs/kb.md" in names and "policykb/docs/spec/reading-rules.md" in names
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(wheel).extractall(unpacked)
    away = tmp_path / "elsewhere"
    away.mkdir()
    proc = subprocess.run([sys.executable, "-m", "policykb", "help", "engine"], capture_output=True, text=True, cwd=away,
                          env=dict(os.environ, PYTHONPATH=str(unpacked)), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.rstrip("\n") == (ROOT / "docs" / "engine.md").read_text(encoding="utf-8").rstrip("\n")
    probe = subprocess.run([sys.executable, "-c", "import policykb.helpdocs as h; print(h.docs_dir())"], capture_output=True,
                           text=True, cwd=away, env=dict(os.environ, PYTHONPATH=str(unpacked)), timeout=120)
    assert probe.stdout.strip() == str(unpacked / "policykb" / "docs")
