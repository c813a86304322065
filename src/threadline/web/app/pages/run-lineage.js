// The run page's "Run lineage" section: the exact dataset versions a run read and wrote, the runs that
// made its inputs and the runs that read its outputs (/api/v1/lineage/runs).
//
// It opens 2 runs away each way. Where there is more beyond that, a dashed "more upstream" (or
// downstream) node says so, and it and the "Show more" button go further (4, 8, then all). A run that
// read and wrote nothing itself (a dbt invocation, an Airflow DAG run, a pipeline) shows the lineage
// of the runs below it instead, outlined, and says so. The box is as tall as the graph needs.

import { api } from "../api.js";
import { h, notice, shortHash } from "../dom.js";
import { GraphView } from "../graph.js";
import { runUrl } from "../nodes.js";
import { navigate } from "../router.js";
import { errorBox } from "./common.js";

const DEPTHS = [2, 4, 8, "all"];
const HEIGHT = [180, 620];
// The run endpoint speaks OpenLineage's event types; the graph colours Marquez's run states.
const STATES = { COMPLETE: "COMPLETED", FAIL: "FAILED", START: "RUNNING", RUNNING: "RUNNING", ABORT: "ABORTED" };

/** The graph's view model (graph.js) from a run-lineage answer. */
function viewModel(answer, run, producer, children) {
  const edges = answer.graph.edges.map((e, i) => ({ id: `e${i}`, source: e.source, target: e.target }));
  const linked = new Set(edges.flatMap((e) => [e.source, e.target]));
  const nodes = [];
  for (const n of answer.graph.nodes) {
    const own = n.id === `run:${run.id}`;
    // With its children shown, the run itself is a lone node with no edges: leave it out.
    if (own && children && !linked.has(n.id)) continue;
    if (n.type === "run") {
      const state = own ? run.state : STATES[n.state] || n.state || null;
      nodes.push({
        id: n.id,
        kind: "run",
        title: n.job || n.label,
        subtitle: [`run ${n.shortId || n.runId.slice(0, 8)}`, state?.toLowerCase()].filter(Boolean).join(" · "),
        producer: own || n.child ? producer : null,
        state,
        classes: [own ? "center" : "", n.child ? "child" : ""].filter(Boolean).join(" "),
        handles: {},
      });
    } else {
      nodes.push({
        id: n.id,
        kind: "dataset",
        title: n.name || n.label,
        subtitle: n.version ? `version ${shortHash(n.version, 10)}` : "",
        handles: {},
      });
    }
    for (const side of n.more || []) {
      const id = `more:${side}:${n.id}`;
      nodes.push({
        id,
        kind: "more",
        label: side === "up" ? "more upstream…" : "more downstream…",
        width: 150,
        height: 40,
        classes: "more",
        handles: {},
      });
      edges.push(
        side === "up"
          ? { id: `e:${id}`, source: id, target: n.id, classes: "more-edge" }
          : { id: `e:${id}`, source: n.id, target: id, classes: "more-edge" },
      );
    }
  }
  return { nodes, edges };
}

/**
 * The section for `run` (the run page's answer: Marquez's run shape), drawn by calling start();
 * `children`: how many runs are below it; `producer`: its producer (producers.js), for the badges.
 */
export function runLineageSection(run, { children = 0, producer = null, signal } = {}) {
  const withChildren = children > 0 && !run.inputDatasetVersions?.length && !run.outputDatasetVersions?.length;
  const box = h("div", { class: "graph-canvas small-graph", id: "run-graph" });
  const note = h("div", { class: "graph-note" });
  const hint = h("p", { class: "graph-hint muted small" });
  const list = h("ul", { class: "graph-list", id: "run-graph-list" });
  const summary = h("summary", null, "Runs and versions in view");
  const caption = withChildren
    ? `This run read and wrote nothing itself. Shown instead: what the ${children} runs below it read and wrote, the runs that made their inputs and the runs that read their outputs (the runs below it are outlined).`
    : "The exact dataset versions this run read and wrote, the runs that made its inputs and the runs that read its outputs.";
  const element = h(
    "section",
    { class: "card" },
    h("h2", null, "Run lineage"),
    h("p", { class: "muted small" }, caption),
    box,
    hint,
    note,
    h("details", { class: "graph-list-box" }, summary, list),
  );
  let depth = withChildren ? 1 : DEPTHS[0];
  const deeper = () => {
    depth = depth === "all" ? "all" : DEPTHS.find((d) => d === "all" || d > depth);
    draw();
  };
  const view = new GraphView(box, {
    hint,
    onSelect: (nodeId) => {
      if (nodeId?.startsWith("run:") && nodeId !== `run:${run.id}`) navigate(runUrl(nodeId.slice(4)));
    },
    onMore: deeper,
  });

  async function draw() {
    box.dataset.state = "loading";
    try {
      const answer = await api.runLineage(run.id, { signal }, { depth, withChildren: withChildren || undefined });
      const model = viewModel(answer, run, producer, withChildren);
      const result = await view.show(model, { height: HEIGHT });
      const more = model.nodes.filter((n) => n.kind === "more").length;
      note.replaceChildren(
        more
          ? h(
              "p",
              { class: "muted small" },
              `Showing runs up to ${depth} step${depth === 1 ? "" : "s"} away; there is more beyond (the dashed boxes). `,
              h("button", { type: "button", class: "small ghost", onclick: deeper }, "Show more"),
            )
          : h("p", { class: "muted small" }, "That is all of it: no more runs beyond these."),
      );
      const drawn = model.nodes.filter((n) => n.kind !== "more");
      summary.textContent = `Runs and versions in view (${drawn.length})`;
      list.replaceChildren(
        ...drawn.map((n) =>
          h(
            "li",
            { dataset: { id: n.id, kind: n.kind, label: result.labels.get(n.id)?.split("\n")[0] || "" } },
            n.kind === "run" ? h("a", { href: runUrl(n.id.slice(4)), "data-link": "" }, n.title) : n.title,
            h("span", { class: "muted small" }, ` ${n.subtitle}`),
          ),
        ),
      );
    } catch (error) {
      if (error.name === "AbortError") return;
      note.replaceChildren(error.status ? errorBox(error) : notice("error", error.message));
    }
  }

  return { element, start: draw, destroy: () => view.destroy() };
}
