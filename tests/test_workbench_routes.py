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
    answer = http.post("/v1/audit", params={"format": fmt, "lang": lang}, content=records.read_bytes(),
                       headers={"content-type": "application/x-ndjson"})
    assert answer.status_code == 200, answer.text
    expected = cli("audit", records, "--format", fmt, "--lang", lang, "--no-progress")
    assert expected.code == 1
    assert answer.text == expected.out


def test_audit_json_report_of_the_awards_csv(http, cli):
    files = {"applications": ("applications.jsonl", (AUDIT / "applications.jsonl").read_bytes(), "application/x-ndjson"),
             "awards": ("awards.csv", (AUDIT / "awards.csv").read_bytes(), "text/csv")}
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
