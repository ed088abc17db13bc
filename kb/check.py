"""``policykb kb check``: everything about a KB that a machine can verify.

Loading already rejects malformed files and dangling references.  On top of that
this checks what makes the KB *faithful*: exactly the items of the inventory, every
quote verbatim in the shipped text (whitespace aside) and inside its own measure,
boundary words against operators, every number in the words quoting it, readings
declared where they act, relation shapes, the messages file, and the durable_rules
limits the compiled rules must stay under.  Every finding names the file, the line
and the dotted path, as the loader's errors do.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from policykb.engine.compiler import limit_problems
from policykb.errors import KBError, Problem
from policykb.vocabulary import RelationKind

from . import conditions as cond
from .loader import load_policy, measure_label
from .messages import check_messages
from .model import Policy, Switch, switch_readings
from .yamlio import YamlFile

_SPACE = re.compile(r"\s+")
_NUMBER = re.compile(r"(\d+(?:\.\d+)?)(万)?")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)%")

# reading-rules §1 (Civil Code art. 1259): which operator each boundary word means
BOUNDARY_WORDS = (
    ("不超过", "lte"),
    ("不高于", "lte"),
    ("不低于", "gte"),
    ("及以上", "gte"),
    ("以上", "gte"),
    ("以下", "lte"),
    ("以内", "lte"),
    ("超过", "gt"),
    ("超", "gt"),
    ("不满", "lt"),
)


def squash(text: str) -> str:
    """Text without any whitespace (the shipped text wraps and spaces freely)."""
    return _SPACE.sub("", text)


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


class _Checker:
    def __init__(self, policy: Policy):
        self.policy = policy
        self.folder = Path(policy.path)
        self.problems: list[Problem] = []
        self.text = squash(policy.text)
        self.paragraphs = measure_paragraphs(policy.text)
        self._files: dict[str, YamlFile] = {}
        self.item_paths = {}  # item ID → (file, index in the file's items)
        for measure in policy.measures:
            for index, item_id in enumerate(measure.items):
                self.item_paths[item_id] = (measure.file, index)

    def where(self, file: str, path: tuple) -> str:
        if file not in self._files:
            self._files[file] = YamlFile(self.folder / file, f"{self.folder.name}/{file}")
        return self._files[file].where(path)

    def add(self, file: str, path: tuple, message: str) -> None:
        self.problems.append(Problem(self.where(file, path), message))

    def verbatim(self, file: str, path: tuple, quote: str, scope: str | None = None, scope_name: str = "") -> None:
        q = squash(quote)
        if not q:
            return
        if q not in self.text:
            self.add(file, path, f"quote is not in the policy text (whitespace ignored): {quote}")
        elif scope is not None and q not in scope:
            self.add(file, path, f"quote is in the text but not in {scope_name}: {quote}")

    # -- the parts of the KB
    def inventory(self) -> None:
        policy = self.policy
        defined, listed = set(policy.items), set(policy.inventory)
        for iid in sorted(listed - defined):
            self.add(
                "inventory.yaml",
                ("items", policy.inventory.index(iid)),
                f"item '{iid}' of the inventory is not defined in any measure file",
            )
        for iid in sorted(defined - listed):
            file, index = self.item_paths[iid]
            self.add(file, ("items", index, "id"), f"item '{iid}' is not in the inventory (IDs are permanent: add it there first)")

    def measures(self) -> None:
        policy = self.policy
        numbers = [m.number for m in policy.measures]
        expected = sorted({n for ch in policy.chapters for n in range(ch.first, ch.last + 1)})
        if expected and numbers != expected:
            missing = sorted(set(expected) - set(numbers))
            extra = sorted(set(numbers) - set(expected))
            self.add("policy.yaml", ("chapters",), f"the measure files do not match the chapters: missing {missing}, extra {extra}")
        for m in policy.measures:
            if m.number not in self.paragraphs:
                self.add(m.file, ("label",), f"the text has no paragraph starting with {m.label}")
            if not m.items:
                self.add(m.file, ("items",), "a measure file with no items")

    def items(self) -> None:
        for item in self.policy.items.values():
            file, index = self.item_paths[item.id]
            at = ("items", index)
            paragraph = self.paragraphs.get(item.measure)
            scope = f"measure {item.label}"
            self.verbatim(file, at + ("quote",), item.quote, paragraph, scope)
            for c in cond.compares(item.conditions):
                self.verbatim(file, at + ("conditions",), c.says, paragraph, scope)
                self.comparison_words(file, at + ("conditions",), c)
            amounts = item.amount.cases.values() if isinstance(item.amount, Switch) else [item.amount]
            for amount in amounts:
                rates = {id(amount.rate), id(amount.rate_high), id(amount.share)}
                for s in amount.sums():
                    self.verbatim(file, at + ("amount",), s.says, paragraph, scope)
                    self.sum_words(file, at + ("amount",), s, is_rate=id(s) in rates)
            self.item_readings(item, file, at)

    def comparison_words(self, file: str, path: tuple, c) -> None:
        implied = boundary_op(c.says)
        if c.op in ("gt", "gte", "lt", "lte") and implied and implied != c.op:
            self.add(file, path, f"{c.field}: boundary: the words '{c.says}' mean {implied}, but the comparison uses {c.op}")
        if (
            c.ref is None
            and c.op in ("gt", "gte", "lt", "lte")
            and isinstance(c.value, (int, Decimal))
            and c.value != 0
            and Decimal(c.value) not in numbers_in(c.says)
        ):
            self.add(file, path, f"{c.field}: threshold {c.value} does not appear in its words '{c.says}'")

    def sum_words(self, file: str, path: tuple, s, is_rate: bool) -> None:
        if is_rate:
            if s.value != 1 and s.value not in rates_in(s.says):
                self.add(file, path, f"rate {s.value} does not appear in its words '{s.says}'")
        elif s.value not in numbers_in(s.says):
            self.add(file, path, f"amount {s.value} does not appear in its words '{s.says}'")

    def item_readings(self, item, file: str, at: tuple) -> None:
        policy = self.policy
        used = switch_readings(item.conditions) | switch_readings(item.amount) | switch_readings(item.repeat)
        for prov in policy.provisions.values():
            # a provision's reading that names the item (I-14: who G1 covers for a measure's items)
            used |= {
                r
                for r in switch_readings(prov.conditions) | switch_readings(prov.params)
                if item.id in (policy.readings[r].affects if policy.readings[r].affects != "all" else ())
            }
        for rel in policy.relations.values():
            members = rel.members.cases.values() if isinstance(rel.members, Switch) else [rel.members]
            if any(item.id in ms for ms in members):
                used |= switch_readings(rel.members) | switch_readings(rel.params)
        used = {r for r in used if policy.readings[r].affects != "all"}
        if used != set(item.readings):
            self.add(
                file,
                at + ("readings",),
                f"{item.id} declares {sorted(item.readings)} but its conditions, amount and relations depend on {sorted(used)}",
            )

    def readings(self) -> None:
        policy = self.policy
        everywhere = switch_readings_everywhere(policy)
        for index, (rid, reading) in enumerate(policy.readings.items()):
            at = ("readings", index)
            self.verbatim("readings.yaml", at + ("quote",), reading.quote)
            for j, quote in enumerate(reading.quotes):
                self.verbatim("readings.yaml", at + ("quotes", j), quote)
            if reading.affects != "all":
                actual = sorted(i.id for i in policy.items.values() if rid in i.readings)
                if sorted(reading.affects) != actual:
                    self.add(
                        "readings.yaml",
                        at + ("affects",),
                        f"{rid} lists {sorted(reading.affects)} but the items that depend on it are {actual}",
                    )
            if rid not in everywhere:
                self.add("readings.yaml", at, f"{rid} is not used by any condition, amount, relation or provision")

    def relations(self) -> None:
        for index, rel in enumerate(self.policy.relations.values()):
            at = ("relations", index)
            self.verbatim("relations.yaml", at + ("quote",), rel.quote)
            cited = [c.quote for c in rel.cites]
            if "cap" in rel.params and not any(rel.params["cap"] in numbers_in(q) for q in [rel.quote] + cited):
                self.add("relations.yaml", at + ("cap",), f"cap {rel.params['cap']} does not appear in its quote '{rel.quote}'")
            members = rel.members.cases.values() if isinstance(rel.members, Switch) else [rel.members]
            if rel.payer is not None:
                for ms in members:
                    others = sorted(i for i in ms if self.policy.items[i].payer != rel.payer)
                    if others:
                        self.add(
                            "relations.yaml",
                            at + ("payer",),
                            f"{rel.id} is {rel.payer}'s cap, but {', '.join(others)} are paid by another payer",
                        )
            for ms in members:
                if ms or not isinstance(rel.members, Switch):  # none under one option: it does not act under that reading
                    self.relation_members(at, rel, ms)

    def relation_members(self, at: tuple, rel, ms) -> None:
        """What one set of a relation's members must satisfy for the relation's kind."""
        if rel.kind in (RelationKind.EXCLUSIVE, RelationKind.HIGHEST, RelationKind.COMPLEMENTARY) and len(ms) < 2:
            self.add("relations.yaml", at + ("members",), f"a {rel.kind} relation needs at least two items")
        if rel.kind == RelationKind.REQUIRES and rel.params.get("requires") in ms:
            self.add("relations.yaml", at + ("requires",), "an item cannot require itself")
        if rel.kind in (RelationKind.EXCLUSIVE, RelationKind.GROUP_CAP) and rel.scope != "enterprise_year":
            self.add("relations.yaml", at + ("scope",), f"a {rel.kind} relation acts per enterprise and year")

    def provisions_targets_glossary(self) -> None:
        policy = self.policy
        for index, prov in enumerate(policy.provisions.values()):
            at = ("provisions", index)
            self.verbatim("general.yaml", at + ("quote",), prov.quote)
            if prov.conditions is not None:
                for c in cond.compares(prov.conditions):
                    self.verbatim("general.yaml", at + ("conditions",), c.says)
            covers = prov.params.get("covers", ())
            for cases in covers.cases.values() if isinstance(covers, Switch) else [covers]:
                for j, cover in enumerate(cases):
                    self.verbatim("general.yaml", at + ("covers", j, "quote"), cover.quote)
                    for c in cond.compares(cover.conditions):
                        self.verbatim("general.yaml", at + ("covers", j, "conditions"), c.says)
        for index, target in enumerate(policy.targets):
            self.verbatim("targets.yaml", ("targets", index, "quote"), target.quote)
        numbers = {m.number for m in policy.measures}
        for index, term in enumerate(policy.glossary):
            for n in term.used_in:
                if n and n not in numbers:
                    self.add("glossary.yaml", ("terms", index, "used_in"), f"measure {n} does not exist")

    def engine_limits(self) -> None:
        for message in limit_problems(self.policy):
            self.problems.append(Problem("durable_rules limits", message))

    def run(self) -> list[Problem]:
        self.inventory()
        self.measures()
        self.items()
        self.readings()
        self.relations()
        self.provisions_targets_glossary()
        self.problems.extend(check_messages()[1])
        self.engine_limits()
        return self.problems


def check_policy(policy: Policy) -> list[Problem]:
    """Every problem of a loaded KB (an empty list when it is faithful and within limits)."""
    return _Checker(policy).run()


def switch_readings_everywhere(policy: Policy) -> set[str]:
    found: set[str] = set()
    for item in policy.items.values():
        found |= switch_readings(item.conditions) | switch_readings(item.amount) | switch_readings(item.repeat)
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
