// Words and numbers on the page: the UI's own strings, KB labels in the chosen language,
// exact money formatting and parsing (strings only: money never becomes a float here).

const ui = JSON.parse(document.getElementById("ui-strings").textContent);
export const state = { lang: document.documentElement.lang === "en" ? "en" : "zh" };

/** The UI string `key` in the current language, with {name} placeholders filled. */
export function t(key, values = {}) {
  const entry = ui[key];
  const text = entry ? entry[state.lang] : key;
  return text.replace(/\{([a-z_]+)\}/g, (_, name) => (name in values ? String(values[name]) : `{${name}}`));
}

/** A KB text ({zh, en}) in the current language. */
export function L(text) {
  if (text == null) return "";
  if (typeof text === "string") return text;
  return text[state.lang] ?? text.zh ?? "";
}

/** Thousands-grouped digits of a plain decimal string: "2999999.99" → "2,999,999.99". */
export function group(plain) {
  const [whole, frac] = String(plain).split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return frac === undefined ? grouped : `${grouped}.${frac}`;
}

export function yuan(plain) {
  if (plain == null) return "—";
  const [whole, frac = ""] = String(plain).split(".");
  return `¥${group(whole)}.${(frac + "00").slice(0, 2)}`;
}

/**
 * Money as people type it — "3,000,000", "300万", "¥1.5亿", "2999999.99元" — to a plain decimal
 * string in yuan ("3000000"), by moving the decimal point in the digits, never through a float.
 * Returns null when the text is not such an amount; the server then gives its own message.
 */
export function parseMoney(text) {
  const s = String(text).trim().replace(/^[¥￥]/, "").replace(/元$/, "").replace(/[,，\s]/g, "");
  const m = /^(\d+)(?:\.(\d+))?(万|亿)?$/.exec(s);
  if (!m) return null;
  const shift = m[3] === "亿" ? 8 : m[3] === "万" ? 4 : 0;
  const frac = m[2] ?? "";
  const whole = (m[1] + frac.padEnd(shift, "0").slice(0, shift)).replace(/^0+(?=\d)/, "");
  const rest = frac.slice(shift).replace(/0+$/, "");
  return rest ? `${whole}.${rest}` : whole;
}

export const STATUS_MARK = {
  eligible: "✓", reduced: "↓", excluded: "⊘", ineligible: "✗",
  undetermined: "?", service: "◇", discretionary: "…", absent: "–",
};

/** A status in colour *and* words: a badge with a mark and the KB's word for it. */
export function statusBadge(status, labels) {
  const span = document.createElement("span");
  span.className = `status status-${status}`;
  span.dataset.status = status;
  const word = labels && labels[status] ? L(labels[status]) : status;
  span.textContent = `${STATUS_MARK[status] ?? "•"} ${word}`;
  return span;
}

/** An outcome's amount in words: "最高 ¥180,000.00", "¥400,000.00 ～ ¥750,000.00", "非现金支持". */
/** The difference of two money strings ("+¥180,000.00", "−¥0.01"), exact: in integer fen (BigInt). */
export function yuanDelta(before, after) {
  const fen = (x) => {
    const [whole, frac = ""] = String(x ?? "0").split(".");
    return BigInt(whole) * 100n + BigInt((frac + "00").slice(0, 2));
  };
  const d = fen(after) - fen(before);
  const abs = d < 0n ? -d : d;
  const text = yuan(`${abs / 100n}.${String(abs % 100n).padStart(2, "0")}`);
  return d === 0n ? `±${text}` : `${d > 0n ? "+" : "−"}${text}`;
}

let words = { phrases: {} };
/** The KB's words the formatting helpers use (the vocabulary's phrases), set once at start. */
export function useWords(vocab) { words = vocab; }

export function amountText(amount, kinds) {
  if (!amount) return "—";
  const { kind, min, max } = amount;
  const p = words.phrases;
  if (min === "0.00" && max === "0.00") return say(p, "amount_nothing");
  if (min == null && max == null) return kinds && kinds[kind] ? L(kinds[kind]) : "—";
  if (kind === "ceiling") return say(p, "amount_ceiling", { high: yuan(max) });
  if (min === max) return say(p, "amount_exact", { high: yuan(max) });
  return say(p, "amount_range", { low: yuan(min), high: yuan(max) });
}

/** Replace `root`'s children with `children` (nested arrays flattened, null and false left out). */
export function fill(root, ...children) {
  root.replaceChildren(...children.flat(Infinity).filter((c) => c != null && c !== false));
  return root;
}

/** document.createElement with attributes and children, the only DOM builder the page uses. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** A KB phrase (kb/messages.yaml, served in the vocabulary) with its {name} placeholders filled. */
export function say(phrases, name, values = {}) {
  const template = phrases && phrases[name] ? L(phrases[name]) : name;
  return template.replace(/\{([a-z_]+)\}/g, (_, k) => (k in values ? String(values[k]) : `{${k}}`));
}
