"""The words every layer shares: outcome statuses, amount kinds, relation and provision kinds,
and the effects a provision or relation has on an outcome.

Each is a ``StrEnum`` defined here once; its members compare equal to their strings, so JSON
output and YAML input are unchanged (``Status.ELIGIBLE == "eligible"``, and ``json`` writes
``"eligible"``).  Code names the member, never the string.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """What an outcome comes to for one item and subject."""

    ELIGIBLE = "eligible"
    REDUCED = "reduced"  # met, but less than the formula gives (a cap, a top-up)
    EXCLUDED = "excluded"  # met, removed by a relation or provision
    INELIGIBLE = "ineligible"  # a condition or a provision fails
    UNDETERMINED = "undetermined"  # a field a condition needs is missing
    SERVICE = "service"  # met; a benefit in kind, no cash
    DISCRETIONARY = "discretionary"  # met; amount decided case by case


#: statuses under which an outcome still receives its benefit
ALIVE = frozenset({Status.ELIGIBLE, Status.REDUCED, Status.SERVICE, Status.DISCRETIONARY})
#: statuses whose cash counts in the totals
PAYING = frozenset({Status.ELIGIBLE, Status.REDUCED})


class AmountKind(StrEnum):
    """How a clause states its amount (docs/spec/reading-rules.md, amounts)."""

    CEILING = "ceiling"  # 最高 / 不超过: from 0 up to the figure
    EXACT = "exact"  # the figure itself
    RANGE = "range"  # between two rates of a base
    NONE = "none"  # a service, no cash
    DISCRETIONARY = "discretionary"  # 一事一议 and the like


#: amount kinds that are paid in cash
CASH = frozenset({AmountKind.CEILING, AmountKind.EXACT, AmountKind.RANGE})


class RelationKind(StrEnum):
    EXCLUSIVE = "exclusive"
    HIGHEST = "highest"
    GROUP_CAP = "group_cap"
    EXCLUDED_BY_OTHER_REWARD = "excluded_by_other_reward"
    REQUIRES = "requires"
    COMPLEMENTARY = "complementary"


class ProvisionKind(StrEnum):
    ELIGIBILITY = "eligibility"
    CASE_BY_CASE = "case_by_case"
    PERIOD = "period"
    HIGHEST_WINS = "highest_wins"
    AUTHORITY = "authority"


class Effect(StrEnum):
    """What a provision or relation did to an outcome (an ``Event``'s effect)."""

    EXCLUDED = "excluded"
    REDUCED = "reduced"
    INELIGIBLE = "ineligible"
    KEPT = "kept"  # weighed and kept (a winner, a top-up with nothing to deduct)
    COVERED = "covered"  # a provision of eligibility admits the applicant


#: effects that take something away from an outcome (its reasons)
ADVERSE = frozenset({Effect.EXCLUDED, Effect.REDUCED, Effect.INELIGIBLE})

__all__ = ["ADVERSE", "ALIVE", "CASH", "PAYING", "AmountKind", "Effect", "ProvisionKind", "RelationKind", "Status"]
