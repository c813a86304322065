// Facets as a collapsible tree of text: any JSON a producer sent, shown without interpreting it.

import { h } from "./dom.js";

function leaf(value) {
  if (value === null) return h("span", { class: "json-null" }, "null");
  if (typeof value === "string") return h("span", { class: "json-string" }, JSON.stringify(value));
  return h("span", { class: `json-${typeof value}` }, String(value));
}

/** A tree of `value`: objects and arrays collapsible, open to `openDepth` levels. */
export function jsonTree(value, openDepth = 1, depth = 0) {
  if (value === null || typeof value !== "object") return leaf(value);
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  if (!entries.length) return h("span", { class: "json-empty" }, Array.isArray(value) ? "[]" : "{}");
  const summary = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`;
  return h(
    "details",
    { class: "json", open: depth < openDepth },
    h("summary", null, summary),
    h(
      "ul",
      null,
      entries.map(([key, v]) =>
        h("li", null, h("span", { class: "json-key" }, String(key)), ": ", jsonTree(v, openDepth, depth + 1)),
      ),
    ),
  );
}

/** Every facet of `facets` as its own collapsible block, by name (the "_producer"/"_schemaURL" kept). */
export function facetList(facets, { skip = [] } = {}) {
  const names = Object.keys(facets || {})
    .filter((n) => !skip.includes(n))
    .sort();
  if (!names.length) return h("p", { class: "empty" }, "No facets.");
  return h(
    "div",
    { class: "facets" },
    names.map((name) =>
      h(
        "details",
        { class: "facet" },
        h(
          "summary",
          null,
          h("code", null, name),
          facets[name]?._producer ? h("span", { class: "muted small" }, ` · ${facets[name]._producer}`) : null,
        ),
        jsonTree(facets[name], 2),
      ),
    ),
  );
}
