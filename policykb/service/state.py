"""The served knowledge base: loaded, checked and warmed by one evaluation before the worker serves.

A worker starts answering only once its KB is loaded and one evaluation has run
(so the first caller does not pay for compiling the rules, and a rolling restart
never hands requests to a worker that is still loading).  A broken KB does not
stop the worker: ``/healthz`` answers, and ``/readyz`` and the ``/v1`` routes
answer 503 with the KB's problems.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from policykb.api import load
from policykb.engine.synthetic import Generator
from policykb.errors import KBError, PolicyKBError, Problem

from .config import ServiceConfig
from .problems import HTTPProblem

if TYPE_CHECKING:
    from policykb.api import KnowledgeBase

log = logging.getLogger("policykb.service")


class Served:
    def __init__(self, config: ServiceConfig):
        self.config = config
        self.kb: KnowledgeBase | None = None
        self.problems: list[Problem] = []
        self.loading = True

    async def start(self) -> None:
        """Load in a thread (the event loop stays free for the server's own start-up), until done."""
        await asyncio.get_running_loop().run_in_executor(None, self.load)

    def load(self) -> None:
        start = time.perf_counter()
        try:
            kb = load(self.config.policy, path=self.config.kb)
            self.warm_up(kb)
            self.kb = kb
            log.info(
                "ready",
                extra={
                    "fields": {"policy": kb.policy.id, "kb_version": kb.version, "load_ms": round((time.perf_counter() - start) * 1000, 1)}
                },
            )
        except KBError as exc:
            self.problems = exc.problems
            log.error("the knowledge base is broken; /readyz answers 503", extra={"fields": {"problems": [str(p) for p in exc.problems]}})
        except PolicyKBError as exc:
            self.problems = getattr(exc, "problems", None) or [Problem("", str(exc))]
            log.error("the knowledge base cannot be loaded: %s", exc)
        except Exception as exc:  # reported as not ready, with the cause in the log
            self.problems = [Problem("", f"{type(exc).__name__}: {exc}")]
            log.exception("loading the knowledge base failed")
        finally:
            self.loading = False

    @staticmethod
    def warm_up(kb) -> None:
        """One evaluation of a synthetic application: compiles and registers the rules."""
        for document in Generator(kb.policy, 1).applications(1):
            kb.evaluate(document).to_json()

    def require(self):
        """The KB, or a 503 problem saying why there is none yet."""
        kb = self.kb
        if kb is not None:
            return kb
        if self.loading:
            raise HTTPProblem(503, "not-ready", "the knowledge base is still loading", headers={"Retry-After": "1"})
        raise HTTPProblem(503, "kb-unavailable", "the knowledge base could not be loaded; see problems", self.problems)
