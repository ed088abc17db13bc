"""Each folder in broken_kb/ holds KB files with one deliberate defect and the words
the error report must contain (expect.txt).  The fixture files replace their
namesakes in a copy of the shipped KB; ``NAME.delete`` removes ``NAME``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from policykb.kb.check import check_folder

from conftest import KB_DIR

FIXTURES = sorted(p for p in (Path(__file__).parent / "broken_kb").iterdir() if p.is_dir())


def broken_copy(fixture: Path, tmp_path: Path) -> Path:
    target = tmp_path / KB_DIR.name
    shutil.copytree(KB_DIR, target, ignore=shutil.ignore_patterns("cases"))
    for f in fixture.iterdir():
        if f.name == "expect.txt":
            continue
        if f.suffix == ".delete":
            (target / f.stem).unlink()
        else:
            shutil.copy(f, target / f.name)
    return target


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.name for f in FIXTURES])
def test_broken_kb_is_reported_with_its_words(fixture, tmp_path, cli):
    folder = broken_copy(fixture, tmp_path)
    words = [w for w in (fixture / "expect.txt").read_text(encoding="utf-8").splitlines() if w.strip()]
    _, problems = check_folder(folder)
    report = "\n".join(str(p) for p in problems)
    assert problems, f"{fixture.name}: no problem found"
    for word in words:
        assert word in report, f"{fixture.name}: {word!r} not in the report:\n{report}"
    run = cli("kb", "check", "--kb", folder)
    assert run.code == 1
    for word in words:
        assert word in run.out
    assert "Traceback" not in run.out + run.err


def test_a_broken_kb_stops_evaluation_with_exit_3(tmp_path, cli):
    folder = broken_copy(Path(__file__).parent / "broken_kb" / "unknown_key", tmp_path)
    run = cli("evaluate", Path(__file__).parent.parent / "examples" / "software-firm.json", "--kb", folder)
    assert run.code == 3
    assert "broken knowledge base" in run.err and "unknown key 'qoute'" in run.err
    assert "Traceback" not in run.err


def test_each_fixture_breaks_a_file_the_kb_has_and_the_unbroken_copy_is_clean(tmp_path):
    """The control of the tests above: the shipped KB, copied the same way with no fixture, has no
    problem, so every problem they see is their fixture's; and each fixture replaces or deletes
    a file the KB has (a file the KB does not have would be read by nobody)."""
    empty = tmp_path / "no_defect"
    empty.mkdir()
    _, problems = check_folder(broken_copy(empty, tmp_path))
    assert problems == []
    shipped = {f.name for f in KB_DIR.iterdir()}
    for fixture in FIXTURES:
        changed = [f.stem if f.suffix == ".delete" else f.name for f in fixture.iterdir() if f.name != "expect.txt"]
        assert changed and set(changed) <= shipped, f"{fixture.name}: {changed}"
        assert (fixture / "expect.txt").read_text(encoding="utf-8").strip(), f"{fixture.name}: no expected words"
