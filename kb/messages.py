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


class Messages:
    def __init__(self, statuses: dict[str, Text], amount_kinds: dict[str, Text], phrases: dict[str, Text]):
        self.statuses = statuses
        self.amount_kinds = amount_kinds
        self.phrases = phrases

    def status(self, status: str, lang: str) -> str:
        return self.statuses[status](lang)

    def amount_kind(self, kind: str, lang: str) -> str:
        return self.amount_kinds[kind](lang)

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
    for section in ("statuses", "amount_kinds", "phrases"):
        raw = data.get(section)
        if not isinstance(raw, dict):
            problems.append(Problem(yf.where((section,)), "missing section (a mapping of names to {zh, en})"))
            sections[section] = {}
            continue
        out = {}
        for name, text in raw.items():
            where = yf.where((section, name))
            if not isinstance(text, dict) or set(text) != {"zh", "en"} or not all(isinstance(text[k], str) and text[k] for k in ("zh", "en")):
                problems.append(Problem(where, "expected {zh: …, en: …} with both texts"))
                continue
            holders = {lang: set(PLACEHOLDER.findall(text[lang])) for lang in ("zh", "en")}
            if holders["zh"] != holders["en"]:
                problems.append(Problem(where, f"the languages use different placeholders: zh {sorted(holders['zh'])}, en {sorted(holders['en'])}"))
            for lang in ("zh", "en"):
                if _STRAY_BRACE.search(PLACEHOLDER.sub("", text[lang])):
                    problems.append(Problem(where, f"{lang}: braces other than {{name}} placeholders"))
            out[str(name)] = Text(text["zh"], text["en"])
        sections[section] = out
    unknown = set(data) - {"statuses", "amount_kinds", "phrases"}
    for key in sorted(unknown):
        problems.append(Problem(yf.where((key,)), "unknown section; allowed: statuses, amount_kinds, phrases"))
    if problems:
        return None, problems
    return Messages(sections["statuses"], sections["amount_kinds"], sections["phrases"]), []


@lru_cache(maxsize=1)
def messages() -> Messages:
    loaded, problems = check_messages()
    if loaded is None:
        raise KBError(problems)
    return loaded
