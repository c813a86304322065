// The lineage view: /lineage?node=<node id>&depth=&direction=&asOf=&view=&expand=&more=&select=&impact=&pathFrom=&pathTo=&field=&fanout=
//
// Everything shown is in the URL, so a view can be shared as a link and restored exactly: the centre
// node, depth and direction, the time ("as of"), tables or columns, which nodes were expanded in place
// and which "+N more" groups unfolded, the selected node, and an impact or path highlight.

import { api, ApiError } from "../api.js";
import { debounce, formatDuration, formatTime, h, link, notice, relativeTime, replace, shorten, statePill, truncate, shortHash } from "../dom.js";
import { GraphView } from "../graph.js";
import { buildView, DEFAULT_FANOUT, LineageGraph, nodeKind, nodeProducer } from "../lineage-model.js";
import { peerIndex, shortenName } from "../names.js";
import { datasetId, fieldId, lineageUrl, pageUrl, parseNodeId, runUrl } from "../nodes.js";
import { jobTypeLabel, PRODUCERS } from "../producers.js";
import { navigate, setQuery } from "../router.js";

const DEPTHS = ["1", "2", "3", "4", "6", "8", "10", "20", "all"];
const DIRECTIONS = [["both", "Up- and downstream"], ["upstream", "Upstream"], ["downstream", "Downstream"], ["undirected", "Neighbourhood"]];
const FANOUTS = [["12", "Group fan-outs above 12"], ["25", "Group above 25"], ["50", "Group above 50"], ["0", "Never group"]];
const EXPAND_DEPTH = 2; // one job and its datasets
const MAX_FIELDS = 40;

/** The fan-out choices, with the URL's own value when it is not one of them. */
function fanouts(current) {
  return FANOUTS.some(([value]) => value === current) ? FANOUTS : [...FANOUTS, [current, `Group above ${current}`]];
}

function readState(q) {
  return {
    node: q.get("node") || "",
    depth: DEPTHS.includes(q.get("depth")) ? q.get("depth") : "4",
    direction: DIRECTIONS.some(([d]) => d === q.get("direction")) ? q.get("direction") : "both",
    asOf: q.get("asOf") || "",
    view: q.get("view") === "columns" ? "columns" : "tables",
    expand: q.getAll("expand"),
    more: q.getAll("more"),
    select: q.get("select") || "",
    impact: q.get("impact") || "",
    pathFrom: q.get("pathFrom") || "",
    pathTo: q.get("pathTo") || "",
    field: q.get("field") || "",
    fanout: /^\d+$/.test(q.get("fanout") || "") ? String(Number(q.get("fanout"))) : String(DEFAULT_FANOUT),
  };
}

export async function lineagePage({ query, outlet, signal }) {
  const state = readState(query);
  if (!state.node || !parseNodeId(state.node)) {
    replace(outlet, h("h1", null, "Lineage"), notice("info", "Search for a dataset or job above, then open its lineage."));
    return undefined;
  }
  const page = new LineagePage(outlet, state, signal);
  await page.start();
  return () => page.destroy();
}

class LineagePage {
  constructor(outlet, state, signal) {
    this.outlet = outlet;
    this.state = state;
    this.signal = signal;
    this.answers = new Map(); // request key -> lineage answer
    this.detailCache = new Map(); // node id -> its dataset or job (Marquez's shape)
    this.graph = null; // merged LineageGraph of the tables view
    this.columns = null; // the column-lineage answer
    this.pathPick = false;
    this.loading = 0;
  }

  // ---- the page's frame ---------------------------------------------------------------------------

  build() {
    this.view?.destroy();
    const parsed = parseNodeId(this.state.node);
    const select = (name, options, value, label) => h("label", { class: "control" }, h("span", null, label),
      h("select", { name, onchange: (e) => this.change({ [name]: e.target.value }) },
        options.map(([v, text]) => h("option", { value: v, selected: v === value }, text))));
    this.viewButtons = ["tables", "columns"].map((view) => h("button", {
      type: "button", class: "segment", "aria-pressed": String(this.state.view === view), dataset: { view },
      onclick: () => this.change({ view, select: "" }),
    }, view === "tables" ? "Datasets & jobs" : "Columns"));
    this.asOfInput = h("input", { type: "range", id: "asof", name: "asOf", min: "0", max: "1", step: "any", value: "1", "aria-label": "Show the graph as of this time" });
    this.asOfLabel = h("output", { for: "asof", class: "asof-label" }, "now");
    this.asOfNow = h("button", { type: "button", class: "small ghost", onclick: () => this.change({ asOf: "" }) }, "Now");
    const showAsOf = debounce(() => this.asOfChanged(), 250);
    this.asOfInput.addEventListener("input", () => { this.asOfLabelUpdate(); showAsOf(); });
    this.asOfInput.addEventListener("change", () => { this.asOfLabelUpdate(); showAsOf(); });
    // The title shares its row with the time control, and the graph's tools float on the graph:
    // every row of toolbar is a row less of graph on a laptop.
    this.title = h("div", { class: "lineage-title" },
      h("span", { class: `kind-badge kind-${parsed.kind === "datasetField" ? "column" : parsed.kind}` }, parsed.kind === "datasetField" ? "column" : parsed.kind),
      h("h1", null, parsed.name), h("span", { class: "muted namespace" }, parsed.namespace),
      h("a", { href: pageUrl(this.state.node), "data-link": "", class: "button small ghost" }, "Details"),
      h("div", { class: "control asof" }, h("span", null, "As of"), this.asOfInput, this.asOfLabel, this.asOfNow));

    this.canvas = h("div", { id: "graph", class: "graph-canvas", role: "img", "aria-label": "Lineage graph; the list below the graph has the same nodes" });
    this.panel = h("aside", { class: "side-panel", id: "panel", "aria-live": "polite", hidden: !this.state.select });
    this.status = h("div", { class: "graph-status", id: "graph-status" });
    this.message = h("div", { class: "graph-message" });
    this.list = h("ul", { class: "graph-list", id: "graph-list" });
    this.listSummary = h("summary", null, "Nodes in view");
    this.legend = this.legendBox();
    this.hint = h("span", { class: "graph-hint" });
    replace(this.outlet, h("div", { class: "lineage-page" },
      h("div", { class: "lineage-toolbar" },
        this.title,
        h("div", { class: "controls" },
          h("div", { class: "segmented", role: "group", "aria-label": "What to show" }, this.viewButtons),
          select("direction", DIRECTIONS, this.state.direction, "Direction"),
          select("depth", DEPTHS.map((d) => [d, d === "all" ? "all" : `${d} edges`]), this.state.depth, "Depth"),
          this.state.view === "tables" ? select("fanout", fanouts(this.state.fanout), this.state.fanout, "Fan-out") : null)),
      h("div", { class: "lineage-body" },
        h("div", { class: "graph-wrap" }, this.canvas, this.legend, this.message, this.status,
          h("div", { class: "tools graph-tools" }, this.hint,
            h("button", { type: "button", class: "small ghost", title: "Fit the graph", onclick: () => this.view?.fit() }, "Fit"),
            h("button", { type: "button", class: "small ghost", title: "Zoom in", onclick: () => this.view?.zoomBy(1.25) }, "+"),
            h("button", { type: "button", class: "small ghost", title: "Zoom out", onclick: () => this.view?.zoomBy(0.8) }, "−"),
            h("button", { type: "button", class: "small ghost", title: "Save the graph as a PNG image", onclick: () => this.savePng() }, "PNG"),
            h("button", { type: "button", class: "small ghost", title: "Copy a link to this view", onclick: () => this.copyLink() }, "Copy link"))),
        this.panel),
      h("details", { class: "graph-list-box" }, this.listSummary, this.list)));
    this.view = new GraphView(this.canvas, {
      hint: this.hint,
      hintButton: false, // Fit is beside it
      margins: { top: 56, bottom: 28 }, // the tools above, the legend and the status below
      onSelect: (id) => this.nodeTapped(id),
      onOpen: (id) => { const url = pageUrl(id); if (url) navigate(url); },
      onExpand: (id, dir) => this.toggleExpand(id, dir),
      onMore: (groupId) => this.unfold(groupId),
    });
  }

  legendBox() {
    if (this.state.view === "columns") {
      return h("details", { class: "legend" }, h("summary", null, "Legend"),
        h("div", { class: "legend-grid" },
          h("span", { class: "legend-item" }, h("i", { class: "legend-edge direct" }), "direct: the value comes from that column"),
          h("span", { class: "legend-item" }, h("i", { class: "legend-edge indirect" }), "indirect: it affects the value (join, filter, condition)")),
        h("p", { class: "muted small" }, "Edge labels name the transformation (identity, aggregation, …); zoom in or select a column to read them. Bold columns have lineage."));
    }
    const kinds = [["dataset", "Dataset"], ["model", "Model"], ["job", "Job (border: latest run)"]];
    return h("details", { class: "legend" },
      h("summary", null, "Legend"),
      h("div", { class: "legend-grid" },
        kinds.map(([kind, text]) => h("span", { class: `legend-item legend-${kind}` }, h("i", null), text)),
        h("span", { class: "legend-item" }, h("i", { class: "legend-state state-completed" }), "completed"),
        h("span", { class: "legend-item" }, h("i", { class: "legend-state state-failed" }), "failed"),
        h("span", { class: "legend-item" }, h("i", { class: "legend-state state-running" }), "running")),
      h("div", { class: "legend-grid" }, PRODUCERS.filter((p) => p.key !== "great_expectations").map((p) =>
        h("span", { class: "legend-item" }, h("i", { class: `producer-swatch producer-${p.key}` }, p.short), p.label))),
      h("p", { class: "muted small" }, "Click a node for details · double-click to open it · + expands in place"));
  }

  async start() {
    this.build();
    if (this.state.view === "columns") this.loadTimespan();
    await this.load();
  }

  destroy() {
    this.view?.destroy();
    this.view = null;
  }

  syncUrl(push = false) {
    const s = this.state;
    setQuery({
      node: s.node, depth: s.depth === "4" ? "" : s.depth, direction: s.direction === "both" ? "" : s.direction,
      asOf: s.asOf, view: s.view === "tables" ? "" : s.view, field: s.field, expand: s.expand, more: s.more,
      fanout: s.fanout === String(DEFAULT_FANOUT) ? "" : s.fanout, select: s.select, impact: s.impact,
      pathFrom: s.pathFrom, pathTo: s.pathTo,
    }, { push });
  }

  /** Change view settings: new URL (a history entry), then draw again. */
  async change(patch) {
    const before = { ...this.state };
    Object.assign(this.state, patch);
    if (patch.view !== undefined && patch.view !== before.view) {
      this.build();
      if (this.first === undefined) this.loadTimespan();
      else this.asOfRange();
    }
    if (patch.asOf !== undefined) this.asOfSync();
    if (["depth", "direction", "asOf"].some((k) => k in patch)) {
      this.state.impact = "";
      this.state.pathFrom = "";
      this.state.pathTo = "";
    }
    this.syncUrl(true);
    await this.load();
  }

  // ---- as-of control ------------------------------------------------------------------------------

  /** The as-of control's range, asked for on its own (the column view: the table view's lineage
   * answers carry it, see takeTimespan). */
  async loadTimespan() {
    try {
      this.takeTimespan(await api.timespan({ signal: this.signal }));
    } catch (error) {
      if (error.name !== "AbortError") this.asOfInput.disabled = true;
    }
  }

  /** Set the as-of control's range from an answer's firstEventTime and lastEventTime. */
  takeTimespan(span) {
    if (!span.firstEventTime) return;
    this.first = new Date(span.firstEventTime).getTime();
    this.last = new Date(span.lastEventTime).getTime() + 1000;
    this.asOfRange();
  }

  /** Give the as-of control the known range (after it is built again: a new view). */
  asOfRange() {
    this.asOfInput.min = String(this.first);
    this.asOfInput.max = String(this.last);
    this.asOfSync();
  }

  asOfSync() {
    if (this.first === undefined) return;
    const value = this.state.asOf ? new Date(this.state.asOf).getTime() : this.last;
    this.asOfInput.value = String(Math.min(Math.max(value, this.first), this.last));
    this.asOfLabelUpdate();
  }

  asOfLabelUpdate() {
    const value = Number(this.asOfInput.value);
    const latest = this.last !== undefined && value >= this.last;
    this.asOfLabel.textContent = latest || (!this.state.asOf && this.last === undefined) ? "now" : formatTime(new Date(value).toISOString());
    this.asOfNow.hidden = latest;
  }

  asOfChanged() {
    const value = Number(this.asOfInput.value);
    const asOf = this.last !== undefined && value >= this.last ? "" : new Date(value).toISOString();
    if (asOf !== this.state.asOf) this.change({ asOf });
  }

  // ---- loading ------------------------------------------------------------------------------------

  /** The compact lineage answer (cached: expanding a node again asks nothing). The column view
   * asks for each dataset's fields too. */
  async fetchLineage(nodeId, depth, direction) {
    const fields = this.state.view === "columns";
    const key = JSON.stringify([nodeId, depth, direction, this.state.asOf, fields]);
    if (!this.answers.has(key)) {
      const params = { nodeId, depth, direction, asOf: this.state.asOf || undefined, fields: fields || undefined };
      const promise = api.lineage(params, { signal: this.signal });
      this.answers.set(key, promise);
      promise.catch(() => this.answers.delete(key));
    }
    return this.answers.get(key);
  }

  async load() {
    const ticket = ++this.loading;
    this.canvas.dataset.state = "loading";
    this.message.replaceChildren(h("span", { class: "spinner" }), "Loading lineage…");
    this.message.hidden = false;
    try {
      if (this.state.view === "columns") await this.loadColumns(ticket);
      else await this.loadTables(ticket);
      if (ticket !== this.loading) return;
      this.message.hidden = true;
      await this.applyHighlight();
      this.renderPanel();
    } catch (error) {
      if (error.name === "AbortError" || ticket !== this.loading) return;
      this.canvas.dataset.state = "error";
      this.message.replaceChildren(notice("error", error.message, error instanceof ApiError ? ` ${error.advice}` : ""));
      this.message.hidden = false;
    }
  }

  async loadGraph() {
    const s = this.state;
    const expansions = s.expand.map((key) => {
      const [dir, ...rest] = key.split("~");
      return { dir, id: rest.join("~") };
    }).filter((e) => (e.dir === "up" || e.dir === "down") && e.id);
    const answers = await Promise.all([
      this.fetchLineage(s.node, s.depth, s.direction),
      ...expansions.map((e) => this.fetchLineage(e.id, EXPAND_DEPTH, e.dir === "up" ? "upstream" : "downstream")),
    ]);
    if (answers[0].firstEventTime !== undefined) this.takeTimespan(answers[0]);
    const graph = new LineageGraph();
    for (const answer of answers) graph.add(answer);
    return { graph, answers };
  }

  async loadTables(ticket) {
    const s = this.state;
    const { graph, answers } = await this.loadGraph();
    if (ticket !== this.loading) return;
    this.graph = graph;
    const centerId = answers[0].graph.find((n) => n.distance === 0)?.id || s.node;
    this.centerId = centerId;
    const pinned = new Set([centerId, s.select, s.pathFrom, s.pathTo, ...s.expand.map((k) => k.split("~").slice(1).join("~"))]);
    const model = buildView(graph, {
      center: centerId, direction: s.direction, expansions: new Set(s.expand), unfolded: new Set(s.more),
      fanout: Number(s.fanout), pinned,
    });
    this.model = model;
    const keep = this.lastFocus && this.lastCenter === centerId;
    const result = await this.view.show(model, { keepViewport: keep, focus: this.lastFocus });
    this.lastCenter = centerId;
    this.lastFocus = null;
    const shown = model.nodes.filter((n) => n.kind !== "more").length;
    // Nodes at the depth limit with more beyond them have a "+" handle; say so in words too.
    const beyond = ["up", "down"].filter((dir) => model.nodes.some((n) => n.handles?.[dir] === "closed"));
    this.status.textContent = `${shown} nodes${model.hidden ? `, ${model.hidden} grouped` : ""}`
      + (beyond.length ? ` · more ${beyond.map((d) => `${d}stream`).join(" and ")} beyond ${s.depth} edges (+ or Depth shows it)` : "")
      + ` · laid out by ${result.engine === "elk" ? "ELK" : "layered"} in ${Math.round(result.ms)} ms` + (s.asOf ? ` · as of ${formatTime(s.asOf)}` : "");
    const owner = (id) => graph.nodes.get(id)?.name || id;
    this.renderList(model.nodes.map((n) => (n.kind === "more"
      ? { id: n.id, kind: "more", name: `${n.label} (${n.id.endsWith("~up") ? "upstream" : "downstream"} of ${owner(n.owner)})`, action: () => this.unfold(n.id) }
      : { id: n.id, name: n.name || n.id, kind: n.kind, producer: n.producer.key, state: n.state, label: result.labels.get(n.id)?.split("\n")[0] })));
    if (s.select) this.view.select(s.select);
  }

  async loadColumns(ticket) {
    const s = this.state;
    const parsed = parseNodeId(s.node);
    // The table graph gives each dataset's whole schema and the producers; fetch both at once.
    const tablesPromise = this.loadGraph().catch(() => null);
    let target = s.node;
    if (parsed.kind === "job") {
      const job = (await this.fetchLineage(s.node, 1, "downstream")).graph.find((n) => n.distance === 0);
      target = job?.outEdges[0];
      if (!target) throw new Error("This job has no outputs, so there are no columns to show.");
    }
    const focus = s.field && parseNodeId(target).kind === "dataset"
      ? fieldId(parseNodeId(target).namespace, parseNodeId(target).name, s.field) : null;
    const depth = s.depth === "all" ? "all" : String(Math.max(1, Math.ceil(Number(s.depth) / 2)));
    const direction = s.direction === "upstream" || s.direction === "downstream" ? s.direction : "both";
    const [answer, tables] = await Promise.all([
      api.columnLineage({ nodeId: focus || target, depth, direction, asOf: s.asOf || undefined }, { signal: this.signal }),
      tablesPromise,
    ]);
    if (ticket !== this.loading) return;
    this.graph = tables?.graph || null;
    this.columns = answer;
    const model = this.columnModel(answer, target, focus);
    this.model = model;
    const result = await this.view.show(model);
    const fields = model.nodes.filter((n) => n.kind === "field" && n.classes.includes("lineage")).length;
    const tablesCount = model.nodes.filter((n) => n.kind === "table").length;
    this.status.textContent = `${tablesCount} datasets, ${fields} columns with lineage, ${model.edges.length} column edges · ${result.engine === "elk" ? "ELK" : "layered"} ${Math.round(result.ms)} ms`
      + (s.asOf ? ` · as of ${formatTime(s.asOf)}` : "");
    if (!model.edges.length) {
      this.message.replaceChildren(notice("info", "No column lineage is recorded around this dataset. Producers send it in the columnLineage facet (dbt, Spark and the SDK do)."));
      this.message.hidden = false;
    }
    this.renderList(model.nodes.filter((n) => n.kind === "field").map((n) => ({ id: n.id, name: n.name, kind: "column", parent: n.dataset })));
    if (s.select) this.view.select(s.select);
  }

  columnModel(answer, target, focus) {
    const tables = new Map();
    const tableOf = (namespace, dataset) => {
      const id = datasetId(namespace, dataset);
      if (!tables.has(id)) tables.set(id, { id, namespace, dataset, fields: new Map() });
      return tables.get(id);
    };
    const edges = [];
    for (const node of answer.graph) {
      const d = node.data;
      tableOf(d.namespace, d.dataset).fields.set(d.field, { type: d.fieldType, lineage: true });
      for (const input of d.inputFields || []) {
        const source = fieldId(input.namespace, input.dataset, input.field);
        const t = input.transformations?.[0] || { type: input.transformationType };
        const kind = [t.type, t.subtype].filter(Boolean).join(" · ").toLowerCase();
        edges.push({ id: `c:${source}>${node.id}`, source, target: node.id, label: kind || "", classes: t.type === "INDIRECT" ? "indirect" : "" });
        tableOf(input.namespace, input.dataset).fields.set(input.field, { ...(tableOf(input.namespace, input.dataset).fields.get(input.field) || {}), lineage: true });
      }
    }
    if (!tables.size && parseNodeId(target).kind === "dataset") {
      const p = parseNodeId(target);
      tableOf(p.namespace, p.name);
    }
    const nodes = [];
    const ids = new Set();
    const peers = peerIndex([...tables.values()].map((t) => t.dataset));
    for (const table of tables.values()) {
      // Every field of the dataset's current schema, in schema order, when the table graph has it.
      const ordered = [];
      for (const field of this.graph?.nodes.get(table.id)?.fields || []) ordered.push([field.name, { type: field.type, lineage: table.fields.get(field.name)?.lineage || false }]);
      for (const [name, info] of table.fields) if (!ordered.some(([n]) => n === name)) ordered.push([name, info]);
      const shown = ordered.filter(([, info]) => info.lineage).concat(ordered.filter(([, info]) => !info.lineage)).slice(0, MAX_FIELDS);
      shown.sort((a, b) => ordered.findIndex(([n]) => n === a[0]) - ordered.findIndex(([n]) => n === b[0]));
      const center = table.id === target;
      nodes.push({ id: `table:${table.id}`, ref: table.id, kind: "table", label: shortenName(table.dataset, { peers, fits: (t) => t.length <= 34 }), classes: center ? "center" : "" });
      for (const [name, info] of shown) {
        const id = fieldId(table.namespace, table.dataset, name);
        ids.add(id);
        const type = info.type ? `  ${info.type}` : "";
        nodes.push({ id, ref: id, kind: "field", parent: `table:${table.id}`, name, dataset: table.dataset,
          label: shorten(`${name}${type}`, 38), classes: [info.lineage ? "lineage" : "", id === focus ? "focus" : ""].filter(Boolean).join(" ") });
      }
    }
    return { columns: true, nodes, edges: edges.filter((e) => ids.has(e.source) && ids.has(e.target)) };
  }

  // ---- interactions -------------------------------------------------------------------------------

  /** A node was clicked on the canvas or in the list (`fromList`: then the canvas centres on it). */
  nodeTapped(id, { fromList = false } = {}) {
    if (this.pathPick && id && this.state.select && id !== this.state.select) {
      this.pathPick = false;
      this.state.pathFrom = this.state.select;
      this.state.pathTo = id;
      this.state.impact = "";
      this.syncUrl(true);
      this.applyHighlight().then(() => this.renderPanel());
      return;
    }
    this.pathPick = false;
    this.state.select = id || "";
    this.syncUrl(false);
    this.renderPanel(); // first: opening the panel narrows the graph
    this.view.select(id, { center: fromList });
  }

  toggleExpand(id, dir) {
    const key = `${dir}~${id}`;
    const expand = this.state.expand.includes(key) ? this.state.expand.filter((k) => k !== key) : [...this.state.expand, key];
    this.lastFocus = id;
    this.change({ expand, select: id });
  }

  unfold(groupId) {
    const key = groupId.replace(/^more:/, "");
    this.change({ more: [...this.state.more, key] });
  }

  async applyHighlight() {
    const s = this.state;
    this.highlightInfo = null;
    if (this.state.view !== "tables" || !this.view) { this.view?.clearHighlight(); return; }
    try {
      if (s.impact) {
        const answer = await api.impact(s.impact, { signal: this.signal });
        const ids = new Set([s.impact, ...answer.impacted.map((i) => i.id)]);
        const edges = [...this.graph.edges.keys()].filter((key) => {
          const [a, b] = key.split(">");
          return ids.has(a) && ids.has(b);
        });
        this.view.highlight([...ids], edges, "impact");
        this.highlightInfo = { kind: "impact", answer, outside: answer.impacted.filter((i) => !this.model.visible.has(i.id)).length };
      } else if (s.pathFrom && s.pathTo) {
        const answer = await api.path(s.pathFrom, s.pathTo, { signal: this.signal });
        const edges = answer.edges.map((e) => `${e.origin}>${e.destination}`);
        this.view.highlight(answer.nodes, edges, "path");
        this.highlightInfo = { kind: "path", answer, outside: answer.nodes.filter((id) => !this.model.visible.has(id)).length };
      } else {
        this.view.clearHighlight();
      }
    } catch (error) {
      if (error.name === "AbortError") return;
      this.view.clearHighlight();
      this.highlightInfo = { kind: "error", message: error.message };
    }
  }

  async showImpact(id) {
    Object.assign(this.state, { impact: id, pathFrom: "", pathTo: "" });
    this.syncUrl(true);
    await this.applyHighlight();
    this.renderPanel();
  }

  async clearHighlight() {
    Object.assign(this.state, { impact: "", pathFrom: "", pathTo: "" });
    this.syncUrl(true);
    await this.applyHighlight();
    this.renderPanel();
  }

  savePng() {
    const a = h("a", { href: this.view.png(), download: "lineage.png" });
    document.body.append(a);
    a.click();
    a.remove();
  }

  async copyLink() {
    try {
      await navigator.clipboard.writeText(window.location.href);
      this.status.textContent = "Link copied.";
    } catch {
      this.status.textContent = window.location.href;
    }
  }

  // ---- the node list and the side panel ---------------------------------------------------------

  renderList(items) {
    this.listSummary.textContent = `Nodes in view (${items.length}) — a list of what the graph shows`;
    const sorted = items.slice().sort((a, b) => a.name.localeCompare(b.name));
    // The data attributes say what the canvas shows: kind, producer, latest run state by colour, the name as drawn.
    const data = (item) => Object.fromEntries(Object.entries({ id: item.id, kind: item.kind, producer: item.producer, state: item.state, label: item.label })
      .filter(([, value]) => value));
    this.list.replaceChildren(...sorted.map((item) => h("li", { dataset: data(item) },
      h("button", { type: "button", class: "link-button", onclick: item.action || (() => this.nodeTapped(item.id, { fromList: true })) },
        h("span", { class: `kind-badge kind-${item.kind}` }, item.kind), item.parent ? `${item.parent}.` : "", item.name),
      item.state ? [" ", statePill(item.state)] : null)));
  }

  renderPanel() {
    const s = this.state;
    const parts = [];
    if (this.highlightInfo) parts.push(this.highlightPanel());
    if (this.pathPick) parts.push(notice("info", "Now click the node where the path should end."));
    // With nothing to show, the panel is closed and the graph has the width.
    this.panel.hidden = !s.select && !parts.length;
    if (!s.select) {
      replace(this.panel, ...parts);
      return;
    }
    if (this.state.view === "columns") parts.push(this.columnPanel(s.select));
    else parts.push(this.nodePanel(s.select));
    replace(this.panel, ...parts);
  }

  highlightPanel() {
    const info = this.highlightInfo;
    const clear = h("button", { type: "button", class: "small ghost", onclick: () => this.clearHighlight() }, "Clear highlight");
    if (info.kind === "error") return notice("error", info.message, " ", clear);
    if (info.kind === "path") {
      const a = info.answer;
      // The server's relation says where `to` is: downstream of `from` (it depends on it), upstream, …
      const relation = { downstream: "flows into", upstream: "is made from", undirected: "shares lineage with", none: "is not connected to" }[a.relation] || a.relation;
      return h("div", { class: "highlight-box path-box" },
        h("strong", null, "Path"), h("p", null, `${shorten(parseNodeId(a.from)?.name || a.from, 40)} ${relation} ${shorten(parseNodeId(a.to)?.name || a.to, 40)}`),
        a.nodes.length ? h("p", { class: "muted" }, `${a.nodes.length} nodes on the path${info.outside ? `, ${info.outside} outside this view (raise the depth to see them)` : ""}.`) : null,
        clear);
    }
    const a = info.answer;
    return h("div", { class: "highlight-box impact-box" },
      h("strong", null, `Impact: ${a.totalCount} downstream`),
      info.outside ? h("p", { class: "muted" }, `${info.outside} of them are outside this view.`) : null,
      a.failingJobs.length ? h("p", null, `${a.failingJobs.length} downstream job(s) failing now.`) : null,
      a.owners.length ? h("p", null, "Owners to tell: ", a.owners.join(", ")) : null,
      h("ul", { class: "compact" }, a.impacted.slice(0, 12).map((item) => h("li", null,
        h("span", { class: `kind-badge kind-${item.type}` }, item.type), link(lineageUrl(item.id), shorten(item.name, 40)),
        item.latestRunState ? statePill({ COMPLETE: "COMPLETED", FAIL: "FAILED", START: "RUNNING", RUNNING: "RUNNING", ABORT: "ABORTED" }[item.latestRunState] || item.latestRunState) : null))),
      a.impacted.length > 12 ? h("p", { class: "muted" }, `…and ${a.impacted.length - 12} more.`) : null,
      clear);
  }

  nodePanel(id) {
    const node = this.graph?.nodes.get(id);
    if (!node) return h("p", { class: "muted" }, "This node is not in the view.");
    const kind = nodeKind(node);
    const producer = nodeProducer(node, this.graph);
    const expanded = (dir) => this.state.expand.includes(`${dir}~${id}`);
    const actions = h("div", { class: "actions" },
      h("a", { href: pageUrl(id), "data-link": "", class: "button small" }, "Open page"),
      id !== this.centerId ? h("a", { href: lineageUrl(id, { depth: this.state.depth, direction: this.state.direction === "both" ? undefined : this.state.direction, asOf: this.state.asOf || undefined }), "data-link": "", class: "button small ghost" }, "Center here") : null,
      h("button", { type: "button", class: "small ghost", "data-action": "expand-up", onclick: () => this.toggleExpand(id, "up") },
        expanded("up") ? "Collapse upstream" : "Expand upstream"),
      h("button", { type: "button", class: "small ghost", "data-action": "expand-down", onclick: () => this.toggleExpand(id, "down") },
        expanded("down") ? "Collapse downstream" : "Expand downstream"),
      h("button", { type: "button", class: "small ghost", "data-action": "impact", onclick: () => this.showImpact(id) }, "Impact"),
      h("button", { type: "button", class: "small ghost", "data-action": "path", onclick: () => { this.pathPick = true; this.renderPanel(); } }, "Path to…"));
    const facts = node.type === "JOB"
      ? [h("dt", null, "Produced by"), h("dd", null, producer.label, node.jobType?.jobType ? ` (${jobTypeLabel({ jobType: node.jobType })})` : ""),
        h("dt", null, "Latest run"), h("dd", null, node.latestRunState ? statePill(node.latestRunState) : "none")]
      : [h("dt", null, "Written by"), h("dd", null, producer.label || "no job in view")];
    // The rest comes from the dataset's or job's own endpoint, asked when the node is selected.
    const more = h("div", { class: "node-details", "aria-busy": "true" }, h("p", { class: "muted small" }, "Loading details…"));
    this.details(node).then((data) => {
      more.removeAttribute("aria-busy");
      replace(more, ...(node.type === "JOB" ? this.jobDetails(data) : this.datasetDetails(id, data)));
    }).catch((error) => {
      if (error.name === "AbortError") return;
      more.removeAttribute("aria-busy");
      replace(more, notice("error", error.message));
    });
    return h("div", { class: "node-panel" },
      h("div", { class: "panel-head" },
        h("span", { class: `kind-badge kind-${kind}` }, kind),
        h("span", { class: `producer-swatch producer-${producer.key}`, title: producer.label }, producer.short),
        h("h2", { class: "panel-title" }, node.name || id)),
      h("p", { class: "muted namespace" }, node.namespace || ""),
      h("dl", { class: "details" }, facts),
      more,
      actions);
  }

  /** A dataset's or job's details (Marquez's shape), asked once per node. */
  details(node) {
    if (!this.detailCache.has(node.id)) {
      const ask = node.type === "JOB" ? api.job : api.dataset;
      const promise = ask(node.namespace, node.name, { signal: this.signal });
      this.detailCache.set(node.id, promise);
      promise.catch(() => this.detailCache.delete(node.id));
    }
    return this.detailCache.get(node.id);
  }

  jobDetails(job) {
    const run = job.latestRun;
    const parts = [];
    if (job.description) parts.push(h("p", { class: "description" }, job.description));
    const owners = job.owners || [];
    parts.push(h("dl", { class: "details" },
      run ? [h("dt", null, "Ran"), h("dd", null, link(runUrl(run.id), relativeTime(run.endedAt || run.startedAt || run.createdAt) || run.id.slice(0, 8)))] : null,
      run?.durationMs != null ? [h("dt", null, "Duration"), h("dd", null, formatDuration(run.durationMs))] : null,
      h("dt", null, "Inputs / outputs"), h("dd", null, `${job.inputs?.length ?? 0} / ${job.outputs?.length ?? 0}`),
      owners.length ? [h("dt", null, "Owners"), h("dd", null, owners.map((o) => o.name || o).join(", "))] : null));
    const error = run?.facets?.errorMessage?.message;
    if (error) parts.push(notice("error", truncate(error, 300)));
    return parts;
  }

  datasetDetails(id, dataset) {
    const fields = dataset.fields || [];
    const parts = [];
    if (dataset.description) parts.push(h("p", { class: "description" }, dataset.description));
    parts.push(h("dl", { class: "details" },
      h("dt", null, "Version"), h("dd", { class: "mono" }, dataset.currentVersion ? shortHash(dataset.currentVersion) : "–"),
      h("dt", null, "Updated"), h("dd", null, formatTime(dataset.updatedAt)),
      dataset.tags?.length ? [h("dt", null, "Tags"), h("dd", null, dataset.tags.map((t) => h("span", { class: "tag" }, t)))] : null));
    if (fields.length) {
      parts.push(h("h3", null, `Columns (${fields.length})`),
        h("ul", { class: "fields compact" }, fields.slice(0, 15).map((f) => h("li", null,
          h("span", { class: "field-name" }, f.name), h("span", { class: "field-type" }, f.type || "")))),
        fields.length > 15 ? h("p", { class: "muted" }, `…and ${fields.length - 15} more.`) : null,
        h("button", { type: "button", class: "small ghost", onclick: () => this.change({ view: "columns", node: id, select: "" }) }, "Show column lineage"));
    }
    return parts;
  }

  columnPanel(id) {
    const parsed = parseNodeId(id);
    if (parsed?.kind === "dataset") {
      return h("div", { class: "node-panel" }, h("h2", { class: "panel-title" }, parsed.name), h("p", { class: "muted" }, parsed.namespace),
        h("a", { href: pageUrl(id), "data-link": "", class: "button small" }, "Open page"));
    }
    if (!parsed || parsed.kind !== "datasetField") return h("p", { class: "muted" }, "Select a column.");
    const node = this.columns?.graph.find((n) => n.id === id);
    const d = node?.data;
    return h("div", { class: "node-panel" },
      h("div", { class: "panel-head" }, h("span", { class: "kind-badge kind-column" }, "column"), h("h2", { class: "panel-title" }, parsed.field)),
      h("p", { class: "muted" }, `${parsed.name} · ${parsed.namespace}`),
      d?.fieldType ? h("p", null, "Type: ", h("code", null, d.fieldType)) : null,
      d?.inputFields?.length
        ? [h("h3", null, "Comes from"), h("ul", { class: "compact" }, d.inputFields.map((input) => {
          const t = input.transformations?.[0] || {};
          return h("li", null, h("code", null, `${input.dataset}.${input.field}`), " ",
            h("span", { class: "tag" }, [t.type || input.transformationType, t.subtype].filter(Boolean).join(" · ") || "unknown"),
            t.description || input.transformationDescription ? h("div", { class: "muted small" }, t.description || input.transformationDescription) : null);
        }))]
        : h("p", { class: "muted" }, node ? "No recorded inputs: a source column." : "No column lineage recorded for it."),
      h("div", { class: "actions" },
        h("a", { href: pageUrl(id), "data-link": "", class: "button small" }, "Open dataset"),
        h("a", { href: lineageUrl(datasetId(parsed.namespace, parsed.name), { view: "columns", field: parsed.field }), "data-link": "", class: "button small ghost" }, "Center on this column")));
  }
}
