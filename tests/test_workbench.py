"""The workbench page in a real browser: headless Chromium (Debian's package) driven by
Playwright against a real ``policykb serve`` on a free loopback port.

One server and one browser for the whole module; each test gets a fresh page, and every
page is checked for console errors and failed requests when the test ends.  Screenshots go
to a temporary folder, or to ``$POLICYKB_SCREENSHOTS`` (``docs/img`` regenerates the ones
the README and docs/workbench.md show).  Without chromium the tests skip, saying why —
except in CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.json"))
AUDIT = ROOT / "examples" / "audit"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _chromium() -> str | None:
    """``$POLICYKB_CHROMIUM``, else Debian's chromium on the PATH or at /usr/bin/chromium."""
    if os.environ.get("POLICYKB_CHROMIUM"):
        return os.environ["POLICYKB_CHROMIUM"] if os.path.exists(os.environ["POLICYKB_CHROMIUM"]) else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None


def _unavailable(reason: str):
    """Skip, saying why — but in CI a browser test that cannot run is a failure."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"browser tests cannot run in CI: {reason}")
    pytest.skip(f"browser tests skipped: {reason} (apt-get install chromium fonts-noto-cjk)")


@pytest.fixture(scope="module")
def server():
    """The page's own ``policykb serve`` (its evaluations stay out of other tests' decision logs)."""
    from servers import Server

    with Server() as served:
        yield served.url


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    if executable is None:
        _unavailable("chromium is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[dev]')")
    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
    except Exception as exc:  # a broken browser install: say what failed
        pw.stop()
        _unavailable(f"chromium at {executable} does not start: {exc}")
    yield browser
    browser.close()
    pw.stop()


@pytest.fixture(scope="session")
def shots(tmp_path_factory):
    target = os.environ.get("POLICYKB_SCREENSHOTS")
    folder = Path(target) if target else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Watched:
    """A page whose console errors and failed requests are collected for the end of the test."""

    def __init__(self, page, base):
        self.page, self.base = page, base
        self.console_errors: list[str] = []
        self.failed: list[str] = []
        self.expected_status: set[int] = set()
        page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        page.on("pageerror", lambda e: self.console_errors.append(f"uncaught: {e}"))
        page.on("requestfailed", lambda r: self.failed.append(f"{r.method} {r.url}: {r.failure}"))
        page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.request.method} {r.url}: HTTP {r.status}"))

    def open(self, query: str = "") -> None:
        self.page.goto(f"{self.base}/{query}")
        self.page.wait_for_selector("body[data-ready=true]", timeout=30000)
        self.idle()

    def idle(self) -> None:
        self.page.wait_for_selector("#main[aria-busy=false]", timeout=30000)

    def row(self, item: str, subject: str):
        return self.page.locator(f'tr.outcome[data-item="{item}"][data-subject="{subject}"]')

    def check_clean(self) -> None:
        unexpected = [f for f in self.failed if not any(f.endswith(f"HTTP {s}") for s in self.expected_status)]
        errors = [e for e in self.console_errors if not any(f"status of {s}" in e for s in self.expected_status)]
        assert not unexpected, f"failed network requests: {unexpected}"
        assert not errors, f"console errors: {errors}"


@pytest.fixture
def wb(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(30000)
    watched = Watched(page, server)
    yield watched
    try:
        watched.check_clean()
    finally:
        context.close()


def _expect():
    from playwright.sync_api import expect

    return expect


# --- the tests -------------------------------------------------------------------------------


def test_without_chromium_the_tests_skip_saying_why_except_in_ci(monkeypatch):
    monkeypatch.setenv("POLICYKB_CHROMIUM", "/nonexistent/chromium")
    assert _chromium() is None
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium is not installed"):
        _unavailable("chromium is not installed")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="cannot run in CI"):
        _unavailable("chromium is not installed")


@pytest.mark.parametrize("name", EXAMPLES)
def test_each_example_loads_with_the_engines_outcomes(wb, kb, example_documents, name, shots):
    wb.open(f"?example={name}")
    decision = kb.evaluate(example_documents[name]).to_dict()
    rows = wb.page.locator("tr.outcome")
    assert rows.count() == len(decision["outcomes"])
    shown = [(r.get_attribute("data-item"), r.get_attribute("data-subject"), r.get_attribute("data-status")) for r in rows.all()]
    assert shown == [(o["item"], o["subject"], o["status"]) for o in decision["outcomes"]]
    totals = wb.page.locator(".totals-table tr.grand td")
    assert totals.nth(1).inner_text().replace(",", "") == "¥" + decision["totals"]["max"]
    if name == "precision-machinery-sme":
        wb.page.screenshot(path=str(shots / "workbench-results.png"), full_page=False)


def test_why_for_an_excluded_item_cites_the_relation_and_opens_the_text(wb, shots):
    wb.open("?example=precision-machinery-sme")
    wb.row("m01.demo", "P-2022-02").locator("button.why").click()
    why = wb.page.locator("#why")
    _expect()(why.locator(".why-result .status")).to_have_text("⊘ 排除")
    relation = why.locator('.relations li[data-relation="X-m01"]')
    _expect()(relation).to_contain_text("上述项目，同一家企业当年度不可同时申报")
    _expect()(relation).to_contain_text("m01.equipment")
    assert why.locator(".conditions li.cond-true").count() >= 3
    assert why.locator(".steps li").first.inner_text().startswith("设备投资额 ¥5,000,000.00 × 8%")
    _expect()(why.locator("li.firing")).to_contain_text("m01.demo")
    why.screenshot(path=str(shots / "workbench-why.png"))
    relation.locator("button.quote-link").click()
    mark = wb.page.locator("#policy-text mark#quoted")
    _expect()(mark).to_have_text("上述项目，同一家企业当年度不可同时申报")
    _expect()(wb.page.locator("#tab-text")).to_have_attribute("aria-selected", "true")
    wb.page.screenshot(path=str(shots / "workbench-text.png"))


def test_why_not_for_an_ineligible_item_and_applying_a_way_to_qualify(wb, shots):
    wb.open("?example=ic-company")
    row = wb.row("m01.equipment", "P-FAB-01")
    _expect()(row).to_have_attribute("data-status", "ineligible")
    row.locator("button.why").click()
    why = wb.page.locator("#why")
    failed = why.locator(".conditions li.cond-false")
    _expect()(failed).to_contain_text("2,999,999.99")
    _expect()(failed).to_contain_text("3,000,000")
    apply = why.locator(".qualify button.apply").first
    _expect()(why.locator(".qualify .way").first).to_contain_text("+0.01")
    why.screenshot(path=str(shots / "workbench-qualify.png"))
    apply.click()
    wb.idle()
    row = wb.row("m01.equipment", "P-FAB-01")
    _expect()(row).to_have_attribute("data-status", "eligible")
    _expect()(row).to_have_class("outcome moved")
    _expect()(row.locator(".moved-note")).to_contain_text("不符合")
    _expect()(wb.page.locator("#f-facts-4-equipment_investment")).to_have_value("3,000,000.00")


def test_an_item_the_application_does_not_reach_says_what_it_would_take(wb):
    wb.open("?example=ic-company")
    wb.page.locator("#unreached summary").click()
    wb.page.locator('#unreached li[data-item="m16.cmmi5"] button.why-absent').click()
    why = wb.page.locator("#why")
    _expect()(why.locator(".why-result .status")).to_have_text("– 无相关事实")
    _expect()(why.locator(".narrative")).to_contain_text("CMMI")
    way = why.locator(".qualify .way").first
    _expect()(way).to_contain_text("取得并申报")
    way.locator("button.apply").click()
    wb.idle()
    row = wb.page.locator('tr.outcome[data-item="m16.cmmi5"]')
    _expect()(row).to_have_attribute("data-status", "eligible")
    _expect()(row).to_have_class("outcome moved")
    _expect()(wb.page.locator("#editor fieldset.fact").last).to_have_attribute("data-type", "cmmi_certification")


def test_switching_a_reading_reevaluates_and_marks_what_moved(wb, shots):
    wb.open("?example=precision-machinery-sme")
    wb.page.locator("#tab-readings").click()
    first = wb.page.locator("#readings fieldset.reading").first
    _expect()(first).to_have_class("reading rank-0")
    wb.page.locator("#reading-I-04-one_project").check()
    wb.idle()
    _expect()(wb.page.locator("#readings .moved-summary")).to_contain_text("m01.equipment")
    assert "reading=I-04%3Aone_project" in wb.page.url or "reading=I-04:one_project" in wb.page.url
    wb.page.screenshot(path=str(shots / "workbench-readings.png"))
    wb.page.locator("#tab-results").click()
    row = wb.row("m01.equipment", "P-2022-02")
    _expect()(row).to_have_attribute("data-status", "excluded")
    _expect()(row).to_have_class("outcome moved")
    _expect()(wb.page.locator("#results .moved-summary")).to_be_visible()


def test_the_url_carries_example_readings_and_language(wb, kb, example_documents):
    wb.open("?example=telecom-operator&reading=I-09:declared_only&lang=en")
    decision = kb.evaluate(example_documents["telecom-operator"], {"I-09": "declared_only"}).to_dict()
    statuses = [r.get_attribute("data-status") for r in wb.page.locator("tr.outcome").all()]
    assert statuses == [o["status"] for o in decision["outcomes"]]
    assert wb.page.locator("html").get_attribute("lang") == "en"
    wb.page.locator("#tab-readings").click()
    _expect()(wb.page.locator("#reading-I-09-declared_only")).to_be_checked()


def test_language_switch(wb):
    wb.open("?example=ic-company")
    _expect()(wb.page.locator("label[for=f-facts-4-equipment_investment]")).to_contain_text("设备投资额")
    wb.page.locator("#lang-switch").click()
    _expect()(wb.page.locator("html")).to_have_attribute("lang", "en")
    _expect()(wb.page.locator("label[for=f-facts-4-equipment_investment]")).to_contain_text("equipment investment")
    _expect()(wb.row("m15.ic_major_project", "IC-NAT-2022").locator(".status")).to_have_text("✓ eligible")
    _expect()(wb.page.locator("#tab-results")).to_have_text("Results")
    wb.page.locator("#lang-switch").click()
    _expect()(wb.row("m15.ic_major_project", "IC-NAT-2022").locator(".status")).to_have_text("✓ 符合")


def _cli_json(*args) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "policykb", *args, "--format", "json", "--no-progress"], capture_output=True, text=True, cwd=ROOT
    )
    return json.loads(out.stdout)


def test_audit_upload_shows_the_counts_and_findings(wb, shots):
    expected = _cli_json("audit", str(AUDIT / "decisions.jsonl"))["summary"]
    wb.open("?example=ic-company")
    wb.page.locator("#tab-audit").click()
    wb.page.locator("#audit-records").set_input_files(str(AUDIT / "decisions.jsonl"))
    wb.page.locator("#audit-run").click()
    summary = wb.page.locator("#audit-summary")
    _expect()(summary).to_contain_text(f"{expected['records']} 条记录")
    _expect()(summary).to_contain_text(f"{expected['findings']} 项发现")
    assert wb.page.locator("#findings tbody tr").count() == expected["findings"]
    for code, n in expected["by_code"].items():
        _expect()(wb.page.locator(f'.counts tr[data-key="{code}"] td')).to_have_text(str(n))
    wb.page.locator('#findings tr[data-code="EXCLUSIVE_CONFLICT"] button.open-finding').click()
    _expect()(wb.page.locator("#finding-detail")).to_contain_text("X-m01")
    wb.page.screenshot(path=str(shots / "workbench-audit.png"))
    with wb.page.expect_download() as info:
        wb.page.locator("#audit-download-md").click()
    markdown = Path(info.value.path()).read_text(encoding="utf-8")
    assert "EXCLUSIVE_CONFLICT" in markdown and markdown.lstrip().startswith("#")


def test_audit_of_the_awards_csv_with_the_applications(wb):
    expected = _cli_json("audit", str(AUDIT / "applications.jsonl"), "--awards", str(AUDIT / "awards.csv"))["summary"]
    wb.open("?example=ic-company")
    wb.page.locator("#tab-audit").click()
    wb.page.locator("#audit-awards").set_input_files(str(AUDIT / "awards.csv"))
    wb.page.locator("#audit-applications").set_input_files(str(AUDIT / "applications.jsonl"))
    wb.page.locator("#audit-run").click()
    _expect()(wb.page.locator("#audit-summary")).to_contain_text(f"{expected['findings']} 项发现")
    assert wb.page.locator("#findings tbody tr").count() == expected["findings"]


def test_an_invalid_value_is_marked_at_its_field_with_the_clis_message(wb, kb, example_documents, shots):
    from policykb.errors import InputError

    document = json.loads(json.dumps(example_documents["ic-company"], default=str))
    document["facts"][4]["equipment_investment"] = "abc"
    with pytest.raises(InputError) as raised:
        kb.evaluate(document)
    (problem,) = [p for p in raised.value.problems if p.where == "facts[4].equipment_investment"]
    wb.expected_status = {422}
    wb.open("?example=ic-company")
    field = wb.page.locator("#f-facts-4-equipment_investment")
    field.fill("abc")
    _expect()(wb.page.locator("#f-facts-4-equipment_investment-parsed")).to_have_text("无法读作金额")
    wb.page.locator("#commit").click()
    error = wb.page.locator("#f-facts-4-equipment_investment-err")
    _expect()(error).to_have_text(problem.message)
    _expect()(field).to_have_attribute("aria-invalid", "true")
    wb.page.locator("#editor fieldset.fact").nth(4).screenshot(path=str(shots / "workbench-invalid.png"))


def test_money_in_wan_is_parsed_and_what_if_shows_the_difference_before_committing(wb, shots):
    wb.open("?example=ic-company")
    field = wb.page.locator("#f-facts-4-equipment_investment")
    field.fill("300万")
    _expect()(wb.page.locator("#f-facts-4-equipment_investment-parsed")).to_have_text("读作 3,000,000 元")
    field.press("Tab")
    wb.page.locator("#preview").click()
    whatif = wb.page.locator("#whatif")
    _expect()(whatif).to_contain_text("facts[4].equipment_investment")
    _expect()(whatif.locator("tbody tr")).to_have_count(1)
    _expect()(whatif.locator("tbody tr td").nth(2)).to_contain_text("不符合")
    _expect()(whatif.locator("tbody tr td").nth(3)).to_contain_text("符合")
    _expect()(whatif.locator("tbody tr td").nth(4)).to_have_text("+¥180,000.00")
    _expect()(whatif.locator(".whatif-total")).to_contain_text("+¥180,000.00")
    # not committed yet: the table still shows the old outcome
    _expect()(wb.row("m01.equipment", "P-FAB-01")).to_have_attribute("data-status", "ineligible")
    whatif.screenshot(path=str(shots / "workbench-whatif.png"))
    wb.page.locator("#commit").click()
    wb.idle()
    _expect()(wb.row("m01.equipment", "P-FAB-01")).to_have_attribute("data-status", "eligible")


def test_adding_and_removing_facts(wb):
    wb.open("?example=ic-company")
    facts = wb.page.locator("#editor fieldset.fact")
    before = facts.count()
    wb.page.locator("#add-fact-type").select_option("cloud_adoption")
    wb.page.locator("#add-fact").click()
    _expect()(facts).to_have_count(before + 1)
    wb.page.locator(f"#f-facts-{before}-first_year_fee").fill("5万")
    wb.page.locator(f"#f-facts-{before}-first_year_fee").press("Tab")
    wb.page.locator("#preview").click()
    _expect()(wb.page.locator("#whatif")).to_contain_text("m04.cloud_first_year")
    wb.page.locator("#commit").click()
    wb.idle()
    _expect()(wb.page.locator('tr.outcome[data-item="m04.cloud_first_year"]')).to_have_count(1)
    wb.page.locator("#editor fieldset.fact").last.locator("button.remove-fact").click()
    wb.page.locator("#commit").click()
    wb.idle()
    _expect()(wb.page.locator('tr.outcome[data-item="m04.cloud_first_year"]')).to_have_count(0)


def test_blank_application_marks_the_required_fields(wb):
    wb.expected_status = {422}
    wb.open("?example=ic-company")
    wb.page.locator("#blank").click()
    wb.page.locator("#commit").click()
    _expect()(wb.page.locator("#f-applicant-id-err")).to_be_visible()
    _expect()(wb.page.locator("#f-year-err")).to_be_visible()


def test_saved_state_reopens_with_its_readings(wb, tmp_path, example_documents):
    wb.open("?example=precision-machinery-sme&reading=I-04:one_project")
    with wb.page.expect_download() as info:
        wb.page.locator("#save-state").click()
    saved = json.loads(Path(info.value.path()).read_text(encoding="utf-8"))
    assert saved["readings"] == {"I-04": "one_project"}
    assert saved["application"]["applicant"]["name"] == example_documents["precision-machinery-sme"]["applicant"]["name"]
    wb.open("?example=ic-company")
    path = tmp_path / "state.json"
    path.write_text(json.dumps(saved, ensure_ascii=False), encoding="utf-8")
    wb.page.locator("#open-file").set_input_files(str(path))
    wb.idle()
    _expect()(wb.row("m01.equipment", "P-2022-02")).to_have_attribute("data-status", "excluded")


def test_a_yaml_file_and_pasted_json_open_in_the_editor(wb, example_documents, tmp_path):
    import yaml

    path = tmp_path / "app.yaml"
    document = json.loads(json.dumps(example_documents["software-firm"], default=str))
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    wb.open("?example=ic-company")
    wb.page.locator("#open-file").set_input_files(str(path))
    wb.idle()
    _expect()(wb.page.locator("#f-applicant-name")).to_have_value(document["applicant"]["name"])
    assert wb.page.locator("tr.outcome").count() > 0
    # pasted text works the same way
    wb.page.locator("details.paste summary").click()
    wb.page.locator("#paste").fill(json.dumps(json.loads(json.dumps(example_documents["ic-company"], default=str)), ensure_ascii=False))
    wb.page.locator("#paste-load").click()
    wb.idle()
    _expect()(wb.page.locator("#f-applicant-name")).to_have_value("太仓芯研集成电路有限公司")
    _expect()(wb.row("m01.equipment", "P-FAB-01")).to_have_attribute("data-status", "ineligible")


def test_relation_graph_draws_the_items_and_the_relations_that_acted(wb, kb, example_documents, shots):
    wb.open("?example=precision-machinery-sme")
    wb.page.locator("#tab-graph").click()
    svg = wb.page.locator("#graph svg.graph")
    _expect()(svg).to_be_visible()
    decision = kb.evaluate(example_documents["precision-machinery-sme"]).to_dict()
    drawn = set(svg.locator("g.node-item").evaluate_all("els => els.map(e => e.dataset.item)"))
    assert {o["item"] for o in decision["outcomes"]} <= drawn
    acted = set(svg.locator("path.edge.acted").evaluate_all("els => els.map(e => e.dataset.relation)"))
    assert "X-m01" in acted
    wb.page.screenshot(path=str(shots / "workbench-graph.png"))


def test_accessibility_basics(wb):
    wb.open("?example=precision-machinery-sme")
    # keyboard: from the top, Tab reaches the language switch, the example chooser and a why button
    reached = set()
    for _ in range(400):
        wb.page.keyboard.press("Tab")
        reached.add(wb.page.evaluate("() => document.activeElement.id || document.activeElement.className"))
        if "why" in reached:
            break
    assert {"lang-switch", "example", "tab-results", "why"} <= reached, reached
    wb.page.keyboard.press("Enter")
    _expect()(wb.page.locator("#why")).to_be_visible()
    for tab in ("#tab-results", "#tab-readings", "#tab-audit"):
        wb.page.locator(tab).click()
        unlabelled = wb.page.evaluate("""() => [...document.querySelectorAll('input, select, textarea')]
            .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
            .map(el => el.id || el.name || el.outerHTML.slice(0, 60))""")
        assert unlabelled == [], f"inputs without a label on {tab}: {unlabelled}"
    wb.page.locator("#tab-results").click()
    words = wb.page.locator("#results .status").evaluate_all("els => els.map(e => e.textContent)")
    assert words and all(len(w.split(" ", 1)) == 2 and w.split(" ", 1)[1].strip() for w in words), words
    # the tabs follow the arrow keys
    wb.page.locator("#tab-results").focus()
    wb.page.keyboard.press("ArrowRight")
    _expect()(wb.page.locator("#tab-readings")).to_have_attribute("aria-selected", "true")
