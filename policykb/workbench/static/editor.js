// The application editor: a form generated from the KB's vocabulary (labels, units, the
// sentences each field feeds), a draft kept beside the committed application, the draft's
// difference as what-if changes, and problems from the service marked at their fields.

import { L, h, t, group, parseMoney, fill } from "./format.js";

const clone = (x) => JSON.parse(JSON.stringify(x));

export class Draft {
  /** `app` is the committed application; the draft remembers each fact's original position. */
  constructor(app) {
    this.base = clone(app);
    this.app = clone(app);
    this.orig = (this.app.facts || []).map((_, i) => i);
  }
  addFact(type) {
    this.app.facts = this.app.facts || [];
    this.app.facts.push({ type });
    this.orig.push(null);
  }
  removeFact(index) {
    this.app.facts.splice(index, 1);
    this.orig.splice(index, 1);
  }
  dirty() { return JSON.stringify(this.base) !== JSON.stringify(this.app); }

  /** The draft as what-if changes against the committed application (paths name its facts). */
  changes() {
    const set = [], add = [], remove = [];
    const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
    if (!same(this.base.year, this.app.year)) set.push(`year=${JSON.stringify(this.app.year ?? null)}`);
    const ba = this.base.applicant || {}, da = this.app.applicant || {};
    for (const k of [...new Set([...Object.keys(ba), ...Object.keys(da)])].sort()) {
      if (!same(ba[k], da[k])) set.push(`applicant.${k}=${JSON.stringify(da[k] ?? null)}`);
    }
    const kept = new Set();
    this.app.facts.forEach((fact, i) => {
      const o = this.orig[i];
      if (o == null) { add.push(JSON.stringify(fact)); return; }
      kept.add(o);
      const old = this.base.facts[o];
      for (const k of [...new Set([...Object.keys(old), ...Object.keys(fact)])].sort()) {
        if (!same(old[k], fact[k])) set.push(`facts[${o}].${k}=${JSON.stringify(fact[k] ?? null)}`);
      }
    });
    (this.base.facts || []).forEach((_, i) => { if (!kept.has(i)) remove.push(`facts[${i}]`); });
    return { set, add, remove };
  }
}

/** A qualify "way" applied to an application: values set, facts added, facts removed last. */
export function applyWay(app, way) {
  const doc = clone(app);
  const removals = [];
  for (const c of way.changes || []) {
    if (c.op === "set") {
      if (c.path === "year") doc.year = c.value;
      else if (c.path.startsWith("applicant.")) doc.applicant[c.path.slice(10)] = c.value;
      else {
        const m = /^facts\[(\d+)\]\.(\w+)$/.exec(c.path);
        if (m) doc.facts[Number(m[1])][m[2]] = c.value;
      }
    } else if (c.op === "add") {
      doc.facts.push(clone(c.value));
    } else if (c.op === "remove") {
      removals.push(c.index ?? Number(/\d+/.exec(c.path)[0]));
    }
  }
  [...new Set(removals)].sort((a, b) => b - a).forEach((i) => doc.facts.splice(i, 1));
  return doc;
}

const fieldId = (path) => "f-" + path.replace(/[^A-Za-z0-9_-]+/g, "-");

/** The value a field's text means, as the application JSON should hold it (undefined = absent). */
function readValue(spec, el) {
  if (spec.type === "items") return [...el.selectedOptions].map((o) => o.value);
  const raw = el.value.trim();
  if (raw === "") return undefined;
  if (spec.type === "bool") return raw === "true";
  if (spec.type === "money") return parseMoney(raw) ?? raw;
  if (["count", "integer", "year"].includes(spec.type)) return /^-?\d+$/.test(raw) ? Number(raw) : raw;
  return raw;
}

function shownValue(spec, value) {
  if (value == null) return "";
  if (spec.type === "bool") return value === true ? "true" : value === false ? "false" : String(value);
  if (spec.type === "money" && /^\d+(\.\d+)?$/.test(String(value))) return group(String(value));
  return String(value);
}

function moneyEcho(value) {
  const parsed = parseMoney(value);
  if (value.trim() === "") return "";
  return parsed == null ? t("money_unreadable") : t("money_parsed", { value: group(parsed) });
}

function control(spec, path, value, vocab, onInput) {
  const id = fieldId(path);
  const described = [`${id}-err`];
  let input;
  const label = L(spec.label);
  if (spec.type === "bool") {
    input = h("select", { id, name: path },
      h("option", { value: "", text: t("unset") }),
      h("option", { value: "true", text: t("yes") }),
      h("option", { value: "false", text: t("no") }));
  } else if (spec.type === "enum" || spec.type === "item") {
    const options = spec.type === "enum"
      ? spec.values.map((v) => [v.value, L(v.label)])
      : vocab.itemIds.map((i) => [i, `${i} ${L(vocab.itemTitles[i])}`]);
    input = h("select", { id, name: path }, h("option", { value: "", text: t("unset") }),
      options.map(([v, text]) => h("option", { value: v, text })));
  } else if (spec.type === "items") {
    input = h("select", { id, name: path, multiple: true, size: 4 },
      vocab.itemIds.map((i) => h("option", { value: i, text: `${i} ${L(vocab.itemTitles[i])}` })));
    for (const o of input.options) o.selected = Array.isArray(value) && value.includes(o.value);
  } else {
    const numeric = ["money", "count", "integer", "year"].includes(spec.type);
    input = h("input", {
      id, name: path, type: "text", autocomplete: "off",
      inputmode: numeric ? "decimal" : null,
      placeholder: spec.type === "money" ? t("money_placeholder") : spec.type === "date" ? "YYYY-MM-DD" : null,
    });
  }
  if (spec.type !== "items") input.value = shownValue(spec, value);
  input.dataset.path = path;
  const echo = spec.type === "money" ? h("output", { class: "parsed", for: id, id: `${id}-parsed` }) : null;
  if (echo) { echo.textContent = moneyEcho(input.value); described.push(`${id}-parsed`); }
  // the sentences this field feeds, each once (several items often share the same words)
  const feeds = [...new Map((spec.feeds || []).map((f) => [f.says, f])).values()].slice(0, 3);
  const feedsEl = feeds.length
    ? h("small", { class: "feeds", id: `${id}-feeds` },
        feeds.map((f) => h("q", { title: `${f.item} ${L(f.title)}`, text: f.says })))
    : null;
  if (feedsEl) described.push(`${id}-feeds`);
  input.setAttribute("aria-describedby", described.join(" "));
  const update = () => {
    if (echo) echo.textContent = moneyEcho(input.value);
    onInput(path, readValue(spec, input));
  };
  input.addEventListener("change", update);
  if (echo) input.addEventListener("input", () => { echo.textContent = moneyEcho(input.value); });
  const unit = spec.unit ? h("span", { class: "unit", text: L(spec.unit) }) : null;
  return h("div", { class: `field field-${spec.type}` },
    h("label", { for: id }, label, spec.required ? h("span", { class: "req", title: t("required"), text: " *" }) : null),
    h("div", { class: "control" }, input, unit),
    echo, feedsEl,
    h("p", { class: "field-error", id: `${id}-err`, hidden: true }));
}

function setIn(app, path, value) {
  let target = app, key = path;
  const m = /^facts\[(\d+)\]\.(\w+)$/.exec(path);
  if (m) { target = app.facts[Number(m[1])]; key = m[2]; }
  else if (path.startsWith("applicant.")) { target = app.applicant; key = path.slice(10); }
  if (value === undefined || (Array.isArray(value) && value.length === 0)) delete target[key];
  else target[key] = value;
}

/** Render the form for `draft` into `root`; `changed()` is called after every edit. */
export function renderEditor(root, vocab, draft, changed) {
  const onInput = (path, value) => { setIn(draft.app, path, value); changed(); };
  const app = draft.app;
  app.applicant = app.applicant || {};
  app.facts = app.facts || [];
  const yearSpec = { name: "year", type: "year", label: { zh: t("year"), en: t("year") }, required: true, unit: null, feeds: [] };
  const applicant = h("fieldset", { class: "applicant" },
    h("legend", { text: L(vocab.applicant.label) }),
    control(yearSpec, "year", app.year, vocab, onInput),
    vocab.applicant.fields.map((spec) => control(spec, `applicant.${spec.name}`, app.applicant[spec.name], vocab, onInput)));
  const facts = app.facts.map((fact, i) => {
    const type = vocab.factTypes[fact.type];
    const legend = type ? `${L(type.label)}${fact.subject ? ` · ${fact.subject}` : ""}` : String(fact.type);
    const specs = type ? [...vocab.common, ...type.fields] : [];
    const known = new Set(specs.map((s) => s.name).concat(["type"]));
    const extra = Object.keys(fact).filter((k) => !known.has(k));
    return h("fieldset", { class: "fact", dataset: { index: String(i), type: fact.type } },
      h("legend", {}, h("span", { class: "fact-no", text: `#${i + 1}` }), " ", legend),
      h("button", {
        type: "button", class: "remove-fact", "aria-label": t("remove_fact_named", { fact: legend }),
        onclick: () => { draft.removeFact(i); renderEditor(root, vocab, draft, changed); changed(); },
      }, t("remove_fact")),
      h("p", { class: "field-error", id: fieldId(`facts[${i}]`) + "-err", hidden: true }),
      specs.map((spec) => control(spec, `facts[${i}].${spec.name}`, fact[spec.name], vocab, onInput)),
      extra.length ? h("p", { class: "extra", text: t("extra_fields", { fields: extra.join(", ") }) }) : null);
  });
  const typeSelect = h("select", { id: "add-fact-type" },
    vocab.factTypeList.map((ft) => h("option", { value: ft.type, text: L(ft.label) })));
  const adder = h("div", { class: "add-fact" },
    h("label", { for: "add-fact-type", text: t("add_fact_label") }), typeSelect,
    h("button", {
      type: "button", id: "add-fact",
      onclick: () => { draft.addFact(typeSelect.value); renderEditor(root, vocab, draft, changed); changed(); },
    }, t("add_fact")));
  fill(root, applicant, h("div", { class: "facts" }, facts), adder);
}

/** Mark each problem at its field (the service's message, as the CLI prints it); the rest are returned. */
export function markProblems(root, problems) {
  clearProblems(root);
  const unplaced = [];
  for (const p of problems) {
    const where = p.where.replace(/^.*?:\s*/, "");
    let el = document.getElementById(fieldId(where) + "-err");
    if (!el) el = document.getElementById(fieldId(where.replace(/\.[^.\]]+$/, "")) + "-err");
    if (!el) { unplaced.push(p); continue; }
    el.hidden = false;
    el.textContent = (el.textContent ? el.textContent + " " : "") + p.message;
    const input = document.getElementById(el.id.slice(0, -4));
    if (input) input.setAttribute("aria-invalid", "true");
    el.closest(".field, fieldset")?.classList.add("invalid");
  }
  const first = root.querySelector("[aria-invalid=true]");
  if (first) first.focus();
  return unplaced;
}

export function clearProblems(root) {
  root.querySelectorAll(".field-error").forEach((el) => { el.hidden = true; el.textContent = ""; });
  root.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
  root.querySelectorAll(".invalid").forEach((el) => el.classList.remove("invalid"));
}
