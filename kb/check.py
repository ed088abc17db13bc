"""``policykb kb check``: everything about a KB that a machine can verify.

Loading already rejects malformed files and dangling references.  On top of that
this checks what makes the KB *faithful*: exactly the items of the inventory, every
quote verbatim in the shipped text (whitespace aside) and inside its own measure,
readings declared where they act, relation shapes, and the durable_rules limits
the compiled rules must stay under.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from policykb.errors import KBError, Problem

from .loader import load_policy, measure_label
from .model import Policy, switch_readings

_SPACE = re.compile(r"\s+")
_NUMBER = re.compile(r"(\d+(?:\.\d+)?)(万)?")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)%")

# reading-rules §1 (Civil Code art. 1259): which operator each boundary word means
BOUNDARY_WORDS = (
    ("不超过", "lte"), ("不高于", "lte"), ("不低于", "gte"), ("及以上", "gte"),
    ("以上", "gte"), ("以下", "lte"), ("以内", "lte"), ("超过", "gt"), ("超", "gt"), ("不满", "lt"),
)


def boundary_op(words: str) -> str | None:
    """The operator a boundary word in ``words`` implies (the first, longest match)."""
    for i in range(len(words)):
        for word, op in BOUNDARY_WORDS:
            if words.startswith(word, i):
                return op
    return None


def numbers_in(words: str) -> set[Decimal]:
    """Amounts written in ``words``: 300万元 → 3000000, 8000元 → 8000, 3万台 → 30000."""
    out: set[Decimal] = set()
    for digits, wan in _NUMBER.findall(squash(words)):
        value = Decimal(digits)
        out.add(value * 10000 if wan else value)
    return out


def rates_in(words: str) -> set[Decimal]:
    """Rates written in ``words`` (6% → 0.06), and ratios of two amounts (10万元 per 500万元 → 0.02)."""
    out = {Decimal(d) / 100 for d in _PERCENT.findall(squash(words))}
    amounts = sorted(numbers_in(words))
    out |= {a / b for a in amounts for b in amounts if b and a < b}
    return out


def squash(text: str) -> str:
    """Text without any whitespace (the shipped text wraps and spaces freely)."""
    return _SPACE.sub("", text)


def measure_paragraphs(text: str) -> dict[int, str]:
    """The paragraph of each measure, keyed by its number, found by its printed label."""
    out: dict[int, str] = {}
    for line in text.splitlines():
        stripped = line.strip()
        for n in range(1, 100):
            if stripped.startswith(measure_label(n)):
                out[n] = squash(stripped)
                break
    return out


def check_policy(policy: Policy) -> list[Problem]:
    problems: list[Problem] = []

    def add(where: str, message: str) -> None:
        problems.append(Problem(where, message))

    text = squash(policy.text)
    paragraphs = measure_paragraphs(policy.text)

    # the inventory
    defined, listed = set(policy.items), set(policy.inventory)
    for iid in sorted(listed - defined):
        add("inventory.yaml", f"item '{iid}' of the inventory is not defined in any measure file")
    for iid in sorted(defined - listed):
        add(f"{policy.items[iid].file}: {iid}", "item is not in the inventory (IDs are permanent: add it there first)")

    # measures against the chapters and the text
    numbers = [m.number for m in policy.measures]
    expected = sorted({n for ch in policy.chapters for n in range(ch.first, ch.last + 1)})
    if expected and numbers != expected:
        missing = sorted(set(expected) - set(numbers))
        extra = sorted(set(numbers) - set(expected))
        add("policy.yaml: chapters", f"measures defined {numbers[:1]}…{numbers[-1:]} do not match the chapters: missing {missing}, extra {extra}")
    for m in policy.measures:
        if m.number not in paragraphs:
            add(f"{m.file}: label", f"the text has no paragraph starting with {m.label}")
        if not m.items:
            add(m.file, "a measure file with no items")

    def verbatim(where: str, quote: str, scope: str | None = None, scope_name: str = "") -> None:
        q = squash(quote)
        if not q:
            return
        if q not in text:
            add(where, f"quote is not in the policy text (whitespace ignored): {quote}")
        elif scope is not None and q not in scope:
            add(where, f"quote is in the text but not in {scope_name}: {quote}")

    from . import conditions as cond

    def comparison_words(where: str, c) -> None:
        implied = boundary_op(c.says)
        if c.op in ("gt", "gte", "lt", "lte") and implied and implied != c.op:
            add(where, f"boundary: the words '{c.says}' mean {implied}, but the comparison uses {c.op}")
        if c.ref is None and c.op in ("gt", "gte", "lt", "lte") and isinstance(c.value, (int, Decimal)) and c.value != 0:
            if Decimal(c.value) not in numbers_in(c.says):
                add(where, f"threshold {c.value} does not appear in its words '{c.says}'")

    def sum_words(where: str, s, is_rate: bool = False) -> None:
        if is_rate:
            if s.value != 1 and s.value not in rates_in(s.says):
                add(where, f"rate {s.value} does not appear in its words '{s.says}'")
        elif s.value not in numbers_in(s.says):
            add(where, f"amount {s.value} does not appear in its words '{s.says}'")

    for item in policy.items.values():
        where = f"{item.file}: {item.id}"
        paragraph = paragraphs.get(item.measure)
        label = f"measure {item.label}"
        verbatim(f"{where}.quote", item.quote, paragraph, label)
        for c in cond.compares(item.conditions):
            verbatim(f"{where}.conditions[{c.field}].says", c.says, paragraph, label)
            comparison_words(f"{where}.conditions[{c.field}]", c)
        amounts = item.amount.cases.values() if hasattr(item.amount, "cases") else [item.amount]
        for amount in amounts:
            for s in amount.sums():
                verbatim(f"{where}.amount.says", s.says, paragraph, label)
            rates = {id(amount.rate), id(amount.rate_high), id(amount.share)}
            for s in amount.sums():
                sum_words(f"{where}.amount", s, is_rate=id(s) in rates)
        used = switch_readings(item.conditions) | switch_readings(item.amount)
        for rel in policy.relations.values():
            members = rel.members.cases.values() if hasattr(rel.members, "cases") else [rel.members]
            if any(item.id in ms for ms in members):
                used |= switch_readings(rel.members) | switch_readings(rel.params)
        used = {r for r in used if policy.readings[r].affects != "all"}
        declared = set(item.readings)
        if used != declared:
            add(
                f"{where}.readings",
                f"declares {sorted(declared)} but its conditions, amount and relations depend on {sorted(used)}",
            )

    for rid, reading in policy.readings.items():
        verbatim(f"readings.yaml: {rid}.quote", reading.quote)
        if reading.affects != "all":
            actual = sorted(i.id for i in policy.items.values() if rid in i.readings)
            if sorted(reading.affects) != actual:
                add(f"readings.yaml: {rid}.affects", f"lists {sorted(reading.affects)} but the items that depend on it are {actual}")
        if not (switch_readings_everywhere(policy) & {rid}):
            add(f"readings.yaml: {rid}", "the reading is not used by any condition, amount, relation or provision")

    for rel in policy.relations.values():
        verbatim(f"relations.yaml: {rel.id}.quote", rel.quote)
        if "cap" in rel.params and rel.params["cap"] not in numbers_in(rel.quote):
            add(f"relations.yaml: {rel.id}.cap", f"cap {rel.params['cap']} does not appear in its quote '{rel.quote}'")
        members = rel.members.cases.values() if hasattr(rel.members, "cases") else [rel.members]
        for ms in members:
            if rel.kind in ("exclusive", "highest", "complementary") and len(ms) < 2:
                add(f"relations.yaml: {rel.id}.members", f"a {rel.kind} relation needs at least two items")
            if rel.kind == "requires" and rel.params.get("requires") in ms:
                add(f"relations.yaml: {rel.id}.requires", "an item cannot require itself")
            if rel.kind in ("exclusive", "group_cap") and rel.scope != "enterprise_year":
                add(f"relations.yaml: {rel.id}.scope", f"a {rel.kind} relation acts per enterprise and year")

    for prov in policy.provisions.values():
        verbatim(f"general.yaml: {prov.id}.quote", prov.quote)
        if prov.conditions is not None:
            for c in cond.compares(prov.conditions):
                verbatim(f"general.yaml: {prov.id}.conditions[{c.field}].says", c.says)
    for target in policy.targets:
        verbatim(f"targets.yaml: {target.id}.quote", target.quote)
    for term in policy.glossary:
        for n in term.used_in:
            if n and n not in numbers:
                add(f"glossary.yaml: {term.term}.used_in", f"measure {n} does not exist")

    from .messages import check_messages

    problems.extend(check_messages()[1])

    try:
        from policykb.engine.compiler import limit_problems
    except ImportError as exc:  # pragma: no cover - the engine ships with the package
        add("engine", f"cannot check durable_rules limits: {exc}")
    else:
        for message in limit_problems(policy):
            add("durable_rules limits", message)
    return problems


def switch_readings_everywhere(policy: Policy) -> set[str]:
    found: set[str] = set()
    for item in policy.items.values():
        found |= switch_readings(item.conditions) | switch_readings(item.amount)
    for rel in policy.relations.values():
        found |= switch_readings(rel.members) | switch_readings(rel.params)
    for prov in policy.provisions.values():
        found |= switch_readings(prov.conditions) | switch_readings(prov.params)
    return found


def check_folder(folder: str | Path) -> tuple[Policy | None, list[Problem]]:
    """Load and check a KB folder: the policy (if it loads) and every problem found."""
    try:
        policy = load_policy(folder)
    except KBError as exc:
        return None, exc.problems
    return policy, check_policy(policy)
