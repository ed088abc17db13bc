"""The decision log: one JSON line per decision, appended atomically, reopened on SIGHUP.

Each line: ``time`` (UTC, ISO 8601), ``request_id``, ``route``, ``index`` (position in
a batch, else absent), ``policy``, ``kb_version``, ``readings``, ``input_sha256`` (of
the request body as received, so ``sha256sum application.json`` matches),
``totals`` (or ``error`` for an application that could not be evaluated) and
``duration_ms``.  A line is written with one ``write(2)`` on a file opened with
``O_APPEND``, so lines from several threads or worker processes never interleave.
The operator rotates the file (``logrotate``): after a rename, SIGHUP makes every
worker reopen the path.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading


class DecisionLog:
    def __init__(self, path: str):
        self.path = path
        self._lock = threading.Lock()
        self._fd = self._open()

    def _open(self) -> int:
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o640)

    def reopen(self) -> None:
        """Open the path afresh (after the operator renamed the file) and close the old one."""
        fd = self._open()
        with self._lock:
            old, self._fd = self._fd, fd
        os.close(old)

    def write(self, entry: dict) -> None:
        entry = {"time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"), **entry}
        data = (json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        with self._lock:
            written = os.write(self._fd, data)
            while written < len(data):  # only on a full disk or a signal; keep the line whole
                written += os.write(self._fd, data[written:])

    def close(self) -> None:
        with self._lock:
            os.close(self._fd)
            self._fd = -1
