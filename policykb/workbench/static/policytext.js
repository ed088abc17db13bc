// The policy text, with the quoted sentence highlighted and scrolled into view.

import { h, fill } from "./format.js";

/** [start, end) of `quote` in `text`, allowing line breaks and spaces between its characters. */
export function locate(text, quote) {
  const at = text.indexOf(quote);
  if (at >= 0) return [at, at + quote.length];
  const pattern = [...quote.replace(/\s+/g, "")].map((c) => c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("\\s*");
  const m = new RegExp(pattern).exec(text);
  return m ? [m.index, m.index + m[0].length] : null;
}

export function renderText(root, text, quote) {
  const span = quote ? locate(text, quote) : null;
  const pre = h("div", { class: "policy-text", tabindex: "0" });
  if (span) {
    const mark = h("mark", { id: "quoted", text: text.slice(span[0], span[1]) });
    pre.append(text.slice(0, span[0]), mark, text.slice(span[1]));
    fill(root, pre);
    mark.scrollIntoView({ block: "center" });
  } else {
    pre.textContent = text;
    fill(root, pre);
  }
}
