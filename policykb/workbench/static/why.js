// Why / why not: one outcome's explanation (conditions ✓/✗/?, amount steps, relations and
// provisions with their sentences, the rule firing, runners-up, readings) and, for an item
// that does not pay, the verified smallest changes with an "apply" button each.

import { L, h, t, say, yuan, amountText, statusBadge, fill } from "./format.js";

const MARK = { true: "✓", false: "✗", null: "?" };

function verdictMark(v) {
  const k = v === true ? "true" : v === false ? "false" : "null";
  return h("span", { class: `mark mark-${k}`, "aria-hidden": "true", text: MARK[k] });
}

function quoteButton(quote, onQuote) {
  return h("button", { type: "button", class: "link quote-link", onclick: () => onQuote(quote) }, t("show_in_text"));
}

function section(title, ...content) {
  return h("section", { class: "why-section" }, h("h4", { text: title }), ...content);
}

function conditionRow(c) {
  const text = c.text ? L(c.text).replace(/^[✓✗？?]\s*/, "") : `${L(c.label)} ${c.symbol} ${JSON.stringify(c.required)}`;
  const verdict = c.verdict === true ? t("met") : c.verdict === false ? t("not_met") : t("unknown");
  return h("li", { class: `cond cond-${String(c.verdict)}` }, verdictMark(c.verdict),
    h("span", { class: "sr-only", text: `${verdict}: ` }), text,
    c.says ? h("q", { class: "says", text: c.says }) : null,
    c.reading ? h("span", { class: "reading-tag", text: c.reading }) : null);
}

export function renderWhy(root, ex, ctx) {
  const { vocab, onQuote, runners } = ctx;
  const item = vocab.items[ex.item];
  const parts = [];
  parts.push(h("header", { class: "why-head" },
    h("h3", { id: "why-title", tabindex: "-1" }, h("code", { text: ex.item }), ` ${ex.label || ""} ${L(ex.title)}${ex.subject ? ` — ${ex.subject}` : ""}`),
    h("button", { type: "button", class: "close", "aria-label": t("close"), onclick: ctx.onClose }, "×")));
  parts.push(h("p", { class: "why-result" }, statusBadge(ex.status, vocab.statuses), " ", amountText(ex.amount, vocab.amountKinds)));
  if (ex.narrative) parts.push(h("p", { class: "narrative", text: L(ex.narrative) }));
  if (ex.quote) parts.push(h("blockquote", { class: "source" }, `${item ? item.label : ""} “${ex.quote}” `, quoteButton(ex.quote, onQuote)));

  const ac = ex.applicant_checks;
  if (ac && (ac.eligibility || ac.period)) {
    const rows = [];
    if (ac.eligibility) rows.push(h("li", {}, verdictMark(ac.eligibility.verdict), `${ac.eligibility.provision} `, h("q", { text: ac.eligibility.quote })));
    if (ac.period) rows.push(h("li", {}, verdictMark(ac.period.verdict), `${ac.period.provision} ${ac.period.year}: ${ac.period.from} – ${ac.period.to} `, h("q", { text: ac.period.quote })));
    parts.push(section(L(vocab.sections.applicant), h("ul", { class: "checks" }, rows)));
  }
  if (ex.conditions && ex.conditions.length) parts.push(section(L(vocab.sections.conditions), h("ul", { class: "checks conditions" }, ex.conditions.map(conditionRow))));
  if (ex.missing && ex.missing.length) {
    parts.push(section(L(vocab.sections.missing), h("ul", {}, ex.missing.map((m) => h("li", { text: typeof m === "string" ? m : `${L(m.label)} (${m.field})` })))));
  }
  if (ex.needs) {
    const type = vocab.factTypes[ex.needs.fact];
    parts.push(section(L(vocab.sections.missing), h("p", { text: t("needs_fact", { fact: type ? L(type.label) : ex.needs.fact }) })));
  }
  if (ex.amount_text && L(ex.amount_text).length) parts.push(section(L(vocab.sections.amount), h("ol", { class: "steps" }, L(ex.amount_text).map((line) => h("li", { text: line })))));
  if (ex.relations && ex.relations.length) {
    parts.push(section(L(vocab.sections.relations), h("ul", { class: "relations" }, ex.relations.map((r) => h("li", { dataset: { relation: r.id } },
      h("strong", { text: `${r.id} ` }), vocab.relationKind(r.kind), " → ", statusBadge(r.effect, vocab.statuses),
      r.winner ? h("span", { text: ` ${t("winner")}: ${r.winner.item} ${yuan(r.winner.amount)}` }) : null,
      r.before && r.before.max != null ? h("span", { text: ` ${t("before_after", { before: yuan(r.before.max), after: r.after && r.after.max != null ? yuan(r.after.max) : "—" })}` }) : null,
      r.rivals && r.rivals.length ? h("div", { class: "rivals", text: `${t("rivals")}: ${r.rivals.map((x) => `${x.item} ${yuan(x.amount)}`).join("; ")}` }) : null,
      r.reading ? h("span", { class: "reading-tag", text: r.reading }) : null,
      h("blockquote", {}, `“${r.quote}” `, quoteButton(r.quote, onQuote)))))));
  }
  const rules = ex.rules || [];
  parts.push(section(L(vocab.sections.rules), h("ul", {},
    rules.length ? rules.map((r) => h("li", { class: "firing", text: say(vocab.phrases, "rule_fired", { rule: r.rule, fact: r.fact, seq: r.seq }) }))
      : (ex.facts || []).map((f) => h("li", { class: "firing", text: say(vocab.phrases, "rule_not_fired", { rule: ex.item, fact: f }) })),
    ex.verdict ? h("li", { class: ex.verdict.agree ? "agree" : "disagree",
      text: ex.verdict.agree ? say(vocab.phrases, "verdicts_agree") : say(vocab.phrases, "verdicts_disagree", { engine: ex.verdict.engine, python: ex.verdict.python }) }) : null)));
  const groups = (runners || []).filter((g) => JSON.stringify(g).includes(`"${ex.item}"`));
  if (groups.length) {
    parts.push(section(t("sec_runners"), h("ul", { class: "runners" }, groups.map((g) => h("li", { text: runnerLine(g) })))));
  }
  if (ex.readings && ex.readings.length) {
    parts.push(section(L(vocab.sections.readings), h("ul", { class: "why-readings" }, ex.readings.map((r) => h("li", {},
      h("strong", { text: `${r.id} ` }), L(r.question), " — ", h("em", { text: L(vocab.optionLabel(r.id, r.chosen)) }),
      h("ul", {}, r.alternatives.map((a) => h("li", {}, `${L(a.label)}: `,
        a.same ? t("same") : h("span", {}, statusBadge(a.status, vocab.statuses), " ", amountText(a.amount, vocab.amountKinds))))))))));
  }
  if (ex.text) {
    parts.push(h("details", { class: "cli-text" }, h("summary", { text: t("as_text") }), h("pre", { text: L(ex.text).join("\n") })));
  }
  const qualifyBox = h("section", { class: "qualify", "aria-live": "polite" });
  parts.push(qualifyBox);
  fill(root, ...parts);
  root.hidden = false;
  return qualifyBox;
}

function runnerLine(g) {
  const paid = (g.paid || []).map((x) => `${x.item} (${x.subject}) ${yuan(x.amount)}`).join("; ");
  const lost = (g.suppressed || []).map((x) => `${x.item} (${x.subject}) ${yuan(x.would_have_paid)}`).join("; ");
  return `${g.relation} ${L(g.title)}: ${t("paid")} ${paid}${lost ? ` · ${t("not_added")} ${lost}` : ""} — “${g.quote}”`;
}

export function renderQualify(box, result, ex, ctx) {
  // an item the application holds no fact for has no subject yet: every way counts
  const ways = (result.results || []).filter((r) => ex.subject == null || r.subject === ex.subject).flatMap((r) => r.ways || []);
  const lines = result.text ? L(result.text) : [];
  if (!ways.length) {
    fill(box, h("h4", { text: L(ctx.vocab.sections.ways) }), h("p", { text: lines.join(" ") || t("no_ways") }));
    return;
  }
  fill(box, h("h4", { text: L(ctx.vocab.sections.ways) }), h("ol", { class: "ways" }, ways.map((way, n) => {
    const said = way.changes.map((c) => (c.text ? L(c.text) : `${c.op} ${c.path}`));
    for (const [rid, option] of Object.entries(way.readings || {})) said.push(t("under_reading", { reading: rid, option: L(ctx.vocab.optionLabel(rid, option)) }));
    return h("li", { class: "way" },
      h("span", { text: said.join("；") }),
      way.after ? h("span", { class: "checked" }, ` ${t("checked")} `, statusBadge(way.after.status, ctx.vocab.statuses), " ", amountText(way.after.amount, ctx.vocab.amountKinds)) : null,
      " ",
      h("button", { type: "button", class: "apply", "aria-label": t("apply_way", { n: n + 1 }), onclick: () => ctx.onApply(way) }, t("apply")));
  })));
}
