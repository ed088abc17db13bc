// The workbench: one application, its decision and everything asked about it.  Holds the
// state (application, readings, language), wires the views together, keeps the URL shareable.

import { api, usePolicy, ApiError } from "./api.js";
import { state as lang, t, L, h, say, statusBadge, amountText, yuan, yuanDelta, fill, useWords } from "./format.js";
import { Draft, applyWay, renderEditor, markProblems, clearProblems } from "./editor.js";
import { renderResults, moved } from "./results.js";
import { renderWhy, renderQualify } from "./why.js";
import { renderReadings } from "./readings.js";
import { renderGraph } from "./graph.js";
import { renderAuditForm } from "./audit.js";
import { renderText } from "./policytext.js";

const config = JSON.parse(document.getElementById("wb-config").textContent);
const $ = (id) => document.getElementById(id);

const S = {
  vocab: null, readingDefs: [], graph: null, text: null,
  app: null, draft: null, readings: {}, example: null,
  decision: null, changes: new Map(), movedList: [], effects: null, runners: [],
  whyFor: null, lastQuote: null, audit: null,
};

// --- helpers ---------------------------------------------------------------------------

function errorText(err) {
  if (err instanceof ApiError) {
    const lines = err.problems.map((p) => (p.where ? `${p.where}: ${p.message}` : p.message));
    return [err.message, ...lines.filter((l) => l !== err.message)].join("\n");
  }
  return String(err && err.message ? err.message : err);
}

function banner(message, kind = "error") {
  const el = $("banner");
  el.className = `banner banner-${kind}`;
  el.textContent = message;
  el.hidden = !message;
}

function busy(on) { document.body.classList.toggle("busy", on); $("main").setAttribute("aria-busy", on ? "true" : "false"); }

function buildVocab(v, items) {
  const byId = Object.fromEntries(items.map((i) => [i.id, i]));
  return {
    ...v,
    factTypes: Object.fromEntries(v.fact_types.map((f) => [f.type, f])),
    factTypeList: v.fact_types.filter((f) => f.role !== "context").concat(v.fact_types.filter((f) => f.role === "context")),
    items: byId,
    itemIds: items.map((i) => i.id),
    itemTitles: Object.fromEntries(items.map((i) => [i.id, i.title])),
    statuses: { ...v.statuses, absent: v.phrases.status_absent },
    amountKinds: v.amount_kinds,
    statusWord: (s) => L(v.statuses[s]) || s,
    payerLabel: (p) => (t(`payer_${p}`) !== `payer_${p}` ? `${t(`payer_${p}`)} (${p})` : p),
    relationKind: (k) => t(`kind_${k}`),
    optionLabel: (rid, option) => {
      const r = S.readingDefs.find((x) => x.id === rid);
      const o = r && r.options.find((x) => x.option === option);
      return o ? o.label : option;
    },
  };
}

function readingDefs(rows) {
  return rows.map((r) => ({
    ...r,
    options: Array.isArray(r.options) ? r.options : Object.entries(r.options).map(([option, label]) => ({ option, label })),
  }));
}

// --- the URL carries the example, the readings and the language ---------------------------

function writeURL() {
  const q = new URLSearchParams();
  if (S.example) q.set("example", S.example);
  for (const [rid, option] of Object.entries(S.readings).sort()) q.append("reading", `${rid}:${option}`);
  if (lang.lang !== "zh") q.set("lang", lang.lang);
  history.replaceState(null, "", `${location.pathname}${q.toString() ? `?${q}` : ""}`);
}

function readURL() {
  const q = new URLSearchParams(location.search);
  const readings = {};
  for (const value of q.getAll("reading")) {
    const [rid, option] = value.split(":");
    if (rid && option) readings[rid] = option;
  }
  return { example: q.get("example"), readings };
}

// --- evaluation --------------------------------------------------------------------------

async function evaluate(app, { highlight = false } = {}) {
  busy(true);
  try {
    const decision = await api.evaluate(app, S.readings);
    const before = S.decision;
    S.app = JSON.parse(JSON.stringify(app));
    S.draft = new Draft(S.app);
    S.decision = decision;
    S.changes = highlight ? moved(before, decision) : new Map();
    S.movedList = [...S.changes.entries()].map(([key, c]) => ({ key, ...c }));
    banner("");
    renderAll();
    await Promise.all([refreshEffects(), refreshRunners()]);
    renderReadingsPanel();
    if (S.whyFor) await openWhy(S.whyFor, { quiet: true });
    return true;
  } catch (err) {
    showError(err);
    return false;
  } finally {
    busy(false);
  }
}

function showError(err) {
  const editor = $("editor");
  const unplaced = err instanceof ApiError ? markProblems(editor, err.problems) : [];
  if (err instanceof ApiError && err.problems.length && !unplaced.length) banner(t("fix_fields", { n: err.problems.length }));
  else banner(errorText(err));
}

async function refreshEffects() {
  try { S.effects = await api.readingEffects(S.app, S.readings); } catch { S.effects = null; }
}

async function refreshRunners() {
  try { S.runners = (await api.runnersUp(S.app, S.readings)).groups || []; } catch { S.runners = []; }
}

function renderAll() {
  renderEditorPanel();
  if (S.decision) {
    renderResults($("results"), S.decision, S.changes, S.vocab, (o) => openWhy(o));
    if (S.graph) renderGraph($("graph"), S.graph, S.decision, { ...S.decision.readings }, S.vocab);
  }
  renderReadingsPanel();
  writeURL();
}

function renderEditorPanel() {
  if (!S.draft) return;
  renderEditor($("editor"), S.vocab, S.draft, draftChanged);
  draftChanged();
}

function renderReadingsPanel() {
  if (!S.readingDefs.length) return;
  const chosen = S.decision ? S.decision.readings : {};
  renderReadings($("readings"), S.readingDefs, { ...chosen, ...S.readings }, S.effects, S.decision, S.movedList, S.vocab, switchReading);
}

async function switchReading(rid, option) {
  const def = S.readingDefs.find((r) => r.id === rid);
  if (def && def.default === option) delete S.readings[rid];
  else S.readings[rid] = option;
  await evaluate(S.app, { highlight: true });
}

// --- what if: the draft's difference before it is committed -------------------------------

function draftChanged() {
  const dirty = !!(S.draft && S.draft.dirty());
  $("preview").disabled = !dirty || !S.decision;
  $("discard").disabled = !dirty;
  const pending = $("pending");
  pending.dataset.t = dirty ? "pending" : "no_pending";
  pending.textContent = t(pending.dataset.t);
  pending.classList.toggle("dirty", dirty);
  if (!dirty) $("whatif").hidden = true;
}

async function previewWhatIf() {
  const change = S.draft.changes();
  clearProblems($("editor"));
  try {
    const result = await api.whatif(S.app, S.readings, change);
    renderWhatIf(result);
  } catch (err) {
    showError(err);
  }
}

function renderWhatIf(r) {
  const box = $("whatif");
  box.hidden = false;
  fill(box,
    h("h3", { text: t("whatif_title") }),
    h("ul", { class: "whatif-changes" }, r.changes.map((c) => h("li", {}, h("code", { text: c.path }), `: ${c.old ?? "—"} → ${c.new ?? "—"}`))),
    r.outcomes.length
      ? h("table", { class: "whatif-outcomes" },
          h("thead", {}, h("tr", {}, [t("col_item"), t("col_subject"), t("before"), t("after"), t("difference")].map((x) => h("th", { scope: "col", text: x })))),
          h("tbody", {}, r.outcomes.map((o) => h("tr", {},
            h("td", {}, h("code", { text: o.item })), h("td", { text: o.subject }),
            h("td", {}, o.before ? [statusBadge(o.before.status, S.vocab.statuses), ` ${amountText(o.before.amount, S.vocab.amountKinds)}`] : t("new")),
            h("td", {}, o.after ? [statusBadge(o.after.status, S.vocab.statuses), ` ${amountText(o.after.amount, S.vocab.amountKinds)}`] : t("gone_short")),
            h("td", { class: "num", text: yuanDelta(o.before?.amount?.max, o.after?.amount?.max) })))))
      : h("p", { text: say(S.vocab.phrases, "no_changes") }),
    h("p", { class: "whatif-total", text: t("total_change", {
      before: `${yuan(r.totals.before.min)} ～ ${yuan(r.totals.before.max)}`,
      after: `${yuan(r.totals.after.min)} ～ ${yuan(r.totals.after.max)}`,
      delta: yuanDelta(r.totals.before.max, r.totals.after.max),
    }) }),
    h("details", {}, h("summary", { text: t("as_text") }), h("pre", { text: L(r.text).join("\n") })));
  box.scrollIntoView({ block: "nearest" });
}

// --- why, qualify ------------------------------------------------------------------------

async function openWhy(o, { quiet = false } = {}) {
  S.whyFor = { item: o.item, subject: o.subject };
  const panel = $("why");
  try {
    const list = await api.why(S.app, S.readings, o.item, o.subject);
    const ex = list.find((e) => e.subject === o.subject) || list[0];
    const box = renderWhy(panel, ex, {
      vocab: S.vocab, runners: S.runners, onQuote: showQuote,
      onClose: () => { panel.hidden = true; S.whyFor = null; },
    });
    if (!quiet) {
      panel.scrollIntoView({ block: "start" });
      panel.querySelector("h3").focus();
    }
    if (["ineligible", "undetermined", "excluded", "absent"].includes(ex.status)) {
      fill(box, h("p", { text: t("working") }));
      const result = await api.qualify(S.app, S.readings, o.item, o.subject);
      renderQualify(box, result, ex, { vocab: S.vocab, onApply: applySuggestion });
    }
  } catch (err) {
    panel.hidden = false;
    fill(panel, h("p", { class: "error", role: "alert", text: errorText(err) }));
  }
}

async function applySuggestion(way) {
  for (const [rid, option] of Object.entries(way.readings || {})) S.readings[rid] = option;
  await evaluate(applyWay(S.app, way), { highlight: true });
}

// --- policy text ----------------------------------------------------------------------------

async function showQuote(quote) {
  S.lastQuote = quote;
  selectTab("tab-text");
  if (S.text == null) S.text = await api.text();
  renderText($("policy-text"), S.text, quote);
}

// --- tabs -----------------------------------------------------------------------------------

function selectTab(id) {
  document.querySelectorAll("[role=tab]").forEach((tab) => {
    const on = tab.id === id;
    tab.setAttribute("aria-selected", on ? "true" : "false");
    tab.tabIndex = on ? 0 : -1;
    $(tab.getAttribute("aria-controls")).hidden = !on;
  });
  if (id === "tab-text" && S.text == null) api.text().then((text) => { S.text = text; renderText($("policy-text"), text, S.lastQuote); });
}

function wireTabs() {
  const tabs = [...document.querySelectorAll("[role=tab]")];
  tabs.forEach((tab, i) => {
    tab.addEventListener("click", () => selectTab(tab.id));
    tab.addEventListener("keydown", (e) => {
      const step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
      if (!step) return;
      const next = tabs[(i + step + tabs.length) % tabs.length];
      selectTab(next.id);
      next.focus();
      e.preventDefault();
    });
  });
}

// --- language -------------------------------------------------------------------------------

function translateStatic() {
  document.documentElement.lang = lang.lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-t]").forEach((el) => { el.textContent = t(el.dataset.t); });
  document.querySelectorAll("[data-t-label]").forEach((el) => el.setAttribute("aria-label", t(el.dataset.tLabel)));
  document.querySelectorAll("[data-zh]").forEach((el) => { el.textContent = lang.lang === "zh" ? el.dataset.zh : el.dataset.en; });
  document.title = `${t("app_title")} — ${config.document_number}`;
}

function switchLanguage() {
  lang.lang = lang.lang === "zh" ? "en" : "zh";
  translateStatic();
  renderAll();
  S.audit?.rerender();
  if (S.whyFor) openWhy(S.whyFor, { quiet: true });
}

// --- starting points: example, blank, file, pasted text, saved state -------------------------

/** A new application: what was asked about the previous one no longer applies. */
function forgetAnswers() {
  S.whyFor = null;
  $("why").hidden = true;
  $("whatif").hidden = true;
  banner("");
}

async function loadExample(name) {
  try {
    const app = await api.example(name);
    forgetAnswers();
    S.example = name;
    $("example").value = name;
    await evaluate(app);
  } catch (err) {
    banner(errorText(err));
  }
}

function startBlank() {
  forgetAnswers();
  S.example = null;
  S.app = { applicant: {}, facts: [] };
  S.draft = new Draft({ applicant: {}, facts: [] });
  S.decision = null;
  S.changes = new Map();
  S.movedList = [];
  S.effects = null;
  fill($("results"), h("p", { text: t("blank_hint") }));
  fill($("graph"));
  renderEditorPanel();
  writeURL();
}

async function openDocument(text, name) {
  let doc;
  try {
    doc = await api.document(text);
  } catch (err) {
    banner(t("unreadable_file", { name, reason: errorText(err) }));
    return;
  }
  if (doc && typeof doc === "object" && doc.application && typeof doc.application === "object") {
    // a saved workbench state: the application and the readings chosen for it
    S.readings = { ...(doc.readings || {}) };
    for (const def of S.readingDefs) if (S.readings[def.id] === def.default) delete S.readings[def.id];
    doc = doc.application;
  }
  forgetAnswers();
  S.example = null;
  $("example").value = "";
  // shown in the editor first, so that a bad field is marked where it was opened
  S.draft = new Draft(S.app || { applicant: {}, facts: [] });
  S.draft.app = JSON.parse(JSON.stringify(doc));
  S.draft.orig = (S.draft.app.facts || []).map(() => null);
  renderEditorPanel();
  await commitDraft();
}

function saveState() {
  const data = { policy: config.policy, application: S.draft ? S.draft.app : S.app, readings: S.readings };
  const blob = new Blob([JSON.stringify(data, null, 2) + "\n"], { type: "application/json" });
  const a = h("a", { href: URL.createObjectURL(blob), download: `${S.example || "application"}-workbench.json` });
  document.body.append(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 0);
}

// --- start -------------------------------------------------------------------------------------

async function commitDraft() {
  clearProblems($("editor"));
  const ok = await evaluate(S.draft.app, { highlight: !!S.decision });
  if (ok) $("whatif").hidden = true;
}

async function main() {
  usePolicy(config.policy);
  wireTabs();
  $("lang-switch").addEventListener("click", switchLanguage);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !$("why").hidden) { $("why").hidden = true; S.whyFor = null; }
  });
  $("load-example").addEventListener("click", () => loadExample($("example").value));
  $("blank").addEventListener("click", startBlank);
  $("open-file").addEventListener("change", async (e) => {
    const file = e.target.files[0];
    if (file) await openDocument(await file.text(), file.name);
    e.target.value = "";
  });
  $("paste-load").addEventListener("click", () => openDocument($("paste").value, t("pasted")));
  $("save-state").addEventListener("click", saveState);
  $("preview").addEventListener("click", previewWhatIf);
  $("editor-form").addEventListener("submit", (e) => { e.preventDefault(); commitDraft(); });
  $("discard").addEventListener("click", () => { S.draft = new Draft(S.app); clearProblems($("editor")); renderEditorPanel(); $("whatif").hidden = true; });
  translateStatic();
  const [vocab, items, readings] = await Promise.all([api.vocabulary(), api.items(), api.readings()]);
  S.readingDefs = readingDefs(readings);
  S.vocab = buildVocab(vocab, items);
  useWords(S.vocab);
  S.audit = renderAuditForm($("audit"), { readings: () => S.readings, lang: () => lang.lang, errorText, onQuote: showQuote });
  api.graph().then((g) => { S.graph = g; if (S.decision) renderGraph($("graph"), g, S.decision, { ...S.decision.readings }, S.vocab); });
  const url = readURL();
  S.readings = url.readings;
  const first = url.example && config.examples.some((e) => e.name === url.example) ? url.example : config.examples[0]?.name;
  if (first) await loadExample(first);
  else startBlank();
  document.body.dataset.ready = "true";
}

main().catch((err) => banner(errorText(err)));
