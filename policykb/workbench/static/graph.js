// The relation graph of the items this application touches, drawn as SVG here (no library):
// items on a circle in policy order, relations as edges styled by kind (dash pattern and
// colour, with a legend in words); relations that acted in this evaluation are drawn bold.

import { L, h, t, STATUS_MARK, fill } from "./format.js";

const NS = "http://www.w3.org/2000/svg";
const KIND_STYLE = {
  exclusive: { dash: "", colour: "#b3261e" },
  excluded_by_other_reward: { dash: "2 3", colour: "#b3261e" },
  highest: { dash: "8 4", colour: "#7b4dbd" },
  group_cap: { dash: "3 3", colour: "#a15c00" },
  requires: { dash: "", colour: "#1f5fa8" },
  complementary: { dash: "1 4", colour: "#2e7d32" },
};

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v != null) el.setAttribute(k, v);
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/** The part of the KB graph this decision touches, under the chosen readings. */
export function subgraph(graph, decision, readings) {
  const touched = new Set(decision.outcomes.map((o) => o.item));
  const holds = (e) => !e.when || Object.entries(e.when).every(([rid, options]) => options.includes(readings[rid]));
  const edges = graph.edges.filter((e) => holds(e) && (touched.has(e.source) || touched.has(e.target))
    && [e.source, e.target].every((n) => touched.has(n) || graph.nodes.find((x) => x.id === n)?.kind === "external"));
  const ids = new Set([...touched]);
  edges.forEach((e) => { ids.add(e.source); ids.add(e.target); });
  const nodes = graph.nodes.filter((n) => ids.has(n.id)).sort((a, b) => a.order - b.order);
  return { nodes, edges };
}

export function renderGraph(root, graph, decision, readings, vocab) {
  const { nodes, edges } = subgraph(graph, decision, readings);
  const acted = new Set(decision.outcomes.flatMap((o) => o.by || []));
  const status = new Map();
  const rank = ["eligible", "reduced", "discretionary", "service", "undetermined", "excluded", "ineligible"];
  for (const o of decision.outcomes) {
    const old = status.get(o.item);
    if (!old || rank.indexOf(o.status) < rank.indexOf(old)) status.set(o.item, o.status);
  }
  const n = nodes.length;
  const R = Math.max(160, n * 22), W = 2 * R + 320, H = 2 * R + 120, cx = W / 2, cy = H / 2;
  const pos = new Map(nodes.map((node, i) => {
    const a = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(n, 1);
    return [node.id, { x: cx + R * Math.cos(a), y: cy + R * Math.sin(a), a }];
  }));
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": "graph-title graph-desc", class: "graph", width: W, height: H });
  svg.append(s("title", { id: "graph-title" }, t("graph_title")),
    s("desc", { id: "graph-desc" }, t("graph_desc", { nodes: n, edges: edges.length })));
  const defs = s("defs");
  defs.append(s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "22", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" },
    s("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#333" })));
  svg.append(defs);
  const seen = new Map();
  for (const e of edges) {
    const a = pos.get(e.source), b = pos.get(e.target);
    if (!a || !b) continue;
    const pair = [e.source, e.target].sort().join("|");
    const k = seen.get(pair) || 0;
    seen.set(pair, k + 1);
    const style = KIND_STYLE[e.kind] || { dash: "", colour: "#555" };
    const mx = (a.x + b.x) / 2 + (cx - (a.x + b.x) / 2) * (0.25 + 0.15 * k), my = (a.y + b.y) / 2 + (cy - (a.y + b.y) / 2) * (0.25 + 0.15 * k);
    const path = s("path", {
      d: `M ${a.x} ${a.y} Q ${mx} ${my} ${b.x} ${b.y}`, fill: "none", stroke: style.colour,
      "stroke-width": acted.has(e.relation) ? 3.5 : 1.4, "stroke-dasharray": style.dash || null,
      "marker-end": e.directed ? "url(#arrow)" : null, class: `edge edge-${e.kind}${acted.has(e.relation) ? " acted" : ""}`,
      "data-relation": e.relation,
    });
    path.append(s("title", {}, `${e.relation} ${L({ zh: e.title_zh, en: e.title_en })} (${t(`kind_${e.kind}`)})${acted.has(e.relation) ? ` — ${t("acted")}` : ""}: “${e.quote}”`));
    svg.append(path);
  }
  for (const node of nodes) {
    const p = pos.get(node.id);
    const st = status.get(node.id);
    const g = s("g", { class: `node node-${node.kind}${st ? ` node-${st}` : ""}`, "data-item": node.id, tabindex: "0" });
    g.append(s("circle", { cx: p.x, cy: p.y, r: 11, class: st ? `status-fill-${st}` : "status-fill-none" }));
    g.append(s("text", { x: p.x, y: p.y + 4, "text-anchor": "middle", class: "node-mark" }, st ? STATUS_MARK[st] : "·"));
    const right = Math.cos(p.a) >= 0;
    g.append(s("text", { x: p.x + (right ? 16 : -16), y: p.y + 4, "text-anchor": right ? "start" : "end", class: "node-label" },
      node.kind === "external" ? L({ zh: node.title_zh, en: node.title_en }) : node.id));
    g.append(s("title", {}, `${node.id} ${L({ zh: node.title_zh, en: node.title_en })}${st ? ` — ${vocab.statusWord(st)}` : ""}`));
    svg.append(g);
  }
  const kinds = [...new Set(edges.map((e) => e.kind))];
  const legend = h("ul", { class: "legend" }, kinds.map((k) => {
    const st = KIND_STYLE[k] || { dash: "", colour: "#555" };
    const sample = s("svg", { width: 40, height: 10, "aria-hidden": "true" },
      s("line", { x1: 0, y1: 5, x2: 40, y2: 5, stroke: st.colour, "stroke-width": 2, "stroke-dasharray": st.dash || null }));
    return h("li", {}, sample, ` ${t(`kind_${k}`)}`);
  }), h("li", {}, h("strong", { text: t("bold_edge") })));
  const table = h("table", { class: "edge-list" },
    h("caption", { text: t("edge_list") }),
    h("thead", {}, h("tr", {}, [t("relation"), t("kind"), t("between"), t("acted")].map((x) => h("th", { scope: "col", text: x })))),
    h("tbody", {}, edges.map((e) => h("tr", {},
      h("td", {}, h("code", { text: e.relation }), ` ${L({ zh: e.title_zh, en: e.title_en })}`),
      h("td", { text: t(`kind_${e.kind}`) }),
      h("td", { text: `${e.source} ${e.directed ? "→" : "—"} ${e.target}` }),
      h("td", { text: acted.has(e.relation) ? t("yes") : "" })))));
  const wrap = h("div", { class: "graph-wrap" });
  wrap.append(svg);
  fill(root, edges.length ? null : h("p", { text: t("no_edges") }), legend, wrap, h("details", {}, h("summary", { text: t("edge_list") }), table));
}
