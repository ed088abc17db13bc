"""The shape every explanation-like result shares: data for programs, lines for people."""

from __future__ import annotations

from policykb.kb.model import Text


class Answer:
    """``data`` (JSON-ready) and ``lines`` (bilingual); ``to_dict()`` adds the lines as text."""

    def __init__(self, data: dict, lines: list[Text]):
        self.data = data
        self.lines = lines

    def to_dict(self) -> dict:
        out = dict(self.data)
        out["text"] = {"zh": [line.zh for line in self.lines], "en": [line.en for line in self.lines]}
        return out

    def to_text(self, lang: str = "zh") -> str:
        return "\n".join(line(lang) for line in self.lines) + "\n"
