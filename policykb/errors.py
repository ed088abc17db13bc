"""The single error hierarchy of policykb.

Every error the package raises on purpose is a ``PolicyKBError``.  Each class knows
the exit code the command line uses for it and the HTTP status a service would
answer with, so that callers never have to map exceptions themselves.  ``str(exc)``
is always the human message; structured details sit in attributes.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


class PolicyKBError(Exception):
    """Root of every error raised by policykb."""

    exit_code = 1
    http_status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Problem:
    """One located problem: where (file and dotted path, or input path) and what."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class KBError(PolicyKBError):
    """The knowledge base itself is broken: a file, key or reference is wrong."""

    exit_code = 3
    http_status = 500

    def __init__(self, problems: list[Problem] | Problem | str) -> None:
        if isinstance(problems, str):
            problems = [Problem("", problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class InputError(PolicyKBError):
    """An application, record, option or argument is not what was expected.

    ``problems`` holds one entry per bad field, keyed by its path in the input
    (``facts[2].equipment_investment``).
    """

    exit_code = 2
    http_status = 400

    def __init__(self, problems: list[Problem] | Problem | str, *, source: str = "") -> None:
        if isinstance(problems, str):
            problems = [Problem("", problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        self.source = source
        lines = [str(p) for p in self.problems]
        head = f"{source}: " if source else ""
        if len(lines) == 1:
            text = head + lines[0]
        else:
            text = f"{head}{len(lines)} problems:\n" + "\n".join("  " + line for line in lines)
        super().__init__(text)


class UnknownItemError(InputError):
    """An item ID (or reading, or subject) named by the caller does not exist."""

    http_status = 404


class TooLargeError(InputError):
    """An input over a size limit (policykb/limits.py): a document over 5 MiB, say."""

    http_status = 413


class DecisionError(InputError):
    """A saved decision cannot be read back: made with another KB version, or its trace
    (``--trace`` / ``include_trace=True``) is missing, malformed or does not match it."""

    http_status = 422


class EngineError(PolicyKBError):
    """The rules engine failed in a way that is our fault, not the input's."""

    exit_code = 70
    http_status = 500


class UnsupportedPythonError(PolicyKBError, ImportError):
    """policykb was imported on a Python that durable_rules cannot run on."""

    exit_code = 70
    http_status = 500


def suggest(name: object, candidates: Iterable[object]) -> str:
    """' (did you mean 'x'?)' for the nearest candidate, or '' when nothing is near."""
    if len(str(name)) > 100:  # nothing that long is a typo of an ID, and difflib's time grows with it
        return ""
    close = difflib.get_close_matches(str(name), sorted(map(str, candidates)), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
