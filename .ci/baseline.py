"""Static checks held to baselines that may only shrink: mypy on the installed package, ruff on the repository.

``mypy``: pyproject.toml maps kb/, engine/, explain/ and audit/ into the namespace ``policykb``
through ``package-dir``; the editable install reaches them through an import hook mypy cannot
follow. So the package is linked into one tree (build/typecheck/policykb, symlinks only) and mypy
runs there with the ``[tool.mypy]`` settings of pyproject.toml; the paths it reports are mapped
back to the repository's (``policykb/kb/graph.py`` -> ``kb/graph.py``).

``ruff``: ``ruff check`` on the whole repository with the ``[tool.ruff]`` settings.

Findings listed in .ci/<tool>-baseline.txt (file, message and code; no line numbers, which move
with every edit) are tolerated; any other fails the run. ``--update`` rewrites the baseline from
the current findings (docs/development.md):

    .venv/bin/python .ci/baseline.py mypy            # exit 1 on an error not in the baseline
    .venv/bin/python .ci/baseline.py ruff
    .venv/bin/python .ci/baseline.py all --update    # regenerate both baselines
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TREE = ROOT / "build" / "typecheck"
#: subpackage -> folder at the top of the repository (pyproject.toml, [tool.setuptools.package-dir])
SUBPACKAGES = {"kb": "kb", "engine": "engine", "explain": "explain", "audit": "audit"}
#: a finding as each tool prints it: the path, the line, the rest (message and code)
FINDING = {
    "mypy": re.compile(r"^(?P<path>[^:\s]+\.pyi?):(?P<line>\d+)(?::\d+)?: error: (?P<rest>.*)$"),
    "ruff": re.compile(r"^(?P<path>[^:\s]+):(?P<line>\d+):\d+: (?P<rest>[A-Z]+[0-9]+ .*)$"),
}


def baseline_path(tool: str) -> Path:
    return ROOT / ".ci" / f"{tool}-baseline.txt"


def link_tree() -> Path:
    """build/typecheck/policykb: policykb/'s entries, with the top-level folders as its subpackages."""
    package = TREE / "policykb"
    if package.exists():
        shutil.rmtree(package)
    package.mkdir(parents=True)
    for entry in sorted((ROOT / "policykb").iterdir()):
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    for name, folder in SUBPACKAGES.items():
        (package / name).symlink_to(ROOT / folder, target_is_directory=True)
    return TREE


def repository_path(path: str) -> str:
    """The repository's path of a file mypy names by its place in the package."""
    parts = path.split("/")
    if len(parts) > 2 and parts[0] == "policykb" and parts[1] in SUBPACKAGES:
        return "/".join([SUBPACKAGES[parts[1]], *parts[2:]])
    return path


def command(tool: str) -> tuple[list[str], Path]:
    if tool == "mypy":
        return [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), "policykb"], link_tree()
    return [sys.executable, "-m", "ruff", "check", "--no-fix", "--output-format", "concise", "."], ROOT


def findings(tool: str, output: str) -> list[str]:
    """``path:line: rest`` for each finding in a tool's output, paths as in the repository."""
    found = []
    for line in output.splitlines():
        match = FINDING[tool].match(line)
        if match:
            found.append(f"{repository_path(match['path'])}:{match['line']}: {match['rest']}")
    return found


def run(tool: str) -> list[str]:
    argv, cwd = command(tool)
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    found = findings(tool, proc.stdout)
    # exit 1 with nothing parsed is a configuration mistake, 2 a crash: neither is a report
    if proc.returncode != 0 and not (proc.returncode == 1 and found):
        sys.exit(f"{tool} did not run (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return found


def key(finding: str) -> str:
    """A finding without its line number: the baseline's unit, stable under edits elsewhere in the file."""
    path, _line, rest = finding.split(":", 2)
    return f"{path}:{rest}"


def read_baseline(path: Path) -> Counter[str]:
    if not path.is_file():
        return Counter()
    lines = path.read_text(encoding="utf-8").splitlines()
    return Counter(line for line in lines if line and not line.startswith("#"))


def new_findings(found: list[str], baseline: Counter[str]) -> list[str]:
    """The findings beyond what the baseline tolerates (one repeated more often than listed counts too)."""
    allowed = Counter(baseline)
    fresh = []
    for finding in found:
        k = key(finding)
        if allowed[k] > 0:
            allowed[k] -= 1
        else:
            fresh.append(finding)
    return fresh


def write_baseline(tool: str, found: list[str], path: Path) -> None:
    header = (
        f"# {tool} findings tolerated for now (.ci/baseline.py); this list may only shrink.\n"
        f"# Regenerate it after fixing some: .venv/bin/python .ci/baseline.py {tool} --update\n"
    )
    path.write_text(header + "".join(f"{k}\n" for k in sorted(key(f) for f in found)), encoding="utf-8")


def check(tool: str, update: bool) -> bool:
    found = run(tool)
    path = baseline_path(tool)
    baseline = read_baseline(path)
    if update:
        write_baseline(tool, found, path)
        print(f"{tool}: baseline of {len(found)} findings (was {sum(baseline.values())}) -> {path.relative_to(ROOT)}")
        return True
    fresh = new_findings(found, baseline)
    for finding in fresh:
        print(finding)
    tolerated = len(found) - len(fresh)
    fixed = sum(baseline.values()) - tolerated
    print(
        f"{tool}: {tolerated} findings remain in the baseline"
        + (f", {fixed} of its entries fixed (shrink it: .venv/bin/python .ci/baseline.py {tool} --update)" if fixed else "")
        + (f"; {len(fresh)} new, not in the baseline: fix them" if fresh else "; none new")
    )
    return not fresh


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("tool", choices=["mypy", "ruff", "all"])
    parser.add_argument("--update", action="store_true", help="rewrite the baseline from the current findings")
    args = parser.parse_args(argv)
    tools = ["mypy", "ruff"] if args.tool == "all" else [args.tool]
    results = [check(tool, args.update) for tool in tools]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
