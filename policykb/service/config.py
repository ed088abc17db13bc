"""The service's settings: one frozen value, checked once, passed to every worker.

Worker processes are started by uvicorn from an import string, so the settings
travel to them through one environment variable as JSON (``to_env``/``from_env``).
"""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from policykb.engine.documents import regular_file
from policykb.errors import InputError
from policykb.limits import MAX_DOCUMENT_BYTES

ENV = "POLICYKB_SERVE_CONFIG"
DEFAULT_MAX_BODY = MAX_DOCUMENT_BYTES  # 5 MiB: one document, as the command line reads it
DEFAULT_TIMEOUT = 30.0
MAX_TOKEN_BYTES = 4096


@dataclass(frozen=True)
class ServiceConfig:
    """Everything ``create_app`` needs; every field has the default ``policykb serve`` uses."""

    policy: str | None = None  # a shipped policy name
    kb: str | None = None  # or a KB folder
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    token: str | None = field(default=None, repr=False)
    decision_log: str | None = None
    max_body: int = DEFAULT_MAX_BODY
    timeout: float = DEFAULT_TIMEOUT
    access_log: bool = True

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> ServiceConfig:
        raw = os.environ.get(ENV)
        return cls(**json.loads(raw)) if raw else cls()


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``; every other name or address is not."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def read_token(path: str) -> str:
    """The bearer token in ``path`` (surrounding whitespace dropped); refused if empty or odd."""
    p = Path(path)
    try:
        fd = regular_file(p, "a token file")  # a FIFO or a device is refused, never read
    except InputError as exc:  # standard input is no token file: its mention is dropped
        raise InputError(f"--token-file: {str(exc).replace(', or - to read standard input', '')}") from None
    with os.fdopen(fd, "rb") as file:
        raw = file.read(MAX_TOKEN_BYTES + 1)
    if len(raw) > MAX_TOKEN_BYTES:
        raise InputError(f"--token-file: {p} is longer than {MAX_TOKEN_BYTES} bytes; a token is one line")
    try:
        token = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        raise InputError(f"--token-file: {p} must hold a token of printable ASCII characters") from None
    if not token:
        raise InputError(f"--token-file: {p} is empty")
    if len(token) < 16:
        raise InputError(f"--token-file: the token in {p} is {len(token)} characters; use at least 16 (e.g. `openssl rand -hex 32`)")
    if any(not (33 <= ord(c) <= 126) for c in token):
        raise InputError(f"--token-file: {p} must hold one token without spaces or control characters")
    return token
