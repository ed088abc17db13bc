"""The workbench page, rendered on the server: the shell of the page in the language asked
for, with the UI's words and the page's configuration embedded as JSON.

Everything about the policy the page shows later (labels, statuses, explanations) the page
asks the ``/v1`` routes for; this only fills in the frame: the policy's document number and
title, the bundled examples to start from, and the UI strings of ``ui.yaml``.
"""

from __future__ import annotations

import hashlib
import html
import json
from functools import lru_cache
from importlib import resources
from string import Template

import yaml

LANGS = ("zh", "en")


@lru_cache(maxsize=1)
def ui_strings() -> dict[str, dict[str, str]]:
    """The page's own words ({key: {zh, en}}), checked to have both languages."""
    data = yaml.safe_load((resources.files(__package__) / "ui.yaml").read_text(encoding="utf-8"))
    for key, text in data.items():
        if not isinstance(text, dict) or set(text) != set(LANGS) or not all(isinstance(v, str) for v in text.values()):
            raise ValueError(f"policykb/workbench/ui.yaml: {key}: expected {{zh: …, en: …}}")
    return data


@lru_cache(maxsize=1)
def asset_version() -> str:
    """A hash of the static files, so that a browser never mixes old and new scripts."""
    digest = hashlib.sha256()
    static = resources.files(__package__) / "static"
    for entry in sorted(static.iterdir(), key=lambda e: e.name):
        if entry.is_file():
            digest.update(entry.name.encode())
            digest.update(entry.read_bytes())
    return digest.hexdigest()[:12]


def _script_json(data) -> str:
    """JSON safe inside <script type="application/json"> (no "</" can close the element)."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True).replace("</", "<\\/")


def render(policy, examples: list[dict], lang: str, version: str) -> str:
    ui = ui_strings()
    words = {key: html.escape(text[lang]) for key, text in ui.items()}
    options = "\n".join(
        f'        <option value="{html.escape(e["name"])}">{html.escape(e["name"])} — {html.escape(e["label"])}</option>' for e in examples
    )
    config = {"policy": policy.id, "document_number": policy.document_number, "kb_version": policy.version, "examples": examples}
    template = Template((resources.files(__package__) / "templates" / "index.html").read_text(encoding="utf-8"))
    return template.substitute(
        words,
        html_lang="zh-CN" if lang == "zh" else "en",
        asset_version=asset_version(),
        document_number=html.escape(policy.document_number),
        title=html.escape(policy.title(lang)),
        title_zh=html.escape(policy.title.zh),
        title_en=html.escape(policy.title.en),
        example_options=options,
        kb_version=html.escape(policy.version[:12]),
        kb_version_label=words["kb_version"],
        version=html.escape(version),
        ui_json=_script_json(ui),
        config_json=_script_json(config),
    )
