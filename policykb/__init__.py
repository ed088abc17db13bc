"""policykb: industrial-subsidy policy as rules, every answer cited to the policy text.

The public API (docs/api.md) is this page::

    import policykb
    kb = policykb.load()                        # 太政发〔2021〕3号, shipped with the package
    decision = kb.evaluate(application, readings={"I-06": "per_station"})
    decision.to_dict()                          # the decision JSON
    decision.explain("m01.equipment")           # why / why not, cited to the text
    saved = decision.to_json(include_trace=True)  # a value: explained later from the JSON and the KB alone
    kb.decision_from_dict(json.loads(saved)).explain("m01.equipment")
    kb.evaluate_many(applications, workers=2)   # a batch, in input order
    for finding in kb.audit(records): ...       # hold granted awards against the rules
"""

from policykb.api import KnowledgeBase, load
from policykb.audit.findings import Finding
from policykb.engine.application import Application
from policykb.engine.decision import Decision
from policykb.engine.outcomes import Event, Outcome
from policykb.errors import (
    DecisionError,
    EngineError,
    InputError,
    KBError,
    PolicyKBError,
    Problem,
    TooLargeError,
    UnknownItemError,
    UnsupportedPythonError,
)
from policykb.explain.why import Explanation
from policykb.kb.model import Item, Policy
from policykb.vocabulary import AmountKind, Effect, ProvisionKind, RelationKind, Status

__version__ = "0.1.0"

# docs/api.md lists exactly these (tests/test_api.py holds the two together)
__all__ = [
    "AmountKind",
    "Application",
    "Decision",
    "DecisionError",
    "Effect",
    "EngineError",
    "Event",
    "Explanation",
    "Finding",
    "InputError",
    "Item",
    "KBError",
    "KnowledgeBase",
    "Outcome",
    "Policy",
    "PolicyKBError",
    "Problem",
    "ProvisionKind",
    "RelationKind",
    "Status",
    "TooLargeError",
    "UnknownItemError",
    "UnsupportedPythonError",
    "__version__",
    "load",
]
