// The outcome table (grouped by measure), the totals by payer, and what moved since the
// previous evaluation — marked in words as well as colour.

import { L, h, t, yuan, amountText, statusBadge, fill, state } from "./format.js";

const key = (o) => `${o.item}\u0000${o.subject}`;

/** Outcomes whose status or amount differ between two decisions: key → {before, after}. */
export function moved(before, after) {
  const out = new Map();
  if (!before) return out;
  const old = new Map(before.outcomes.map((o) => [key(o), o]));
  for (const o of after.outcomes) {
    const b = old.get(key(o));
    if (!b || b.status !== o.status || JSON.stringify(b.amount) !== JSON.stringify(o.amount)) out.set(key(o), { before: b, after: o });
    old.delete(key(o));
  }
  for (const [k, b] of old) out.set(k, { before: b, after: null });
  return out;
}

/** The measure as printed （一） in Chinese, its number in English (as the command line's tables). */
function measureLabel(item, measure) {
  return state.lang === "zh" && item ? item.label : String(measure);
}

export function renderResults(root, decision, changes, vocab, onWhy) {
  const items = vocab.items;
  const totals = h("section", { class: "totals", "aria-labelledby": "totals-h" },
    h("h3", { id: "totals-h", text: t("totals") }),
    h("table", { class: "totals-table" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col", text: t("payer") }), h("th", { scope: "col", text: t("min") }), h("th", { scope: "col", text: t("max") }))),
      h("tbody", {},
        Object.entries(decision.totals_by_payer || {}).map(([payer, v]) =>
          h("tr", { dataset: { payer } }, h("th", { scope: "row", text: vocab.payerLabel(payer) }), h("td", { class: "num", text: yuan(v.min) }), h("td", { class: "num", text: yuan(v.max) }))),
        h("tr", { class: "grand" }, h("th", { scope: "row", text: t("total") }), h("td", { class: "num", text: yuan(decision.totals.min) }), h("td", { class: "num", text: yuan(decision.totals.max) })))));

  const byMeasure = new Map();
  for (const o of decision.outcomes) {
    if (!byMeasure.has(o.measure)) byMeasure.set(o.measure, []);
    byMeasure.get(o.measure).push(o);
  }
  const head = h("thead", {}, h("tr", {},
    [t("col_measure"), t("col_item"), t("col_subject"), t("col_status"), t("col_amount"), t("col_readings"), t("col_why")]
      .map((text) => h("th", { scope: "col", text }))));
  const bodies = [...byMeasure.entries()].map(([measure, outcomes]) => {
    const first = items[outcomes[0].item];
    return h("tbody", { dataset: { measure: String(measure) } },
      h("tr", { class: "measure-row" }, h("th", { colspan: 7, scope: "rowgroup", text: t("measure_heading", { label: measureLabel(first, measure) }) })),
      outcomes.map((o) => {
        const item = items[o.item];
        const change = changes.get(key(o));
        const row = h("tr", { class: `outcome${change ? " moved" : ""}`, dataset: { item: o.item, subject: o.subject, status: o.status } },
          h("td", { text: measureLabel(item, o.measure) }),
          h("td", {}, h("code", { text: o.item }), " ", item ? L(item.title) : ""),
          h("td", { text: o.subject }),
          h("td", {}, statusBadge(o.status, vocab.statuses),
            o.by.length ? h("span", { class: "by", text: ` (${o.by.join(", ")})` }) : null),
          h("td", { class: "num", text: amountText(o.amount, vocab.amountKinds) }),
          h("td", { class: "readings-cell", text: (o.readings || []).join(", ") }),
          h("td", {}, h("button", {
            type: "button", class: "why",
            "aria-label": t("why_for", { item: o.item, subject: o.subject }),
            onclick: () => onWhy(o),
          }, t(o.status === "eligible" ? "why" : "why_not"))));
        if (change) {
          const was = change.before ? `${vocab.statusWord(change.before.status)} ${amountText(change.before.amount, vocab.amountKinds)}` : t("new");
          row.children[3].append(h("span", { class: "moved-note", text: ` ${t("moved_from", { was })}` }));
        }
        return row;
      }));
  });
  const gone = [...changes.values()].filter((c) => !c.after);
  // the policy's other items: why not, and what it would take (qualify) — from the KB alone
  const reached = new Set(decision.outcomes.map((o) => o.item));
  const others = vocab.itemIds.filter((id) => !reached.has(id));
  const unreached = others.length ? h("details", { class: "unreached", id: "unreached" },
    h("summary", { text: t("unreached", { n: others.length }) }),
    h("ul", {}, others.map((id) => h("li", { dataset: { item: id } },
      h("code", { text: id }), ` ${measureLabel(items[id], items[id].measure)} ${L(items[id].title)} `,
      h("button", {
        type: "button", class: "why-absent", "aria-label": t("why_absent_for", { item: id }),
        onclick: () => onWhy({ item: id, subject: null, status: "absent" }),
      }, t("why_not")))))) : null;
  const table = h("table", { class: "outcomes", id: "outcomes" },
    h("caption", { text: t("outcomes_caption", { n: decision.outcomes.length }) }), head, bodies);
  fill(root,
    h("p", { class: "decision-meta" },
      `${decision.applicant.name} · ${decision.year} · ${t("kb_version")} `, h("code", { text: decision.kb_version.slice(0, 12) })),
    totals,
    changes.size ? h("p", { class: "moved-summary", role: "status", text: t("moved_summary", { n: changes.size }) }) : null,
    gone.length ? h("ul", { class: "gone" }, gone.map((c) => h("li", { text: t("gone", { item: c.before.item, subject: c.before.subject }) }))) : null,
    table,
    unreached);
}
