"""Runners-up of "take the highest" and of mutual exclusion.

For every ladder (H-*) and exclusive group (X-m01) that acted in a decision: what
was paid, the items suppressed, what each would have paid, and the sentence that
forbids stacking them.
"""

from __future__ import annotations

from decimal import Decimal

from policykb.kb.messages import messages
from policykb.kb.model import Text
from policykb.money import fmt, fmt_cny


def runners_up(decision) -> list[dict]:
    policy = decision.policy
    groups: dict[tuple[str, str], dict] = {}
    for o in decision.outcomes:
        for e in o.events:
            if e.kind not in ("highest", "exclusive") or e.effect not in ("excluded", "kept"):
                continue
            scope = o.subject if e.kind == "highest" else f"{decision.application.applicant['id']}:{decision.application.year}"
            rel = policy.relations[e.by]
            group = groups.setdefault((e.by, scope), {
                "relation": e.by, "kind": e.kind, "scope": scope, "quote": rel.quote, "title": rel.title.to_dict(),
                "paid": [], "suppressed": [],
            })
            entry = {"item": o.item.id, "subject": o.subject}
            if e.effect == "kept":
                entry["amount"] = fmt(o.high) if o.high is not None else None
                group["paid"].append(entry)
            else:
                entry["would_have_paid"] = fmt(e.before[1]) if e.before and e.before[1] is not None else None
                entry["winner"] = {"item": e.winner.item, "subject": e.winner.subject} if e.winner else None
                group["suppressed"].append(entry)
    out = [g for g in groups.values() if g["suppressed"]]
    for g in out:
        if not g["paid"]:  # the winner of a take-the-highest ladder only records "kept" when it won a comparison
            g["paid"] = [{"item": o.item.id, "subject": o.subject, "amount": fmt(o.high)} for o in decision.outcomes
                         if o.status in ("eligible", "reduced") and any(s.get("winner", {}) and s["winner"]["item"] == o.item.id for s in g["suppressed"])]
    order = {rid: n for n, rid in enumerate(policy.relations)}
    return sorted(out, key=lambda g: (order[g["relation"]], g["scope"]))


def to_lines(groups: list[dict]) -> list[Text]:
    m = messages()
    lines: list[Text] = []
    for g in groups:
        lines.append(m.both("runners_group", relation=g["relation"], scope=g["scope"], quote=g["quote"]))
        for p in g["paid"]:
            amount = fmt_cny(Decimal(p["amount"])) if p.get("amount") else "—"
            lines.append(m.both("runners_winner", item=Text(f"{p['item']}（{p['subject']}）", f"{p['item']} ({p['subject']})"), amount=amount))
        for s in g["suppressed"]:
            amount = fmt_cny(Decimal(s["would_have_paid"])) if s.get("would_have_paid") else "—"
            lines.append(m.both("runners_loser", item=Text(f"{s['item']}（{s['subject']}）", f"{s['item']} ({s['subject']})"), amount=amount))
        lines.append(Text("", ""))
    if not groups:
        lines.append(m.both("no_runners"))
    return lines


def answer(decision):
    """The runners-up of ``decision`` as the answer ``policykb runners-up`` prints."""
    from .answer import Answer

    groups = runners_up(decision)
    return Answer({"policy": decision.policy.id, "kb_version": decision.kb_version, "groups": groups}, to_lines(groups))
