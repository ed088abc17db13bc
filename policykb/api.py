"""The public entry point: ``policykb.load()`` returns a ``KnowledgeBase``.

A KnowledgeBase is one loaded, checked policy together with the machinery that
evaluates, explains and audits against it.  ``load()`` returns the same
KnowledgeBase for the same KB content (folder and content hash), so calling it
again neither re-reads the YAML nor registers another ruleset in durable_rules'
C core, whose rulesets are never freed while the host lives.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx

from policykb.engine.application import parse_application
from policykb.engine.decision import Decision
from policykb.engine.documents import read_document
from policykb.errors import InputError, KBError, Problem, suggest
from policykb.kb import check as kb_check
from policykb.kb import graph as kb_graph
from policykb.kb.loader import content_hash, load_policy, policy_dir, shipped_policies
from policykb.kb.model import Item, Policy
from policykb.kb.schema import application_schema
from policykb.money import exact

if TYPE_CHECKING:  # the engine, the audit and their rules load on first use, not on import
    from policykb.audit.findings import Finding
    from policykb.audit.records import Source
    from policykb.engine.application import Application
    from policykb.engine.evaluate import Evaluator

_cache: dict[tuple[str, str], KnowledgeBase] = {}
_cache_lock = threading.Lock()


def _after_fork_in_child() -> None:
    # locks another thread held at fork time would stay held in the child (issue 10 item 7)
    global _cache_lock  # noqa: PLW0603 - the module's lock itself is what a fork leaves held
    _cache_lock = threading.Lock()
    for kb in _cache.values():
        kb._evaluator_lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _load_checked(folder: Path, checked: str | None = None) -> KnowledgeBase:
    key = (str(folder.resolve()), content_hash(folder))
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    policy = load_policy(folder)
    # a worker process loads what its parent already checked (same content hash): once is enough
    problems: list[Problem] = [] if checked is not None and checked == policy.version else kb_check.check_policy(policy)
    if problems:
        raise KBError(problems)
    with _cache_lock:
        return _cache.setdefault(key, KnowledgeBase(policy))


def load(policy: str | None = None, *, path: str | Path | None = None) -> KnowledgeBase:
    """Load a policy shipped with policykb (default: taicang-2021-3) or a KB folder."""
    with exact():
        return _load(policy, path)


def load_checked_by_parent(path: str | Path, version: str) -> KnowledgeBase:
    """For worker processes: load a KB folder the parent process checked as ``version``."""
    with exact():
        return _load_checked(policy_dir(None, path), checked=version)


def knowledge_base(policy: Policy) -> KnowledgeBase:
    """The KnowledgeBase loaded for ``policy`` (what an explanation evaluates a what-if with)."""
    with _cache_lock:
        for kb in _cache.values():
            if kb.policy is policy:
                return kb
        return _cache.setdefault((policy.path, policy.version), KnowledgeBase(policy))


def _load(policy: str | None, path: str | Path | None) -> KnowledgeBase:
    folder = policy_dir(policy, path)
    if not (folder / "policy.yaml").is_file():
        if path is None:
            raise InputError(
                f"no policy '{policy}' is shipped with policykb{suggest(policy, shipped_policies())}; shipped: {', '.join(shipped_policies())}"
            )
        raise InputError(f"{folder} is not a knowledge-base folder (it has no policy.yaml)")
    return _load_checked(folder)


class KnowledgeBase:
    """One policy's rules, ready to evaluate applications, explain and audit."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._evaluator: Evaluator | None = None
        self._evaluator_lock = threading.Lock()

    @property
    def evaluator(self) -> Evaluator:
        """The evaluation pipeline (created on first use: it compiles and registers rules)."""
        if self._evaluator is None:
            with self._evaluator_lock:
                if self._evaluator is None:
                    # deferred: durable_rules, compiled on first use; `import policykb` and `policykb --help`
                    # stay fast, and a durable_rules built wrong is reported by the command that needs it
                    from policykb.engine.evaluate import Evaluator

                    self._evaluator = Evaluator(self.policy)
        return self._evaluator

    def evaluate(self, application: Any, readings: Mapping[str, str] | None = None, *, source: str = "") -> Decision:
        """Evaluate one application (a mapping, or a path to a JSON/YAML file).

        ``readings`` switches readings of ambiguous sentences, e.g. ``{"I-06": "per_station"}``;
        the others keep their defaults.  Returns a ``Decision``.
        """
        if isinstance(application, (str, Path)):
            source = source or str(application)
            application = read_document(application)
        with exact():
            return self.evaluator.evaluate(application, self.readings_with(readings), source=source)

    def decision_from_dict(self, data: Mapping[str, Any]) -> Decision:
        """A decision saved with ``to_dict(include_trace=True)`` (its JSON, parsed), read back
        to be explained with this KB alone: ``.explain()``, ``why``, ``runners-up``, the trace.

        Raises ``DecisionError`` (exit 2, HTTP 422) when it was made with another KB version
        or its trace is missing, malformed or altered.
        """
        return Decision.from_dict(self, data)

    def evaluate_many(
        self, applications: Iterable[Any], readings: Mapping[str, str] | None = None, *, workers: int = 1
    ) -> list[dict[str, Any]]:
        """Evaluate a batch in ``workers`` processes; results in input order.

        Each result is the decision JSON object (``Decision.to_dict()``), or for an
        application that cannot be evaluated ``{"index": i, "error": {...}}`` naming
        the bad fields — one bad application never stops a batch.
        """
        from policykb.engine.batch import evaluate_many  # deferred: multiprocessing, ~12 ms of `import policykb`

        return evaluate_many(self, applications, readings, workers)

    def audit(
        self,
        records: str | Path | Iterable[Mapping[str, Any]],
        readings: Mapping[str, str] | None = None,
        *,
        awards: str | Path | None = None,
    ) -> Iterator[Finding]:
        """Hold granted awards against the rules; returns an iterator of ``Finding`` objects (docs/audit.md).

        ``records`` is a path (``str`` or ``Path``) to a file read exactly as ``policykb
        audit FILE`` reads it — JSON Lines or a JSON array of records, or with ``awards``
        (a CSV of granted awards) the applications as JSON Lines — or an iterable of
        ``{"application": …, "decision": {"decision_id", "decided_on", "granted":
        [{"item", "subject", "amount"}]}}`` records already in memory.  Awards of one
        applicant are checked together across records and years.  Anything else (a
        single record, bytes, a number) raises ``TypeError``.
        """
        # deferred: audit/ loads sqlite3 and multiprocessing, ~40 ms of `import policykb`
        from policykb.audit.records import open_input, records_source
        from policykb.audit.run import audit_groups

        source: Source
        if isinstance(records, (str, Path)):
            source = open_input(str(records), None if awards is None else str(awards))
        elif awards is not None:
            raise TypeError("kb.audit: awards= goes with a path to the applications' JSON Lines, not with records in memory")
        elif isinstance(records, (bytes, bytearray, Mapping)) or not hasattr(records, "__iter__"):
            raise TypeError(
                f"kb.audit expects a path to a file (str or pathlib.Path) or an iterable of records "
                f"({{'application': …, 'decision': …}}); found {type(records).__name__}"
                + (" (a single record: wrap it in a list)" if isinstance(records, Mapping) else "")
            )
        else:
            source = records_source(records)
        chosen = self.readings_with(readings)

        def findings() -> Iterator[Finding]:
            with exact():
                yield from audit_groups(self, source, chosen, progress=False)

        return findings()

    def parse(self, application: Any, *, source: str = "") -> Application:
        """Validate and coerce an application without evaluating it."""
        if isinstance(application, (str, Path)):
            source = source or str(application)
            application = read_document(application)
        return parse_application(self.policy, application, source=source, validator=self.evaluator.validator)

    @property
    def version(self) -> str:
        """The KB's content hash; every decision carries it."""
        return self.policy.version

    @property
    def items(self) -> Mapping[str, Item]:
        """The policy's benefit items by ID (``m01.equipment``, …)."""
        return self.policy.items

    def default_readings(self) -> dict[str, str]:
        """Each reading's default option, by reading ID."""
        return self.policy.default_readings()

    def readings_with(self, overrides: Mapping[str, str] | None) -> dict[str, str]:
        """The default readings with ``overrides`` applied; unknown IDs or options are input errors."""
        readings = self.policy.default_readings()
        if overrides is not None and not isinstance(overrides, Mapping):
            raise InputError(
                f"readings: expected a mapping of reading IDs to options, like {{'I-06': 'per_station'}}; found {type(overrides).__name__}"
            )
        problems: list[Problem] = []
        for rid, option in (overrides or {}).items():
            reading = self.policy.readings.get(rid)
            if reading is None:
                problems.append(
                    Problem(
                        f"readings.{rid}",
                        f"unknown reading{suggest(rid, self.policy.readings)}; readings: {', '.join(self.policy.readings)}",
                    )
                )
            elif option not in reading.options:
                problems.append(
                    Problem(
                        f"readings.{rid}",
                        f"unknown option '{option}'{suggest(option, reading.options)}; options: {', '.join(reading.options)}",
                    )
                )
            else:
                readings[rid] = option
        if problems:
            raise InputError(problems)
        return readings

    def schema(self) -> dict[str, Any]:
        """The JSON Schema (draft-07) an application must satisfy."""
        return application_schema(self.policy)

    def graph(self, readings: Mapping[str, str] | None = None) -> nx.MultiDiGraph:
        """The relation graph (networkx MultiDiGraph); restricted to ``readings`` if given."""
        return kb_graph.build_graph(self.policy, readings)

    def __repr__(self) -> str:
        return f"<KnowledgeBase {self.policy.id} {len(self.policy.items)} items kb_version={self.version[:12]}>"
