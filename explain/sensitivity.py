"""Which readings of ambiguous sentences change this application's outcome, and how.

Each alternative option of each reading is evaluated on its own (the others kept as
given), and the outcomes that differ are listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policykb.kb.messages import messages
from policykb.kb.model import Text

from .answer import Answer
from .changes import diff
from .whatif import state_text


def reading_effects(kb, document: Any, readings: Mapping[str, str] | None = None, source: str = "") -> dict:
    base = kb.evaluate(document, readings, source=source)
    effects = []
    no_effect = []
    for rid, reading in kb.policy.readings.items():
        changed_any = False
        for option in reading.options:
            if option == base.readings[rid]:
                continue
            other = kb.evaluate(base.application, dict(base.readings, **{rid: option}))
            rows = diff(base, other)
            if rows:
                changed_any = True
                effects.append(
                    {
                        "reading": rid,
                        "option": option,
                        "question": reading.question.to_dict(),
                        "label": reading.options[option].to_dict(),
                        "changes": rows,
                    }
                )
        if not changed_any:
            no_effect.append(rid)
    return {"policy": kb.policy.id, "kb_version": kb.version, "readings": dict(base.readings), "effects": effects, "no_effect": no_effect}


def to_lines(kb, result: dict) -> list[Text]:
    m = messages()
    lines: list[Text] = []
    for effect in result["effects"]:
        reading = kb.policy.readings[effect["reading"]]
        lines.append(
            m.both(
                "reading_line",
                reading=effect["reading"],
                question=reading.question,
                option=reading.options[result["readings"][effect["reading"]]],
            )
        )
        lines.append(
            Text(
                "  " + m.say("reading_changes", "zh", reading=effect["reading"], option=reading.options[effect["option"]].zh),
                "  " + m.say("reading_changes", "en", reading=effect["reading"], option=reading.options[effect["option"]].en),
            )
        )
        for row in effect["changes"]:
            texts = {}
            for lang in ("zh", "en"):
                texts[lang] = "    " + m.say(
                    "change_outcome",
                    lang,
                    item=row["item"],
                    subject=row["subject"],
                    old=state_text(row["before"], lang),
                    new=state_text(row["after"], lang),
                )
            lines.append(Text(texts["zh"], texts["en"]))
        lines.append(Text("", ""))
    if result["no_effect"]:
        lines.append(m.both("reading_no_effect", readings=", ".join(result["no_effect"])))
    return lines


def answer(kb, document: Any, readings: Mapping[str, str] | None = None, source: str = "") -> Answer:
    """Which readings matter for ``document``, as the answer ``policykb readings`` prints."""
    result = reading_effects(kb, document, readings, source=source)
    return Answer(result, to_lines(kb, result))
