"""The words of explanations and reports, loaded from ``kb/messages.yaml``.

Templates hold ``{name}`` placeholders and nothing else; they are filled by plain
substitution (never ``str.format``, which would let a template reach attributes).
The loader checks that every phrase has both languages with the same placeholders.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from policykb.errors import KBError, Problem

from .model import Text
from .yamlio import YamlFile

MESSAGES_FILE = Path(__file__).resolve().parent / "messages.yaml"
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_STRAY_BRACE = re.compile(r"\{(?![a-z_]+\})|(?<!\{[a-z_])\}")


SECTIONS = ("statuses", "amount_kinds", "relation_kinds", "finding_codes", "severities", "phrases")


class Messages:
    def __init__(
        self,
        statuses: dict[str, Text],
        amount_kinds: dict[str, Text],
        phrases: dict[str, Text],
        relation_kinds: dict[str, Text] | None = None,
        finding_codes: dict[str, Text] | None = None,
        severities: dict[str, Text] | None = None,
    ):
        self.statuses = statuses
        self.amount_kinds = amount_kinds
        self.phrases = phrases
        self.relation_kinds = relation_kinds or {}
        self.finding_codes = finding_codes or {}
        self.severities = severities or {}

    def status(self, status: str, lang: str) -> str:
        return self.statuses[status](lang)

    def amount_kind(self, kind: str, lang: str) -> str:
        return self.amount_kinds[kind](lang)

    def relation_kind(self, kind: str, lang: str) -> str:
        """A relation's or provision's kind in words (互斥, take the highest …); the kind itself if unnamed."""
        return self.relation_kinds[kind](lang) if kind in self.relation_kinds else kind

    def code(self, code: str, lang: str) -> str:
        """An audit finding code for people: in Chinese its words with the code beside it for
        machines (不符合条件 NOT_ELIGIBLE); in English the code reads as words already."""
        if lang == "en" or code not in self.finding_codes:
            return code
        return f"{self.finding_codes[code](lang)} {code}"

    def severity(self, severity: str, lang: str) -> str:
        return self.severities[severity](lang) if severity in self.severities else severity

    def measure(self, label: str, number, lang: str) -> str:
        """A measure as each language names it: its label （一） in Chinese, "measure 1" in English."""
        return self.say("measure", lang, label=label if lang == "zh" else number)

    def say(self, name: str, lang: str, **values: Any) -> str:
        template = self.phrases[name](lang)
        return PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), template)

    def both(self, name: str, **values: Any) -> Text:
        """The phrase in both languages; values may be Text (picked per language) or plain."""

        def pick(lang: str) -> dict:
            return {k: (v(lang) if isinstance(v, Text) else v) for k, v in values.items()}

        return Text(self.say(name, "zh", **pick("zh")), self.say(name, "en", **pick("en")))


def check_messages(path: Path = MESSAGES_FILE) -> tuple[Messages | None, list[Problem]]:
    yf = YamlFile(path, path.name)
    if yf.error:
        return None, [Problem(path.name, yf.error)]
    problems = [Problem(yf.where(p), f"duplicate key (first at line {first})") for p, _, first in yf.duplicates]
    data = yf.data if isinstance(yf.data, dict) else {}
    sections: dict[str, dict[str, Text]] = {}
    for section in SECTIONS:
        raw = data.get(section)
        if not isinstance(raw, dict):
            problems.append(Problem(yf.where((section,)), "missing section (a mapping of names to {zh, en})"))
            sections[section] = {}
            continue
        out = {}
        for name, text in raw.items():
            where = yf.where((section, name))
            if (
                not isinstance(text, dict)
                or set(text) != {"zh", "en"}
                or not all(isinstance(text[k], str) and text[k] for k in ("zh", "en"))
            ):
                problems.append(Problem(where, "expected {zh: …, en: …} with both texts"))
                continue
            holders = {lang: set(PLACEHOLDER.findall(text[lang])) for lang in ("zh", "en")}
            if holders["zh"] != holders["en"]:
                problems.append(
                    Problem(where, f"the languages use different placeholders: zh {sorted(holders['zh'])}, en {sorted(holders['en'])}")
                )
            for lang in ("zh", "en"):
                if _STRAY_BRACE.search(PLACEHOLDER.sub("", text[lang])):
                    problems.append(Problem(where, f"{lang}: braces other than {{name}} placeholders"))
            out[str(name)] = Text(text["zh"], text["en"])
        sections[section] = out
    unknown = set(data) - set(SECTIONS)
    for key in sorted(unknown):
        problems.append(Problem(yf.where((key,)), f"unknown section; allowed: {', '.join(SECTIONS)}"))
    if problems:
        return None, problems
    return Messages(
        sections["statuses"],
        sections["amount_kinds"],
        sections["phrases"],
        sections["relation_kinds"],
        sections["finding_codes"],
        sections["severities"],
    ), []


@lru_cache(maxsize=1)
def messages() -> Messages:
    loaded, problems = check_messages()
    if loaded is None:
        raise KBError(problems)
    return loaded
