"""The routes the workbench added to ``policykb serve``, each the HTTP face of a library call
(real server, real client), and the page's own routes."""

from __future__ import annotations

import json

import pytest

from conftest import ROOT

AUDIT = ROOT / "examples" / "audit"


def test_vocabulary_is_the_forms_vocabulary(http, kb):
    from policykb.forms import vocabulary
    from policykb.views import json_text

    answer = http.get(f"/v1/policies/{kb.policy.id}/vocabulary")
    assert answer.status_code == 200
    assert answer.content == json_text(vocabulary(kb.policy)).encode("utf-8")
    assert http.get("/v1/policies/taicang-2021-3x/vocabulary").status_code == 404


def test_text_is_the_policy_text_every_quote_is_from(http, kb):
    answer = http.get(f"/v1/policies/{kb.policy.id}/text")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    assert answer.text == kb.policy.text
    assert all(item.quote in answer.text.replace("\n", "") or item.quote in answer.text for item in kb.items.values())


@pytest.mark.parametrize("fmt,lang", [("md", "zh"), ("html", "en"), ("text", "en")])
def test_audit_report_formats_are_the_clis(http, cli, fmt, lang):
    records = AUDIT / "decisions.jsonl"
    answer = http.post(
        "/v1/audit", params={"format": fmt, "lang": lang}, content=records.read_bytes(), headers={"content-type": "application/x-ndjson"}
    )
    assert answer.status_code == 200, answer.text
    expected = cli("audit", records, "--format", fmt, "--lang", lang, "--no-progress")
    assert expected.code == 1
    assert answer.text == expected.out


def test_audit_json_report_of_the_awards_csv(http, cli):
    files = {
        "applications": ("applications.jsonl", (AUDIT / "applications.jsonl").read_bytes(), "application/x-ndjson"),
        "awards": ("awards.csv", (AUDIT / "awards.csv").read_bytes(), "text/csv"),
    }
    answer = http.post("/v1/audit", params={"format": "json"}, files=files)
    assert answer.status_code == 200, answer.text
    expected = cli("audit", AUDIT / "applications.jsonl", "--awards", AUDIT / "awards.csv", "--format", "json", "--no-progress").json()
    got = answer.json()
    assert got["input"] == {"file": "applications.jsonl", "awards": "awards.csv"}
    assert {k: v for k, v in got.items() if k != "input"} == {k: v for k, v in expected.items() if k != "input"}


def test_audit_unknown_format_is_a_400(http):
    answer = http.post("/v1/audit", params={"format": "pdf"}, content=b"{}\n", headers={"content-type": "application/x-ndjson"})
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"


def test_the_page_and_its_assets(http, kb):
    page = http.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert kb.policy.document_number in page.text and 'lang="zh-CN"' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert 'lang="en"' in http.get("/", params={"lang": "en"}).text
    script = http.get("/workbench/static/main.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert script.headers["cache-control"] == "no-cache"
    assert http.get("/workbench/static/nothing.js").status_code == 404


def test_bundled_examples_are_served_as_they_ship(http):
    for path in sorted((ROOT / "examples").glob("*.json")):
        answer = http.get(f"/workbench/examples/{path.stem}")
        assert answer.status_code == 200 and answer.content == path.read_bytes()
    assert http.get("/workbench/examples/audit/awards.csv").content == (AUDIT / "awards.csv").read_bytes()
    missing = http.get("/workbench/examples/ic-compnay")
    assert missing.status_code == 404 and "did you mean 'ic-company" in missing.json()["detail"]
    assert http.get("/workbench/examples/../pyproject.toml").status_code == 404


def test_an_opened_yaml_file_comes_back_as_json_with_exact_numbers(http):
    answer = http.post(
        "/workbench/document",
        content=b"year: 2022\nfacts:\n  - {type: cloud_adoption, first_year_fee: 2999999.99}\n",
        headers={"content-type": "application/yaml"},
    )
    assert answer.status_code == 200
    assert '"first_year_fee":2999999.99' in answer.text
    assert json.loads(answer.text)["year"] == 2022
    bad = http.post("/workbench/document", content=b"year: [", headers={"content-type": "application/yaml"})
    assert bad.status_code == 400 and bad.json()["problems"]
