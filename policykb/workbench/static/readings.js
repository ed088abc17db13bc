// The readings panel: every reading of an ambiguous sentence with its options, those that
// change this application first; switching one re-evaluates (the caller highlights what moved).

import { L, h, t, amountText, statusBadge, fill } from "./format.js";

/** Readings ordered for this application: those that change it, then those it uses, then the rest. */
export function ordered(defs, effects, decision) {
  const changing = new Set((effects?.effects || []).map((e) => e.reading));
  const used = new Set((decision?.outcomes || []).flatMap((o) => o.readings || []));
  const rank = (r) => (changing.has(r.id) ? 0 : used.has(r.id) ? 1 : 2);
  return [...defs].sort((a, b) => rank(a) - rank(b) || a.id.localeCompare(b.id, "en", { numeric: true }))
    .map((r) => ({ ...r, rank: rank(r) }));
}

export function renderReadings(root, defs, chosen, effects, decision, moved, vocab, onSwitch) {
  const list = ordered(defs, effects, decision);
  const byReading = new Map();
  for (const e of effects?.effects || []) {
    if (!byReading.has(e.reading)) byReading.set(e.reading, []);
    byReading.get(e.reading).push(e);
  }
  const rankWord = [t("reading_matters"), t("reading_used"), t("reading_no_effect")];
  fill(root,
    moved && moved.length ? h("div", { class: "moved-summary", role: "status" },
      h("strong", { text: t("moved_summary", { n: moved.length }) }),
      h("ul", {}, moved.map((m) => h("li", {}, `${m.key.split("\u0000").join(" · ")}: `,
        m.before ? statusBadge(m.before.status, vocab.statuses) : t("new"), " → ",
        m.after ? statusBadge(m.after.status, vocab.statuses) : t("gone_short"),
        m.after ? ` ${amountText(m.after.amount, vocab.amountKinds)}` : "")))) : null,
    h("p", { class: "hint", text: t("readings_hint") }),
    list.map((r) => {
      const current = chosen[r.id] ?? r.default;
      const name = `reading-${r.id}`;
      const effectsHere = byReading.get(r.id) || [];
      return h("fieldset", { class: `reading rank-${r.rank}`, dataset: { reading: r.id } },
        h("legend", {}, h("strong", { text: r.id }), " ", L(r.question), " ", h("span", { class: `rank-tag rank-tag-${r.rank}`, text: rankWord[r.rank] })),
        r.quote ? h("q", { class: "says", text: r.quote }) : null,
        r.options.map((o) => {
          const id = `${name}-${o.option}`;
          const effect = effectsHere.find((e) => e.option === o.option);
          return h("div", { class: "option" },
            h("input", {
              type: "radio", id, name, value: o.option, checked: o.option === current,
              onchange: () => onSwitch(r.id, o.option),
            }),
            h("label", { for: id }, L(o.label), o.option === r.default ? h("span", { class: "default-tag", text: ` (${t("default")})` }) : null),
            effect ? h("span", { class: "effect", text: ` — ${t("would_change", { n: effect.changes.length })}` }) : null);
        }));
    }));
}
