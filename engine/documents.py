"""Reading input documents — applications, audit records, command-line values — one way.

JSON numbers with a fraction are read as exact ``Decimal``; a key repeated in one
object is an error (in JSON and in YAML alike: YAML would otherwise keep the last
silently); YAML goes through ``yaml.safe_load`` only, with dates turned back into
text; a UTF-8 byte-order mark is ignored; nesting deep enough to exhaust the parser
is refused.  The format follows the file's extension (.json, .yaml, .yml), and is
sniffed only for other names.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from policykb.errors import InputError, Problem
from policykb.kb.yamlio import dotted, duplicate_keys


class DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(f"duplicate key '{key}' in one object")
        self.key = key


def _no_duplicate_keys(pairs):
    out = {}
    for key, value in pairs:
        if key in out:
            raise DuplicateKey(key)
        out[key] = value
    return out


def loads_json(text: str) -> Any:
    """Strict, exact JSON; raises ValueError (JSONDecodeError, DuplicateKey, too deep)."""
    try:
        return json.loads(text, parse_float=Decimal, object_pairs_hook=_no_duplicate_keys)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def yaml_dates_to_text(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: yaml_dates_to_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [yaml_dates_to_text(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    return value


def parse_text(text: str, name: str = "<input>") -> Any:
    """An application (or any input document) from JSON or YAML text."""
    text = text.lstrip("\ufeff")
    suffix = Path(name).suffix.lower()
    as_json = suffix == ".json" or (suffix not in (".yaml", ".yml") and text.lstrip().startswith(("{", "[")))
    if as_json:
        try:
            return loads_json(text)
        except json.JSONDecodeError as exc:
            raise InputError(Problem(f"line {exc.lineno}, column {exc.colno}", f"not valid JSON: {exc.msg}"), source=name) from None
        except ValueError as exc:
            raise InputError(f"not valid JSON: {exc}", source=name) from None
    try:
        repeated = duplicate_keys(text)
        if repeated:
            path, line, first = repeated[0]
            raise InputError(Problem(f"line {line}", f"{dotted(path)}: duplicate key (first at line {first})"), source=name)
        return yaml_dates_to_text(yaml.safe_load(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InputError(Problem(where, f"not valid YAML: {getattr(exc, 'problem', None) or exc}"), source=name) from None
    except RecursionError:
        raise InputError("not valid YAML: nested too deeply", source=name) from None


def read_text(path: str | Path, what: str = "file") -> str:
    """A UTF-8 text file (a byte-order mark is dropped); any failure is an input error."""
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"no such file: {p}") from None
    except IsADirectoryError:
        raise InputError(f"{p} is a folder, not {what}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{p} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise InputError(f"cannot read {p}: {exc.strerror}") from None


def read_document(path: str | Path) -> Any:
    """Parse an application file; a missing or unreadable file is an input error."""
    p = Path(path)
    return parse_text(read_text(p, "an application file"), p.name)
