"""The docs render as written: one title per page, tables that end where they should,
and an audit report pasted whole inside a fence."""

from __future__ import annotations

import pytest

from conftest import ROOT

PAGES = sorted((ROOT / "docs").glob("*.md")) + sorted((ROOT / "docs").glob("spec/*.md")) + [ROOT / "README.md"]


def _outside_fences(text: str) -> list[str]:
    out, fence = [], None
    for line in text.splitlines():
        stripped = line.lstrip()
        if fence is None and stripped.startswith(("```", "~~~")):
            fence = stripped[:3] if not stripped.startswith("````") else stripped[: len(stripped) - len(stripped.lstrip("`"))]
            out.append("")
            continue
        if fence is not None:
            if stripped.startswith(fence) and stripped.strip("`~") == "":
                fence = None
            out.append("")
            continue
        out.append(line)
    return out


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_one_title_and_tables_that_end_at_a_blank_line(page):
    lines = _outside_fences(page.read_text(encoding="utf-8"))
    titles = [line for line in lines if line.startswith("# ")]
    assert len(titles) == 1, titles
    for n, line in enumerate(lines[:-1]):
        nxt = lines[n + 1]
        if line.startswith("|") and nxt.strip() and not nxt.startswith("|"):
            raise AssertionError(f"{page.name}:{n + 2}: a table swallows the next line: {nxt[:60]!r}")


def test_markdown_audit_report_ends_its_table_with_a_blank_line(cli):
    run = cli("audit", ROOT / "examples" / "audit" / "decisions.jsonl", "--format", "md")
    assert run.out.endswith("|\n\n")
