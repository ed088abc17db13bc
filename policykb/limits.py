"""The limits every input lives within — one place, shared by the command line, the
library and the HTTP service (which imports ``MAX_DOCUMENT_BYTES`` as its body limit).

A limit is a promise to the operator: whatever the input, a command reads at most
this much, nests at most this deep, and gives up with a clear message (exit 2,
HTTP 413/400) instead of running out of memory or time.
"""

from __future__ import annotations

import os

# One document read whole: an application (JSON or YAML), a JSON array of audit records,
# one line of JSON Lines or one CSV row, one HTTP request body.
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024

# Objects and lists inside objects and lists: an application needs 4, an audit record 6.
MAX_DEPTH = 32

# Digits of a number literal before it is converted (an amount below 10^12 yuan with fen
# has at most 15; a count at most 13).  Longer literals are refused unread.
MAX_NUMBER_DIGITS = 20

# How much of a bad value an error message shows.
MAX_SHOWN_CHARS = 80


def cpu_count() -> int:
    """The CPUs this process may run on (the affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


# ``why`` and ``qualify`` without ``--subject`` explain every subject of the item, and each
# explanation re-evaluates the application: above this many subjects, name one.
MAX_SUBJECTS_UNNAMED = 20

# ``--workers`` above this is refused as a mistake rather than capped.
MAX_WORKERS_ASKED = 1024
