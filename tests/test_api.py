"""The public surface is exactly what docs/api.md lists (in the spirit of httpx's test)."""

from __future__ import annotations

import importlib
import importlib.resources
import inspect
import os
import pkgutil
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
    return re.findall(r"^\| `([A-Za-z_]+)` \|", section, re.M)


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


#: exceptions that are signals inside one function, caught where they are raised and never seen
#: by a caller; engine/ (the policy branch) owns them
INTERNAL_SIGNALS = {"policykb.engine.fastpath.NotClean", "policykb.engine.documents.DuplicateKey"}


def package_modules(package=policykb):
    """Every module of the package, the subpackages that package-dir maps from kb/, engine/, … included
    (an editable install's import hook hides them from a plain walk of policykb's folder)."""
    yield package
    for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
        if info.name == "policykb.__main__":  # importing it runs the command line
            continue
        module = importlib.import_module(info.name)
        if hasattr(module, "__path__"):
            yield from package_modules(module)
        else:
            yield module
    if package is policykb:
        for name in ("kb", "engine", "explain", "audit"):
            yield from package_modules(importlib.import_module(f"policykb.{name}"))


def test_every_exception_the_package_defines_is_a_policykb_error():
    defined = {
        f"{cls.__module__}.{cls.__qualname__}": cls
        for module in package_modules()
        for cls in vars(module).values()
        if isinstance(cls, type) and issubclass(cls, BaseException) and cls.__module__ == module.__name__
    }
    assert {
        "policykb.money.MoneyError",
        "policykb.numbers.NumberError",
        "policykb.errors.KBError",
        "policykb.service.problems.HTTPProblem",
        "policykb.engine.fastpath.NotClean",
    } <= set(defined)
    outside = sorted(name for name, cls in defined.items() if not issubclass(cls, policykb.PolicyKBError))
    assert outside == sorted(INTERNAL_SIGNALS & set(defined)), outside


def test_a_bad_amount_is_an_input_error_to_the_command_line_and_a_value_error_to_python():
    from policykb.money import MoneyError, parse_money

    with pytest.raises(MoneyError) as caught:
        parse_money("12.345")
    assert isinstance(caught.value, policykb.PolicyKBError) and isinstance(caught.value, ValueError)
    assert caught.value.exit_code == 2 and caught.value.http_status == 400
    assert "fen" in str(caught.value)


def test_the_installed_package_declares_its_types():
    assert importlib.resources.files("policykb").joinpath("py.typed").is_file()
    assert all(t.__module__.startswith("policykb.") for t in (policykb.Decision, policykb.Finding, policykb.Explanation))


def test_the_public_methods_are_annotated():
    for function in [
        policykb.load,
        *(member for name, member in vars(policykb.KnowledgeBase).items() if inspect.isfunction(member) and not name.startswith("_")),
    ]:
        signature = inspect.signature(function)
        assert signature.return_annotation is not inspect.Signature.empty, function.__qualname__
        unannotated = [p for p in signature.parameters.values() if p.name != "self" and p.annotation is inspect.Parameter.empty]
        assert not unannotated, (function.__qualname__, unannotated)


@pytest.mark.skipif(sys.platform == "win32", reason="builds a wheel")
def test_the_wheel_holds_one_namespace_and_the_kb(tmp_path):
    source = tmp_path / "src"  # build from a copy: an in-tree build would leave build/ behind
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info", "__pycache__", ".pytest_cache"))
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    (wheel,) = tmp_path.glob("policykb-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"policykb", next(t for t in tops if t.endswith(".dist-info"))}, tops
    for required in (
        "policykb/kb/taicang-2021-3/m01.yaml",
        "policykb/kb/taicang-2021-3/taicang-2021-3.txt",
        "policykb/kb/messages.yaml",
        "policykb/engine/rules_engine.py",
        "policykb/explain/why.py",
        "policykb/audit/checks.py",
        "policykb/py.typed",
    ):
        assert required in names
    assert not any(n.startswith("policykb/kb/taicang-2021-3/cases/") and not n.endswith(".yaml") for n in names)
    # `policykb help TOPIC` reads the docs from the package: an installed user has no repository
    assert "policykb/docs/engine.md" in names and "policykb/docs/kb.md" in names and "policykb/docs/spec/reading-rules.md" in names
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(wheel).extractall(unpacked)
    away = tmp_path / "elsewhere"
    away.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "policykb", "help", "engine"],
        capture_output=True,
        text=True,
        cwd=away,
        env=dict(os.environ, PYTHONPATH=str(unpacked)),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.rstrip("\n") == (ROOT / "docs" / "engine.md").read_text(encoding="utf-8").rstrip("\n")
    probe = subprocess.run(
        [sys.executable, "-c", "import policykb.helpdocs as h; print(h.docs_dir())"],
        capture_output=True,
        text=True,
        cwd=away,
        env=dict(os.environ, PYTHONPATH=str(unpacked)),
        timeout=120,
    )
    assert probe.stdout.strip() == str(unpacked / "policykb" / "docs")
