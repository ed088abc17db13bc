"""Reading KB YAML files safely, with line numbers and duplicate-key detection.

Values come from ``yaml.safe_load`` only.  The file is also *composed* (parsed to
a node tree, never constructed into objects) with the safe loader, to find
duplicate keys — which ``safe_load`` would silently collapse — and the line of
every key, so that an error can say ``m01.yaml:14``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

PathKey = tuple  # ("items", 0, "amount", "rate")


def dotted(path: PathKey) -> str:
    """``items[0].amount.rate`` for ("items", 0, "amount", "rate")."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top)"


def _walk(node: yaml.Node, path: PathKey, lines: dict, duplicates: list) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                duplicates.append((path + (key,), line, seen[key]))
            seen[key] = line
            lines[path + (key,)] = line
            _walk(value_node, path + (key,), lines, duplicates)
    elif isinstance(node, yaml.SequenceNode):
        for index, child in enumerate(node.value):
            _walk(child, path + (index,), lines, duplicates)


MAX_KB_DEPTH = 64


def _line(event: yaml.Event) -> int | str:
    """The line (from 1) an event starts on; the parser marks every event it emits."""
    return event.start_mark.line + 1 if event.start_mark is not None else "?"


def _shape_problem(text: str) -> str | None:
    """Aliases (which expand exponentially when walked) and nesting too deep to walk, found
    from the event stream before anything is built: a KB folder given with --kb is input too."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            return f"line {_line(event)}: a YAML alias (*{event.anchor}); aliases are not used in KB files — write the value out"
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_KB_DEPTH:
                return f"line {_line(event)}: nested more than {MAX_KB_DEPTH} levels deep"
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return None


class YamlFile:
    """One parsed YAML file: its data, the line of each path, its duplicate keys."""

    def __init__(self, path: Path, display: str):
        self.path = path
        self.display = display
        self.lines: dict[PathKey, int] = {}
        self.duplicates: list[tuple[PathKey, int, int]] = []
        self.error: str | None = None
        self.data: Any = None
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            self.error = f"not UTF-8 text ({exc.reason} at byte {exc.start})"
            return
        try:
            problem = _shape_problem(text)
            if problem:
                self.error = problem
                return
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            if node is not None:
                _walk(node, (), self.lines, self.duplicates)
            self.data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc)
            self.error = f"not valid YAML{where}: {problem}"

    def line(self, path: PathKey) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        while True:
            if path in self.lines:
                return self.lines[path]
            if not path:
                return None
            path = path[:-1]

    def where(self, path: PathKey) -> str:
        line = self.line(path)
        location = f"{self.display}:{line}" if line else self.display
        return f"{location}: {dotted(path)}"
