"""The workbench without a browser: the vocabulary its form is generated from, its words,
the server-rendered page, and the files it ships."""

from __future__ import annotations

import json
import re
from pathlib import Path

from policykb.kb.conditions import compares

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "policykb" / "workbench" / "static"


def test_vocabulary_covers_every_field_with_both_labels(policy):
    from policykb.forms import vocabulary

    v = vocabulary(policy)
    types = {f["type"]: f for f in v["fact_types"]}
    assert set(types) == set(policy.vocabulary.fact_types)
    for name, ft in policy.vocabulary.fact_types.items():
        assert [f["name"] for f in types[name]["fields"]] == list(ft.fields)
        for field in types[name]["fields"]:
            assert field["label"]["zh"] and field["label"]["en"], (name, field["name"])
            if field["type"] == "enum":
                assert [x["value"] for x in field["values"]] == list(ft.fields[field["name"]].values)
            if field["type"] == "money":
                assert field["unit"] == {"zh": "元", "en": "yuan"}
    assert [f["name"] for f in v["applicant"]["fields"]] == list(policy.vocabulary.applicant)
    assert set(v["statuses"]) >= {"eligible", "reduced", "excluded", "ineligible", "undetermined"}


def test_every_condition_field_says_which_sentence_it_feeds(policy):
    from policykb.forms import vocabulary

    v = vocabulary(policy)
    feeds = {(f["type"], x["name"]): x["feeds"] for f in v["fact_types"] for x in f["fields"]}
    feeds.update({("applicant", x["name"]): x["feeds"] for x in v["applicant"]["fields"]})
    for item in policy.items.values():
        for c in compares(item.conditions):
            key = ("applicant", c.field[len("applicant.") :]) if c.field.startswith("applicant.") else (item.fact, c.field)
            if key not in feeds:  # a derived field: not entered, so not on the form
                assert policy.vocabulary.fact_types[item.fact].derived.get(c.field) is not None, (item.id, c.field)
                continue
            assert any(f["item"] == item.id and f["says"] == (c.says or item.quote) for f in feeds[key]), (item.id, c.field)
    equipment = [f["says"] for f in feeds[("transformation_project", "equipment_investment")] if f["item"] == "m01.equipment"]
    # the threshold's words, and the item's sentence, whose amount it is the base of
    assert equipment == ["设备投资额达300万元及以上", policy.items["m01.equipment"].quote]


def test_every_ui_string_the_script_uses_exists_in_both_languages():
    from policykb.workbench.page import ui_strings

    ui = ui_strings()
    used = set()
    for path in STATIC.glob("*.js"):
        used |= set(re.findall(r'\bt\("([a-z_]+)"', path.read_text(encoding="utf-8")))
    assert used - set(ui) == set()
    for key, text in ui.items():
        holders = {lang: set(re.findall(r"\{([a-z_]+)\}", text[lang])) for lang in ("zh", "en")}
        assert holders["zh"] == holders["en"], key


def test_the_ui_words_hold_no_policy_literal(policy):
    """Labels of the policy come from the KB: no quote, item title or field label is repeated in ui.yaml."""
    from policykb.workbench.page import ui_strings

    words = " ".join(t["zh"] for t in ui_strings().values())
    for item in policy.items.values():
        assert item.quote not in words and item.title.zh not in words, item.id
    for ft in policy.vocabulary.fact_types.values():
        for spec in ft.fields.values():
            assert spec.label.zh not in words, spec.name


def test_the_page_is_rendered_in_the_language_asked_for(policy):
    from policykb.workbench import page
    from policykb.workbench.bundled import example_list

    examples = example_list()
    assert [e["name"] for e in examples] == sorted(p.stem for p in (ROOT / "examples").glob("*.json"))
    for lang, title in (("zh", "政策分析工作台"), ("en", "Policy analyst's workbench")):
        text = page.render(policy, examples, lang, "0.0")
        assert f"<title>{title.replace(chr(39), '&#x27;')} — {policy.document_number}</title>" in text
        assert not re.search(r"\$[a-z_]+", text.split('<script type="application/json"')[0])
        config = json.loads(re.search(r'<script type="application/json" id="wb-config">(.*?)</script>', text, re.S).group(1))
        assert config["policy"] == policy.id and config["examples"] == examples
    assert 'lang="en"' in page.render(policy, examples, "en", "0.0")


def test_the_script_loads_nothing_from_the_internet():
    for path in list(STATIC.iterdir()) + [ROOT / "policykb" / "workbench" / "templates" / "index.html"]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(src|href)=\"(https?:)?//", text), path.name
        assert not re.search(r"import[^;]*from\s+['\"](https?:)?//", text), path.name


def test_every_file_of_the_page_ships_in_the_wheel():
    import fnmatch
    import tomllib

    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert {"policykb.workbench", "policykb.examples"} <= set(data["packages"])
    for package, folder in (("policykb.workbench", ROOT / "policykb" / "workbench"), ("policykb.examples", ROOT / "examples")):
        patterns = data["package-data"][package]
        for path in folder.rglob("*"):
            if path.is_file() and path.suffix != ".py" and "__pycache__" not in path.parts:
                name = path.relative_to(folder).as_posix()
                assert any(fnmatch.fnmatch(name, p) for p in patterns), f"{package}: {name} is not package data"
