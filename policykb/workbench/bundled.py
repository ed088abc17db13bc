"""The bundled examples the workbench starts from (package ``policykb.examples``)."""

from __future__ import annotations

import json
from importlib import resources


def examples_dir():
    return resources.files("policykb.examples")


def example_list() -> list[dict]:
    """The bundled example applications: name (file stem) and applicant name."""
    out = []
    for entry in sorted(examples_dir().iterdir(), key=lambda e: e.name):
        if entry.is_file() and entry.name.endswith(".json"):
            data = json.loads(entry.read_text(encoding="utf-8"))
            out.append({"name": entry.name[: -len(".json")], "label": str(data.get("applicant", {}).get("name", ""))})
    return out


def example_file(name: str):
    """A bundled file by name ("ic-company", "ic-company.json", "audit/awards.csv"), or None;
    with the names there are, for a "did you mean"."""
    files = {e.name: e for e in examples_dir().iterdir() if e.is_file() and not e.name.endswith(".py")}
    files.update({f"audit/{e.name}": e for e in (examples_dir() / "audit").iterdir() if e.is_file()})
    return files.get(name) or files.get(f"{name}.json"), sorted(files)
