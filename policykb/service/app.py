"""The application factory: ``create_app(config)`` returns the Starlette app ``policykb serve`` runs.

Other parts of policykb (the workbench page at ``/``) add themselves through
``extra_routes`` — routes and mounts placed after the service's own, so a
``Mount("/", …)`` serves everything the API does not — and may name paths that
need no token (``public_paths``, ``public_prefixes``).  ``app_from_env`` is the
factory uvicorn's worker processes import.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterable, Sequence

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from policykb.views import json_text
from policykb.workbench import routes as workbench

from . import docs, kbroutes, openapi, routes, streams
from .answers import answers, starlette_error, text_response
from .auth import PUBLIC, BearerAuth
from .config import ServiceConfig
from .decisionlog import DecisionLog
from .limits import BodyLimit
from .observe import Observe
from .state import Served

log = logging.getLogger("policykb.service")


async def healthz(request: Request):
    """The process is up (it says nothing about the KB: that is /readyz)."""
    return text_response(json_text({"status": "up"}))


@answers
async def readyz(request: Request):
    kb = request.app.state.served.require()
    return text_response(json_text({"status": "ready", "policy": kb.policy.id, "kb_version": kb.version}))


def default_extras() -> list[BaseRoute]:
    """Routes every ``policykb serve`` adds after the API: the workbench page at ``/``."""
    return workbench.routes()


def create_app(
    config: ServiceConfig | None = None,
    *,
    extra_routes: Sequence[BaseRoute] = (),
    public_paths: Iterable[str] = (),
    public_prefixes: Iterable[str] = (),
) -> Starlette:
    config = config or ServiceConfig()
    served = Served(config)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        await served.start()
        decision_log = DecisionLog(config.decision_log) if config.decision_log else None
        app.state.decision_log = decision_log
        hup = _on_sighup(decision_log)
        try:
            yield
        finally:
            if hup:
                with contextlib.suppress(Exception):
                    asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            if decision_log is not None:
                decision_log.close()

    middleware = [Middleware(Observe, access=config.access_log)]
    if config.token:
        middleware.append(
            Middleware(
                BearerAuth,
                token=config.token,
                public=PUBLIC | frozenset(public_paths) | docs.PUBLIC,
                public_prefixes=tuple(public_prefixes) + docs.PUBLIC_PREFIXES,
            )
        )
    middleware.append(Middleware(BodyLimit, limit=config.max_body))
    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            *routes.routes(),
            *streams.routes(),
            *kbroutes.routes(),
            *openapi.routes(),
            *docs.routes(),
            *extra_routes,
        ],
        middleware=middleware,
        exception_handlers={HTTPException: starlette_error},
        lifespan=lifespan,
    )
    app.state.config = config
    app.state.served = served
    app.state.decision_log = None
    return app


def _on_sighup(decision_log: DecisionLog | None) -> bool:
    """Reopen the decision log on SIGHUP (logrotate's postrotate); False where signals cannot be set."""

    def reopen():
        if decision_log is not None:
            decision_log.reopen()
        log.info("SIGHUP: decision log reopened" if decision_log else "SIGHUP: nothing to reopen")

    try:
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, reopen)
        return True
    except (NotImplementedError, RuntimeError, ValueError, AttributeError):  # not the main thread, or no SIGHUP
        return False


def app_from_env() -> Starlette:
    """The factory uvicorn calls in each worker: settings from the environment (``ServiceConfig.to_env``)."""
    return create_app(
        ServiceConfig.from_env(), extra_routes=default_extras(), public_paths=workbench.PUBLIC, public_prefixes=workbench.PUBLIC_PREFIXES
    )
