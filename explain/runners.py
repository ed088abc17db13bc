"""Runners-up of "take the highest" and of mutual exclusion.

For every ladder (H-*) and exclusive group (X-m01) that acted in a decision: what
was paid, the items suppressed, what each would have paid, and the sentence that
forbids stacking them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from policykb.engine.outcomes import Event, Outcome
from policykb.kb.messages import messages
from policykb.kb.model import Text
from policykb.money import fmt, fmt_cny
from policykb.vocabulary import PAYING, Effect, RelationKind

from .answer import Answer

if TYPE_CHECKING:
    from policykb.engine.decision import Decision


def runners_up(decision: Decision) -> list[dict]:
    """Per relation and scope (the subject for a ladder, the applicant and year for a group):
    what was paid, and what was suppressed with what it would have paid."""
    policy = decision.policy
    groups: dict[tuple[str, str], dict] = {}
    for o in decision.outcomes:
        for e in decision.events(o):  # read off the relation graph
            if e.kind in (RelationKind.HIGHEST, RelationKind.EXCLUSIVE) and e.effect in (Effect.EXCLUDED, Effect.KEPT):
                _enter(decision, groups, o, e)
    out = [g for g in groups.values() if g["suppressed"]]
    for g in out:
        if not g["paid"]:  # the winner of a take-the-highest ladder only records "kept" when it won a comparison
            g["paid"] = _winners(decision, g)
    order = {rid: n for n, rid in enumerate(policy.relations)}
    return sorted(out, key=lambda g: (order[g["relation"]], g["scope"]))


def _enter(decision: Decision, groups: dict[tuple[str, str], dict], o: Outcome, e: Event) -> None:
    app = decision.application
    scope = o.subject if e.kind == RelationKind.HIGHEST else f"{app.applicant['id']}:{app.year}"
    rel = decision.policy.relations[e.by]
    group = groups.setdefault(
        (e.by, scope),
        {"relation": e.by, "kind": e.kind, "scope": scope, "quote": rel.quote, "title": rel.title.to_dict(), "paid": [], "suppressed": []},
    )
    entry: dict[str, Any] = {"item": o.item.id, "subject": o.subject}
    if e.effect == Effect.KEPT:
        entry["amount"] = fmt(o.high) if o.high is not None else None
        group["paid"].append(entry)
    else:
        entry["would_have_paid"] = fmt(e.before[1]) if e.before and e.before[1] is not None else None
        entry["winner"] = {"item": e.winner.item, "subject": e.winner.subject} if e.winner else None
        group["suppressed"].append(entry)


def _winners(decision: Decision, group: dict) -> list[dict]:
    won = {s["winner"]["item"] for s in group["suppressed"] if s.get("winner")}
    return [
        {"item": o.item.id, "subject": o.subject, "amount": fmt(o.high)}
        for o in decision.outcomes
        if o.status in PAYING and o.item.id in won and o.high is not None
    ]


def to_lines(groups: list[dict]) -> list[Text]:
    m = messages()
    lines: list[Text] = []
    for g in groups:
        lines.append(m.both("runners_group", relation=g["relation"], scope=g["scope"], quote=g["quote"]))
        for p in g["paid"]:
            amount = fmt_cny(Decimal(p["amount"])) if p.get("amount") else "—"
            lines.append(
                m.both("runners_winner", item=Text(f"{p['item']}（{p['subject']}）", f"{p['item']} ({p['subject']})"), amount=amount)
            )
        for s in g["suppressed"]:
            amount = fmt_cny(Decimal(s["would_have_paid"])) if s.get("would_have_paid") else "—"
            lines.append(
                m.both("runners_loser", item=Text(f"{s['item']}（{s['subject']}）", f"{s['item']} ({s['subject']})"), amount=amount)
            )
        lines.append(Text("", ""))
    if not groups:
        lines.append(m.both("no_runners"))
    return lines


def answer(decision: Decision) -> Answer:
    """The runners-up of ``decision`` as the answer ``policykb runners-up`` prints."""
    groups = runners_up(decision)
    return Answer({"policy": decision.policy.id, "kb_version": decision.kb_version, "groups": groups}, to_lines(groups))
