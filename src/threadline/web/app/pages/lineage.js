// The lineage view: /lineage?node=<node id>&… (the state it shows is all in the URL: lineage-url.js).
//
// The page holds the state and ties the parts together: lineage-data.js asks the server and keeps
// the answers, lineage-model.js (datasets and jobs) and lineage-columns.js (columns) make the view
// model that graph.js draws, lineage-toolbar.js and lineage-asof.js are the controls, and
// lineage-panels.js the side panel and the node list. A change of the state writes the URL (a
// history entry) and draws again.

import { ApiError } from "../api.js";
import { formatTime, h, notice, replace } from "../dom.js";
import { GraphView } from "../graph.js";
import { columnDepth, columnDirection, columnModel } from "../lineage-columns.js";
import { buildView, edgesWithin } from "../lineage-model.js";
import { dropsHighlight, pinnedIds, readState, stateQuery, toggleExpansion } from "../lineage-url.js";
import { fieldId, pageUrl, parseNodeId } from "../nodes.js";
import { navigate, setQuery } from "../router.js";
import { AsOfControl } from "./lineage-asof.js";
import { LineageData } from "./lineage-data.js";
import { columnPanel, highlightPanel, nodePanel, renderNodeList } from "./lineage-panels.js";
import { graphTools, legendBox, lineageToolbar } from "./lineage-toolbar.js";

export async function lineagePage({ query, outlet, signal }) {
  const state = readState(query);
  if (!state.node || !parseNodeId(state.node)) {
    replace(
      outlet,
      h("h1", null, "Lineage"),
      notice("info", "Search for a dataset or job above, then open its lineage."),
    );
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
    this.data = new LineageData(signal);
    this.asOf = new AsOfControl({ asOf: () => this.state.asOf, onChange: (asOf) => this.change({ asOf }) });
    this.graph = null; // merged LineageGraph of the tables view
    this.columns = null; // the column-lineage answer
    this.model = null; // the view model drawn
    this.pathPick = false; // "Path to…" was pressed: the next node clicked ends the path
    this.loading = 0; // the latest load's ticket: an older one's answer is dropped
  }

  // ---- the page's frame ---------------------------------------------------------------------------

  build() {
    this.view?.destroy();
    this.canvas = h("div", {
      id: "graph",
      class: "graph-canvas",
      role: "img",
      "aria-label": "Lineage graph; the list below the graph has the same nodes",
    });
    this.panel = h("aside", { class: "side-panel", id: "panel", "aria-live": "polite", hidden: !this.state.select });
    this.status = h("div", { class: "graph-status", id: "graph-status" });
    this.message = h("div", { class: "graph-message" });
    this.list = h("ul", { class: "graph-list", id: "graph-list" });
    this.listSummary = h("summary", null, "Nodes in view");
    this.hint = h("span", { class: "graph-hint" });
    const toolbar = lineageToolbar(this.state, { change: (patch) => this.change(patch), asOf: this.asOf.build() });
    const tools = graphTools(this.hint, {
      view: () => this.view,
      savePng: () => this.savePng(),
      copyLink: () => this.copyLink(),
    });
    replace(
      this.outlet,
      h(
        "div",
        { class: "lineage-page" },
        toolbar,
        h(
          "div",
          { class: "lineage-body" },
          h("div", { class: "graph-wrap" }, this.canvas, legendBox(this.state.view), this.message, this.status, tools),
          this.panel,
        ),
        h("details", { class: "graph-list-box" }, this.listSummary, this.list),
      ),
    );
    this.view = new GraphView(this.canvas, {
      hint: this.hint,
      hintButton: false, // Fit is beside it
      margins: { top: 56, bottom: 28 }, // the tools above, the legend and the status below
      onSelect: (id) => this.nodeTapped(id),
      onOpen: (id) => {
        const url = pageUrl(id);
        if (url) navigate(url);
      },
      onExpand: (id, dir) => this.toggleExpand(id, dir),
      onMore: (groupId) => this.unfold(groupId),
    });
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
    setQuery(stateQuery(this.state), { push });
  }

  /** Change view settings: new URL (a history entry), then draw again. */
  async change(patch) {
    const before = { ...this.state };
    Object.assign(this.state, patch);
    if (patch.view !== undefined && patch.view !== before.view) {
      this.build();
      if (!this.asOf.known) this.loadTimespan();
    }
    if (patch.asOf !== undefined) this.asOf.sync();
    if (dropsHighlight(patch)) Object.assign(this.state, { impact: "", pathFrom: "", pathTo: "" });
    this.syncUrl(true);
    await this.load();
  }

  /** The as-of control's range, asked for on its own (the column view: the table view's lineage
   * answers carry it). */
  async loadTimespan() {
    try {
      this.asOf.takeTimespan(await this.data.timespan());
    } catch (error) {
      if (error.name !== "AbortError") this.asOf.disable();
    }
  }

  // ---- loading ------------------------------------------------------------------------------------

  async load() {
    const ticket = ++this.loading;
    this.canvas.dataset.state = "loading";
    // "ready" (graph.js) says the drawing is in the page; "complete", that the list, the highlight
    // and the panel of this load are too (what a test or a script reading the page waits for)
    this.canvas.dataset.complete = "false";
    this.message.replaceChildren(h("span", { class: "spinner" }), "Loading lineage…");
    this.message.hidden = false;
    try {
      if (this.state.view === "columns") await this.loadColumns(ticket);
      else await this.loadTables(ticket);
      if (ticket !== this.loading) return;
      this.message.hidden = true;
      await this.applyHighlight();
      this.renderPanel();
      if (ticket === this.loading) this.canvas.dataset.complete = "true";
    } catch (error) {
      if (error.name === "AbortError" || ticket !== this.loading) return;
      this.canvas.dataset.state = "error";
      this.message.replaceChildren(notice("error", error.message, error instanceof ApiError ? ` ${error.advice}` : ""));
      this.message.hidden = false;
    }
  }

  /** The merged graph of the state's view and expansions; the answers carry the as-of range. */
  async loadGraph() {
    const loaded = await this.data.graph(this.state);
    if (loaded.answers[0].firstEventTime !== undefined) this.asOf.takeTimespan(loaded.answers[0]);
    return loaded;
  }

  async loadTables(ticket) {
    const s = this.state;
    const { graph, answers } = await this.loadGraph();
    if (ticket !== this.loading) return;
    this.graph = graph;
    const centerId = answers[0].graph.find((n) => n.distance === 0)?.id || s.node;
    this.centerId = centerId;
    const model = buildView(graph, {
      center: centerId,
      direction: s.direction,
      expansions: new Set(s.expand),
      unfolded: new Set(s.more),
      fanout: Number(s.fanout),
      pinned: pinnedIds(s, centerId),
    });
    this.model = model;
    const keep = this.lastFocus && this.lastCenter === centerId;
    const result = await this.view.show(model, { keepViewport: keep, focus: this.lastFocus });
    this.lastCenter = centerId;
    this.lastFocus = null;
    const shown = model.nodes.filter((n) => n.kind !== "more").length;
    // Nodes at the depth limit with more beyond them have a "+" handle; say so in words too.
    const beyond = ["up", "down"].filter((dir) => model.nodes.some((n) => n.handles?.[dir] === "closed"));
    const sides = beyond.map((d) => `${d}stream`).join(" and ");
    this.status.textContent = [
      `${shown} nodes${model.hidden ? `, ${model.hidden} grouped` : ""}`,
      beyond.length ? `more ${sides} beyond ${s.depth} edges (+ or Depth shows it)` : "",
      `laid out by ${result.engine === "elk" ? "ELK" : "layered"} in ${Math.round(result.ms)} ms`,
      s.asOf ? `as of ${formatTime(s.asOf)}` : "",
    ]
      .filter(Boolean)
      .join(" · ");
    const owner = (id) => graph.nodes.get(id)?.name || id;
    this.renderList(
      model.nodes.map((n) =>
        n.kind === "more"
          ? {
              id: n.id,
              kind: "more",
              name: `${n.label} (${n.id.endsWith("~up") ? "upstream" : "downstream"} of ${owner(n.owner)})`,
              action: () => this.unfold(n.id),
            }
          : {
              id: n.id,
              name: n.name || n.id,
              kind: n.kind,
              producer: n.producer.key,
              state: n.state,
              label: result.labels.get(n.id)?.split("\n")[0],
              tags: n.tags,
            },
      ),
    );
    if (s.select) this.view.select(s.select);
  }

  async loadColumns(ticket) {
    const s = this.state;
    const parsed = parseNodeId(s.node);
    // The table graph gives each dataset's whole schema and the producers; fetch both at once.
    const tablesPromise = this.loadGraph().catch(() => null);
    let target = s.node;
    if (parsed.kind === "job") {
      const answer = await this.data.lineage(s.node, 1, "downstream", { asOf: s.asOf, fields: true });
      target = answer.graph.find((n) => n.distance === 0)?.outEdges[0];
      if (!target) throw new Error("This job has no outputs, so there are no columns to show.");
    }
    const centre = parseNodeId(target);
    const focus = s.field && centre.kind === "dataset" ? fieldId(centre.namespace, centre.name, s.field) : null;
    const [answer, tables] = await Promise.all([
      this.data.columns({
        nodeId: focus || target,
        depth: columnDepth(s.depth),
        direction: columnDirection(s.direction),
        asOf: s.asOf || undefined,
      }),
      tablesPromise,
    ]);
    if (ticket !== this.loading) return;
    this.graph = tables?.graph || null;
    this.columns = answer;
    const model = columnModel(answer, target, focus, this.graph);
    this.model = model;
    const result = await this.view.show(model);
    const fields = model.nodes.filter((n) => n.kind === "field" && n.classes.includes("lineage")).length;
    const tablesCount = model.nodes.filter((n) => n.kind === "table").length;
    const engine = result.engine === "elk" ? "ELK" : "layered";
    this.status.textContent = [
      `${tablesCount} datasets, ${fields} columns with lineage, ${model.edges.length} column edges`,
      `${engine} ${Math.round(result.ms)} ms`,
      s.asOf ? `as of ${formatTime(s.asOf)}` : "",
    ]
      .filter(Boolean)
      .join(" · ");
    if (!model.edges.length) {
      this.message.replaceChildren(
        notice(
          "info",
          "No column lineage is recorded around this dataset. Producers send it in the columnLineage facet (dbt, Spark and the SDK do).",
        ),
      );
      this.message.hidden = false;
    }
    this.renderList(
      model.nodes
        .filter((n) => n.kind === "field")
        .map((n) => ({ id: n.id, name: n.name, kind: "column", parent: n.dataset })),
    );
    if (s.select) this.view.select(s.select);
  }

  // ---- interactions -------------------------------------------------------------------------------

  /** A node was clicked on the canvas or in the list (`fromList`: then the canvas centres on it). */
  nodeTapped(id, { fromList = false } = {}) {
    if (this.pathPick && id && this.state.select && id !== this.state.select) {
      this.pathPick = false;
      Object.assign(this.state, { pathFrom: this.state.select, pathTo: id, impact: "" });
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
    this.lastFocus = id;
    this.change({ expand: toggleExpansion(this.state.expand, id, dir), select: id });
  }

  unfold(groupId) {
    const key = groupId.replace(/^more:/, "");
    this.change({ more: [...this.state.more, key] });
  }

  pickPath() {
    this.pathPick = true;
    this.renderPanel();
  }

  async applyHighlight() {
    const s = this.state;
    this.highlightInfo = null;
    if (this.state.view !== "tables" || !this.view) {
      this.view?.clearHighlight();
      return;
    }
    try {
      if (s.impact) {
        const answer = await this.data.impact(s.impact);
        const ids = new Set([s.impact, ...answer.impacted.map((i) => i.id)]);
        this.view.highlight([...ids], edgesWithin(this.graph, ids), "impact");
        const outside = answer.impacted.filter((i) => !this.model.visible.has(i.id)).length;
        this.highlightInfo = { kind: "impact", answer, outside };
      } else if (s.pathFrom && s.pathTo) {
        const answer = await this.data.path(s.pathFrom, s.pathTo);
        const edges = answer.edges.map((e) => `${e.origin}>${e.destination}`);
        this.view.highlight(answer.nodes, edges, "path");
        const outside = answer.nodes.filter((id) => !this.model.visible.has(id)).length;
        this.highlightInfo = { kind: "path", answer, outside };
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
    renderNodeList(this.list, this.listSummary, items, (id) => this.nodeTapped(id, { fromList: true }));
  }

  renderPanel() {
    const s = this.state;
    const parts = [];
    if (this.highlightInfo) parts.push(highlightPanel(this.highlightInfo, () => this.clearHighlight()));
    if (this.pathPick) parts.push(notice("info", "Now click the node where the path should end."));
    // With nothing to show, the panel is closed and the graph has the width.
    this.panel.hidden = !s.select && !parts.length;
    if (s.select) parts.push(s.view === "columns" ? columnPanel(s.select, this.columns) : nodePanel(s.select, this));
    replace(this.panel, ...parts);
  }

  /** For nodePanel: a node's details, asked once. */
  details(node) {
    return this.data.details(node);
  }

  /** For nodePanel: the column view of a dataset. */
  showColumns(id) {
    this.change({ view: "columns", node: id, select: "" });
  }
}
