"""Why, and why not: the explanation of one outcome, cited to the policy text.

An explanation re-checks the item's declarative conditions one by one in plain
Python (and says whether that agrees with the rules engine), shows each step of
the amount, every relation and provision that acted with its competitors and
their amounts, and for every reading the outcome depends on, what the alternative
would give (by evaluating the application again under it).  It is data first
(``to_dict``) and text in Chinese or English (``to_text``); all wording comes
from ``kb/messages.yaml`` and the KB's labels.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from policykb.api import knowledge_base
from policykb.engine.amounts import Step, compute, round_outcome
from policykb.engine.decision import amount_dict
from policykb.engine.outcomes import Event, Outcome, Rival
from policykb.errors import EngineError, UnknownItemError, suggest
from policykb.kb import conditions as cond
from policykb.kb.describe import condition_text, failed_text, field_label, rate_text, value_text
from policykb.kb.graph import OTHER_REWARD_LABEL
from policykb.kb.messages import messages
from policykb.kb.model import OP_SYMBOL, Amount, Compare, Item, Provision, Switch, Text, resolve, switch_readings
from policykb.money import exact, fmt, fmt_cny
from policykb.vocabulary import PAYING, AmountKind, Effect, ProvisionKind, RelationKind, Status

from .answer import Answer


class Explanation(Answer):
    """A structured explanation; ``to_dict()`` for programs, ``to_text(lang)`` for people."""

    @property
    def status(self) -> str:
        return self.data["status"]


def _t(value: str) -> Text:
    return Text(value, value)


def measure_label(item: Item) -> Text:
    """The item's measure as each language names it: （一） in Chinese, "measure 1" in English."""
    return messages().both("measure", label=Text(item.label, str(item.measure)))


def money_text(value: Decimal | None) -> Text:
    return _t(fmt_cny(value) if value is not None else "—")


def amount_phrase(policy, o: Outcome) -> Text:
    """The outcome's amount in words: up to ¥…, ¥… to ¥…, a service, a route."""
    m = messages()
    amount = _amount_of(o.item, o)
    if o.status == "service":
        return m.both("amount_none", benefit=amount.benefit or _t(""))
    if o.status == "discretionary":
        if o.high is not None:
            return m.both("amount_route_cap", route=amount.route, high=money_text(o.high))
        return m.both("amount_route", route=amount.route)
    if o.status in ("eligible", "reduced") and o.high is not None:
        if o.kind == "ceiling":
            return m.both("amount_ceiling", high=money_text(o.high))
        if o.low == o.high:
            return m.both("amount_exact", high=money_text(o.high))
        return m.both("amount_range", low=money_text(o.low), high=money_text(o.high))
    return m.both("amount_nothing")


def _amount_of(item: Item, o: Outcome | None, readings=None):
    """The item's amount as the evaluation used it (its readings resolved)."""
    if o is not None and o.amount_spec is not None:
        return o.amount_spec
    return resolve(item.amount, readings)


def compare_reading_origins(node: Any, readings, origin: str | None = None) -> list[tuple[Compare, str | None]]:
    """The comparisons of a condition under ``readings``, each with the reading it came from."""
    out: list[tuple[Compare, str | None]] = []
    if isinstance(node, Switch):
        out += compare_reading_origins(node.pick(readings), readings, node.reading)
    elif isinstance(node, Compare):
        out.append((node, origin))
    elif hasattr(node, "parts"):
        for part in node.parts:
            out += compare_reading_origins(part, readings, origin)
    return out


class _Builder:
    def __init__(self, decision, outcome: Outcome | None, item: Item):
        self.decision = decision
        self.policy = decision.policy
        self.o = outcome
        self.item = item
        self.m = messages()
        self.lines: list[Text] = []
        self.data: dict[str, Any] = {}
        self.events: list[Event] = decision.events(outcome) if outcome is not None else []  # read off the relation graph

    @property
    def outcome(self) -> Outcome:
        """The outcome explained (every section but the heading of an absent item has one)."""
        if self.o is None:
            raise EngineError(f"{self.item.id}: no outcome to explain")
        return self.o

    def say(self, name: str, **values: Any) -> Text:
        text = self.m.both(name, **values)
        self.lines.append(text)
        return text

    def section(self, name: str) -> None:
        self.lines.append(Text("", ""))
        heading = self.m.both(name)
        self.lines.append(Text(f"【{heading.zh}】", f"[{heading.en}]"))

    # -- pieces
    def header(self, subject: str, status: str) -> None:
        item, policy = self.item, self.policy
        label = measure_label(item)
        self.say("heading", item=item.id, label=label, title=item.title, subject=subject)
        status_text = (
            Text(self.m.status(status, "zh"), self.m.status(status, "en")) if status in self.m.statuses else self.m.both("status_absent")
        )
        amount = amount_phrase(policy, self.o) if self.o else self.m.both("amount_nothing")
        self.say("result", status=status_text, amount=amount)
        self.say("source", document=policy.document_number, label=label, quote=item.quote)

    def applicant_section(self) -> None:
        self.section("section_applicant")
        g1 = self.policy.provision("eligibility")
        g3 = self.policy.provision("period")
        self.data["applicant_checks"] = {
            "eligibility": self.eligibility(g1) if g1 is not None else {},
            "period": self.period(g3) if g3 is not None else {},
        }

    def applicant_get(self, name: str) -> Any:
        """Read ``applicant.x`` from the saved application (the only fields G1 and its covers read)."""
        return self.decision.application.applicant.get(name[10:]) if name.startswith("applicant.") else None

    def eligibility(self, g1: Provision) -> dict[str, Any]:
        """G1 (who is covered), re-checked in plain Python to word it: met, admitted by a cover, or failed."""
        decision = self.decision
        checks = cond.checks(cond.resolve(g1.conditions, decision.readings), self.applicant_get)
        data = {
            "provision": g1.id,
            "verdict": decision.g1_ok,
            "quote": g1.quote,
            "checks": [self.check_data(c, None, None) for c in checks],
        }
        cover = self.cover(g1)
        if decision.g1_ok:
            self.say("g1_met", provision=g1.id, quote=g1.quote)
            return data
        if cover is not None:
            reading, covered_by, cover_checks = cover
            option = self.policy.readings[reading].options[decision.readings[reading]]
            data.update(
                {
                    "covered_by": reading,
                    "cover_quote": covered_by.quote,
                    "cover_checks": [self.check_data(c, None, None) for c in cover_checks],
                }
            )
            self.say("g1_covered", provision=g1.id, reading=reading, option=option, quote=covered_by.quote)
        else:
            self.say("g1_failed", provision=g1.id, quote=g1.quote)
        for c in cover[2] if cover is not None else checks:
            self.check_line(c, None)
        return data

    def period(self, g3: Provision) -> dict[str, Any]:
        """G3 (the period): the year, or the date of a dated event, within it — or not (its events)."""
        start, end = g3.params["from"], g3.params["to"]
        events = [e for e in self.events if e.by == g3.id]
        year = self.decision.application.year
        data = {
            "provision": g3.id,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "year": year,
            "verdict": not events,
            "quote": g3.quote,
        }
        if not events and start.year <= year <= end.year:
            self.say("g3_met", provision=g3.id, year=year, start=start, end=end)
        for e in events:
            date = e.get("date")
            if date is not None:
                data["date"] = date.isoformat()
                self.say("g3_date", provision=g3.id, date=date, start=start, end=end, quote=g3.quote)
            else:
                self.say("g3_year", provision=g3.id, year=year, start=start, end=end, quote=g3.quote)
        return data

    def cover(self, g1):
        """(reading, cover, checks) when G1 failed but one of its covers admits the applicant for this item."""
        o = self.o
        if o is None or not any(e.by == g1.id and e.effect == Effect.COVERED for e in self.events):
            return None
        covers = g1.params.get("covers")
        reading = next(iter(sorted(switch_readings(covers))), None)
        for cover in resolve(covers, self.decision.readings) or ():
            checks = cond.checks(cond.resolve(cover.conditions, self.decision.readings), self.applicant_get)
            if o.item.id in cover.items and all(c.verdict is True for c in checks):
                return reading, cover, checks
        return None

    def check_data(self, c: cond.Check, fact_type: str | None, reading: str | None) -> dict:
        comp = c.compare
        return {
            "field": comp.field,
            "label": Text(
                field_label(self.policy, fact_type, comp.field, "zh"), field_label(self.policy, fact_type, comp.field, "en")
            ).to_dict(),
            "op": comp.op,
            "symbol": OP_SYMBOL[comp.op],
            "required": _json_value(c.expected),
            "required_field": comp.ref,
            "actual": _json_value(c.actual),
            "verdict": c.verdict,
            "says": comp.says,
            "reading": reading,
        }

    def condition_words(self, c: Compare, fact_type: str | None) -> Text:
        if c.field == "applicant.kind" and not c.says:
            kinds = self.policy.vocabulary.applicant["kind"].values
            return self.m.both(
                "applicant_kind", kinds=Text("、".join(kinds[k].zh for k in c.value), ", ".join(kinds[k].en for k in c.value))
            )
        return Text(condition_text(self.policy, fact_type, c, "zh"), condition_text(self.policy, fact_type, c, "en"))

    def check_line(self, c: cond.Check, fact_type: str | None) -> Text:
        """Say whether one comparison holds; returns the line."""
        comp = c.compare
        words = self.condition_words(comp, fact_type)
        if c.verdict is True:
            actual = Text(
                value_text(self.policy, fact_type, comp.field, c.actual, "zh"),
                value_text(self.policy, fact_type, comp.field, c.actual, "en"),
            )
            self.say("check_met", condition=words, actual=actual)
        elif c.verdict is False:
            if comp.field == "applicant.kind" and not comp.says:
                actual = Text(
                    value_text(self.policy, fact_type, comp.field, c.actual, "zh"),
                    value_text(self.policy, fact_type, comp.field, c.actual, "en"),
                )
                self.say("check_failed", failed=Text(f"{words.zh}（实际：{actual.zh}）", f"{words.en} (actually: {actual.en})"))
            else:
                failed = Text(
                    failed_text(self.policy, fact_type, comp, c.actual, c.expected, "zh"),
                    failed_text(self.policy, fact_type, comp, c.actual, c.expected, "en"),
                )
                self.say("check_failed", failed=failed)
        else:
            missing = [n for n in (comp.field, comp.ref) if n]
            label = Text(
                "、".join(field_label(self.policy, fact_type, n, "zh") for n in missing),
                ", ".join(field_label(self.policy, fact_type, n, "en") for n in missing),
            )
            self.say("check_unknown", condition=words, field=label)
        line = self.lines[-1]
        if comp.says:
            self.say("check_words", says=comp.says)
        return line

    def conditions_section(self) -> bool | None:
        decision, o, item = self.decision, self.outcome, self.item
        self.section("section_conditions")
        # deferred: engine.evaluate loads durable_rules' C core, and `import policykb` imports this module (Explanation)
        from policykb.engine.evaluate import Evaluator, full_condition

        # the plain-Python evaluator explains the condition; the rules decided it
        condition = full_condition(item, decision.readings)
        get = Evaluator.getter(decision.application, o.fact)
        origins = {id(c): r for c, r in compare_reading_origins(item.conditions, decision.readings)}
        rows = []
        for name, values in item.select.items():  # what makes the fact relevant: the award, the level …
            selector = cond.Check(Compare(name, "in", values, ""), o.fact.get(name), values, True)
            self.check_line(selector, item.fact)
        for c in cond.checks(condition, get):
            line = self.check_line(c, item.fact)
            row = self.check_data(c, item.fact, origins.get(id(c.compare)))
            row["text"] = line.to_dict()
            rows.append(row)
        verdict = cond.holds(condition, get)
        self.data["conditions"] = rows
        self.data["failed"] = [r for r in rows if r["verdict"] is False]
        return verdict

    def rules_section(self, python_verdict: bool | None) -> None:
        decision, o = self.decision, self.outcome
        self.section("section_rules")
        fid = next((k for k, f in decision.facts_by_id.items() if f is o.fact), None)
        fired = [f for f in decision.firings if f.rule in o.rules and dict(f.matched).get("p") == fid]
        for firing in fired:
            self.say("rule_fired", rule=firing.rule, fact=o.fact.key, seq=firing.seq)
        if not fired:
            self.say("rule_not_fired", rule=o.item.id, fact=o.fact.key)
        engine = bool(fired)
        agree = engine == (python_verdict is True)
        if agree:
            self.say("verdicts_agree")
        else:
            self.say("verdicts_disagree", engine=str(engine).lower(), python=str(python_verdict).lower())
        self.data["rules"] = [{"rule": f.rule, "fact": o.fact.key, "seq": f.seq} for f in fired]
        self.data["verdict"] = {"engine": engine, "python": python_verdict, "agree": agree}

    def amount_section(self) -> None:
        decision, o = self.decision, self.outcome
        amount = resolve(o.item.amount, decision.readings)
        if o.verdict is not True:
            self.data["amount_steps"] = []
            return
        self.section("section_amount")
        first_line = len(self.lines)
        traced = compute(amount, o.fact.values.get, decision.readings, trace=True)
        if o.computed is not None and (traced.low, traced.high) != (o.computed.low, o.computed.high):
            raise EngineError(f"{o.item.id}: the traced amount differs from the evaluated one")
        steps = []
        for step in traced.steps:
            self.say_step(step, amount)
            steps.append(_step_data(step))
        if amount.kind == AmountKind.CEILING and traced.high is not None:
            self.say("step_ceiling", low=money_text(traced.low), high=money_text(traced.high))
        if o.rounded_from is not None:
            steps.append(self.rounding(o.rounded_from))
        self.data["amount_steps"] = steps
        self.data["amount_text"] = {"zh": [x.zh for x in self.lines[first_line:]], "en": [x.en for x in self.lines[first_line:]]}

    def rounding(self, rounded_from: tuple[Decimal | None, Decimal | None]) -> dict[str, Any]:
        """The final rounding to the fen (the outcome's bounds before a relation removed it, if one did)."""
        exact_low, exact_high = rounded_from
        low, high = round_outcome(exact_low, exact_high)
        assert exact_high is not None  # only an outcome with bounds is rounded
        self.say("step_round", exact=f"{exact_high.normalize():f}", rounded=money_text(high))
        return {"op": "round", "says": "", "inputs": {"exact": f"{exact_high:f}"}, "low": _fmt(low), "high": _fmt(high)}

    def field_text(self, name: str) -> Text:
        ft = self.outcome.fact.type
        return Text(field_label(self.policy, ft, name, "zh"), field_label(self.policy, ft, name, "en"))

    def say_step(self, step: Step, amount: Amount) -> None:
        """One step of the amount in words (kb/messages.yaml ``step_*``)."""
        inputs, says = dict(step.inputs), step.says
        high = money_text(step.high)
        if step.op == "fixed":
            self.say("step_fixed", value=high, says=says)
        elif step.op == "rate":
            self.say_rate(step, amount, inputs)
        elif step.op == "per_unit":
            count_name = next(k for k in inputs if k != "each")
            self.say(
                "step_per_unit",
                count_label=self.field_text(count_name),
                count=inputs[count_name],
                each=money_text(inputs["each"]),
                result=high,
                says=says,
            )
        elif step.op == "sum":
            self.say("step_sum", result=high)
        elif step.op == "steps":
            of_name = _named(amount.steps.of if amount.steps is not None else None)
            self.say(
                "step_steps",
                of_label=self.field_text(of_name),
                of=money_text(inputs[of_name]),
                size=money_text(inputs["size"]),
                whole=inputs["steps"],
                each=money_text(inputs["each"]),
                result=high,
                says=says,
            )
        elif step.op in ("floor", "cap", "floor_not_reached"):
            self.say_limit(step, inputs)

    def say_limit(self, step: Step, inputs: dict[str, Any]) -> None:
        """A floor or a cap on the amount (or a floor the amount does not reach)."""
        if step.op == "floor_not_reached":
            self.say("step_floor_not_reached", floor=money_text(inputs["floor"]), says=step.says)
        else:
            self.say(
                f"step_{step.op}",
                **{step.op: money_text(inputs[step.op])},
                low=money_text(step.low),
                high=money_text(step.high),
                says=step.says,
            )

    def say_rate(self, step: Step, amount: Amount, inputs: dict[str, Any]) -> None:
        base_name = _named(amount.base)
        base = dict(base_label=self.field_text(base_name), base=money_text(inputs[base_name]))
        if "rate_low" in inputs:
            self.say(
                "step_range",
                **base,
                rate_low=_pct(inputs["rate_low"]),
                rate_high=_pct(inputs["rate_high"]),
                low=money_text(step.low),
                high=money_text(step.high),
                says=step.says,
            )
        else:
            self.say("step_rate", **base, rate=_pct(inputs["rate"]), result=money_text(step.high), says=step.says)

    # -- relations and provisions that acted
    def relations_section(self) -> None:
        events = [e for e in self.events if e.kind not in (ProvisionKind.ELIGIBILITY, ProvisionKind.PERIOD)]
        if events:
            self.section("section_relations")
        self.data["relations"] = [self.relation_row(e) for e in events]

    def relation_row(self, e: Event) -> dict[str, Any]:
        """Say what one relation or provision did; its row of the explanation's data."""
        rel = self.policy.relations.get(e.by) or self.policy.provisions.get(e.by)
        quote = rel.quote if rel else ""
        said_at = len(self.lines)
        words = _RELATION_WORDS.get(e.kind)
        if words is not None:
            words(self, e, quote)
        said = self.lines[-1] if len(self.lines) > said_at else None
        cites = tuple(getattr(rel, "cites", ()))  # relations may cite; provisions do not
        for c in cites:  # the relation rests on another document's words (I-15)
            self.say("rel_cites", document=c.document, issued=c.issued or "", clause=c.clause, quote=c.quote)
        return _present(
            {
                "id": e.by,
                "kind": e.kind,
                "effect": e.effect,
                "quote": quote,
                "reading": e.reading,
                "text": said.to_dict() if said is not None else None,
                "cites": [_citation(c) for c in cites],
                "before": _bounds(e.before),
                "after": _bounds(e.after),
                **_competitors(e),
            }
        )

    def rival_text(self, e: Event) -> Text:
        o = self.outcome
        rivals = [r for r in e.rivals if not (r.item == o.item.id and r.subject == o.subject)]
        return Text(
            "；".join(self.m.say("rival", "zh", item=r.item, amount=fmt_cny(r.high)) for r in rivals),
            "; ".join(self.m.say("rival", "en", item=r.item, amount=fmt_cny(r.high)) for r in rivals),
        )

    def say_highest(self, e: Event, quote: str) -> None:
        o = self.outcome
        if e.effect == Effect.KEPT:
            amount = o.high if o.status in PAYING else _high(e.before)
            self.say("rel_highest_kept", relation=e.by, amount=money_text(amount), rivals=self.rival_text(e), quote=quote)
        else:
            winner = _winner(e)
            self.say(
                "rel_highest_excluded",
                relation=e.by,
                winner=winner.item,
                winner_amount=money_text(winner.high),
                amount=money_text(_high(e.before)),
                quote=quote,
            )

    def say_exclusive(self, e: Event, quote: str) -> None:
        totals = {i: v for i, v, _ in e.get("totals", ())}
        if e.get("one_project"):
            winner = _winner(e)
            self.say(
                "rel_one_project",
                relation=e.by,
                reading=e.reading or "",
                winner=f"{winner.item}（{winner.subject}）" if winner.subject else winner.item,
                winner_amount=money_text(winner.high),
                quote=quote,
            )
        elif e.effect == Effect.KEPT:
            totals_text = Text(
                "；".join(f"{i} {fmt_cny(v)}" for i, v in totals.items()), "; ".join(f"{i} {fmt_cny(v)}" for i, v in totals.items())
            )
            self.say("rel_exclusive_kept", relation=e.by, rivals=totals_text, quote=quote)
        else:
            winner = _winner(e)
            self.say(
                "rel_exclusive_excluded",
                relation=e.by,
                winner=winner.item,
                winner_amount=money_text(winner.high),
                amount=money_text(totals.get(self.outcome.item.id, _high(e.before))),
                quote=quote,
            )

    def say_group_cap(self, e: Event, quote: str) -> None:
        values = dict(cap=money_text(e.get("cap")), total=money_text(e.get("total")), quote=quote)
        if e.effect == Effect.KEPT:
            self.say("rel_cap_kept", relation=e.by, **values)
        elif e.effect == Effect.REDUCED:
            self.say("rel_cap_cut", relation=e.by, before=money_text(_high(e.before)), after=money_text(_high(e.after)), **values)
        else:
            self.say("rel_cap_excluded", relation=e.by, before=money_text(_high(e.before)), **values)

    def say_prior_awards(self, e: Event, quote: str) -> None:
        values = dict(relation=e.by, reading=e.reading or "", priors=self.priors_text(e.get("prior", ())), quote=quote)
        if e.get("mode") == "exclusive":
            self.say("rel_prior_exclusive", **values)
        elif e.effect == Effect.REDUCED:
            self.say(
                "rel_prior_top_up",
                before=money_text(_high(e.before)),
                after=money_text(_high(e.after)),
                granted=money_text(e.get("granted")),
                **values,
            )
        else:
            self.say("rel_prior_used_up", before=money_text(_high(e.before)), granted=money_text(e.get("granted")), **values)

    def say_other_reward(self, e: Event, quote: str) -> None:
        other = self.policy.relations[e.by].params.get("other_label") or OTHER_REWARD_LABEL
        self.say("rel_other_reward", relation=e.by, other=other, rivals=self.rival_text(e), reading=e.reading or "", quote=quote)

    def say_requires(self, e: Event, quote: str) -> None:
        if e.effect == Effect.KEPT:
            self.say("rel_requires_met", relation=e.by, winner=_winner(e).item)
        else:
            status = e.get("partner_status")
            partner = (
                Text(self.m.status(status, "zh"), self.m.status(status, "en"))
                if status in self.m.statuses
                else Text("未申报", "not claimed")
            )
            self.say("rel_requires_failed", relation=e.by, winner=e.get("requires"), partner=partner, quote=quote)

    def say_case_by_case(self, e: Event, quote: str) -> None:
        scope = e.get("scope")
        reading = self.policy.readings.get(e.reading or "")
        scope_text = reading.options[scope] if reading and scope in reading.options else _t(scope)
        self.say("rel_case_by_case", relation=e.by, support=e.get("support"), reading=e.reading or "", scope=scope_text, quote=quote)

    def priors_text(self, priors) -> Text:
        source_spec = self.policy.vocabulary.fact_types.get("prior_award")
        values = source_spec.fields["source"].values if source_spec and "source" in source_spec.fields else {}

        def one(lang: str) -> str:
            parts = []
            for _, source, item, year, amount in priors:
                label = values[source](lang) if source in values else source
                parts.append(self.m.say("prior", lang, year=year, source=label, item=item or "", amount=fmt_cny(amount)))
            return ("；" if lang == "zh" else "; ").join(parts)

        return Text(one("zh"), one("en"))

    def missing_section(self) -> None:
        o = self.outcome
        rows: list[dict[str, Any]] = [
            {
                "field": f,
                "label": Text(field_label(self.policy, o.fact.type, f, "zh"), field_label(self.policy, o.fact.type, f, "en")).to_dict(),
            }
            for f in o.missing
        ]
        self.data["missing"] = rows
        if rows:
            self.section("section_missing")
            for row in rows:
                self.lines.append(Text(f"· {row['label']['zh']}（{row['field']}）", f"· {row['label']['en']} ({row['field']})"))

    def readings_section(self, alternatives: bool) -> None:
        o, policy, decision = self.outcome, self.policy, self.decision
        rows = []
        if o.readings:
            self.section("section_readings")
        for rid in sorted(o.readings):
            reading = policy.readings[rid]
            chosen = decision.readings[rid]
            self.say("reading_line", reading=rid, question=reading.question, option=reading.options[chosen])
            options = [self.alternative(rid, option) for option in reading.options if option != chosen and alternatives]
            rows.append({"id": rid, "question": reading.question.to_dict(), "chosen": chosen, "alternatives": options})
        self.data["readings"] = rows

    def alternative(self, rid: str, option: str) -> dict[str, Any]:
        """The outcome under the other ``option`` of reading ``rid``: a what-if, the saved
        application evaluated again through the public ``KnowledgeBase.evaluate``."""
        o, decision = self.outcome, self.decision
        label = self.policy.readings[rid].options[option]
        other = knowledge_base(self.policy).evaluate(decision.application.document, dict(decision.readings, **{rid: option}))
        alt = next((x for x in other.outcomes if x.item.id == o.item.id and x.subject == o.subject), None)
        same = alt is not None and (alt.status, alt.low, alt.high, alt.by) == (o.status, o.low, o.high, o.by)
        status = alt.status if alt else "absent"
        if same:
            self.say("reading_same", option=label)
        else:
            self.say(
                "reading_alternative",
                option=label,
                status=self.status_text(status),
                amount=amount_phrase(self.policy, alt) if alt else self.m.both("amount_nothing"),
            )
        return {"option": option, "label": label.to_dict(), "status": status, "amount": _amount_json(alt) if alt else None, "same": same}

    def status_text(self, status: str) -> Text:
        if status in self.m.statuses:
            return Text(self.m.status(status, "zh"), self.m.status(status, "en"))
        return self.m.both("status_absent")

    def narrative(self) -> Text:
        o, m = self.outcome, self.m
        item = self.item.id
        if o.status == Status.ELIGIBLE:
            return m.both("narrative_eligible", item=item, subject=o.subject, amount=amount_phrase(self.policy, o))
        if o.status == Status.REDUCED:
            return m.both("narrative_reduced", item=item, subject=o.subject, by="、".join(o.by), amount=amount_phrase(self.policy, o))
        if o.status == Status.EXCLUDED:
            return m.both("narrative_excluded", item=item, subject=o.subject, by="、".join(o.by))
        if o.status == Status.UNDETERMINED:
            fields = Text(
                "、".join(field_label(self.policy, o.fact.type, f, "zh") for f in o.missing),
                ", ".join(field_label(self.policy, o.fact.type, f, "en") for f in o.missing),
            )
            return m.both("narrative_undetermined", item=item, subject=o.subject, fields=fields)
        return self.narrative_unpaid()

    def narrative_unpaid(self) -> Text:
        """A service, a discretionary route, or why not."""
        o, m, item = self.outcome, self.m, self.item.id
        amount = _amount_of(o.item, o, self.decision.readings)
        if o.status == Status.SERVICE:
            return m.both("narrative_service", item=item, subject=o.subject, benefit=amount.benefit)
        if o.status == Status.DISCRETIONARY:
            return m.both("narrative_discretionary", item=item, subject=o.subject, route=amount.route)
        reasons = [r["text"] for r in self.data.get("failed", [])]
        if o.by:
            text = Text("、".join(o.by), ", ".join(o.by))
        else:
            text = Text(
                "；".join(r["zh"].lstrip("✗ ") for r in reasons) or "条件不符",
                "; ".join(r["en"].lstrip("✗ ") for r in reasons) or "conditions not met",
            )
        return m.both("narrative_ineligible", item=item, subject=o.subject, reasons=text)


_RELATION_WORDS: dict[str, Callable[[_Builder, Event, str], None]] = {
    RelationKind.HIGHEST: _Builder.say_highest,
    RelationKind.EXCLUSIVE: _Builder.say_exclusive,
    RelationKind.GROUP_CAP: _Builder.say_group_cap,
    ProvisionKind.HIGHEST_WINS: _Builder.say_prior_awards,
    RelationKind.EXCLUDED_BY_OTHER_REWARD: _Builder.say_other_reward,
    RelationKind.REQUIRES: _Builder.say_requires,
    ProvisionKind.CASE_BY_CASE: _Builder.say_case_by_case,
}


def _named(name: str | None) -> str:
    """The field a rate applies to (``base``) or steps count (``steps.of``): the KB names it."""
    if name is None:
        raise EngineError("an amount by rate or steps names the field it reads")
    return name


def _competitors(e: Event) -> dict[str, Any]:
    return {
        "winner": _rival(e.winner) if e.winner else None,
        "rivals": [_rival(r) for r in e.rivals],
        "detail": {k: _money_json(v) for k, v in e.detail},
    }


def _citation(c: Any) -> dict[str, Any]:
    return _present(
        {"document": c.document.to_dict(), "issued": c.issued.isoformat() if c.issued else None, "clause": c.clause, "quote": c.quote}
    )


def _step_data(step: Step) -> dict[str, Any]:
    """One amount step as data: rates and counts as they are, money with two decimals."""
    inputs = {k: (_json_value(v) if k.startswith("rate") or k == "steps" else _money_json(v)) for k, v in step.inputs}
    return _present({"op": step.op, "says": step.says, "inputs": inputs, "low": _fmt(step.low), "high": _fmt(step.high)})


def _high(pair: tuple[Decimal | None, Decimal | None] | None) -> Decimal | None:
    return pair[1] if pair else None


def _winner(e: Event) -> Rival:
    if e.winner is None:
        raise EngineError(f"{e.by}: a {e.kind} event that names no winner")
    return e.winner


def _fmt(value: Decimal | None) -> str | None:
    return fmt(value) if value is not None else None


def _pct(rate: Decimal) -> str:
    return rate_text(rate)


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, tuple):
        return [_json_value(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _money_json(value: Any) -> Any:
    """Money in JSON: always two decimals (``"2700000.00"``), inside tuples too."""
    if isinstance(value, Decimal):
        return fmt(value)
    if isinstance(value, tuple):
        return [_money_json(v) for v in value]
    return _json_value(value)


def _present(row: dict) -> dict:
    """The row without its absent values: a key that has nothing to say is left out."""
    return {k: v for k, v in row.items() if v is not None and v != ""}


def _bounds(pair):
    if not pair:
        return None
    return {"min": fmt(pair[0]) if pair[0] is not None else None, "max": fmt(pair[1]) if pair[1] is not None else None}


def _rival(r) -> dict:
    return _present(
        {"item": r.item, "subject": r.subject, "amount": fmt(r.high) if isinstance(r.high, Decimal) else r.high, "status": r.status}
    )


def _amount_json(o: Outcome) -> dict:
    return amount_dict(o)


def explain_outcome(decision, o: Outcome, *, alternatives: bool = True) -> Explanation:
    b = _Builder(decision, o, o.item)
    b.header(o.subject, o.status)
    b.data.update(
        {
            "policy": decision.policy.id,
            "kb_version": decision.kb_version,
            "item": o.item.id,
            "subject": o.subject,
            "measure": o.item.measure,
            "label": o.item.label,
            "title": o.item.title.to_dict(),
            "quote": o.item.quote,
            "status": o.status,
            "amount": _amount_json(o),
            "by": list(o.by),
            "facts": [f.key for f in o.facts],
        }
    )
    narrative_at = len(b.lines)
    b.applicant_section()
    python_verdict = b.conditions_section()
    b.rules_section(python_verdict)
    b.amount_section()
    b.relations_section()
    b.missing_section()
    b.readings_section(alternatives)
    narrative = b.narrative()
    b.lines.insert(narrative_at, narrative)
    b.data["narrative"] = narrative.to_dict()
    return Explanation(b.data, b.lines)


def explain_absent(decision, item: Item) -> Explanation:
    """An item the application holds no fact for: say which fact it would need."""
    m = messages()
    b = _Builder(decision, None, item)
    b.header("—", "absent")
    ft = decision.policy.vocabulary.fact_types[item.fact]
    select = ""
    select_en = ""
    for name, values in item.select.items():
        spec = ft.field(name)
        shown = [spec.values[v] if spec.values and v in spec.values else _t(str(v)) for v in values]
        select += f"，{spec.label.zh}为" + "或".join(s.zh for s in shown)
        select_en += f" with {spec.label.en} " + " or ".join(s.en for s in shown)
    text = m.both("no_fact", item=item.id, fact=ft.label, select=Text(select, select_en))
    b.lines.insert(1, text)
    b.data.update(
        {
            "policy": decision.policy.id,
            "kb_version": decision.kb_version,
            "item": item.id,
            "subject": None,
            "measure": item.measure,
            "label": item.label,
            "title": item.title.to_dict(),
            "quote": item.quote,
            "status": "absent",
            "amount": None,
            "by": [],
            "facts": [],
            "needs": {"fact": item.fact, "select": {k: list(v) for k, v in item.select.items()}},
            "narrative": text.to_dict(),
        }
    )
    return Explanation(b.data, b.lines)


def explain(decision, item_id: str, subject: str | None = None, *, alternatives: bool = True) -> list[Explanation]:
    """Explanations of ``item_id`` — one per subject (or the one named)."""
    with exact():
        return _explain(decision, item_id, subject, alternatives)


def _explain(decision, item_id: str, subject: str | None, alternatives: bool) -> list[Explanation]:
    policy = decision.policy
    if item_id not in policy.items:
        raise UnknownItemError(f"unknown item '{item_id}'{suggest(item_id, policy.items)}")
    found = [o for o in decision.outcomes if o.item.id == item_id]
    if subject is not None:
        chosen = [o for o in found if o.subject == subject]
        if not chosen:
            subjects = [o.subject for o in found]
            raise UnknownItemError(
                f"{item_id} has no outcome for subject '{subject}'{suggest(subject, subjects)}; subjects: {', '.join(subjects) or 'none'}"
            )
        found = chosen
    if not found:
        return [explain_absent(decision, policy.items[item_id])]
    return [explain_outcome(decision, o, alternatives=alternatives) for o in found]
