"""The hostile-input corpus, generated: every class of bad input issue 10 found, and more.

Each entry is (name, kind, content) where kind says how it is fed to the command line:
``evaluate`` (an application file; the name's suffix picks JSON or YAML) or ``audit``
(a records file, JSON Lines or array).  The corpus is deterministic — built from the
bundled examples and fixed lists of hostile values — so that a failure names an input
that can be regenerated.  Add a class by adding a generator below; the tests pick it up.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "software-firm.json"
RECORDS = ROOT / "examples" / "audit" / "decisions.jsonl"

# Values that must never get past the reader, the guard or the validator, nor crash them.
HOSTILE_NUMBERS = [
    "1e400",
    "1e999999",
    "1e9999999",
    "-1e400",
    "1E-400",
    "Infinity",
    "-Infinity",
    "NaN",
    "1" + "0" * 5001,
    "10000000000000000000000000000000000000000",
    "5E6",
    "2022.0",
    "-0.0",
    "0.001",
    "1e-05",
    "-1",
    "18446744073709551616",
    "9" * 40 + ".99",
    "3000000.000000000000000000000001",
]
HOSTILE_TEXT = [
    "\ud800",
    "\udfff",
    "a\ud83dz",
    "\x1b[31mred\x1b[0m",
    "\x1b]0;title\x07",
    "\x07bell",
    "nul\x00byte",
    "\x9b31m",
    "\x7f",
    "cr\roverwrite",
    "\u202eevil",
    "x" * 200_000,
    "",
    " ",
    "<script>alert(1)</script>",
    "| a | b |",
    "**bold** [link](http://x)",
    "２０２２",
    "913205850000000001",
]
HOSTILE_SHAPES = [[], {}, [1, 2], {"a": {"b": 1}}, None, True, 0, "string"]
YAML_ODD_NUMBERS = [
    "5e6",
    "5E6",
    "0x2DC6C0",
    "0o17",
    "017",
    "833:20:00",
    "2_022",
    "1_000_000",
    ".inf",
    "-.inf",
    ".nan",
    "+5",
    "2022.0",
    "1.5e3",
    "2022-02-30",
    "2021-13-01",
    "0000-00-00",
    "~",
    "null",
    "yes",
    "no",
    "on",
]


def example() -> dict:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def _json(doc) -> str:
    return json.dumps(doc, ensure_ascii=False)


def _set(doc: dict, path: tuple, raw: str) -> str:
    """The document as JSON with the value at ``path`` replaced by the raw JSON text ``raw``."""
    marker = "\u2603MARK\u2603"
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = marker
    return _json(doc).replace(json.dumps(marker, ensure_ascii=False), raw)


# fields of the example that take numbers, text and dates
NUMBER_PATHS = [
    ("year",),
    ("facts", 0, "level"),
    ("facts", 1, "amount"),
    ("facts", 1, "year"),
    ("facts", 2, "sales_revenue"),
    ("facts", 4, "total_sales"),
]
TEXT_PATHS = [("applicant", "id"), ("applicant", "name"), ("facts", 4, "subject"), ("facts", 4, "note"), ("facts", 0, "type")]
DATE_PATHS = [("facts", 0, "date"), ("facts", 3, "date")]


def evaluate_inputs() -> Iterator[tuple[str, str, bytes]]:
    base = example()
    # numbers that are not decimal digits, or too large to convert, in every kind of number field
    for path in NUMBER_PATHS:
        for i, raw in enumerate(HOSTILE_NUMBERS):
            yield (
                f"number-{'.'.join(map(str, path))}-{i}.json",
                "evaluate",
                _set(copy.deepcopy(base), path, raw).encode("utf-8", "surrogatepass"),
            )
    # text with surrogates, control characters, markup, huge values
    for path in TEXT_PATHS:
        for i, value in enumerate(HOSTILE_TEXT):
            doc = copy.deepcopy(base)
            _put(doc, path, value)
            yield f"text-{'.'.join(map(str, path))}-{i}.json", "evaluate", _json(doc).encode("utf-8", "surrogatepass")
    # wrong shapes where objects, lists, text and numbers belong
    for path in TEXT_PATHS[:3] + [("applicant",), ("facts",), ("facts", 0), ("year",)]:
        for i, value in enumerate(HOSTILE_SHAPES):
            doc = copy.deepcopy(base)
            _put(doc, path, value)
            yield f"shape-{'.'.join(map(str, path))}-{i}.json", "evaluate", _json(doc).encode("utf-8")
    # huge keys and values: the message shows 80 characters, and no suggestion is searched for
    for where in ("applicant", "facts.0", "top"):
        for size in (101, 100_000, 1_000_000):
            doc = copy.deepcopy(base)
            target = doc if where == "top" else doc["applicant"] if where == "applicant" else doc["facts"][0]
            target["k" * size] = 1
            yield f"bigkey-{where}-{size}.json", "evaluate", _json(doc).encode("utf-8")
    # impossible dates
    for path in DATE_PATHS:
        for i, value in enumerate(["2022-02-30", "2021-13-01", "0000-00-00", "2022-2-3", "9999-99-99", "2022-02-29T00:00"]):
            doc = copy.deepcopy(base)
            _put(doc, path, value)
            yield f"date-{'.'.join(map(str, path))}-{i}.json", "evaluate", _json(doc).encode("utf-8")
    # nesting, from just over the limit to far beyond the parser's recursion
    for depth in (33, 100, 495, 700, 989, 1500, 5000, 100_000):
        yield f"deep-array-{depth}.json", "evaluate", ("[" * depth + "]" * depth).encode()
        yield f"deep-object-{depth}.json", "evaluate", ('{"a":' * depth + "1" + "}" * depth).encode()
        inner = '{"applicant": ' + "[" * depth + "]" * depth + ', "year": 2022, "facts": []}'
        yield f"deep-field-{depth}.json", "evaluate", inner.encode()
    # YAML: aliases (billion laughs), odd numbers, dates, deep nesting
    for n in (2, 5, 9, 15):
        lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"] + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, n)]
        yield f"alias-{n}.yaml", "evaluate", ("\n".join(lines) + "\n").encode()
    yield "alias-merge.yaml", "evaluate", b"base: &b {id: A, name: n}\napplicant:\n  <<: *b\nyear: 2022\nfacts: []\n"
    yaml_base = _yaml_example(base)
    for i, value in enumerate(YAML_ODD_NUMBERS):
        for field in ("year: 2022", "sales_revenue: 32000000", "level: 4", "id: 91320585MA1SOFT02Y"):
            key = field.split(":")[0]
            yield f"yaml-{key}-{i}.yaml", "evaluate", yaml_base.replace(field, f"{key}: {value}").encode()
    for depth in (33, 400, 3000):
        yield f"yaml-deep-{depth}.yaml", "evaluate", ("a: " + "[" * depth + "]" * depth + "\n").encode()
    # whole-file oddities
    text = _json(base)
    yield "empty.json", "evaluate", b""
    yield "blank.yaml", "evaluate", b"\n\n   \n"
    yield "bom.json", "evaluate", b"\xef\xbb\xbf" + text.encode()
    yield "latin1.json", "evaluate", text.replace("太仓", "Tai\u00e9").encode("latin-1", "replace")
    yield "binary.json", "evaluate", bytes(range(256)) * 4
    yield "jsonl.json", "evaluate", (text + "\n" + text + "\n").encode()
    yield "duplicate-key.json", "evaluate", text.replace('"year": 2022', '"year": 2022, "year": 2021').encode()
    yield "duplicate-key.yaml", "evaluate", (yaml_base + "year: 2021\n").encode()
    yield "list-top.json", "evaluate", b"[1, 2, 3]"
    yield "scalar-top.yaml", "evaluate", b"just text\n"
    yield "too-many-facts.json", "evaluate", _json(dict(base, facts=[base["facts"][0]] * 2001)).encode()
    for cut in range(1, len(text), max(1, len(text) // 25)):
        yield f"truncated-{cut}.json", "evaluate", text[:cut].encode()


def _put(doc, path, value) -> None:
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


def _yaml_example(base: dict) -> str:
    import yaml

    return yaml.safe_dump(base, allow_unicode=True, sort_keys=False, default_flow_style=False)


BAD_LINES = [
    "garbage",
    "[1]",
    "[",
    "{",
    "null",
    "42",
    '"text"',
    '{"application": 1, "decision": 2}',
    '{"application": {"applicant": {"id": ["A"]}}, "decision": {}}',
    '{"application": {"applicant": {"id": "\\ud800"}}, "decision": {"decision_id": "D"}}',
    '{"application": {"applicant": {"id": "BAD-SUR"}}, "decision": {"decision_id": "\\ud800", "granted": []}}',
    '{"application": {"applicant": {"id": "BAD-DEEP"}, "x": ' + "[" * 600 + "]" * 600 + '}, "decision": {}}',
    '{"application": {"applicant": {"id": "BAD-AMT"}, "year": 2022, "facts": []}, "decision": {"decision_id": "D", "granted": [{"item": "m01.equipment", "amount": 1e400}]}}',
    '{"application": {"applicant": {"id": "BAD-BIG"}, "year": 2022, "facts": []}, "decision": {"decision_id": "D", "granted": [{"item": "m01.equipment", "amount": '
    + "1" * 5001
    + "}]}}",
    '{"application": {"applicant": {"id": "BAD-TYPE"}, "year": 2022, "facts": [{"type": ["x"]}]}, "decision": {"decision_id": "D", "granted": []}}',
    '{"application": {"applicant": {"id": "BAD-DUP"}}, "decision": {}, "decision": {}}',
    '{"application": {"applicant": {"id": "BAD-ESC\\u001b]0;x\\u0007"}}, "decision": {}}',
    '{"application": {"applicant": {"id": "BAD-YEAR"}, "year": 1e999999, "facts": []}, "decision": {"decision_id": "D", "granted": []}}',
    '{"application": {"applicant": {"id": "BAD-FW"}, "year": 2022, "facts": []}, "decision": {"decision_id": "D", "granted": [{"item": "m01.equipment", "amount": "１００"}]}}',
    '{"application": {"applicant": {"id": "BAD-US"}, "year": 2022, "facts": []}, "decision": {"decision_id": "D", "granted": [{"item": "m01.equipment", "amount": "1_000"}]}}',
]
BAD_BYTES = [b"\xff\xfe not utf-8", b'{"application": "\xe9"}', b"\x00\x01\x02"]


def audit_inputs() -> Iterator[tuple[str, str, bytes, int, int, bytes]]:
    """(name, kind, content, records, bad records added, the clean records as JSON Lines):
    every non-blank line is a record."""
    for name, kind, content, records, bad, clean in _audit_inputs():
        yield name, kind, content, records, bad, b"\n".join(clean) + b"\n"


def _audit_inputs():
    good = [line for line in RECORDS.read_text(encoding="utf-8").splitlines() if line.strip()]
    bad = [line.encode("utf-8") for line in BAD_LINES] + BAD_BYTES
    for ending_name, ending in (("lf", b"\n"), ("crlf", b"\r\n"), ("cr", b"\r")):
        for i, line in enumerate(bad):
            clean = [g.encode("utf-8") for g in good[:20]]
            body = list(clean)
            body.insert(i % len(body), line)
            yield f"one-bad-{ending_name}-{i}.jsonl", "audit", ending.join(body) + ending, len(body), 1, clean
            if ending_name == "lf":  # the bad line first
                yield f"bad-first-{i}.jsonl", "audit", line + b"\n" + b"\n".join(clean) + b"\n", len(body), 1, clean
        all_lines = [g.encode("utf-8") for g in good]
        yield f"example-{ending_name}.jsonl", "audit", ending.join(all_lines) + ending, len(all_lines), 0, all_lines
        yield f"example-no-final-eol-{ending_name}.jsonl", "audit", ending.join(all_lines), len(all_lines), 0, all_lines
    ten = [g.encode("utf-8") for g in good[:10]]
    body = b"\n".join(ten)
    yield "leading-blank-lines.jsonl", "audit", b"\n" * 5000 + b"   \t\n" * 100 + body + b"\n", 10, 0, ten
    yield "bom.jsonl", "audit", b"\xef\xbb\xbf" + body + b"\n", 10, 0, ten
    yield "long-line.jsonl", "audit", body + b"\n" + b'{"x": "' + b"y" * (6 * 1024 * 1024) + b'"}\n', 11, 1, ten
    records = [json.loads(g) for g in good[:10]]
    for i, bad_record in enumerate(BAD_LINES[7:]):
        array = "[" + ", ".join([json.dumps(r, ensure_ascii=False) for r in records] + [bad_record]) + "]"
        if bad_record.startswith("{") and _parses(array):
            yield f"array-one-bad-{i}.json", "audit", array.encode(), 11, 1, ten


def _parses(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
