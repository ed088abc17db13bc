"""Reading input documents — applications, audit records, command-line values — one way.

``read_bytes`` is the one file reader: a regular file or ``-`` (standard input),
never a device, a FIFO or a folder, and at most ``MAX_DOCUMENT_BYTES`` (the HTTP
service's body limit too).  ``parse_text`` turns JSON or YAML into data: JSON
numbers with a fraction are exact ``Decimal``; numbers not written in decimal digits
become ``OddNumber`` (policykb/numbers.py) for the guard to refuse by path; a key
repeated in one object is an error in JSON and YAML alike; YAML goes through the
safe loader only, with YAML 1.1's implicit dates, sexagesimal, hexadecimal and
underscored numbers switched off, and aliases and deep nesting refused *before* the
document is built (a few hundred bytes of nested aliases would otherwise expand to
gigabytes).  ``guard`` checks any document, however it arrived — from a file, a
mapping given to the library, an audit record: nesting depth, lone surrogates,
control characters, odd numbers.  The format follows the file's extension (.json,
.yaml, .yml), and is sniffed only for other names.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from policykb.errors import InputError, Problem, TooLargeError
from policykb.limits import MAX_DEPTH, MAX_DOCUMENT_BYTES
from policykb.numbers import OddNumber, json_constant, json_float, json_int, odd_number_message, shown_key

STDIN = "-"


# --- the file reader ------------------------------------------------------------------


def display_name(path: str | Path) -> str:
    return "<stdin>" if str(path) == STDIN else str(path)


def regular_file(path: str | Path, what: str = "file") -> int:
    """Open ``path`` for reading and return the descriptor, if it is a regular file.

    Opened without blocking and checked with fstat, so that a FIFO cannot hang us and a
    device such as /dev/zero cannot be read for ever."""
    p = str(path)
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputError(f"no such file: {p}") from None
    except IsADirectoryError:
        raise InputError(f"{p} is a folder, not {what}") from None
    except OSError as exc:
        raise InputError(f"cannot read {p}: {exc.strerror}") from None
    mode = os.fstat(fd).st_mode
    if stat.S_ISREG(mode):
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return fd
    os.close(fd)
    if stat.S_ISDIR(mode):
        raise InputError(f"{p} is a folder, not {what}")
    kind = "a FIFO" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file"
    raise InputError(f"{p} is {kind}; give a regular file, or - to read standard input")


def _too_large(name: str, limit: int) -> TooLargeError:
    return TooLargeError(f"{name} is larger than {limit:,} bytes ({limit // (1024 * 1024)} MiB), the limit for one document")


def read_bytes(path: str | Path, what: str = "file", limit: int = MAX_DOCUMENT_BYTES) -> bytes:
    """The whole of a regular file or of standard input (``-``), at most ``limit`` bytes."""
    if str(path) == STDIN:
        data = sys.stdin.buffer.read(limit + 1)
    else:
        fd = regular_file(path, what)
        with os.fdopen(fd, "rb") as handle:
            if os.fstat(handle.fileno()).st_size > limit:
                raise _too_large(str(path), limit)
            data = handle.read(limit + 1)
    if len(data) > limit:
        raise _too_large(display_name(path), limit)
    return data


def decode(data: bytes, name: str) -> str:
    """UTF-8 text (a byte-order mark is dropped)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def read_text(path: str | Path, what: str = "file") -> str:
    """A UTF-8 text file or standard input, within the document limit; any failure is an input error."""
    return decode(read_bytes(path, what), display_name(path))


def parse_bytes(data: bytes, name: str = "<body>", limit: int = MAX_DOCUMENT_BYTES) -> Any:
    """A document from bytes already in hand (an HTTP request body): the same limit, decoding
    and parsing as a file; the caller still runs ``guard`` (``parse_application`` does)."""
    if len(data) > limit:
        raise _too_large(name, limit)
    return parse_text(decode(data, name), name)


def read_document(path: str | Path) -> Any:
    """Parse an application file (or ``-``); a missing, unreadable or odd file is an input error."""
    name = display_name(path)
    return parse_text(read_text(path, "an application file"), name if str(path) == STDIN else Path(path).name)


# --- JSON -------------------------------------------------------------------------------


class DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(f"duplicate key {shown_key(key)} in one object")
        self.key = key


def _no_duplicate_keys(pairs):
    out = {}
    for key, value in pairs:
        if key in out:
            raise DuplicateKey(key)
        out[key] = value
    return out


class DuplicatedKeys(dict):
    """An object in which a key was repeated (the last value kept), for the guard to refuse
    by path — so that one bad record of a JSON array does not sink the others."""

    duplicate: str = ""


def _mark_duplicate_keys(pairs):
    out = DuplicatedKeys()
    for key, value in pairs:
        if key in out and not out.duplicate:
            out.duplicate = key
        out[key] = value
    return out if out.duplicate else dict(out)


def loads_json(text: str, duplicates: str = "raise") -> Any:
    """Strict, exact JSON; raises ValueError (JSONDecodeError, DuplicateKey, too deep).
    With ``duplicates="mark"`` an object with a repeated key is a ``DuplicatedKeys``."""
    hook = _no_duplicate_keys if duplicates == "raise" else _mark_duplicate_keys
    try:
        return json.loads(text, parse_float=json_float, parse_int=json_int, parse_constant=json_constant, object_pairs_hook=hook)
    except RecursionError:
        raise ValueError(f"nested too deeply (more than {MAX_DEPTH} levels)") from None


# --- YAML -------------------------------------------------------------------------------

if TYPE_CHECKING:
    _BASE = yaml.SafeLoader
else:  # the C loader where PyYAML was built with libyaml: the same rules, faster
    _BASE = yaml.CSafeLoader if getattr(yaml, "__with_libyaml__", False) else yaml.SafeLoader


class _ApplicationLoader(_BASE):
    """The safe loader with only plain decimal numbers, true/false/null and text: no implicit
    dates (a date stays the text it is), no sexagesimal, hexadecimal, octal or ``2_022``."""


_ApplicationLoader.yaml_implicit_resolvers = {}
for _first, _resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items():
    for _tag, _regexp in _resolvers:
        if _tag in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"):
            _ApplicationLoader.yaml_implicit_resolvers.setdefault(_first, []).append((_tag, _regexp))
_ApplicationLoader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^-?(?:0|[1-9][0-9]*)$"), list("-0123456789"))
_ApplicationLoader.add_implicit_resolver("tag:yaml.org,2002:float", re.compile(r"^-?(?:0|[1-9][0-9]*)\.[0-9]+$"), list("-0123456789"))
# what YAML 1.1 (or JSON) would read as a number but is not written in decimal digits
_ApplicationLoader.add_implicit_resolver(
    "!odd-number",
    re.compile(
        r"""^(?:[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?
                 |[-+]?(?:[0-9][0-9_]*)?\.?[0-9_]*[eE][-+]?[0-9]+
                 |[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?
                 |[-+]?0[xX][0-9a-fA-F_]+|[-+]?0[oO]?[0-7_]+|[-+]?0[bB][01_]+
                 |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def _yaml_int(loader, node):
    return json_int(loader.construct_scalar(node))


def _yaml_float(loader, node):
    return json_float(loader.construct_scalar(node))


def _yaml_odd(loader, node):
    return OddNumber(loader.construct_scalar(node))


def _yaml_mapping(loader, node):
    loader.flatten_mapping(node)
    out: dict = {}
    lines: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(None, None, "a key that is a list or a mapping", key_node.start_mark) from None
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {shown_key(key)} (first at line {lines[key]})", key_node.start_mark
            )
        lines[key] = key_node.start_mark.line + 1
        out[key] = loader.construct_object(value_node, deep=True)
    return out


_ApplicationLoader.add_constructor("tag:yaml.org,2002:int", _yaml_int)
_ApplicationLoader.add_constructor("tag:yaml.org,2002:float", _yaml_float)
_ApplicationLoader.add_constructor("!odd-number", _yaml_odd)
_ApplicationLoader.add_constructor("tag:yaml.org,2002:map", _yaml_mapping)


def _yaml_shape(text: str, name: str) -> None:
    """Refuse aliases and deep nesting from the event stream, before anything is built."""
    depth = 0
    for event in yaml.parse(text, Loader=_ApplicationLoader):
        if isinstance(event, yaml.AliasEvent):
            raise InputError(
                Problem(_mark(event), f"a YAML alias (*{event.anchor}) — aliases are not accepted in applications; write the value out"),
                source=name,
            )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise InputError(Problem(_mark(event), f"nested too deeply (more than {MAX_DEPTH} levels)"), source=name)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _mark(event) -> str:
    mark = event.start_mark
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""


def parse_yaml(text: str, name: str = "<input>") -> Any:
    _yaml_shape(text, name)
    return yaml.load(text, Loader=_ApplicationLoader)  # the safe loader, restricted further


def yaml_dates_to_text(value: Any) -> Any:
    """Dates of a document loaded with the plain safe loader (the KB's own test cases) as
    text, as the application loader leaves them."""
    if isinstance(value, dict):
        return {k: yaml_dates_to_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [yaml_dates_to_text(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    return value


# --- any document -----------------------------------------------------------------------


def parse_text(text: str, name: str = "<input>") -> Any:
    """An application (or any input document) from JSON or YAML text."""
    text = text.lstrip("\ufeff")
    suffix = Path(name).suffix.lower()
    as_json = suffix == ".json" or (suffix not in (".yaml", ".yml") and text.lstrip().startswith(("{", "[")))
    if as_json:
        try:
            return loads_json(text)
        except json.JSONDecodeError as exc:
            hint = ""
            if exc.msg == "Extra data" and text[exc.pos : exc.pos + 1] == "{" and text[: exc.pos].rstrip(" \t").endswith(("\n", "\r")):
                hint = (
                    "; it looks like JSON Lines (one JSON object per line), but 'evaluate' takes one application "
                    "— audit a file of records with 'policykb audit'"
                )
            raise InputError(Problem(f"line {exc.lineno}, column {exc.colno}", f"not valid JSON: {exc.msg}{hint}"), source=name) from None
        except ValueError as exc:
            raise InputError(f"not valid JSON: {exc}", source=name) from None
    try:
        return parse_yaml(text, name)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InputError(Problem(where, f"not valid YAML: {getattr(exc, 'problem', None) or exc}"), source=name) from None
    except RecursionError:
        raise InputError(f"not valid YAML: nested too deeply (more than {MAX_DEPTH} levels)", source=name) from None


# --- the guard --------------------------------------------------------------------------

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_BAD_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def _path(link) -> str:
    """The dotted path of a node from its chain of (parent link, key)."""
    parts = []
    while link is not None:
        link, key = link
        parts.append(key)
    out = ""
    for part in reversed(parts):
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out or "(document)"


def _text_problem(text: str) -> str:
    """What is wrong with a text ``_BAD_TEXT`` matched: a lone surrogate or a control character."""
    if _SURROGATE.search(text):
        return "contains a lone surrogate (\\ud800–\\udfff), which is not a character; the text is corrupt"
    found = _CONTROL.search(text)
    assert found is not None  # _BAD_TEXT matches nothing else
    return f"contains the control character \\x{ord(found.group()):02x}; text may not carry control characters"


def guard_problems(document: Any, limit: int = 20) -> list[Problem]:
    """What makes a document unsafe to go further, by path: nesting deeper than
    ``MAX_DEPTH``, lone surrogates or control characters in keys or text, numbers not in
    decimal digits, keys repeated in one object.  Iterative, so that any depth is inspected
    without recursion; paths are built only for the problems found."""
    problems: list[Problem] = []
    bad_text = _BAD_TEXT.search
    stack: list = [(document, None, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        value, link, depth = pop()
        kind = type(value)
        if kind is str:
            if bad_text(value):
                problems.append(Problem(_path(link), _text_problem(value)))
        elif kind is dict or kind is list or isinstance(value, (dict, list)):
            if depth >= MAX_DEPTH:
                problems.append(Problem(_path(link), f"nested too deeply (more than {MAX_DEPTH} levels)"))
                continue
            if isinstance(value, DuplicatedKeys):
                problems.append(Problem(_path(link), f"duplicate key {shown_key(value.duplicate)} in one object"))
            if isinstance(value, dict):
                for key, child in value.items():
                    if type(key) is str and bad_text(key):
                        problems.append(Problem(_path(link), f"a key {_text_problem(key)}"))
                        continue
                    push((child, (link, key), depth + 1))
            else:
                for index, child in enumerate(value):
                    push((child, (link, index), depth + 1))
        elif isinstance(value, OddNumber):
            problems.append(Problem(_path(link), odd_number_message(value)))
        elif isinstance(value, str) and bad_text(value):
            problems.append(Problem(_path(link), _text_problem(value)))
        if len(problems) >= limit:
            break
    problems.sort(key=lambda p: p.where)
    return problems


def guard(document: Any, source: str = "") -> None:
    """Raise InputError naming every unsafe part of ``document`` (see ``guard_problems``)."""
    problems = guard_problems(document)
    if problems:
        raise InputError(problems, source=source)
