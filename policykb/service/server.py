"""``policykb serve``: check the settings, then run the app under uvicorn.

The checks that can fail before a socket is opened do (exit 2): a non-loopback host
without ``--token-file``, an unreadable token, a missing KB folder, a decision log
that cannot be opened, nonsensical numbers.  ``--workers`` is capped at the CPU
count.  uvicorn gives graceful shutdown on SIGTERM (in-flight requests finish,
bounded by the request timeout); with several workers its supervisor answers SIGHUP
with a rolling restart (each new worker reopens the decision log), and a single
worker reopens the decision log itself.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from policykb.api import load
from policykb.errors import InputError
from policykb.kb.loader import policy_dir
from policykb.limits import MAX_WORKERS_ASKED, cpu_count

from . import logs
from .config import ENV, ServiceConfig, is_loopback, read_token


def checked(config: ServiceConfig, token_file: str | None) -> ServiceConfig:
    """The settings to run with, or an InputError naming the option that is wrong."""
    if token_file:
        config = replace(config, token=read_token(token_file))
    if not is_loopback(config.host) and not config.token:
        raise InputError(
            f"--host {config.host} is not a loopback address: give --token-file FILE so that callers must "
            "send 'Authorization: Bearer <token>' (or serve on 127.0.0.1 behind a proxy)"
        )
    if not 0 <= config.port <= 65535:
        raise InputError(f"--port must be 0–65535; found {config.port}")
    if not 1 <= config.workers <= MAX_WORKERS_ASKED:
        raise InputError(f"--workers must be 1 to {MAX_WORKERS_ASKED} (more than the CPUs are capped); found {config.workers}")
    if config.workers > cpu_count():
        logs.say(f"--workers {config.workers} is more than the {cpu_count()} CPUs this process may use; running {cpu_count()}")
        config = replace(config, workers=cpu_count())
    if config.max_body < 1:
        raise InputError(f"--max-body must be at least 1 byte; found {config.max_body}")
    if not config.timeout > 0:
        raise InputError(f"--timeout must be more than 0 seconds; found {config.timeout:g}")
    folder = policy_dir(config.policy, config.kb)
    if not (folder / "policy.yaml").is_file():
        load(config.policy, path=config.kb)  # raises the InputError that names the policy or folder
    if config.kb:
        config = replace(config, kb=str(Path(config.kb).resolve()))
    if config.decision_log:
        target = Path(config.decision_log).resolve()
        try:
            with open(target, "a", encoding="utf-8"):
                pass
        except OSError as exc:
            raise InputError(f"--decision-log: cannot open {target} for appending: {exc.strerror}") from None
        config = replace(config, decision_log=str(target))
    return config


def run(config: ServiceConfig) -> int:
    """Serve until SIGTERM/SIGINT; 0 after a clean shutdown."""
    import uvicorn  # deferred: ~100 ms, for running the server only (tests build configs without it)

    os.environ[ENV] = config.to_env()  # worker processes build their app from it
    uvicorn.run(
        "policykb.service.app:app_from_env",
        factory=True,
        host=config.host,
        port=config.port,
        workers=config.workers,
        log_config=logs.configure(),
        access_log=False,  # ours is structured and carries the request id
        server_header=False,
        timeout_graceful_shutdown=int(config.timeout) + 5,
        timeout_worker_healthcheck=120,  # a new worker loads its KB before it counts as started
        lifespan="on",
    )
    return 0
