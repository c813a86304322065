// The lineage page's controls: the title row (the centre node, its details link and the time
// control), the view, direction, depth and fan-out choices, the tools floating on the graph, and the
// legend. Each calls back into the page; none keeps state of its own.

import { h } from "../dom.js";
import { DEPTHS, DIRECTIONS, fanoutChoices } from "../lineage-url.js";
import { pageUrl, parseNodeId } from "../nodes.js";
import { PRODUCERS } from "../producers.js";

/**
 * The title and the controls above the graph. The title shares its row with the time control, and
 * the graph's tools float on the graph: every row of toolbar is a row less of graph on a laptop.
 * `change(patch)`: a new state; `asOf`: the time control's element.
 */
export function lineageToolbar(state, { change, asOf }) {
  const parsed = parseNodeId(state.node);
  const kind = parsed.kind === "datasetField" ? "column" : parsed.kind;
  const select = (name, options, value, label) =>
    h(
      "label",
      { class: "control" },
      h("span", null, label),
      h(
        "select",
        { name, onchange: (e) => change({ [name]: e.target.value }) },
        options.map(([v, text]) => h("option", { value: v, selected: v === value }, text)),
      ),
    );
  const viewButtons = ["tables", "columns"].map((view) =>
    h(
      "button",
      {
        type: "button",
        class: "segment",
        "aria-pressed": String(state.view === view),
        dataset: { view },
        onclick: () => change({ view, select: "" }),
      },
      view === "tables" ? "Datasets & jobs" : "Columns",
    ),
  );
  const title = h(
    "div",
    { class: "lineage-title" },
    h("span", { class: `kind-badge kind-${kind}` }, kind),
    h("h1", null, parsed.name),
    h("span", { class: "muted namespace" }, parsed.namespace),
    h("a", { href: pageUrl(state.node), "data-link": "", class: "button small ghost" }, "Details"),
    asOf,
  );
  const depths = DEPTHS.map((d) => [d, d === "all" ? "all" : `${d} edges`]);
  return h(
    "div",
    { class: "lineage-toolbar" },
    title,
    h(
      "div",
      { class: "controls" },
      h("div", { class: "segmented", role: "group", "aria-label": "What to show" }, viewButtons),
      select("direction", DIRECTIONS, state.direction, "Direction"),
      select("depth", depths, state.depth, "Depth"),
      state.view === "tables" ? select("fanout", fanoutChoices(state.fanout), state.fanout, "Fan-out") : null,
    ),
  );
}

/** The tools on the graph: the hint, Fit, zoom, PNG and Copy link. `view()`: the GraphView. */
export function graphTools(hint, { view, savePng, copyLink }) {
  const tool = (title, onclick, text) => h("button", { type: "button", class: "small ghost", title, onclick }, text);
  return h(
    "div",
    { class: "tools graph-tools" },
    hint,
    tool("Fit the graph", () => view()?.fit(), "Fit"),
    tool("Zoom in", () => view()?.zoomBy(1.25), "+"),
    tool("Zoom out", () => view()?.zoomBy(0.8), "−"),
    tool("Save the graph as a PNG image", savePng, "PNG"),
    tool("Copy a link to this view", copyLink, "Copy link"),
  );
}

/** The legend of the view ("tables" or "columns"): what the shapes, borders and swatches mean. */
export function legendBox(view) {
  if (view === "columns") {
    return h(
      "details",
      { class: "legend" },
      h("summary", null, "Legend"),
      h(
        "div",
        { class: "legend-grid" },
        h(
          "span",
          { class: "legend-item" },
          h("i", { class: "legend-edge direct" }),
          "direct: the value comes from that column",
        ),
        h(
          "span",
          { class: "legend-item" },
          h("i", { class: "legend-edge indirect" }),
          "indirect: it affects the value (join, filter, condition)",
        ),
      ),
      h(
        "p",
        { class: "muted small" },
        "Edge labels name the transformation (identity, aggregation, …); zoom in or select a column to read them. Bold columns have lineage.",
      ),
    );
  }
  const kinds = [
    ["dataset", "Dataset"],
    ["model", "Model"],
    ["job", "Job (border: latest run)"],
  ];
  const state = (name, text) =>
    h("span", { class: "legend-item" }, h("i", { class: `legend-state state-${name}` }), text);
  return h(
    "details",
    { class: "legend" },
    h("summary", null, "Legend"),
    h(
      "div",
      { class: "legend-grid" },
      kinds.map(([kind, text]) => h("span", { class: `legend-item legend-${kind}` }, h("i", null), text)),
      state("completed", "completed"),
      state("failed", "failed"),
      state("running", "running"),
    ),
    h(
      "div",
      { class: "legend-grid" },
      PRODUCERS.filter((p) => p.key !== "great_expectations").map((p) =>
        h("span", { class: "legend-item" }, h("i", { class: `producer-swatch producer-${p.key}` }, p.short), p.label),
      ),
    ),
    h("p", { class: "muted small" }, "Click a node for details · double-click to open it · + expands in place"),
  );
}
