"""The hardened durable_rules wrapper — the only module that imports durable_rules.

Each trap of docs/durable_rules.md is handled here, once (trap numbers are that table's):

- a synchronous host whose ``_run`` does nothing: no background dispatch threads
  that call the non-thread-safe C core and lose firings (trap 2); one lock per
  engine serialises every call (the C core never releases the GIL anyway);
- every ruleset has a ``$begin`` rule fired first in each session, so
  ``delete_state`` never meets a session in which nothing ran (trap 4), and a
  ``$sink`` rule every fact reaches, so no assert raises "not handled" (trap 3);
- one fresh sid per evaluation, deleted in ``finally`` (1,024 live sids per
  ruleset, trap 12); facts get unique ids ``f0``, ``f1`` … which are checked to
  have distinct FNV-1a hashes (trap 11);
- definitions are deep-copied before durable_rules mutates them, and each name
  is registered once (trap 13);
- an action hands the matched facts to the run's ``derive`` callback and asserts
  the derived facts it returns (this is how the rules chain); the firing, with the
  ids of the facts it matched and derived, is recorded; an exception inside an
  action is collected and raised after the run, never left in ``c.s.exception``
  (upstream #305);
- durable_rules' ``json`` is swapped for an orjson shim only while this wrapper
  calls into it, under the engine's lock (same results, a third less time per
  firing); nothing outside sees it.  On Python 3.12 the ``utcfromtimestamp``
  DeprecationWarning of every action is filtered (trap 15);
- after ``os.fork`` the child gets a fresh lock and no session state: a fork
  taken while another thread held the lock would otherwise hang the child.
- durable_rules' exceptions become ``EngineError``.
"""

from __future__ import annotations

import copy
import itertools
import os
import sys
import threading
import warnings
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from policykb.errors import EngineError, UnsupportedPythonError

# durable_rules 2.0.28 calls PyEval_CallObject, which Python 3.13 removed; its C extension
# loads there only when compiled with the macro mapped to PyObject_CallObject.
REBUILD_HINT = (
    "CPPFLAGS=-DPyEval_CallObject=PyObject_CallObject "
    "pip install --force-reinstall --no-cache-dir --no-binary durable-rules durable-rules==2.0.28"
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        from durable import engine as _durable
    except ImportError as exc:
        if "PyEval_CallObject" in str(exc):
            raise UnsupportedPythonError(
                f"durable_rules was built for Python {sys.version_info.major}.{sys.version_info.minor} "
                f"without the flag it needs there (undefined symbol PyEval_CallObject); rebuild it: {REBUILD_HINT}"
            ) from exc
        raise EngineError(f"durable_rules cannot be imported on this Python: {exc}") from exc

_FILTER_DEPRECATION = sys.version_info >= (3, 12)


class _OrjsonShim:
    """The two functions of ``json`` that durable.engine calls, backed by orjson."""

    @staticmethod
    def dumps(value: Any, ensure_ascii: bool = False, **_: Any) -> str:
        return orjson.dumps(value).decode("utf-8")

    @staticmethod
    def loads(text: str | bytes) -> Any:
        return orjson.loads(text)


_STDLIB_JSON = _durable.json


@dataclass(frozen=True)
class Firing:
    """One rule firing: its place in the run, the rule, the fact each binding matched
    and the facts its action derived."""

    seq: int
    rule: str
    matched: tuple[tuple[str, str], ...]  # (binding, fact id)
    derived: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"seq": self.seq, "rule": self.rule, "matched": dict(self.matched), "derived": list(self.derived)}

    @classmethod
    def from_dict(cls, data: dict) -> Firing:
        return cls(data["seq"], data["rule"], tuple(sorted(data["matched"].items())), tuple(data["derived"]))


Derive = Callable[[str, dict], list]  # (rule, {binding: fact}) → facts to assert


class _SyncHost(_durable.Host):
    """A durable_rules host with no background threads; actions come from a callback."""

    def __init__(self, action_for: Callable[[str], Callable]):
        self._action_for = action_for
        super().__init__()

    def _run(self) -> None:  # trap 2: never start the Timer-driven dispatchers
        pass

    def get_action(self, action_name: str) -> Callable:
        return self._action_for(action_name)


def fnv1a32(text: str) -> int:
    """durable_rules' fact-identity hash."""
    h = 0x811C9DC5
    for byte in text.encode("utf-8"):
        h ^= byte
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def fact_ids(n: int) -> list[str]:
    """``n`` fact ids with pairwise distinct identity hashes (f0 is the applicant)."""
    return [f"f{i}" for i in range(n)]


# Checked once at import: the ids an application can use never collide (trap 11).
_MAX_FACTS = 4096
if len({fnv1a32(i) for i in fact_ids(_MAX_FACTS)} | {fnv1a32("$begin")}) != _MAX_FACTS + 1:  # pragma: no cover
    raise EngineError("fact ids collide under durable_rules' hash")

NOOP_ACTIONS = ("$begin", "$sink")


_ENGINES: weakref.WeakSet[RulesEngine] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    # A fork taken while another thread was inside the C core leaves the lock held
    # forever in the child (issue 10 item 7): every engine gets a fresh lock, and no
    # run is in progress in the child.
    for engine in list(_ENGINES):
        engine._lock = threading.Lock()
        engine._trace = None
        engine._derive = None
        engine._errors = []


os.register_at_fork(after_in_child=_after_fork_in_child)


class RulesEngine:
    """Registers compiled rulesets and runs facts through them, one session at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._host = _SyncHost(self._action)
        self._registered: set[str] = set()
        self._sids = itertools.count(1)
        self._trace: list[Firing] | None = None
        self._derive: Derive | None = None
        self._joined: frozenset[str] | None = None
        self._errors: list[str] = []
        _ENGINES.add(self)

    # -- actions
    def _action(self, rule: str) -> Callable:
        if rule in NOOP_ACTIONS:
            return _noop

        def fire(c) -> None:
            try:
                # durable_rules adds the session id to every fact it hands back; it numbers the
                # evaluations of this process, so it must not reach a derived fact or the trace
                bindings = {binding: {k: v for k, v in fact.items() if k != "sid"} for binding, fact in c._m.items()}
                matched = tuple(sorted((binding, fact["id"]) for binding, fact in bindings.items()))
                derived = self._derive(rule, bindings) if self._derive is not None else ()
                trace = self._trace
                assert trace is not None  # run() sets it before any rule can fire
                trace.append(Firing(len(trace), rule, matched, tuple(f["id"] for f in derived)))
                joined = self._joined
                for fact in derived:
                    if joined is None or (fact["t"] in joined and not fact.get("$local")):
                        c.assert_fact(dict(fact))  # trap 17: durable_rules writes its sid into the dict it is given
                    if c.s.exception:  # durable_rules keeps a failed assert here, not raising it
                        raise EngineError(str(c.s.exception))
            except Exception as exc:  # noqa: BLE001 — never let durable_rules swallow it (upstream #305)
                self._errors.append(f"{rule}: {type(exc).__name__}: {exc}")

        return fire

    # -- rulesets
    def register(self, name: str, definition: dict) -> None:
        """Register a ruleset once; durable_rules gets its own deep copy."""
        with self._lock:
            if name in self._registered:
                return
            _durable.json = _OrjsonShim
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    self._host.register_rulesets({name: copy.deepcopy(definition)})
            except Exception as exc:
                raise EngineError(f"durable_rules refused ruleset {name}: {exc}") from exc
            finally:
                _durable.json = _STDLIB_JSON
            self._registered.add(name)

    # -- running
    def run(self, ruleset: str, facts: list[dict], derive: Derive | None = None, joined: frozenset[str] | None = None) -> list[Firing]:
        """Assert ``facts`` (each with a unique ``id`` and a type ``t``) in a fresh session.

        Each firing calls ``derive(rule, {binding: fact})``; the facts it returns
        (unique ids, a type ``t``) are asserted in turn, so rules chain to a fixpoint —
        when ``joined`` is given, only those of a type in it (the types some rule joins
        on) and not marked ``$local`` by the derivation: a derived fact no rule can match
        would only reach the sink, at the cost of a round trip through the C core; it
        stays in the firing's record all the same.
        Returns every firing in order.  The session is deleted whatever happens.
        """
        if ruleset not in self._registered:
            raise EngineError(f"ruleset {ruleset} is not registered")
        with self._lock:
            sid = str(next(self._sids))
            self._trace = []
            self._derive = derive
            self._joined = joined
            self._errors = []
            began = False
            _durable.json = _OrjsonShim
            try:
                with warnings.catch_warnings():
                    if _FILTER_DEPRECATION:
                        warnings.simplefilter("ignore", DeprecationWarning)
                    self._host.assert_fact(ruleset, {"sid": sid, "id": "$begin", "t": "$begin"})
                    began = True
                    if facts:
                        self._host.assert_facts(ruleset, [dict(f, sid=sid) for f in facts])
            except (_durable.MessageNotHandledException, _durable.MessageObservedException) as exc:
                raise EngineError(f"durable_rules: {exc.message}") from None
            except Exception as exc:
                raise EngineError(f"durable_rules failed: {type(exc).__name__}: {exc}") from exc
            finally:
                trace, self._trace, self._derive = self._trace, None, None
                if began:  # trap 4: only a session in which $begin fired may be deleted
                    self._safe_delete(ruleset, sid)
                _durable.json = _STDLIB_JSON
            if self._errors:
                raise EngineError("rule actions failed: " + "; ".join(self._errors))
            return trace

    def _safe_delete(self, ruleset: str, sid: str) -> None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                self._host.delete_state(ruleset, sid)
        except Exception as exc:  # noqa: BLE001 — the C core raises bare Exceptions; kept as an engine error
            self._errors.append(f"delete_state({sid}): {exc}")


def _noop(c) -> None:
    pass
