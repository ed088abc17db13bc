"""Structured logs: one JSON object per line on standard error (access log and service events).

Configured by ``policykb serve`` only (never at import).  A record's
``extra={"fields": {...}}`` becomes top-level keys; an exception's traceback goes
into ``traceback`` — in the log, never in a response.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
import traceback


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": os.getpid(),
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}) or {})
        if record.exc_info:
            entry["traceback"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(level: int = logging.INFO) -> dict:
    """The logging configuration for ``policykb serve`` and uvicorn (a ``logging.config`` dict)."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JSONFormatter}},
        "handlers": {"stderr": handler},
        "loggers": {
            "policykb": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": [], "level": logging.WARNING, "propagate": False},
        },
    }


def say(message: str) -> None:
    """A line for the person who started the server (before logging is set up)."""
    sys.stderr.write(f"policykb serve: {message}\n")
