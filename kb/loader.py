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
from pathlib import Path
from typing import Any, Callable

import yaml

from policykb.errors import KBError, Problem, suggest

from . import expressions
from .model import (
    ALWAYS,
    AMOUNT_KINDS,
    FIELD_TYPES,
    OPS,
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

RELATION_KINDS = ("exclusive", "highest", "group_cap", "excluded_by_other_reward", "requires", "complementary")
RELATION_SCOPES = ("enterprise_year", "subject")
PROVISION_KINDS = ("eligibility", "case_by_case", "period", "highest_wins", "authority")
OTHER_REWARD_SOURCES = ("met", "granted", "declared")
FLOOR_APPLIES = ("always", "when_reached")
REPEATS = ("once", "yearly")
PAYERS = ("taicang", "suzhou")

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
        from policykb.errors import InputError, suggest

        hint = "; to load a KB folder, use --kb PATH (load(path=...) in Python)" if any(c in name for c in "/\\.") or name.startswith("~") else ""
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
        for dup_path, line, first in yf.duplicates:
            reader.fail(dup_path, f"duplicate key (first at line {first}); YAML would silently keep only the last")
        return reader

    # -- policy.yaml
    @staticmethod
    def payers(r: Any, value: Any) -> dict[str, Text]:
        """Who pays, as decisions name them (the first is the policy's own purse)."""
        if value is None:
            return {p: Text(p, p) for p in PAYERS}
        node = r.mapping(value, ("payers",), optional=PAYERS) or {}
        return {p: r.text(v, ("payers", p)) for p, v in node.items()}

    def policy_meta(self) -> dict:
        r = self.read("policy.yaml")
        if r is None:
            return {}
        node = r.mapping(
            r.yf.data, (),
            required=("id", "document_number", "title", "issuer", "issued", "in_force", "interpretation_authority", "text"),
            optional=("notice_title", "currency", "chapters", "payers"),
        ) or {}
        meta: dict[str, Any] = {
            "id": r.string(node.get("id"), ("id",)),
            "document_number": r.string(node.get("document_number"), ("document_number",)),
            "title": r.text(node.get("title"), ("title",)),
            "notice_title": r.text(node["notice_title"], ("notice_title",)) if "notice_title" in node else r.text(node.get("title"), ("title",)),
            "issuer": r.text(node.get("issuer"), ("issuer",)),
            "issued": r.date(node.get("issued"), ("issued",)),
            "authority": r.text(node.get("interpretation_authority"), ("interpretation_authority",)),
            "currency": r.string(node.get("currency", "CNY"), ("currency",)),
            "payers": self.payers(r, node.get("payers")),
        }
        force = r.mapping(node.get("in_force"), ("in_force",), required=("from", "to")) or {}
        meta["in_force"] = (r.date(force.get("from"), ("in_force", "from")), r.date(force.get("to"), ("in_force", "to")))
        text_name = r.string(node.get("text"), ("text",))
        text_path = self.folder / text_name if text_name else None
        if text_path is not None and not inside(self.folder, text_path):
            r.fail(("text",), f"the policy text file '{text_name}' lies outside {self.folder.name}/; every file of a KB lies inside its folder")
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
        return meta

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
            (op, operands), = raw.items()
            if op not in expressions.OPERATORS:
                r.fail(path + (op,), f"unknown operator '{op}'; allowed: {', '.join(expressions.OPERATORS)}{suggest(op, expressions.OPERATORS)}")
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
        fact_types: dict[str, FactType] = {}
        for tname, traw in types_raw.items():
            p = ("fact_types", tname)
            node = r.mapping(traw, p, required=("label", "subject", "fields"), optional=("derived", "role")) or {}
            subj = r.mapping(node.get("subject"), p + ("subject",), required=("kind",), optional=("required",)) or {}
            kind = r.choice(subj.get("kind"), p + ("subject", "kind"), subject_kinds, "subject kind")
            fields_node = r.table(node.get("fields"), p + ("fields",))
            fields = {str(k): self.field_spec(r, str(k), v, p + ("fields", k)) for k, v in fields_node.items()}
            derived_raw = r.table(node.get("derived", {}), p + ("derived",))
            derived = {str(k): self.field_spec(r, str(k), v, p + ("derived", k), derived=True) for k, v in derived_raw.items()}
            for dname, spec in derived.items():
                known = set(fields) | set(derived)
                for used in expressions.fields_of(spec.expr):
                    if used not in known:
                        r.fail(p + ("derived", dname, "expr"), f"unknown field '{used}' in the expression{suggest(used, known)}")
            for name in list(fields) + list(derived):
                if name in common or name in ("type", "subject"):
                    r.fail(p + ("fields", name), f"'{name}' is a field every fact has already")
            for fname, spec in fields.items():
                for cond_field, cond_value in (spec.required_when or {}).items():
                    if cond_field not in fields:
                        r.fail(p + ("fields", fname, "required_when", cond_field), f"unknown field '{cond_field}'{suggest(cond_field, fields)}")
                    elif fields[cond_field].values is not None and cond_value not in fields[cond_field].values:
                        r.fail(p + ("fields", fname, "required_when", cond_field), f"'{cond_value}' is not a value of {cond_field}")
            role = r.choice(node.get("role", "item"), p + ("role",), ("item", "context"), "fact role")
            fact_types[str(tname)] = FactType(
                name=str(tname),
                label=r.text(node.get("label"), p + ("label",)),
                subject_kind=kind,
                subject_required=r.boolean(subj.get("required", False), p + ("subject", "required")),
                fields=fields,
                derived=derived,
                role=role,
            )
        return Vocabulary(subject_kinds, applicant, r.text(app.get("label"), ("applicant", "label")), common, fact_types)

    # -- readings.yaml
    def readings(self) -> dict[str, Reading] | None:
        r = self.read("readings.yaml")
        if r is None:
            return None
        top = r.mapping(r.yf.data, (), required=("readings",)) or {}
        out: dict[str, Reading] = {}
        for i, raw in enumerate(r.sequence(top.get("readings"), ("readings",))):
            p = ("readings", i)
            node = r.mapping(raw, p, required=("id", "question", "quote", "default", "options", "affects"), optional=("quotes", "cites")) or {}
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
            affects: Any = "all" if affects_raw == "all" else tuple(r.sequence(affects_raw, p + ("affects",), "a list of item IDs or 'all'"))
            quotes = tuple(r.string(q, p + ("quotes", j)) for j, q in enumerate(r.sequence(node.get("quotes", []), p + ("quotes",))))
            cites = self.citations(r, node.get("cites", []), p + ("cites",))
            out[rid] = Reading(rid, r.text(node.get("question"), p + ("question",)), r.string(node.get("quote"), p + ("quote",)), default, options, affects,
                               quotes, cites)
            self.reading_paths[rid] = (r, p)
        return out

    @staticmethod
    def citations(r: Reader, raw: Any, path: tuple) -> tuple[Citation, ...]:
        """Sentences of other documents: [{document: {zh, en}, issued, clause, quote}]."""
        out = []
        for j, c in enumerate(r.sequence(raw, path)):
            cp = path + (j,)
            cn = r.mapping(c, cp, required=("document", "clause", "quote"), optional=("issued",)) or {}
            out.append(Citation(r.text(cn.get("document"), cp + ("document",)), r.date(cn["issued"], cp + ("issued",)) if "issued" in cn else None,
                                r.string(cn.get("clause"), cp + ("clause",)), r.string(cn.get("quote"), cp + ("quote",))))
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
            return Compare(name, op, None, says, ref=ref or None)
        if spec is None:
            return Compare(name, op, value, says)
        if op == "in":
            values = r.sequence(value, path + ("value",), "a list of values for 'in'")
            typed = tuple(self.typed(r, v, path + ("value", i), spec) for i, v in enumerate(values))
            return Compare(name, op, typed, says)
        if op in ("gt", "gte", "lt", "lte") and spec.type not in ("money", "count", "integer", "year", "date"):
            r.fail(path + ("op",), f"'{op}' needs a number or date field; {name} is {spec.type}")
        return Compare(name, op, self.typed(r, value, path + ("value",), spec), says)

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
        node = r.mapping(
            raw, path, required=("kind",),
            optional=("fixed", "rate", "base", "per_unit", "steps", "floor", "cap", "route", "benefit", "fee_cap", "share", "also"),
        ) or {}
        kind = r.choice(node.get("kind"), path + ("kind",), AMOUNT_KINDS, "amount kind")
        fixed = self.sum_node(r, node["fixed"], path + ("fixed",)) if "fixed" in node else None
        rate = rate_high = None
        if "rate" in node:
            if kind == "range":
                rn = r.mapping(node["rate"], path + ("rate",), required=("low", "high", "says")) or {}
                says = r.string(rn.get("says"), path + ("rate", "says"))
                rate = Sum(r.decimal(rn.get("low"), path + ("rate", "low")), says)
                rate_high = Sum(r.decimal(rn.get("high"), path + ("rate", "high")), says)
                if rate.value > rate_high.value:
                    r.fail(path + ("rate",), f"low rate {rate.value} is above high rate {rate_high.value}")
            else:
                rate = self.sum_node(r, node["rate"], path + ("rate",), money=False)
        base = None
        if "base" in node:
            base = r.string(node["base"], path + ("base",))
            spec = field_type(base)
            if spec is None:
                r.fail(path + ("base",), f"unknown field '{base}' for this fact{suggest(base, field_type.known())}")
            elif spec.type != "money":
                r.fail(path + ("base",), f"the base of a rate must be a money field; {base} is {spec.type}")
        per_unit = []
        for i, pu in enumerate(r.sequence(node.get("per_unit", []), path + ("per_unit",))):
            pn = r.mapping(pu, path + ("per_unit", i), required=("count", "each", "says")) or {}
            count = r.string(pn.get("count"), path + ("per_unit", i, "count"))
            spec = field_type(count)
            if spec is None:
                r.fail(path + ("per_unit", i, "count"), f"unknown field '{count}' for this fact{suggest(count, field_type.known())}")
            elif spec.type != "count":
                r.fail(path + ("per_unit", i, "count"), f"a per-unit sum needs a count field; {count} is {spec.type}")
            per_unit.append(PerUnit(count, r.money(pn.get("each"), path + ("per_unit", i, "each")), r.string(pn.get("says"), path + ("per_unit", i, "says"))))
        steps = None
        if "steps" in node:
            sn = r.mapping(node["steps"], path + ("steps",), required=("of", "size", "each", "says")) or {}
            of = r.string(sn.get("of"), path + ("steps", "of"))
            if field_type(of) is None:
                r.fail(path + ("steps", "of"), f"unknown field '{of}' for this fact{suggest(of, field_type.known())}")
            steps = Steps(of, r.money(sn.get("size"), path + ("steps", "size")), r.money(sn.get("each"), path + ("steps", "each")), r.string(sn.get("says"), path + ("steps", "says")))
            if steps.size <= 0:
                r.fail(path + ("steps", "size"), "a step size must be above zero")
        floor = None
        if "floor" in node:
            fn = r.mapping(node["floor"], path + ("floor",), required=("value", "says"), optional=("applies",)) or {}
            applies = r.switchable(
                fn.get("applies", "always"), path + ("floor", "applies"),
                lambda v, p: r.choice(v, p, FLOOR_APPLIES, "floor rule"), readings,
            )
            floor = Floor(r.money(fn.get("value"), path + ("floor", "value")), r.string(fn.get("says"), path + ("floor", "says")), applies)
        cap = self.sum_node(r, node["cap"], path + ("cap",)) if "cap" in node else None
        amount = Amount(
            kind=kind, fixed=fixed, rate=rate, rate_high=rate_high, base=base, per_unit=tuple(per_unit), steps=steps,
            floor=floor, cap=cap,
            route=r.text(node["route"], path + ("route",)) if "route" in node else None,
            benefit=r.text(node["benefit"], path + ("benefit",)) if "benefit" in node else None,
            fee_cap=self.sum_node(r, node["fee_cap"], path + ("fee_cap",)) if "fee_cap" in node else None,
            share=self.sum_node(r, node["share"], path + ("share",), money=False) if "share" in node else None,
            also=r.text(node["also"], path + ("also",)) if "also" in node else None,
        )
        self.check_amount_shape(r, amount, path)
        return amount

    def check_amount_shape(self, r: Reader, a: Amount, path: tuple) -> None:
        formulas = [name for name, present in (("fixed", a.fixed), ("rate", a.rate), ("per_unit", a.per_unit), ("steps", a.steps)) if present]
        if a.kind in ("ceiling", "exact"):
            if len(formulas) != 1:
                r.fail(path, f"a {a.kind} amount needs exactly one of fixed, rate (with base), per_unit, steps; found {', '.join(formulas) or 'none'}")
        if a.kind == "range" and (a.rate_high is None or a.base is None):
            r.fail(path, "a range amount needs rate {low, high, says} and a base")
        if a.rate is not None and a.base is None:
            r.fail(path + ("rate",), "a rate needs a base field")
        if a.kind == "none" and a.benefit is None:
            r.fail(path, "a 'none' amount must name the benefit (benefit: {zh, en})")
        if a.kind == "discretionary" and a.route is None:
            r.fail(path, "a discretionary amount must name its route (route: {zh, en})")
        if a.kind in ("none", "discretionary") and formulas:
            r.fail(path, f"a {a.kind} amount has no formula; found {', '.join(formulas)}")
        if a.floor is not None and a.kind != "range":
            r.fail(path + ("floor",), "only a range amount has a floor")
        if a.kind not in ("none",) and (a.fee_cap or a.share):
            r.fail(path, "fee_cap and share describe non-cash benefits (kind: none)")

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
            number_in_name = int(MEASURE_FILE.match(fname).group(1))
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

    def item(self, r: Reader, raw: Any, path: tuple, number: int, label: str, vocabulary: Vocabulary, readings, order: int, fname: str) -> Item | None:
        node = r.mapping(
            raw, path,
            required=("id", "title", "applicants", "subject", "fact", "quote", "amount"),
            optional=("select", "conditions", "readings", "repeat", "payer"),
        )
        if node is None:
            return None
        iid = r.string(node.get("id"), path + ("id",))
        m = ITEM_ID.match(iid or "")
        if iid and not m:
            r.fail(path + ("id",), f"an item ID looks like m01.equipment; found '{iid}'")
        elif m and int(m.group(1)) != number:
            r.fail(path + ("id",), f"item '{iid}' is in measure {number}; its ID must start with m{number:02d}.")
        fact = r.choice(node.get("fact"), path + ("fact",), [n for n, t in vocabulary.fact_types.items() if t.role == "item"], "fact type")
        field_type = _FieldLookup(vocabulary, fact)
        kinds = (vocabulary.applicant.get("kind").values or {}) if vocabulary.applicant.get("kind") else {}
        applicants = tuple(r.choice(k, path + ("applicants", i), kinds, "applicant kind") for i, k in enumerate(r.sequence(node.get("applicants"), path + ("applicants",))))
        if not applicants:
            r.fail(path + ("applicants",), "an item is for at least one kind of applicant")
        select: dict[str, tuple] = {}
        for fname_sel, values in r.table(node.get("select", {}), path + ("select",)).items():
            spec = field_type(fname_sel)
            if spec is None:
                r.fail(path + ("select", fname_sel), f"unknown field '{fname_sel}' for {fact}{suggest(fname_sel, field_type.known())}")
                continue
            if spec.type not in ("enum", "integer", "bool"):
                r.fail(path + ("select", fname_sel), f"select works on enum, integer and bool fields; {fname_sel} is {spec.type}")
            listed = values if isinstance(values, list) else [values]
            select[fname_sel] = tuple(self.typed(r, v, path + ("select", fname_sel), spec) for v in listed)
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
            repeat=r.switchable(node.get("repeat", "once"), path + ("repeat",), lambda v, q: r.choice(v, q, REPEATS, "repeat rule"), readings),
            payer=r.choice(node.get("payer", "taicang"), path + ("payer",), PAYERS, "payer"),
            order=order,
            file=fname,
        )

    # -- general.yaml
    def provisions(self, vocabulary: Vocabulary, readings, items=None) -> dict[str, Provision]:
        r = self.read("general.yaml")
        if r is None:
            return {}
        top = r.mapping(r.yf.data, (), required=("provisions",)) or {}
        out: dict[str, Provision] = {}
        extra = {
            "eligibility": ("conditions",),
            "case_by_case": ("scope", "fact"),
            "period": ("from", "to"),
            "highest_wins": ("prior_awards", "fact"),
            "authority": ("authority",),
        }
        # the fields the engine reads from the context facts these provisions name
        context_fields = {"case_by_case": ("items",), "highest_wins": ("source", "item", "year", "amount", "smart_digital")}
        for i, raw in enumerate(r.sequence(top.get("provisions"), ("provisions",))):
            p = ("provisions", i)
            kind = raw.get("kind") if isinstance(raw, dict) else None
            node = r.mapping(raw, p, required=("id", "kind", "title", "quote") + extra.get(kind, ()),
                             optional=("covers",) if kind == "eligibility" else ()) or {}
            kind = r.choice(node.get("kind"), p + ("kind",), PROVISION_KINDS, "provision kind")
            pid = r.string(node.get("id"), p + ("id",))
            if pid in out:
                r.fail(p + ("id",), f"duplicate provision ID '{pid}'")
            params: dict[str, Any] = {}
            conditions = None
            if kind in context_fields:
                fact = r.choice(node.get("fact"), p + ("fact",), [n for n, t in vocabulary.fact_types.items() if t.role == "context"], "context fact type")
                if fact:
                    params["fact"] = fact
                    present = vocabulary.fact_types[fact].fields
                    for needed in context_fields[kind]:
                        if needed not in present:
                            r.fail(p + ("fact",), f"fact type {fact} lacks the field '{needed}' that {kind} reads")
            if kind == "eligibility":
                conditions = self.condition(r, node.get("conditions", []), p + ("conditions",), _FieldLookup(vocabulary, None), readings)
                if "covers" in node:
                    params["covers"] = r.switchable(node["covers"], p + ("covers",), lambda v, q: self.covers(r, v, q, vocabulary, readings, items), readings)
            elif kind == "case_by_case":
                params["scope"] = r.switchable(node.get("scope"), p + ("scope",), lambda v, q: r.choice(v, q, ("subject", "applicant"), "G2 scope"), readings)
            elif kind == "period":
                params["from"] = r.date(node.get("from"), p + ("from",))
                params["to"] = r.date(node.get("to"), p + ("to",))
            elif kind == "highest_wins":
                params["prior_awards"] = r.switchable(node.get("prior_awards"), p + ("prior_awards",), lambda v, q: r.choice(v, q, ("top_up", "exclusive"), "rule for prior awards"), readings)
            elif kind == "authority":
                params["authority"] = r.text(node.get("authority"), p + ("authority",))
            out[pid] = Provision(pid, kind, r.text(node.get("title"), p + ("title",)), r.string(node.get("quote"), p + ("quote",)), conditions, params)
        for needed in ("eligibility", "period"):
            if not any(pr.kind == needed for pr in out.values()):
                r.fail(("provisions",), f"no provision of kind '{needed}' (the engine needs one)")
        return out

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
            out.append(Cover(ids, r.string(node.get("quote"), cp + ("quote",)),
                             self.condition(r, node.get("conditions", []), cp + ("conditions",), _FieldLookup(vocabulary, None), readings)))
        return tuple(out)

    # -- relations.yaml
    def relations(self, items: dict[str, Item], readings) -> dict[str, Relation]:
        r = self.read("relations.yaml")
        if r is None:
            return {}
        top = r.mapping(r.yf.data, (), required=("relations",)) or {}
        out: dict[str, Relation] = {}
        extra = {"exclusive": ("projects",), "group_cap": ("cap",), "excluded_by_other_reward": ("other_rewards",), "requires": ("requires",)}

        def item_list(v: Any, q: tuple) -> tuple:
            ids = r.sequence(v, q, "a list of item IDs")
            for j, iid in enumerate(ids):
                if iid not in items:
                    r.fail(q + (j,), f"unknown item '{iid}'{suggest(iid, items)}")
            return tuple(ids)

        for i, raw in enumerate(r.sequence(top.get("relations"), ("relations",))):
            p = ("relations", i)
            kind = raw.get("kind") if isinstance(raw, dict) else None
            node = r.mapping(raw, p, required=("id", "kind", "title", "members", "scope", "quote") + extra.get(kind, ()),
                             optional=("rationale", "cites") + (("payer",) if kind == "group_cap" else ())
                             + (("declared_sources",) if kind == "excluded_by_other_reward" else ())) or {}
            kind = r.choice(node.get("kind"), p + ("kind",), RELATION_KINDS, "relation kind")
            rid = r.string(node.get("id"), p + ("id",))
            if rid in out:
                r.fail(p + ("id",), f"duplicate relation ID '{rid}'")
            members = r.switchable(node.get("members"), p + ("members",), item_list, readings)
            params: dict[str, Any] = {}
            if kind == "exclusive":
                params["projects"] = r.switchable(node.get("projects"), p + ("projects",), lambda v, q: r.choice(v, q, ("all", "largest"), "project rule"), readings)
            elif kind == "group_cap":
                params["cap"] = r.money(node.get("cap"), p + ("cap",))
            elif kind == "excluded_by_other_reward":
                def sources(v: Any, q: tuple) -> tuple:
                    return tuple(r.choice(s, q + (j,), OTHER_REWARD_SOURCES, "kind of other reward") for j, s in enumerate(r.sequence(v, q)))
                params["other_rewards"] = r.switchable(node.get("other_rewards"), p + ("other_rewards",), sources, readings)
                # which sources of a declared award (prior_award.source) count as "declared"
                params["declared_sources"] = tuple(r.string(s, p + ("declared_sources", j))
                                                   for j, s in enumerate(r.sequence(node.get("declared_sources", []), p + ("declared_sources",))))
            elif kind == "requires":
                target = node.get("requires")
                if target not in items:
                    r.fail(p + ("requires",), f"unknown item {_show(target)}{suggest(target, items)}")
                params["requires"] = target
            out[rid] = Relation(
                id=rid, kind=kind, title=r.text(node.get("title"), p + ("title",)), members=members,
                scope=r.choice(node.get("scope"), p + ("scope",), RELATION_SCOPES, "relation scope"),
                quote=r.string(node.get("quote"), p + ("quote",)), params=params,
                rationale=r.text(node["rationale"], p + ("rationale",)) if "rationale" in node else None,
                payer=r.choice(node.get("payer", "taicang"), p + ("payer",), PAYERS, "payer") if kind == "group_cap" else None,
                cites=self.citations(r, node.get("cites", []), p + ("cites",)),
            )
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
            node = r.mapping(raw, p, required=("id", "measure", "quote", "what", "op", "value", "unit"), optional=("per", "by", "each")) or {}
            each = None
            if "each" in node:
                ep = p + ("each",)
                en = r.mapping(node["each"], ep, required=("what", "op", "value", "unit")) or {}
                each = Threshold(r.text(en.get("what"), ep + ("what",)), r.choice(en.get("op"), ep + ("op",), OPS, "operator"),
                                 r.decimal(en.get("value"), ep + ("value",)), r.text(en.get("unit"), ep + ("unit",)))
            out.append(Target(
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
            ))
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
                known = vocabulary.applicant if owner == "applicant" else (vocabulary.fact_types[owner].fields if owner in vocabulary.fact_types else None)
                if known is None or rest not in known:
                    r.fail(p + ("field",), f"unknown field '{fname}' (write fact_type.field or applicant.field)")
            out.append(Term(
                term=r.string(node.get("term"), p + ("term",)),
                en=r.string(node.get("en"), p + ("en",)),
                definition=r.text(node.get("definition"), p + ("definition",)),
                field=fname,
                used_in=tuple(r.integer(n, p + ("used_in", j), 0, 99) for j, n in enumerate(r.sequence(node.get("used_in"), p + ("used_in",)))),
            ))
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

    def cross_references(self, items: dict[str, Item], relations: dict[str, Relation], readings: dict[str, Reading]) -> None:
        for rid, (r, p) in self.reading_paths.items():
            affects = readings[rid].affects
            if affects != "all":
                for j, iid in enumerate(affects):
                    if iid not in items:
                        r.fail(p + ("affects", j), f"unknown item '{iid}'{suggest(iid, items)}")


class _FieldLookup:
    """Field specs as seen from one fact type (``None``: the applicant only)."""

    def __init__(self, vocabulary: Vocabulary, fact: str | None):
        self.vocabulary = vocabulary
        self.fact = fact

    def __call__(self, name: str) -> FieldSpec | None:
        if name.startswith("applicant."):
            return self.vocabulary.applicant.get(name[len("applicant."):])
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
    relations = load.relations(items, readings)
    targets = load.targets()
    glossary = load.glossary(vocabulary)
    inventory = load.inventory()
    load.cross_references(items, relations, readings)
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
    )
