"""The baselines of .ci/baseline.py: a finding not listed fails, a listed one survives line moves."""

from __future__ import annotations

import importlib.util
from collections import Counter

import pytest

from conftest import ROOT


@pytest.fixture(scope="module")
def baseline():
    spec = importlib.util.spec_from_file_location("ci_baseline", ROOT / ".ci" / "baseline.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MYPY_OUTPUT = """\
policykb/kb/graph.py:40: error: Item "None" of "X | None" has no attribute "y"  [union-attr]
policykb/kb/graph.py:40: note: See https://mypy.readthedocs.io/
policykb/cli.py:12: error: Missing return statement  [return]
policykb/explain/why.py:7:3: error: Incompatible types in assignment  [assignment]
Found 3 errors in 3 files (checked 87 source files)
"""


def test_mypy_paths_are_mapped_back_to_the_repository(baseline):
    assert baseline.findings("mypy", MYPY_OUTPUT) == [
        'kb/graph.py:40: Item "None" of "X | None" has no attribute "y"  [union-attr]',
        "policykb/cli.py:12: Missing return statement  [return]",
        "explain/why.py:7: Incompatible types in assignment  [assignment]",
    ]


def test_ruff_findings_are_read_from_its_concise_output(baseline):
    output = "policykb/cli.py:10:5: C901 `main` is too complex (21 > 20)\nFound 1 error.\n"
    assert baseline.findings("ruff", output) == ["policykb/cli.py:10: C901 `main` is too complex (21 > 20)"]


def test_a_baseline_tolerates_what_it_lists_wherever_the_line_moved(baseline):
    listed = Counter({"policykb/cli.py: Missing return statement  [return]": 1})
    assert baseline.new_findings(["policykb/cli.py:99: Missing return statement  [return]"], listed) == []


def test_a_new_finding_or_one_more_of_a_listed_kind_fails(baseline):
    listed = Counter({"policykb/cli.py: Missing return statement  [return]": 1})
    found = [
        "policykb/cli.py:3: Missing return statement  [return]",
        "policykb/cli.py:9: Missing return statement  [return]",
        "policykb/api.py:1: Missing return statement  [return]",
    ]
    assert baseline.new_findings(found, listed) == found[1:]


def test_the_baseline_file_round_trips(baseline, tmp_path):
    found = ["kb/graph.py:40: B  [x]", "kb/graph.py:2: A  [x]", "kb/graph.py:41: B  [x]"]
    path = tmp_path / "mypy-baseline.txt"
    baseline.write_baseline("mypy", found, path)
    assert baseline.read_baseline(path) == Counter({"kb/graph.py: A  [x]": 1, "kb/graph.py: B  [x]": 2})
    assert baseline.new_findings(found, baseline.read_baseline(path)) == []


def test_mypy_sees_the_subpackages_under_their_installed_names(baseline):
    tree = baseline.link_tree()
    for name, folder in baseline.SUBPACKAGES.items():
        assert (tree / "policykb" / name).resolve() == (ROOT / folder).resolve()
        assert (tree / "policykb" / name / "__init__.py").is_file()
    assert (tree / "policykb" / "api.py").resolve() == (ROOT / "policykb" / "api.py").resolve()


def test_the_checks_run_in_ci():
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert ".ci/baseline.py mypy" in script and ".ci/baseline.py ruff" in script
