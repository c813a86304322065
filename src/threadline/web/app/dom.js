// Building the page with DOM APIs only.
//
// Every name, description and facet value in threadline comes from whoever sent the events, so it is
// untrusted: the UI never assigns it to innerHTML. `h()` sets text with textContent and attributes with
// setAttribute (never "on*" handlers), so a dataset named `<img src=x onerror=alert(1)>` stays text.

import { shortenName } from "./names.js";

// The libraries (vendor/): each is loaded the first time a page needs it, after that page has asked
// for its data, so that compiling them (Cytoscape alone is 430 kB) does not compete with the page's
// API calls for the CPU, and pages without a graph or chart never load them.
const LIBRARIES = {
  cytoscape: "../vendor/cytoscape/cytoscape.min.js",
  elk: "../vendor/elkjs/elk.bundled.js",
  uplot: "../vendor/uplot/uPlot.iife.min.js",
};
const loading = new Map();

/** Resolves once the library `name` (cytoscape, elk or uplot) has run; loads it the first time. */
export function library(name) {
  if (!loading.has(name)) {
    loading.set(
      name,
      new Promise((resolve, reject) => {
        // Beside this module, under the same /static/<digest>/ prefix (allowed by the page's policy).
        const script = h("script", { src: new URL(LIBRARIES[name], import.meta.url).href });
        script.addEventListener("load", () => resolve(), { once: true });
        script.addEventListener(
          "error",
          () => {
            loading.delete(name); // a later page may try again
            reject(new Error(`the ${name} library could not be loaded`));
          },
          { once: true },
        );
        document.head.append(script);
      }),
    );
  }
  return loading.get(name);
}

/** Create an element: h("a", {href: "/x", class: "link"}, "text", otherNode, [more, children]). */
export function h(tag, attrs = null, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key.startsWith("on")) {
        // Event listeners are functions given by our own code, never strings from data.
        if (typeof value !== "function") throw new Error(`listener ${key} must be a function`);
        el.addEventListener(key.slice(2).toLowerCase(), value);
      } else if (key === "class") {
        el.className = value;
      } else if (key === "dataset") {
        Object.assign(el.dataset, value);
      } else if (value === true) {
        el.setAttribute(key, "");
      } else {
        el.setAttribute(key, String(value));
      }
    }
  }
  append(el, children);
  return el;
}

/** Append children (strings become text nodes; arrays are flattened; null is skipped). */
export function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
  return el;
}

/** Remove every child of `el`, then append `children`. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** A same-origin link handled by the router (no page reload). */
export function link(href, ...children) {
  return h("a", { href, "data-link": "" }, ...children);
}

// ---- formatting ------------------------------------------------------------------------------------

const dateTime = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});

/** "Nov 3, 2026, 04:12:09" in the browser's time zone, or "–". */
export function formatTime(iso) {
  if (!iso) return "–";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : dateTime.format(date);
}

/** "3 h ago", "in 5 min", from an ISO time. */
export function relativeTime(iso) {
  if (!iso) return "";
  const seconds = (new Date(iso).getTime() - Date.now()) / 1000;
  const units = [
    ["year", 31536000],
    ["month", 2592000],
    ["day", 86400],
    ["hour", 3600],
    ["minute", 60],
  ];
  const format = new Intl.RelativeTimeFormat(undefined, { numeric: "auto", style: "short" });
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return format.format(Math.round(seconds / size), unit);
  }
  return format.format(Math.round(seconds), "second");
}

/**
 * A duration for people: "320 ms", "4.2 s", "4 min 05 s", "1 h 02 min". Spelled as the CLI spells it
 * (threadline/vocabulary.py, format_duration): whole milliseconds, halves rounded up.
 */
export function formatDuration(ms) {
  if (ms === null || ms === undefined) return "–";
  const whole = Math.floor(ms);
  if (whole < 1000) return `${whole} ms`;
  const tenths = Math.floor((whole + 50) / 100);
  if (tenths < 600) return `${Math.floor(tenths / 10)}.${tenths % 10} s`;
  const seconds = Math.floor((whole + 500) / 1000);
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(seconds % 60).padStart(2, "0")} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

/** 12,345 with the browser's grouping. */
export function formatNumber(value) {
  if (value === null || value === undefined || value === "") return "–";
  return typeof value === "number" ? value.toLocaleString() : String(value);
}

/** 1.2 MB from bytes. */
export function formatBytes(bytes) {
  if (bytes === null || bytes === undefined) return "–";
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = Number(bytes);
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** A run state for people: Marquez's word (COMPLETED) in lower case, as the CLI writes it. */
export function stateLabel(state) {
  return (state || "NEW").toLowerCase();
}

/** A run state as a coloured pill. */
export function statePill(state) {
  const name = stateLabel(state);
  return h("span", { class: `pill state-${name}` }, name);
}

/** A run's short id: the shortest prefix no other run shares (the server's `shortId`), else 8 digits. */
export function shortRunId(run) {
  return run.shortId || String(run.id || "").slice(0, 8);
}

/** A long name in at most `max` characters, cut in the middle keeping what tells it apart
 * (names.js): "analytics…customer_segments". */
export function shorten(text, max) {
  return shortenName(text, { fits: (value) => value.length <= max });
}

/** A version or content hash, recognisable by its start: "blake3:f446379bf7db…". */
export function shortHash(value, digits = 12) {
  const text = String(value ?? "");
  const colon = text.indexOf(":");
  const prefix = colon > 0 && colon < 12 ? text.slice(0, colon + 1) : "";
  const rest = text.slice(prefix.length);
  return rest.length <= digits + 1 ? text : `${prefix}${rest.slice(0, digits)}…`;
}

/** Keep the start of a long text (messages): "ValueError: Input X contains…". */
export function truncate(text, max) {
  const value = String(text ?? "");
  return value.length <= max ? value : `${value.slice(0, max - 1)}…`;
}

/** A labelled definition list from [label, value] pairs (values may be nodes); empty values skipped. */
export function details(pairs) {
  const list = h("dl", { class: "details" });
  for (const [label, value] of pairs) {
    if (value === null || value === undefined || value === "") continue;
    list.append(h("dt", null, label), h("dd", null, value));
  }
  return list;
}

/** A table from column names and rows of cells (strings or nodes). */
export function table(columns, rows, { empty = "Nothing here yet.", className = "" } = {}) {
  if (!rows.length) return h("p", { class: "empty" }, empty);
  return h(
    "table",
    { class: `grid ${className}` },
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        columns.map((c) => h("th", null, c)),
      ),
    ),
    h(
      "tbody",
      null,
      rows.map((cells) =>
        h(
          "tr",
          null,
          cells.map((cell) => h("td", null, cell)),
        ),
      ),
    ),
  );
}

/** A section with a heading. */
export function section(title, ...children) {
  return h("section", { class: "card" }, h("h2", null, title), ...children);
}

/** A message box: kind is "error", "info" or "warning". */
export function notice(kind, ...children) {
  return h("div", { class: `notice notice-${kind}`, role: kind === "error" ? "alert" : "status" }, ...children);
}

/** Copy text to the clipboard, with a short confirmation on the button. */
export function copyButton(text, label = "Copy") {
  const button = h("button", { type: "button", class: "small ghost", title: "Copy to the clipboard" }, label);
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    } catch {
      button.textContent = "Copy failed";
    }
    setTimeout(() => {
      button.textContent = label;
    }, 1500);
  });
  return button;
}

/** Wait `ms` after the last call before calling `fn` (type-ahead, sliders). */
export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
