"""Changing an application, and comparing the decisions before and after.

Paths name a place in the application document: ``year``, ``applicant.size``,
``facts[3].equipment_investment`` (by position in the input) or
``facts[P-2022-01].equipment_investment`` (by subject; ``facts[type:subject]`` when
a subject has several facts).  Values are read as JSON (``3000000``, ``true``,
``"2999999.99"``); anything that is not JSON is taken as text; ``null`` removes a
field.  ``diff`` lists, per item and subject, what changed between two decisions.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from policykb.engine.decision import amount_dict
from policykb.engine.documents import loads_json
from policykb.errors import InputError, Problem, suggest
from policykb.numbers import shown_key

_FACT_PATH = re.compile(r"^facts\[([^\]]+)\](?:\.([A-Za-z_][A-Za-z0-9_]*))?$")


@dataclass(frozen=True)
class Change:
    path: str
    old: Any
    new: Any

    def to_dict(self) -> dict:
        return {"path": self.path, "old": plain(self.old), "new": plain(self.new)}


_MISSING = object()


def plain(value: Any) -> Any:
    """A JSON-ready copy: Decimals as exact strings, the absent marker as None."""
    if value is _MISSING:
        return None
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def parse_value(text: str) -> Any:
    """A command-line value: JSON if it reads as JSON, else the text itself."""
    try:
        return loads_json(text)
    except ValueError:
        return text


def fact_index(document: dict, ref: str) -> int:
    """The position of the fact a path names, by index, subject, or type:subject."""
    facts = document.get("facts") or []
    if ref.isdigit():
        index = int(ref)
        if index >= len(facts):
            raise InputError(f"facts[{ref}]: the application has {len(facts)} facts (facts[0] … facts[{len(facts) - 1}])")
        return index
    applicant_id = (document.get("applicant") or {}).get("id")

    def subject(f: dict) -> Any:
        return f.get("subject", applicant_id)

    if ":" in ref:
        kind, _, wanted = ref.partition(":")
        found = [i for i, f in enumerate(facts) if f.get("type") == kind and subject(f) == wanted]
    else:
        found = [i for i, f in enumerate(facts) if subject(f) == ref]
    if len(found) == 1:
        return found[0]
    if not found:
        subjects = sorted({str(subject(f)) for f in facts})
        raise InputError(f"facts[{ref}]: no fact has that subject{suggest(ref, subjects)}; subjects: {', '.join(subjects)}")
    kinds = ", ".join(f"{facts[i].get('type')}:{ref}" for i in found)
    raise InputError(f"facts[{ref}]: {len(found)} facts have that subject; name one as facts[type:subject] ({kinds})")


def set_path(document: dict, path: str, value: Any) -> Change:
    """Set (or with None remove) the value at ``path``; return the change made."""
    if path == "year":
        old = document.get("year", _MISSING)
        document["year"] = value
        return Change(path, old, value)
    if path.startswith("applicant."):
        name = path[len("applicant.") :]
        applicant = document.setdefault("applicant", {})
        old = applicant.get(name, _MISSING)
        if value is None:
            applicant.pop(name, None)
        else:
            applicant[name] = value
        return Change(path, old, value)
    m = _FACT_PATH.match(path)
    if not m or not m.group(2):
        raise InputError(Problem(path, "expected year, applicant.FIELD or facts[N|SUBJECT|type:SUBJECT].FIELD"))
    index = fact_index(document, m.group(1))
    fact = document["facts"][index]
    name = m.group(2)
    old = fact.get(name, _MISSING)
    if value is None:
        fact.pop(name, None)
    else:
        fact[name] = value
    return Change(f"facts[{index}].{name}", old, value)


def apply(document: dict, sets: Sequence[str] = (), adds: Sequence[str] = (), removes: Sequence[str] = ()) -> tuple[dict, list[Change]]:
    """A changed copy of ``document`` and the list of changes made.

    Every path names a fact of the original document; values are set first, new facts
    are then added, and the removed facts go last.  Changing a fact that is also
    removed, or removing one twice, is refused as contradictory.
    """
    changed = copy.deepcopy(document)
    removed: dict[int, str] = {}
    for ref in removes:
        index = fact_index(document, _strip_fact_ref(ref))
        if index in removed:
            raise InputError(f"--remove {ref}: facts[{index}] is already removed by --remove {removed[index]}")
        removed[index] = ref
    changes: list[Change] = []
    for spec in sets:
        path, sep, raw = spec.partition("=")
        if not sep or not path.strip():
            raise InputError(f"--set expects PATH=VALUE (for example facts[0].equipment_investment=3000000); found {shown_key(spec)}")
        change = set_path(changed, path.strip(), parse_value(raw.strip()))
        m = _FACT_PATH.match(change.path)
        if m and int(m.group(1)) in removed:
            raise InputError(f"--set {path.strip()}: that fact is removed by --remove {removed[int(m.group(1))]}")
        changes.append(change)
    for spec in adds:
        fact = parse_value(spec)
        if not isinstance(fact, dict) or "type" not in fact:
            raise InputError(f"--add expects a fact as a JSON object with a type; found {shown_key(spec)}")
        changed.setdefault("facts", []).append(fact)
        changes.append(Change(f"facts[{len(changed['facts']) - 1}]", _MISSING, fact))
    for index in sorted(removed, reverse=True):
        fact = changed["facts"].pop(index)
        changes.append(Change(f"facts[{index}]", fact, _MISSING))
    return changed, changes


def _strip_fact_ref(ref: str) -> str:
    m = re.match(r"^facts\[([^\]]+)\]$", ref.strip())
    return m.group(1) if m else ref.strip()


def outcome_view(o) -> dict:
    return {"status": o.status, "amount": amount_dict(o), "by": list(o.by)}


def diff(before, after) -> list[dict]:
    """Outcomes that differ between two decisions, in policy order."""
    old = {(o.item.id, o.subject): o for o in before.outcomes}
    new = {(o.item.id, o.subject): o for o in after.outcomes}
    keys = sorted(set(old) | set(new), key=lambda k: (before.policy.items[k[0]].order, k[1]))
    out = []
    for key in keys:
        a, b = old.get(key), new.get(key)
        va = outcome_view(a) if a else None
        vb = outcome_view(b) if b else None
        if va != vb:
            out.append({"item": key[0], "subject": key[1], "before": va, "after": vb})
    return out
