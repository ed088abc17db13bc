"""The strict loader: YAML files of one policy → a ``Policy`` model.

Every node has an allow-list of keys.  A problem is reported with the file, the
line, the dotted path, what was found, what is allowed and the nearest allowed
name ("did you mean …?").  All problems of all files are collected before the
load fails, so one run of ``policykb kb check`` shows everything that is wrong.
References (fact types, fields, readings and their options, items) are resolved
here; textual checks (verbatim quotes, the inventory, durable_rules limits) are
in ``check.py``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from policykb.errors import InputError, KBError, Problem, suggest
from policykb.vocabulary import AmountKind, ProvisionKind, RelationKind

from . import expressions
from .model import (
    ALWAYS,
    FIELD_TYPES,
    OPS,
    OWN_SOURCE,
    All,
    Amount,
    Any_,
    Chapter,
    Citation,
    Compare,
    Cover,
    FactType,
    FieldSpec,
    Floor,
    Item,
    Measure,
    PerUnit,
    Policy,
    Provision,
    Reading,
    Relation,
    Steps,
    Sum,
    Target,
    Term,
    Text,
    Threshold,
    Vocabulary,
)
from .reader import Reader, _kind, _show
from .yamlio import YamlFile

KB_ROOT = Path(__file__).resolve().parent
DEFAULT_POLICY = "taicang-2021-3"
MEASURE_FILE = re.compile(r"^m(\d\d)\.yaml$")
ITEM_ID = re.compile(r"^m(\d\d)\.[a-z][a-z0-9_]*$")
READING_ID = re.compile(r"^I-\d\d$")

RELATION_SCOPES = ("enterprise_year", "subject")
# the keys each kind of provision requires besides id, kind, title and quote
PROVISION_KEYS: dict[str, tuple[str, ...]] = {
    ProvisionKind.ELIGIBILITY: ("conditions",),
    ProvisionKind.CASE_BY_CASE: ("scope", "fact"),
    ProvisionKind.PERIOD: ("from", "to"),
    ProvisionKind.HIGHEST_WINS: ("prior_awards", "fact"),
    ProvisionKind.AUTHORITY: ("authority",),
}
# the fields the engine reads from the context facts these provisions name
CONTEXT_FIELDS: dict[str, tuple[str, ...]] = {
    ProvisionKind.CASE_BY_CASE: ("items",),
    ProvisionKind.HIGHEST_WINS: ("source", "item", "year", "amount"),
}
OTHER_REWARD_SOURCES = ("met", "granted", "declared")
FLOOR_APPLIES = ("always", "when_reached")
REPEATS = ("once", "yearly")
PAYER_ID = re.compile(r"^[a-z][a-z0-9_]*$")
DEFAULT_PAYER = "issuer"  # the one payer of a policy.yaml that lists none

_CN_DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1 → 一, 10 → 十, 14 → 十四, 21 → 二十一 (enough for measure labels)."""
    if n < 10:
        return _CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _CN_DIGITS[tens]) + "十" + (_CN_DIGITS[ones] if ones else "")


def measure_label(n: int) -> str:
    return f"（{chinese_number(n)}）"


def policy_dir(policy: str | None = None, path: str | Path | None = None) -> Path:
    """The folder of a policy's KB: an explicit path (``--kb``), or a policy shipped with the
    package, by name only — a name is never a path (``../x`` or ``/abs`` is refused)."""
    if path is not None:
        return Path(path)
    name = policy or DEFAULT_POLICY
    shipped = shipped_policies()
    if name not in shipped:
        hint = (
            "; to load a KB folder, use --kb PATH (load(path=...) in Python)"
            if any(c in name for c in "/\\.") or name.startswith("~")
            else ""
        )
        raise InputError(f"no policy '{name}' is shipped with policykb{suggest(name, shipped)}; shipped: {', '.join(shipped)}{hint}")
    return KB_ROOT / name


def shipped_policies() -> list[str]:
    return sorted(p.name for p in KB_ROOT.iterdir() if (p / "policy.yaml").is_file())


def inside(folder: Path, path: Path) -> bool:
    """Whether ``path`` lies inside ``folder`` once links and ``..`` are resolved."""
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError):
        return False


def _text_file(folder: Path) -> Path | None:
    """The policy text named by policy.yaml, if it names one inside the folder."""
    try:
        meta = yaml.safe_load((folder / "policy.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    name = meta.get("text") if isinstance(meta, dict) else None
    if not isinstance(name, str) or not name:
        return None
    path = folder / name
    return path if inside(folder, path) and path.is_file() else None


def kb_files(folder: Path) -> list[Path]:
    """The files that make up a KB (and its version hash): its YAML and text files, and the
    policy text wherever in the folder it is; test cases are not part of it.  A file that
    links outside the folder is left out (the loader refuses it)."""
    files = {p for p in folder.iterdir() if p.is_file() and p.suffix in (".yaml", ".txt") and inside(folder, p)}
    text = _text_file(folder)
    if text is not None:
        files.add(text)
    return sorted(files, key=lambda p: p.relative_to(folder).as_posix())


def content_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for p in kb_files(folder):
        digest.update(p.relative_to(folder).as_posix().encode("utf-8") + b"\0")
        digest.update(p.read_bytes() + b"\0")
    return digest.hexdigest()


# --- the loader -----------------------------------------------------------------------


class _Load:
    def __init__(self, folder: Path):
        self.folder = folder
        self.problems: list[Problem] = []
        self.files: dict[str, YamlFile] = {}
        self.reading_paths: dict[str, tuple] = {}
        self.payer_ids: tuple[str, ...] = (DEFAULT_PAYER,)  # from policy.yaml, read first
        self.default_payer = DEFAULT_PAYER

    def read(self, name: str) -> Reader | None:
        path = self.folder / name
        display = f"{self.folder.name}/{name}"
        if not path.is_file():
            self.problems.append(Problem(display, "file is missing"))
            return None
        if not inside(self.folder, path):
            self.problems.append(Problem(display, "links to a file outside the KB folder; every file of a KB lies inside its folder"))
            return None
        yf = YamlFile(path, display)
        self.files[name] = yf
        if yf.error:
            self.problems.append(Problem(display, yf.error))
            return None
        reader = Reader(yf, self.problems)
        for dup_path, _line, first in yf.duplicates:
            reader.fail(dup_path, f"duplicate key (first at line {first}); YAML would silently keep only the last")
        return reader

    # -- policy.yaml
    def policy_meta(self) -> dict:
        r = self.read("policy.yaml")
        if r is None:
            return {}
        node = (
            r.mapping(
                r.yf.data,
                (),
                required=("id", "document_number", "title", "issuer", "issued", "in_force", "interpretation_authority", "text"),
                optional=("notice_title", "currency", "chapters", "payers", "default_payer"),
            )
            or {}
        )
        meta: dict[str, Any] = {
            "id": r.string(node.get("id"), ("id",)),
            "document_number": r.string(node.get("document_number"), ("document_number",)),
            "title": r.text(node.get("title"), ("title",)),
            "notice_title": r.text(node["notice_title"], ("notice_title",))
            if "notice_title" in node
            else r.text(node.get("title"), ("title",)),
            "issuer": r.text(node.get("issuer"), ("issuer",)),
            "issued": r.date(node.get("issued"), ("issued",)),
            "authority": r.text(node.get("interpretation_authority"), ("interpretation_authority",)),
            "currency": r.string(node.get("currency", "CNY"), ("currency",)),
        }
        force = r.mapping(node.get("in_force"), ("in_force",), required=("from", "to")) or {}
        meta["in_force"] = (r.date(force.get("from"), ("in_force", "from")), r.date(force.get("to"), ("in_force", "to")))
        text_name = r.string(node.get("text"), ("text",))
        text_path = self.folder / text_name if text_name else None
        if text_path is not None and not inside(self.folder, text_path):
            r.fail(
                ("text",), f"the policy text file '{text_name}' lies outside {self.folder.name}/; every file of a KB lies inside its folder"
            )
            meta["text"] = ""
        elif text_path is None or not text_path.is_file():
            r.fail(("text",), f"the policy text file '{text_name}' is missing from {self.folder.name}/")
            meta["text"] = ""
        else:
            meta["text"] = text_path.read_text(encoding="utf-8")
        chapters = []
        for i, raw in enumerate(r.sequence(node.get("chapters", []), ("chapters",))):
            p = ("chapters", i)
            ch = r.mapping(raw, p, required=("number", "measures", "title")) or {}
            span = r.sequence(ch.get("measures"), p + ("measures",), "a list [first, last]")
            first, last = (span + [0, 0])[:2] if len(span) == 2 else (0, 0)
            if len(span) != 2:
                r.fail(p + ("measures",), "expected [first, last] measure numbers")
            chapters.append(Chapter(r.string(ch.get("number"), p + ("number",)), first, last, r.text(ch.get("title"), p + ("title",))))
        meta["chapters"] = tuple(chapters)
        meta["payers"], meta["default_payer"] = self.payers(r, node, meta["issuer"])
        self.payer_ids, self.default_payer = tuple(meta["payers"]), meta["default_payer"]
        return meta

    @staticmethod
    def payers(r: Reader, node: dict, issuer: Text) -> tuple[dict[str, Text], str]:
        """Who pays: ``payers: {id: {zh, en}}`` (the policy's issuer alone when absent) and
        ``default_payer`` (the first listed when absent), the payer of an item naming none."""
        if "payers" not in node:
            return {DEFAULT_PAYER: issuer}, DEFAULT_PAYER
        raw = r.table(node.get("payers"), ("payers",))
        payers = {str(k): r.text(v, ("payers", k)) for k, v in raw.items()}
        for pid in payers:
            if not PAYER_ID.match(pid):
                r.fail(("payers", pid), f"a payer ID is lower-case letters, digits and _ (like city_fund); found '{pid}'")
        if not payers:
            r.fail(("payers",), "name at least one payer")
            return {DEFAULT_PAYER: issuer}, DEFAULT_PAYER
        default = r.choice(node.get("default_payer", next(iter(payers))), ("default_payer",), payers, "payer")
        return payers, default or next(iter(payers))

    # -- facts.yaml
    def field_spec(self, r: Reader, name: str, raw: Any, path: tuple, derived: bool = False) -> FieldSpec:
        optional = ("required", "values", "min", "max", "unit", "required_when")
        if derived:
            node = r.mapping(raw, path, required=("type", "label", "expr"), optional=("unit",)) or {}
        else:
            node = r.mapping(raw, path, required=("type", "label"), optional=optional) or {}
        ftype = r.choice(node.get("type"), path + ("type",), FIELD_TYPES, "field type")
        values = None
        if ftype == "enum":
            raw_values = r.table(node.get("values"), path + ("values",)) if "values" in node else None
            if raw_values is None:
                r.fail(path, "an enum field needs 'values' (each with zh and en labels)")
                values = {}
            else:
                values = {str(k): r.text(v, path + ("values", k)) for k, v in raw_values.items()}
        elif "values" in node:
            r.fail(path + ("values",), f"'values' belongs to enum fields; this field is {ftype}")
        for bound in ("min", "max"):
            if bound in node and ftype not in ("integer", "count", "year"):
                r.fail(path + (bound,), f"'{bound}' belongs to whole-number fields; this field is {ftype}")
        expr = None
        if derived:
            expr = self.expression(r, node.get("expr"), path + ("expr",))
        return FieldSpec(
            name=name,
            type=ftype,
            label=r.text(node.get("label"), path + ("label",)),
            required=r.boolean(node.get("required", False), path + ("required",)),
            values=values,
            minimum=r.integer(node["min"], path + ("min",)) if "min" in node else None,
            maximum=r.integer(node["max"], path + ("max",)) if "max" in node else None,
            unit=r.text(node["unit"], path + ("unit",)) if "unit" in node else None,
            required_when=r.table(node["required_when"], path + ("required_when",)) if "required_when" in node else None,
            expr=expr,
        )

    def expression(self, r: Reader, raw: Any, path: tuple) -> Any:
        if isinstance(raw, bool) or raw is None:
            r.fail(path, f"expected a number, a field name or {{op: [operands]}}; found {_kind(raw)}")
            return 0
        if isinstance(raw, int):
            return raw
        if isinstance(raw, str):
            return raw
        if isinstance(raw, dict) and len(raw) == 1:
            ((op, operands),) = raw.items()
            if op not in expressions.OPERATORS:
                r.fail(
                    path + (op,),
                    f"unknown operator '{op}'; allowed: {', '.join(expressions.OPERATORS)}{suggest(op, expressions.OPERATORS)}",
                )
                return 0
            items = r.sequence(operands, path + (op,), "a list of operands")
            return {op: [self.expression(r, o, path + (op, i)) for i, o in enumerate(items)]}
        r.fail(path, f"expected a number, a field name or {{op: [operands]}}; found {_kind(raw)}")
        return 0

    def vocabulary(self) -> Vocabulary | None:
        r = self.read("facts.yaml")
        if r is None:
            return None
        top = r.mapping(r.yf.data, (), required=("subject_kinds", "applicant", "fact_types"), optional=("common_fields",)) or {}
        kinds_raw = r.table(top.get("subject_kinds"), ("subject_kinds",))
        subject_kinds = {str(k): r.text(v, ("subject_kinds", k)) for k, v in kinds_raw.items()}
        app = r.mapping(top.get("applicant"), ("applicant",), required=("label", "fields")) or {}
        app_fields_raw = r.table(app.get("fields"), ("applicant", "fields"))
        applicant = {str(k): self.field_spec(r, str(k), v, ("applicant", "fields", k)) for k, v in app_fields_raw.items()}
        for must in ("id", "name", "kind"):
            if must not in applicant:
                r.fail(("applicant", "fields"), f"the applicant needs a '{must}' field")
        common_raw = r.table(top.get("common_fields", {}), ("common_fields",))
        common = {str(k): self.field_spec(r, str(k), v, ("common_fields", k)) for k, v in common_raw.items()}
        types_raw = r.table(top.get("fact_types"), ("fact_types",))
        fact_types = {str(key): self.fact_type(r, key, traw, subject_kinds, common) for key, traw in types_raw.items()}
        return Vocabulary(subject_kinds, applicant, r.text(app.get("label"), ("applicant", "label")), common, fact_types)

    def fact_type(self, r: Reader, key: Any, traw: Any, subject_kinds: dict[str, Text], common: dict[str, FieldSpec]) -> FactType:
        p = ("fact_types", key)
        node = r.mapping(traw, p, required=("label", "subject", "fields"), optional=("derived", "role")) or {}
        subj = r.mapping(node.get("subject"), p + ("subject",), required=("kind",), optional=("required",)) or {}
        kind = r.choice(subj.get("kind"), p + ("subject", "kind"), subject_kinds, "subject kind")
        fields_node = r.table(node.get("fields"), p + ("fields",))
        fields = {str(k): self.field_spec(r, str(k), v, p + ("fields", k)) for k, v in fields_node.items()}
        derived_raw = r.table(node.get("derived", {}), p + ("derived",))
        derived = {str(k): self.field_spec(r, str(k), v, p + ("derived", k), derived=True) for k, v in derived_raw.items()}
        _check_derived(r, p, fields, derived)
        for name in list(fields) + list(derived):
            if name in common or name in ("type", "subject"):
                r.fail(p + ("fields", name), f"'{name}' is a field every fact has already")
        _check_required_when(r, p, fields)
        role = r.choice(node.get("role", "item"), p + ("role",), ("item", "context"), "fact role")
        return FactType(
            name=str(key),
            label=r.text(node.get("label"), p + ("label",)),
            subject_kind=kind,
            subject_required=r.boolean(subj.get("required", False), p + ("subject", "required")),
            fields=fields,
            derived=derived,
            role=role,
        )

    # -- readings.yaml
    def readings(self) -> dict[str, Reading] | None:
        r = self.read("readings.yaml")
        if r is None:
            return None
        top = r.mapping(r.yf.data, (), required=("readings",)) or {}
        out: dict[str, Reading] = {}
        for i, raw in enumerate(r.sequence(top.get("readings"), ("readings",))):
            p = ("readings", i)
            node = (
                r.mapping(raw, p, required=("id", "question", "quote", "default", "options", "affects"), optional=("quotes", "cites")) or {}
            )
            rid = r.string(node.get("id"), p + ("id",))
            if rid and not READING_ID.match(rid):
                r.fail(p + ("id",), f"a reading ID looks like I-01; found '{rid}'")
            if rid in out:
                r.fail(p + ("id",), f"duplicate reading ID '{rid}'")
            options_raw = r.table(node.get("options"), p + ("options",))
            options = {str(k): r.text(v, p + ("options", k)) for k, v in options_raw.items()}
            if len(options) < 2:
                r.fail(p + ("options",), "a reading needs a default and at least one alternative")
            default = r.choice(node.get("default"), p + ("default",), options, "option") if options else ""
            affects_raw = node.get("affects")
            affects: Any = (
                "all" if affects_raw == "all" else tuple(r.sequence(affects_raw, p + ("affects",), "a list of item IDs or 'all'"))
            )
            quotes = tuple(r.string(q, p + ("quotes", j)) for j, q in enumerate(r.sequence(node.get("quotes", []), p + ("quotes",))))
            cites = self.citations(r, node.get("cites", []), p + ("cites",))
            out[rid] = Reading(
                rid,
                r.text(node.get("question"), p + ("question",)),
                r.string(node.get("quote"), p + ("quote",)),
                default,
                options,
                affects,
                quotes,
                cites,
            )
            self.reading_paths[rid] = (r, p)
        return out

    @staticmethod
    def citations(r: Reader, raw: Any, path: tuple) -> tuple[Citation, ...]:
        """Sentences of other documents: [{document: {zh, en}, issued, clause, quote}]."""
        out = []
        for j, c in enumerate(r.sequence(raw, path)):
            cp = path + (j,)
            cn = r.mapping(c, cp, required=("document", "clause", "quote"), optional=("issued",)) or {}
            out.append(
                Citation(
                    r.text(cn.get("document"), cp + ("document",)),
                    r.date(cn["issued"], cp + ("issued",)) if "issued" in cn else None,
                    r.string(cn.get("clause"), cp + ("clause",)),
                    r.string(cn.get("quote"), cp + ("quote",)),
                )
            )
        return tuple(out)

    # -- conditions
    def condition(self, r: Reader, raw: Any, path: tuple, field_type: Callable[[str], FieldSpec | None], readings) -> Any:
        if raw is True:
            return ALWAYS
        if isinstance(raw, list):
            return All(tuple(self.condition(r, c, path + (i,), field_type, readings) for i, c in enumerate(raw)))
        if isinstance(raw, dict):
            if "reading" in raw:
                return r.switchable(raw, path, lambda v, p: self.condition(r, v, p, field_type, readings), readings)
            if "all" in raw or "any" in raw:
                key = "all" if "all" in raw else "any"
                node = r.mapping(raw, path, required=(key,))
                parts = r.sequence((node or {}).get(key), path + (key,))
                built = tuple(self.condition(r, c, path + (key, i), field_type, readings) for i, c in enumerate(parts))
                return All(built) if key == "all" else Any_(built)
            return self.comparison(r, raw, path, field_type)
        r.fail(path, f"expected a condition (a comparison, all/any, a reading switch, or true); found {_kind(raw)}")
        return ALWAYS

    def comparison(self, r: Reader, raw: dict, path: tuple, field_type) -> Compare:
        node = r.mapping(raw, path, required=("field", "op", "value", "says")) or {}
        name = r.string(node.get("field"), path + ("field",))
        op = r.choice(node.get("op"), path + ("op",), OPS, "operator")
        says = r.string(node.get("says"), path + ("says",))
        spec = field_type(name) if name else None
        if name and spec is None:
            r.fail(path + ("field",), f"unknown field '{name}' for this fact{suggest(name, field_type.known())}")
        value = node.get("value")
        if isinstance(value, dict):
            return Compare(name, op, None, says, ref=self.reference(r, value, path, field_type, name, op, spec) or None)
        if spec is None:
            return Compare(name, op, value, says)
        if op == "in":
            values = r.sequence(value, path + ("value",), "a list of values for 'in'")
            typed = tuple(self.typed(r, v, path + ("value", i), spec) for i, v in enumerate(values))
            return Compare(name, op, typed, says)
        if op in ("gt", "gte", "lt", "lte") and spec.type not in ("money", "count", "integer", "year", "date"):
            r.fail(path + ("op",), f"'{op}' needs a number or date field; {name} is {spec.type}")
        return Compare(name, op, self.typed(r, value, path + ("value",), spec), says)

    @staticmethod
    def reference(r: Reader, value: dict, path: tuple, field_type: _FieldLookup, name: str, op: str, spec: FieldSpec | None) -> str:
        """The other field of the same fact a comparison reads (``value: {field: G}``)."""
        ref_node = r.mapping(value, path + ("value",), required=("field",)) or {}
        ref = r.string(ref_node.get("field"), path + ("value", "field"))
        ref_spec = field_type(ref) if ref else None
        if ref and ref_spec is None:
            r.fail(path + ("value", "field"), f"unknown field '{ref}' for this fact{suggest(ref, field_type.known())}")
        elif spec and ref_spec and spec.type != ref_spec.type:
            r.fail(path + ("value", "field"), f"cannot compare {name} ({spec.type}) with {ref} ({ref_spec.type})")
        if ref.startswith("applicant.") or name.startswith("applicant."):
            r.fail(path + ("value",), "field-to-field comparisons are between fields of the same fact")
        if op == "in":
            r.fail(path + ("op",), "'in' takes a list of values, not a field")
        return ref

    def typed(self, r: Reader, value: Any, path: tuple, spec: FieldSpec) -> Any:
        t = spec.type
        if t == "money":
            return r.money(value, path)
        if t in ("count", "integer", "year"):
            return r.integer(value, path, spec.minimum, spec.maximum)
        if t == "bool":
            return r.boolean(value, path)
        if t == "enum":
            return r.choice(value, path, spec.values or {}, f"value of {spec.name}")
        if t == "date":
            return r.date(value, path)
        return r.string(value, path)

    # -- amounts
    def sum_node(self, r: Reader, raw: Any, path: tuple, money: bool = True) -> Sum:
        node = r.mapping(raw, path, required=("value", "says")) or {}
        value = r.money(node.get("value"), path + ("value",)) if money else r.decimal(node.get("value"), path + ("value",))
        return Sum(value, r.string(node.get("says"), path + ("says",)))

    def amount(self, r: Reader, raw: Any, path: tuple, field_type, readings) -> Any:
        return r.switchable(raw, path, lambda v, p: self.amount_case(r, v, p, field_type, readings), readings)

    def amount_case(self, r: Reader, raw: Any, path: tuple, field_type, readings) -> Amount:
        node = (
            r.mapping(
                raw,
                path,
                required=("kind",),
                optional=("fixed", "rate", "base", "per_unit", "steps", "floor", "cap", "route", "benefit", "fee_cap", "share", "also"),
            )
            or {}
        )
        kind = r.choice(node.get("kind"), path + ("kind",), tuple(AmountKind), "amount kind")

        def text(key: str) -> Text | None:
            return r.text(node[key], path + (key,)) if key in node else None

        def money(key: str, is_money: bool = True) -> Sum | None:
            return self.sum_node(r, node[key], path + (key,), money=is_money) if key in node else None

        fixed = money("fixed")
        rate, rate_high = self.rates(r, node, path, kind)
        amount = Amount(
            kind=kind,
            fixed=fixed,
            rate=rate,
            rate_high=rate_high,
            base=self.base(r, node, path, field_type),
            per_unit=self.per_unit(r, node, path, field_type),
            steps=self.steps(r, node, path, field_type),
            floor=self.floor(r, node, path, readings),
            cap=money("cap"),
            route=text("route"),
            benefit=text("benefit"),
            fee_cap=money("fee_cap"),
            share=money("share", False),
            also=text("also"),
        )
        self.check_amount_shape(r, amount, path)
        return amount

    def rates(self, r: Reader, node: dict, path: tuple, kind: str) -> tuple[Sum | None, Sum | None]:
        """The rate (a range: its low and high ends, with one ``says``)."""
        if "rate" not in node:
            return None, None
        if kind != AmountKind.RANGE:
            return self.sum_node(r, node["rate"], path + ("rate",), money=False), None
        rn = r.mapping(node["rate"], path + ("rate",), required=("low", "high", "says")) or {}
        says = r.string(rn.get("says"), path + ("rate", "says"))
        low = Sum(r.decimal(rn.get("low"), path + ("rate", "low")), says)
        high = Sum(r.decimal(rn.get("high"), path + ("rate", "high")), says)
        if low.value > high.value:
            r.fail(path + ("rate",), f"low rate {low.value} is above high rate {high.value}")
        return low, high

    @staticmethod
    def base(r: Reader, node: dict, path: tuple, field_type: _FieldLookup) -> str | None:
        if "base" not in node:
            return None
        base = r.string(node["base"], path + ("base",))
        spec = field_type(base)
        if spec is None:
            r.fail(path + ("base",), f"unknown field '{base}' for this fact{suggest(base, field_type.known())}")
        elif spec.type != "money":
            r.fail(path + ("base",), f"the base of a rate must be a money field; {base} is {spec.type}")
        return base

    @staticmethod
    def per_unit(r: Reader, node: dict, path: tuple, field_type: _FieldLookup) -> tuple[PerUnit, ...]:
        out = []
        for i, pu in enumerate(r.sequence(node.get("per_unit", []), path + ("per_unit",))):
            at = path + ("per_unit", i)
            pn = r.mapping(pu, at, required=("count", "each", "says")) or {}
            count = r.string(pn.get("count"), at + ("count",))
            spec = field_type(count)
            if spec is None:
                r.fail(at + ("count",), f"unknown field '{count}' for this fact{suggest(count, field_type.known())}")
            elif spec.type != "count":
                r.fail(at + ("count",), f"a per-unit sum needs a count field; {count} is {spec.type}")
            out.append(PerUnit(count, r.money(pn.get("each"), at + ("each",)), r.string(pn.get("says"), at + ("says",))))
        return tuple(out)

    @staticmethod
    def steps(r: Reader, node: dict, path: tuple, field_type: _FieldLookup) -> Steps | None:
        if "steps" not in node:
            return None
        at = path + ("steps",)
        sn = r.mapping(node["steps"], at, required=("of", "size", "each", "says")) or {}
        of = r.string(sn.get("of"), at + ("of",))
        if field_type(of) is None:
            r.fail(at + ("of",), f"unknown field '{of}' for this fact{suggest(of, field_type.known())}")
        steps = Steps(
            of, r.money(sn.get("size"), at + ("size",)), r.money(sn.get("each"), at + ("each",)), r.string(sn.get("says"), at + ("says",))
        )
        if steps.size <= 0:
            r.fail(at + ("size",), "a step size must be above zero")
        return steps

    @staticmethod
    def floor(r: Reader, node: dict, path: tuple, readings) -> Floor | None:
        if "floor" not in node:
            return None
        at = path + ("floor",)
        fn = r.mapping(node["floor"], at, required=("value", "says"), optional=("applies",)) or {}
        applies = r.switchable(
            fn.get("applies", "always"), at + ("applies",), lambda v, p: r.choice(v, p, FLOOR_APPLIES, "floor rule"), readings
        )
        return Floor(r.money(fn.get("value"), at + ("value",)), r.string(fn.get("says"), at + ("says",)), applies)

    @staticmethod
    def check_amount_shape(r: Reader, a: Amount, path: tuple) -> None:
        formulas = [
            name for name, present in (("fixed", a.fixed), ("rate", a.rate), ("per_unit", a.per_unit), ("steps", a.steps)) if present
        ]
        for at, message in _formula_problems(a, formulas) + _benefit_problems(a, formulas):
            r.fail(path + at, message)

    # -- measure files
    def measures(self, vocabulary: Vocabulary, readings) -> tuple[list[Measure], dict[str, Item]]:
        files = sorted(p.name for p in self.folder.iterdir() if p.is_file() and MEASURE_FILE.match(p.name))
        measures: list[Measure] = []
        items: dict[str, Item] = {}
        seen_numbers: dict[int, str] = {}
        order = 0
        for fname in files:
            r = self.read(fname)
            if r is None:
                continue
            number_in_name = int(fname[1:3])  # the files were chosen by MEASURE_FILE: mNN.yaml
            top = r.mapping(r.yf.data, (), required=("measure", "label", "title", "items")) or {}
            number = r.integer(top.get("measure"), ("measure",), 1, 99)
            if number and number != number_in_name:
                r.fail(("measure",), f"file {fname} holds measure {number_in_name}; found measure: {number}")
            if number in seen_numbers:
                r.fail(("measure",), f"measure {number} is already defined in {seen_numbers[number]}")
            seen_numbers[number] = fname
            label = r.string(top.get("label"), ("label",))
            if number and label and label != measure_label(number):
                r.fail(("label",), f"measure {number} is printed {measure_label(number)}; found '{label}'")
            ids = []
            for i, raw in enumerate(r.sequence(top.get("items"), ("items",))):
                item = self.item(r, raw, ("items", i), number, label, vocabulary, readings, order, fname)
                order += 1
                if item is None:
                    continue
                if item.id in items:
                    r.fail(("items", i, "id"), f"duplicate item ID '{item.id}' (also in {items[item.id].file})")
                    continue
                items[item.id] = item
                ids.append(item.id)
            measures.append(Measure(number, label, r.text(top.get("title"), ("title",)), tuple(ids), fname))
        return measures, items

    def item(
        self, r: Reader, raw: Any, path: tuple, number: int, label: str, vocabulary: Vocabulary, readings, order: int, fname: str
    ) -> Item | None:
        node = r.mapping(
            raw,
            path,
            required=("id", "title", "applicants", "subject", "fact", "quote", "amount"),
            optional=("select", "conditions", "readings", "repeat", "payer"),
        )
        if node is None:
            return None
        iid = self.item_id(r, node, path, number)
        fact = r.choice(node.get("fact"), path + ("fact",), [n for n, t in vocabulary.fact_types.items() if t.role == "item"], "fact type")
        field_type = _FieldLookup(vocabulary, fact)
        kind_spec = vocabulary.applicant.get("kind")
        kinds = (kind_spec.values or {}) if kind_spec is not None else {}
        applicants = tuple(
            r.choice(k, path + ("applicants", i), kinds, "applicant kind")
            for i, k in enumerate(r.sequence(node.get("applicants"), path + ("applicants",)))
        )
        if not applicants:
            r.fail(path + ("applicants",), "an item is for at least one kind of applicant")
        select = self.select(r, node, path, fact, field_type)
        conditions = self.condition(r, node.get("conditions", []), path + ("conditions",), field_type, readings)
        declared = tuple(r.sequence(node.get("readings", []), path + ("readings",)))
        for i, rid in enumerate(declared):
            if readings is not None and rid not in readings:
                r.fail(path + ("readings", i), f"unknown reading '{rid}'{suggest(rid, readings)}")
        return Item(
            id=iid,
            measure=number,
            label=label,
            title=r.text(node.get("title"), path + ("title",)),
            applicants=applicants,
            subject=r.choice(node.get("subject"), path + ("subject",), vocabulary.subject_kinds, "subject kind"),
            fact=fact,
            select=select,
            quote=r.string(node.get("quote"), path + ("quote",)),
            conditions=conditions,
            amount=self.amount(r, node.get("amount"), path + ("amount",), field_type, readings),
            readings=declared,
            repeat=r.switchable(
                node.get("repeat", "once"), path + ("repeat",), lambda v, q: r.choice(v, q, REPEATS, "repeat rule"), readings
            ),
            payer=r.choice(node.get("payer", self.default_payer), path + ("payer",), self.payer_ids, "payer"),
            order=order,
            file=fname,
        )

    @staticmethod
    def item_id(r: Reader, node: dict, path: tuple, number: int) -> str:
        """The item's ID, shaped ``mNN.name`` with the number of its measure."""
        iid = r.string(node.get("id"), path + ("id",))
        m = ITEM_ID.match(iid or "")
        if iid and not m:
            r.fail(path + ("id",), f"an item ID looks like m01.equipment; found '{iid}'")
        elif m and int(m.group(1)) != number:
            r.fail(path + ("id",), f"item '{iid}' is in measure {number}; its ID must start with m{number:02d}.")
        return iid

    def select(self, r: Reader, node: dict, path: tuple, fact: str, field_type: _FieldLookup) -> dict[str, tuple]:
        """The selector values that narrow the item's facts (award, level …)."""
        select: dict[str, tuple] = {}
        for name, values in r.table(node.get("select", {}), path + ("select",)).items():
            spec = field_type(name)
            if spec is None:
                r.fail(path + ("select", name), f"unknown field '{name}' for {fact}{suggest(name, field_type.known())}")
                continue
            if spec.type not in ("enum", "integer", "bool"):
                r.fail(path + ("select", name), f"select works on enum, integer and bool fields; {name} is {spec.type}")
            listed = values if isinstance(values, list) else [values]
            select[name] = tuple(self.typed(r, v, path + ("select", name), spec) for v in listed)
        return select

    # -- general.yaml
    def provisions(self, vocabulary: Vocabulary, readings, items=None) -> dict[str, Provision]:
        r = self.read("general.yaml")
        if r is None:
            return {}
        top = r.mapping(r.yf.data, (), required=("provisions",)) or {}
        out: dict[str, Provision] = {}
        for i, raw in enumerate(r.sequence(top.get("provisions"), ("provisions",))):
            p = ("provisions", i)
            kind = raw.get("kind") if isinstance(raw, dict) else None
            node = (
                r.mapping(
                    raw,
                    p,
                    required=("id", "kind", "title", "quote") + PROVISION_KEYS.get(str(kind), ()),
                    optional=("covers",) if kind == ProvisionKind.ELIGIBILITY else (),
                )
                or {}
            )
            kind = r.choice(node.get("kind"), p + ("kind",), tuple(ProvisionKind), "provision kind")
            pid = r.string(node.get("id"), p + ("id",))
            if pid in out:
                r.fail(p + ("id",), f"duplicate provision ID '{pid}'")
            params: dict[str, Any] = {}
            if kind in CONTEXT_FIELDS:
                params.update(self.context_fact(r, node, p, kind, vocabulary))
            conditions = None
            if kind == ProvisionKind.ELIGIBILITY:
                conditions = self.condition(r, node.get("conditions", []), p + ("conditions",), _FieldLookup(vocabulary, None), readings)
                if "covers" in node:
                    params["covers"] = r.switchable(
                        node["covers"], p + ("covers",), lambda v, q: self.covers(r, v, q, vocabulary, readings, items), readings
                    )
            else:
                params.update(self.provision_params(r, node, p, kind, readings))
            out[pid] = Provision(
                pid, kind, r.text(node.get("title"), p + ("title",)), r.string(node.get("quote"), p + ("quote",)), conditions, params
            )
        for needed in (ProvisionKind.ELIGIBILITY, ProvisionKind.PERIOD):
            if not any(pr.kind == needed for pr in out.values()):
                r.fail(("provisions",), f"no provision of kind '{needed}' (the engine needs one)")
        return out

    @staticmethod
    def context_fact(r: Reader, node: dict, p: tuple, kind: str, vocabulary: Vocabulary) -> dict[str, Any]:
        """The context fact type a provision reads, with the fields the engine reads of it."""
        fact = r.choice(
            node.get("fact"), p + ("fact",), [n for n, t in vocabulary.fact_types.items() if t.role == "context"], "context fact type"
        )
        if not fact:
            return {}
        present = vocabulary.fact_types[fact].fields
        for needed in CONTEXT_FIELDS[kind]:
            if needed not in present:
                r.fail(p + ("fact",), f"fact type {fact} lacks the field '{needed}' that {kind} reads")
        source = present.get("source")
        if kind == ProvisionKind.HIGHEST_WINS and source is not None and source.values is not None and OWN_SOURCE not in source.values:
            r.fail(p + ("fact",), f"the 'source' field of {fact} needs the value '{OWN_SOURCE}' (an award of this same policy)")
        return {"fact": fact}

    @staticmethod
    def provision_params(r: Reader, node: dict, p: tuple, kind: str, readings) -> dict[str, Any]:
        """The parameters of a provision other than eligibility, by kind."""
        if kind == ProvisionKind.CASE_BY_CASE:
            return {
                "scope": r.switchable(
                    node.get("scope"), p + ("scope",), lambda v, q: r.choice(v, q, ("subject", "applicant"), "G2 scope"), readings
                )
            }
        if kind == ProvisionKind.PERIOD:
            return {"from": r.date(node.get("from"), p + ("from",)), "to": r.date(node.get("to"), p + ("to",))}
        if kind == ProvisionKind.HIGHEST_WINS:
            return {
                "prior_awards": r.switchable(
                    node.get("prior_awards"),
                    p + ("prior_awards",),
                    lambda v, q: r.choice(v, q, ("top_up", "exclusive"), "rule for prior awards"),
                    readings,
                )
            }
        if kind == ProvisionKind.AUTHORITY:
            return {"authority": r.text(node.get("authority"), p + ("authority",))}
        return {}

    def covers(self, r: Reader, raw: Any, path: tuple, vocabulary: Vocabulary, readings, items) -> tuple[Cover, ...]:
        """Applicants a measure names beyond the eligibility provision: [{items, quote, conditions}]."""
        out = []
        for j, c in enumerate(r.sequence(raw, path)):
            cp = path + (j,)
            node = r.mapping(c, cp, required=("items", "quote", "conditions")) or {}
            ids = tuple(r.sequence(node.get("items"), cp + ("items",), "a list of item IDs"))
            for k, iid in enumerate(ids):
                if items is not None and iid not in items:
                    r.fail(cp + ("items", k), f"unknown item '{iid}'{suggest(iid, items)}")
            out.append(
                Cover(
                    ids,
                    r.string(node.get("quote"), cp + ("quote",)),
                    self.condition(r, node.get("conditions", []), cp + ("conditions",), _FieldLookup(vocabulary, None), readings),
                )
            )
        return tuple(out)

    # -- relations.yaml
    def relations(self, items: dict[str, Item], readings, prior: FactType | None = None) -> dict[str, Relation]:
        """``prior``: the context fact type of awards already granted (the highest_wins
        provision's ``fact``), whose fields ``declared_sources`` and ``declared_flag`` name."""
        r = self.read("relations.yaml")
        if r is None:
            return {}
        top = r.mapping(r.yf.data, (), required=("relations",)) or {}
        out: dict[str, Relation] = {}
        extra: dict[str, tuple[str, ...]] = {
            RelationKind.EXCLUSIVE: ("projects",),
            RelationKind.GROUP_CAP: ("cap",),
            RelationKind.EXCLUDED_BY_OTHER_REWARD: ("other_rewards",),
            RelationKind.REQUIRES: ("requires",),
        }

        def item_list(v: Any, q: tuple) -> tuple:
            ids = r.sequence(v, q, "a list of item IDs")
            for j, iid in enumerate(ids):
                if iid not in items:
                    r.fail(q + (j,), f"unknown item '{iid}'{suggest(iid, items)}")
            return tuple(ids)

        for i, raw in enumerate(r.sequence(top.get("relations"), ("relations",))):
            p = ("relations", i)
            kind = raw.get("kind") if isinstance(raw, dict) else None
            node = (
                r.mapping(
                    raw,
                    p,
                    required=("id", "kind", "title", "members", "scope", "quote") + extra.get(str(kind), ()),
                    optional=("rationale", "cites")
                    + (("payer",) if kind == RelationKind.GROUP_CAP else ())
                    + (("declared_sources", "declared_flag", "other_label") if kind == RelationKind.EXCLUDED_BY_OTHER_REWARD else ()),
                )
                or {}
            )
            kind = r.choice(node.get("kind"), p + ("kind",), tuple(RelationKind), "relation kind")
            rid = r.string(node.get("id"), p + ("id",))
            if rid in out:
                r.fail(p + ("id",), f"duplicate relation ID '{rid}'")
            members = r.switchable(node.get("members"), p + ("members",), item_list, readings)
            params = self.relation_params(r, node, p, kind, items, readings, prior)
            out[rid] = Relation(
                id=rid,
                kind=kind,
                title=r.text(node.get("title"), p + ("title",)),
                members=members,
                scope=r.choice(node.get("scope"), p + ("scope",), RELATION_SCOPES, "relation scope"),
                quote=r.string(node.get("quote"), p + ("quote",)),
                params=params,
                rationale=r.text(node["rationale"], p + ("rationale",)) if "rationale" in node else None,
                payer=r.choice(node.get("payer", self.default_payer), p + ("payer",), self.payer_ids, "payer")
                if kind == RelationKind.GROUP_CAP
                else None,
                cites=self.citations(r, node.get("cites", []), p + ("cites",)),
            )
        return out

    def relation_params(
        self, r: Reader, node: dict, p: tuple, kind: str, items: dict[str, Item], readings, prior: FactType | None
    ) -> dict[str, Any]:
        """The parameters of a relation, by kind."""
        if kind == RelationKind.EXCLUSIVE:
            return {
                "projects": r.switchable(
                    node.get("projects"), p + ("projects",), lambda v, q: r.choice(v, q, ("all", "largest"), "project rule"), readings
                )
            }
        if kind == RelationKind.GROUP_CAP:
            return {"cap": r.money(node.get("cap"), p + ("cap",))}
        if kind == RelationKind.EXCLUDED_BY_OTHER_REWARD:

            def sources(v: Any, q: tuple) -> tuple:
                return tuple(r.choice(s, q + (j,), OTHER_REWARD_SOURCES, "kind of other reward") for j, s in enumerate(r.sequence(v, q)))

            params = {"other_rewards": r.switchable(node.get("other_rewards"), p + ("other_rewards",), sources, readings)}
            params.update(self.declared(r, node, p, prior))
            if "other_label" in node:  # the other reward in words (the relation graph's node)
                params["other_label"] = r.text(node["other_label"], p + ("other_label",))
            return params
        if kind == RelationKind.REQUIRES:
            target = node.get("requires")
            if target not in items:
                r.fail(p + ("requires",), f"unknown item {_show(target)}{suggest(str(target), items)}")
            return {"requires": target}
        return {}

    @staticmethod
    def declared(r: Reader, node: dict, p: tuple, prior: FactType | None) -> dict[str, Any]:
        """Which declared awards count as another reward: ``declared_sources`` (values of the
        prior-award fact's ``source``) and ``declared_flag`` (a bool field of it that must be true)."""
        sources_spec = prior.fields.get("source") if prior is not None else None
        allowed = tuple(sources_spec.values) if sources_spec is not None and sources_spec.values else None
        out: dict[str, Any] = {
            "declared_sources": tuple(
                r.choice(s, p + ("declared_sources", j), allowed, "source of a declared award")
                if allowed
                else r.string(s, p + ("declared_sources", j))
                for j, s in enumerate(r.sequence(node.get("declared_sources", []), p + ("declared_sources",)))
            )
        }
        if "declared_flag" in node:
            flag = r.string(node["declared_flag"], p + ("declared_flag",))
            spec = prior.fields.get(flag) if prior is not None else None
            if prior is None:
                r.fail(
                    p + ("declared_flag",), "a declared_flag needs a highest_wins provision naming the fact type of awards already granted"
                )
            elif spec is None or spec.type != "bool":
                bools = [n for n, f in prior.fields.items() if f.type == "bool"]
                r.fail(
                    p + ("declared_flag",),
                    f"'{flag}' is not a bool field of {prior.name}; its bool fields: {', '.join(bools) or 'none'}{suggest(flag, bools)}",
                )
            out["declared_flag"] = flag
        return out

    # -- targets.yaml, glossary.yaml, inventory.yaml
    def targets(self) -> tuple[Target, ...]:
        r = self.read("targets.yaml")
        if r is None:
            return ()
        top = r.mapping(r.yf.data, (), required=("targets",)) or {}
        out = []
        for i, raw in enumerate(r.sequence(top.get("targets"), ("targets",))):
            p = ("targets", i)
            node = (
                r.mapping(raw, p, required=("id", "measure", "quote", "what", "op", "value", "unit"), optional=("per", "by", "each")) or {}
            )
            each = None
            if "each" in node:
                ep = p + ("each",)
                en = r.mapping(node["each"], ep, required=("what", "op", "value", "unit")) or {}
                each = Threshold(
                    r.text(en.get("what"), ep + ("what",)),
                    r.choice(en.get("op"), ep + ("op",), OPS, "operator"),
                    r.decimal(en.get("value"), ep + ("value",)),
                    r.text(en.get("unit"), ep + ("unit",)),
                )
            out.append(
                Target(
                    id=r.string(node.get("id"), p + ("id",)),
                    measure=r.integer(node.get("measure"), p + ("measure",), 0, 99),
                    quote=r.string(node.get("quote"), p + ("quote",)),
                    what=r.text(node.get("what"), p + ("what",)),
                    op=r.choice(node.get("op"), p + ("op",), OPS, "operator"),
                    value=r.decimal(node.get("value"), p + ("value",)),
                    unit=r.text(node.get("unit"), p + ("unit",)),
                    per=r.choice(node["per"], p + ("per",), ("year",), "period") if "per" in node else None,
                    by=r.integer(node["by"], p + ("by",)) if "by" in node else None,
                    each=each,
                )
            )
        return tuple(out)

    def glossary(self, vocabulary: Vocabulary) -> tuple[Term, ...]:
        r = self.read("glossary.yaml")
        if r is None:
            return ()
        top = r.mapping(r.yf.data, (), required=("terms",)) or {}
        out = []
        for i, raw in enumerate(r.sequence(top.get("terms"), ("terms",))):
            p = ("terms", i)
            node = r.mapping(raw, p, required=("term", "en", "definition", "used_in"), optional=("field",)) or {}
            fname = node.get("field")
            if fname is not None:
                owner, _, rest = str(fname).partition(".")
                known = (
                    vocabulary.applicant
                    if owner == "applicant"
                    else (vocabulary.fact_types[owner].fields if owner in vocabulary.fact_types else None)
                )
                if known is None or rest not in known:
                    r.fail(p + ("field",), f"unknown field '{fname}' (write fact_type.field or applicant.field)")
            out.append(
                Term(
                    term=r.string(node.get("term"), p + ("term",)),
                    en=r.string(node.get("en"), p + ("en",)),
                    definition=r.text(node.get("definition"), p + ("definition",)),
                    field=fname,
                    used_in=tuple(
                        r.integer(n, p + ("used_in", j), 0, 99) for j, n in enumerate(r.sequence(node.get("used_in"), p + ("used_in",)))
                    ),
                )
            )
        return tuple(out)

    def inventory(self) -> tuple[str, ...]:
        r = self.read("inventory.yaml")
        if r is None:
            return ()
        top = r.mapping(r.yf.data, (), required=("source", "items")) or {}
        ids = []
        for i, raw in enumerate(r.sequence(top.get("items"), ("items",))):
            iid = r.string(raw, ("items", i))
            if iid in ids:
                r.fail(("items", i), f"duplicate inventory ID '{iid}'")
            ids.append(iid)
        return tuple(ids)

    def cross_references(self, items: dict[str, Item], readings: dict[str, Reading]) -> None:
        for rid, (r, p) in self.reading_paths.items():
            affects = readings[rid].affects
            if affects != "all":
                for j, iid in enumerate(affects):
                    if iid not in items:
                        r.fail(p + ("affects", j), f"unknown item '{iid}'{suggest(iid, items)}")


def _check_derived(r: Reader, p: tuple, fields: dict[str, FieldSpec], derived: dict[str, FieldSpec]) -> None:
    """Every field a derived field's expression reads exists."""
    known = set(fields) | set(derived)
    for dname, spec in derived.items():
        for used in expressions.fields_of(spec.expr):
            if used not in known:
                r.fail(p + ("derived", dname, "expr"), f"unknown field '{used}' in the expression{suggest(used, known)}")


def _check_required_when(r: Reader, p: tuple, fields: dict[str, FieldSpec]) -> None:
    """``required_when`` names fields of the same fact and values they can take."""
    for fname, spec in fields.items():
        for cond_field, cond_value in (spec.required_when or {}).items():
            at = p + ("fields", fname, "required_when", cond_field)
            if cond_field not in fields:
                r.fail(at, f"unknown field '{cond_field}'{suggest(cond_field, fields)}")
            elif fields[cond_field].values is not None and cond_value not in (fields[cond_field].values or {}):
                r.fail(at, f"'{cond_value}' is not a value of {cond_field}")


def _formula_problems(a: Amount, formulas: list[str]) -> list[tuple[tuple, str]]:
    """What a cash amount's formula lacks or has too much of."""
    checks = [
        (
            a.kind in (AmountKind.CEILING, AmountKind.EXACT) and len(formulas) != 1,
            (),
            f"a {a.kind} amount needs exactly one of fixed, rate (with base), per_unit, steps; found {', '.join(formulas) or 'none'}",
        ),
        (
            a.kind == AmountKind.RANGE and (a.rate_high is None or a.base is None),
            (),
            "a range amount needs rate {low, high, says} and a base",
        ),
        (a.rate is not None and a.base is None, ("rate",), "a rate needs a base field"),
    ]
    return [(at, message) for bad, at, message in checks if bad]


def _benefit_problems(a: Amount, formulas: list[str]) -> list[tuple[tuple, str]]:
    """What a service or a discretionary route must say, and what only they have."""
    no_cash = a.kind in (AmountKind.NONE, AmountKind.DISCRETIONARY)
    checks = [
        (a.kind == AmountKind.NONE and a.benefit is None, (), "a 'none' amount must name the benefit (benefit: {zh, en})"),
        (a.kind == AmountKind.DISCRETIONARY and a.route is None, (), "a discretionary amount must name its route (route: {zh, en})"),
        (no_cash and bool(formulas), (), f"a {a.kind} amount has no formula; found {', '.join(formulas)}"),
        (a.floor is not None and a.kind != AmountKind.RANGE, ("floor",), "only a range amount has a floor"),
        (a.kind != AmountKind.NONE and bool(a.fee_cap or a.share), (), "fee_cap and share describe non-cash benefits (kind: none)"),
    ]
    return [(at, message) for bad, at, message in checks if bad]


class _FieldLookup:
    """Field specs as seen from one fact type (``None``: the applicant only)."""

    def __init__(self, vocabulary: Vocabulary, fact: str | None):
        self.vocabulary = vocabulary
        self.fact = fact

    def __call__(self, name: str) -> FieldSpec | None:
        if name.startswith("applicant."):
            return self.vocabulary.applicant.get(name[len("applicant.") :])
        if self.fact is None:
            return None
        return self.vocabulary.field(self.fact, name)

    def known(self) -> list[str]:
        names = [f"applicant.{n}" for n in self.vocabulary.applicant]
        ft = self.vocabulary.fact_types.get(self.fact or "")
        if ft:
            names += list(ft.fields) + list(ft.derived)
        return names


def load_policy(folder: str | Path) -> Policy:
    """Load and cross-check one policy folder; raise ``KBError`` listing every problem."""
    folder = Path(folder)
    if not (folder / "policy.yaml").is_file():
        raise KBError(Problem(str(folder), "not a knowledge-base folder (no policy.yaml)"))
    load = _Load(folder)
    meta = load.policy_meta()
    vocabulary = load.vocabulary()
    readings = load.readings()
    if vocabulary is None or readings is None:
        # Nothing else can be checked against a missing vocabulary; with broken readings
        # the rest is still checked, but no model can be built.
        if vocabulary is not None:
            load.measures(vocabulary, None)
            load.provisions(vocabulary, None)
        raise KBError(load.problems)
    measures, items = load.measures(vocabulary, readings)
    provisions = load.provisions(vocabulary, readings, items)
    g4 = next((pr for pr in provisions.values() if pr.kind == ProvisionKind.HIGHEST_WINS and "fact" in pr.params), None)
    relations = load.relations(items, readings, vocabulary.fact_types[g4.params["fact"]] if g4 is not None else None)
    targets = load.targets()
    glossary = load.glossary(vocabulary)
    inventory = load.inventory()
    load.cross_references(items, readings)
    if load.problems:
        raise KBError(load.problems)
    return Policy(
        id=meta["id"],
        document_number=meta["document_number"],
        title=meta["title"],
        notice_title=meta["notice_title"],
        issuer=meta["issuer"],
        issued=meta["issued"],
        in_force=meta["in_force"],
        authority=meta["authority"],
        currency=meta["currency"],
        text=meta["text"],
        chapters=meta["chapters"],
        measures=tuple(sorted(measures, key=lambda m: m.number)),
        items=dict(sorted(items.items(), key=lambda kv: kv[1].order)),
        relations=relations,
        provisions=provisions,
        readings=readings,
        targets=targets,
        glossary=glossary,
        vocabulary=vocabulary,
        inventory=inventory,
        version=content_hash(folder),
        path=str(folder),
        payers=meta["payers"],
        default_payer=meta["default_payer"],
    )
