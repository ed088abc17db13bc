"""The served knowledge base: loaded in the background, warmed by one evaluation, then ready.

``/healthz`` answers as soon as the process is up; ``/readyz`` and the ``/v1``
routes answer 503 until the KB is loaded and one evaluation has run (so the first
caller does not pay for compiling the rules), and for good if the KB is broken.
"""

from __future__ import annotations

import logging
import threading
import time

from policykb.errors import KBError, PolicyKBError, Problem

from .config import ServiceConfig
from .problems import HTTPProblem

log = logging.getLogger("policykb.service")


class Served:
    def __init__(self, config: ServiceConfig):
        self.config = config
        self.kb = None
        self.problems: list[Problem] = []
        self.loading = True
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.load, name="policykb-load", daemon=True)
        self._thread.start()

    def load(self) -> None:
        from policykb.api import load

        start = time.perf_counter()
        try:
            kb = load(self.config.policy, path=self.config.kb)
            self.warm_up(kb)
            self.kb = kb
            log.info("ready", extra={"fields": {"policy": kb.policy.id, "kb_version": kb.version,
                                                "load_ms": round((time.perf_counter() - start) * 1000, 1)}})
        except KBError as exc:
            self.problems = exc.problems
            log.error("the knowledge base is broken; /readyz answers 503", extra={"fields": {"problems": [str(p) for p in exc.problems]}})
        except PolicyKBError as exc:
            self.problems = getattr(exc, "problems", None) or [Problem("", str(exc))]
            log.error("the knowledge base cannot be loaded: %s", exc)
        except Exception as exc:  # noqa: BLE001 - reported as not ready, with the cause in the log
            self.problems = [Problem("", f"{type(exc).__name__}: {exc}")]
            log.exception("loading the knowledge base failed")
        finally:
            self.loading = False

    @staticmethod
    def warm_up(kb) -> None:
        """One evaluation of a synthetic application: compiles and registers the rules."""
        from policykb.engine.synthetic import Generator

        for document in Generator(kb.policy, 1).applications(1):
            kb.evaluate(document).to_json()

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def require(self):
        """The KB, or a 503 problem saying why there is none yet."""
        kb = self.kb
        if kb is not None:
            return kb
        if self.loading:
            raise HTTPProblem(503, "not-ready", "the knowledge base is still loading", headers={"Retry-After": "1"})
        raise HTTPProblem(503, "kb-unavailable", "the knowledge base could not be loaded; see problems", self.problems)
