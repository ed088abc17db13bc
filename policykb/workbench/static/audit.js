// The audit view: upload records (JSON Lines / JSON array) or the awards CSV with the
// applications, show the counts by code, severity and measure, then the findings, each
// opening its clause and explanation; the report downloads as Markdown, HTML or JSON.

import { api } from "./api.js";
import { L, h, t, yuan, fill } from "./format.js";

/** The streamed answer (one finding per line, the summary last) as {findings, summary}. */
export function parseAuditLines(text) {
  const rows = text.split("\n").filter((line) => line.trim()).map((line) => JSON.parse(line));
  if (rows.length === 1 && rows[0].findings && rows[0].summary) return rows[0];
  const findings = [], tail = [];
  for (const row of rows) (row.code ? findings : tail).push(row);
  const last = tail[tail.length - 1] || {};
  return { findings, summary: last.summary || last, meta: last };
}

function countTable(caption, counts, label = (k) => k) {
  return h("table", { class: "counts" }, h("caption", { text: caption }),
    h("tbody", {}, Object.entries(counts || {}).map(([k, n]) => h("tr", { dataset: { key: k } }, h("th", { scope: "row", text: label(k) }), h("td", { class: "num", text: String(n) })))));
}

function download(blob, name) {
  const a = h("a", { href: URL.createObjectURL(blob), download: name });
  document.body.append(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 0);
}

export function renderAuditForm(root, ctx) {
  const records = h("input", { type: "file", id: "audit-records", accept: ".jsonl,.json,application/json" });
  const awards = h("input", { type: "file", id: "audit-awards", accept: ".csv,text/csv" });
  const applications = h("input", { type: "file", id: "audit-applications", accept: ".jsonl,.json" });
  const out = h("div", { id: "audit-report", "aria-live": "polite" });
  let last = null;
  const body = () => {
    const form = new FormData();
    if (awards.files[0]) {
      form.append("awards", awards.files[0]);
      form.append("applications", applications.files[0] || records.files[0]);
    } else if (records.files[0]) {
      form.append("records", records.files[0]);
    }
    return form;
  };
  const run = async () => {
    if (!records.files[0] && !(awards.files[0] && applications.files[0])) {
      fill(out, h("p", { class: "error", role: "alert", text: t("audit_need_files") }));
      return;
    }
    fill(out, h("p", { text: t("working") }));
    try {
      last = parseAuditLines(await api.audit(body(), null, ctx.readings()));
      renderReport(out, last, ctx);
    } catch (err) {
      fill(out, h("p", { class: "error", role: "alert", text: ctx.errorText(err) }));
    }
  };
  const get = (format) => async () => {
    try {
      download(await api.audit(body(), format, ctx.readings(), ctx.lang()), `audit-report.${format}`);
    } catch (err) {
      out.prepend(h("p", { class: "error", role: "alert", text: ctx.errorText(err) }));
    }
  };
  fill(root,
    h("form", { class: "audit-form", onsubmit: (e) => { e.preventDefault(); run(); } },
      h("p", { class: "hint", text: t("audit_hint") }),
      h("div", { class: "field" }, h("label", { for: "audit-records", text: t("audit_records") }), records),
      h("p", { class: "or", text: t("or") }),
      h("div", { class: "field" }, h("label", { for: "audit-awards", text: t("audit_awards") }), awards),
      h("div", { class: "field" }, h("label", { for: "audit-applications", text: t("audit_applications") }), applications),
      h("button", { type: "submit", id: "audit-run" }, t("audit_run")),
      h("span", { class: "downloads" }, ` ${t("download")}: `,
        ["md", "html", "json"].map((f) => h("button", { type: "button", class: "link", id: `audit-download-${f}`, onclick: get(f) }, f.toUpperCase())))),
    out);
  return { rerender: () => last && renderReport(out, last, ctx) };
}

function renderReport(root, report, ctx) {
  const { summary, findings } = report;
  const detail = h("section", { class: "finding-detail", id: "finding-detail", hidden: true, "aria-live": "polite" });
  const open = (f) => {
    detail.hidden = false;
    fill(detail,
      h("h4", {}, h("code", { text: f.code }), ` ${f.item || ""} ${f.subject ? `(${f.subject})` : ""}`),
      h("p", { text: L(f.explanation) }),
      f.clause ? h("blockquote", {}, `${f.clause.id} ${f.clause.label || ""} “${f.clause.quote}” `,
        h("button", { type: "button", class: "link", onclick: () => ctx.onQuote(f.clause.quote) }, t("show_in_text"))) : null,
      f.disappears_under && f.disappears_under.length ? h("p", { text: `${t("disappears_under")}: ${f.disappears_under.map((d) => (typeof d === "string" ? d : `${d.reading}=${d.option}`)).join(", ")}` }) : null);
    detail.scrollIntoView({ block: "nearest" });
  };
  fill(root,
    h("p", { class: "audit-summary", id: "audit-summary" },
      t("audit_counts", { records: summary.records, applicants: summary.applicants, findings: summary.findings })),
    h("div", { class: "count-tables" },
      countTable(t("by_code"), summary.by_code),
      countTable(t("by_severity"), summary.by_severity, (k) => t(`severity_${k}`)),
      countTable(t("by_measure"), summary.by_measure)),
    h("table", { class: "findings", id: "findings" },
      h("caption", { text: t("findings") }),
      h("thead", {}, h("tr", {}, [t("col_record"), t("col_code"), t("col_severity"), t("col_item"), t("col_applicant"), t("col_granted"), t("col_allowed"), ""].map((x) => h("th", { scope: "col", text: x })))),
      h("tbody", {}, findings.map((f) => h("tr", { dataset: { code: f.code } },
        h("td", { text: f.line ?? f.record ?? "" }),
        h("td", {}, h("code", { text: f.code })),
        h("td", {}, h("span", { class: `severity severity-${f.severity}`, text: t(`severity_${f.severity}`) })),
        h("td", { text: `${f.item || ""} ${f.subject ? `(${f.subject})` : ""}` }),
        h("td", { text: `${f.applicant || ""} ${f.year || ""}` }),
        h("td", { class: "num", text: f.granted ? yuan(f.granted) : "" }),
        h("td", { class: "num", text: f.allowed ? `${yuan(f.allowed.min)} ～ ${yuan(f.allowed.max)}` : "" }),
        h("td", {}, h("button", { type: "button", class: "open-finding", onclick: () => open(f) }, t("open"))))))),
    detail);
}
