// The lineage page's side panel and node list: the selected node's facts and actions (then its
// details, asked of the server when it is selected), the selected column's inputs, the impact or
// path highlight, and the list below the graph that names every node drawn.

import {
  formatDuration,
  formatTime,
  h,
  link,
  notice,
  relativeTime,
  replace,
  shorten,
  shortHash,
  statePill,
  truncate,
} from "../dom.js";
import { nodeKind, nodeProducer } from "../lineage-model.js";
import { catalogEntryUrl, datasetId, lineageUrl, pageUrl, parseNodeId, runUrl } from "../nodes.js";
import { jobTypeLabel } from "../producers.js";

// The impact endpoint speaks OpenLineage's event types; the pills show Marquez's run states.
const RUN_STATES = { COMPLETE: "COMPLETED", FAIL: "FAILED", START: "RUNNING", RUNNING: "RUNNING", ABORT: "ABORTED" };
// How the server's path relation reads: `to` is downstream of `from` (it depends on it), upstream, …
const RELATIONS = {
  downstream: "flows into",
  upstream: "is made from",
  undirected: "shares lineage with",
  none: "is not connected to",
};

/** A catalog tag's pill (the name as text, never markup). */
const tagPill = (tag) => h("span", { class: `node-tag source-${String(tag.source || "").toLowerCase()}` }, tag.name);

/** The catalog entry page of an entry's name (entryGroups/G/entries/E). */
function entryUrl(name) {
  const [, group, , entry] = name.split("/");
  return `/catalog/entryGroups/${encodeURIComponent(group)}/entries/${encodeURIComponent(entry)}`;
}

/** Where a propagated tag comes from: each tag (its entry linked, and column) and the jobs between. */
function propagatedFrom(origins) {
  return h(
    "span",
    { class: "muted small" },
    " propagated from ",
    origins.map((origin, i) => {
      const [entry, tag] = origin.tag.split("/tags/");
      const column = tag.split("@")[1];
      const jobs = origin.via.length === 1 ? "1 job" : `${origin.via.length} jobs`;
      return [
        i ? "; " : null,
        link(entryUrl(entry), entry.split("/").pop()),
        column ? ` (${column})` : null,
        ` via ${jobs}`,
      ];
    }),
  );
}

/** A node's catalog tags in its panel: each tag, where it is (the node, its columns) and the entry
 * that holds it, linked. */
function tagList(tags) {
  return h(
    "ul",
    { class: "node-tags compact" },
    tags.map((tag) =>
      h(
        "li",
        null,
        tagPill(tag),
        tag.columns?.length
          ? h("span", { class: "muted small" }, ` on ${tag.onEntry ? "it and " : ""}${tag.columns.join(", ")}`)
          : null,
        tag.source === "PROPAGATED"
          ? propagatedFrom(tag.from || [])
          : tag.entry
            ? [
                " ",
                link(entryUrl(tag.entry), h("span", { class: "small" }, tag.entry.split("/").pop())),
                tag.via === "filePattern" ? h("span", { class: "muted small" }, " (by its file patterns)") : null,
              ]
            : h("span", { class: "muted small" }, " from the producer"),
      ),
    ),
  );
}

/**
 * Fill the node list: `items` [{id, name, kind, producer?, state?, label?, parent?, action?, tags?}], sorted
 * by name; a click calls the item's `action`, else `onTap(id)`.
 */
export function renderNodeList(list, summary, items, onTap) {
  summary.textContent = `Nodes in view (${items.length}) — a list of what the graph shows`;
  const sorted = items.slice().sort((a, b) => a.name.localeCompare(b.name));
  // The data attributes say what the canvas shows: kind, producer, latest run state by colour, the name as drawn.
  const data = (item) =>
    Object.fromEntries(
      Object.entries({
        id: item.id,
        kind: item.kind,
        producer: item.producer,
        state: item.state,
        label: item.label,
        tags: item.tags?.map((t) => t.name).join(", "),
      }).filter(([, value]) => value),
    );
  list.replaceChildren(
    ...sorted.map((item) =>
      h(
        "li",
        { dataset: data(item) },
        h(
          "button",
          { type: "button", class: "link-button", onclick: item.action || (() => onTap(item.id)) },
          h("span", { class: `kind-badge kind-${item.kind}` }, item.kind),
          item.parent ? `${item.parent}.` : "",
          item.name,
        ),
        item.state ? [" ", statePill(item.state)] : null,
        item.tags?.length ? [" ", item.tags.map(tagPill)] : null,
      ),
    ),
  );
}

/** The impact or path highlight's box: {kind: "impact"|"path"|"error", answer, outside, message}. */
export function highlightPanel(info, onClear) {
  const clear = h("button", { type: "button", class: "small ghost", onclick: onClear }, "Clear highlight");
  if (info.kind === "error") return notice("error", info.message, " ", clear);
  const a = info.answer;
  if (info.kind === "path") {
    const relation = RELATIONS[a.relation] || a.relation;
    const name = (id) => shorten(parseNodeId(id)?.name || id, 40);
    const outside = info.outside ? `, ${info.outside} outside this view (raise the depth to see them)` : "";
    return h(
      "div",
      { class: "highlight-box path-box" },
      h("strong", null, "Path"),
      h("p", null, `${name(a.from)} ${relation} ${name(a.to)}`),
      a.nodes.length ? h("p", { class: "muted" }, `${a.nodes.length} nodes on the path${outside}.`) : null,
      clear,
    );
  }
  return h(
    "div",
    { class: "highlight-box impact-box" },
    h("strong", null, `Impact: ${a.totalCount} downstream`),
    info.outside ? h("p", { class: "muted" }, `${info.outside} of them are outside this view.`) : null,
    a.failingJobs.length ? h("p", null, `${a.failingJobs.length} downstream job(s) failing now.`) : null,
    a.owners.length ? h("p", null, "Owners to tell: ", a.owners.join(", ")) : null,
    h(
      "ul",
      { class: "compact" },
      a.impacted
        .slice(0, 12)
        .map((item) =>
          h(
            "li",
            null,
            h("span", { class: `kind-badge kind-${item.type}` }, item.type),
            link(lineageUrl(item.id), shorten(item.name, 40)),
            item.latestRunState ? statePill(RUN_STATES[item.latestRunState] || item.latestRunState) : null,
          ),
        ),
    ),
    a.impacted.length > 12 ? h("p", { class: "muted" }, `…and ${a.impacted.length - 12} more.`) : null,
    clear,
  );
}

/**
 * The panel of a dataset or job of the table view. `page`: {graph, state, centerId, details(node)
 * (a promise of its dataset or job), toggleExpand(id, dir), showImpact(id), pickPath(),
 * showColumns(id)}.
 */
export function nodePanel(id, page) {
  const { graph, state } = page;
  const node = graph?.nodes.get(id);
  if (!node) return h("p", { class: "muted" }, "This node is not in the view.");
  const kind = nodeKind(node);
  const producer = nodeProducer(node, graph);
  const expanded = (dir) => state.expand.includes(`${dir}~${id}`);
  const here = lineageUrl(id, {
    depth: state.depth,
    direction: state.direction === "both" ? undefined : state.direction,
    asOf: state.asOf || undefined,
  });
  const button = (action, onclick, text) =>
    h("button", { type: "button", class: "small ghost", "data-action": action, onclick }, text);
  const actions = h(
    "div",
    { class: "actions" },
    h("a", { href: pageUrl(id), "data-link": "", class: "button small" }, "Open page"),
    /^(dataset|job):/.test(id)
      ? h(
          "a",
          {
            href: catalogEntryUrl(id),
            "data-link": "",
            class: "button small ghost",
          },
          "Catalog entry",
        )
      : null,
    id !== page.centerId ? h("a", { href: here, "data-link": "", class: "button small ghost" }, "Center here") : null,
    button("expand-up", () => page.toggleExpand(id, "up"), expanded("up") ? "Collapse upstream" : "Expand upstream"),
    button(
      "expand-down",
      () => page.toggleExpand(id, "down"),
      expanded("down") ? "Collapse downstream" : "Expand downstream",
    ),
    button("impact", () => page.showImpact(id), "Impact"),
    button("path", () => page.pickPath(), "Path to…"),
  );
  const facts =
    node.type === "JOB"
      ? [
          h("dt", null, "Produced by"),
          h("dd", null, producer.label, node.jobType?.jobType ? ` (${jobTypeLabel({ jobType: node.jobType })})` : ""),
          h("dt", null, "Latest run"),
          h("dd", null, node.latestRunState ? statePill(node.latestRunState) : "none"),
        ]
      : [h("dt", null, "Written by"), h("dd", null, producer.label || "no job in view")];
  // The rest comes from the dataset's or job's own endpoint, asked when the node is selected.
  const more = h(
    "div",
    { class: "node-details", "aria-busy": "true" },
    h("p", { class: "muted small" }, "Loading details…"),
  );
  page
    .details(node)
    .then((data) => {
      more.removeAttribute("aria-busy");
      replace(
        more,
        ...(node.type === "JOB" ? jobDetails(data) : datasetDetails(id, data, (dataset) => page.showColumns(dataset))),
      );
    })
    .catch((error) => {
      if (error.name === "AbortError") return;
      more.removeAttribute("aria-busy");
      replace(more, notice("error", error.message));
    });
  return h(
    "div",
    { class: "node-panel" },
    h(
      "div",
      { class: "panel-head" },
      h("span", { class: `kind-badge kind-${kind}` }, kind),
      h("span", { class: `producer-swatch producer-${producer.key}`, title: producer.label }, producer.short),
      h("h2", { class: "panel-title" }, node.name || id),
    ),
    h("p", { class: "muted namespace" }, node.namespace || ""),
    h("dl", { class: "details" }, facts),
    more,
    node.tags?.length ? [h("h3", null, "Catalog tags"), tagList(node.tags)] : null,
    actions,
  );
}

/** A job's details (Marquez's shape): description, latest run, inputs and outputs, owners, error. */
function jobDetails(job) {
  const run = job.latestRun;
  const parts = [];
  if (job.description) parts.push(h("p", { class: "description" }, job.description));
  const owners = job.owners || [];
  const ran = run ? relativeTime(run.endedAt || run.startedAt || run.createdAt) || run.id.slice(0, 8) : "";
  parts.push(
    h(
      "dl",
      { class: "details" },
      run ? [h("dt", null, "Ran"), h("dd", null, link(runUrl(run.id), ran))] : null,
      run?.durationMs != null ? [h("dt", null, "Duration"), h("dd", null, formatDuration(run.durationMs))] : null,
      h("dt", null, "Inputs / outputs"),
      h("dd", null, `${job.inputs?.length ?? 0} / ${job.outputs?.length ?? 0}`),
      owners.length ? [h("dt", null, "Owners"), h("dd", null, owners.map((o) => o.name || o).join(", "))] : null,
    ),
  );
  const error = run?.facets?.errorMessage?.message;
  if (error) parts.push(notice("error", truncate(error, 300)));
  return parts;
}

/** A dataset's details (Marquez's shape): description, version, tags and its first columns, with a
 * button to its column lineage (`showColumns(id)`). */
function datasetDetails(id, dataset, showColumns) {
  const fields = dataset.fields || [];
  const parts = [];
  if (dataset.description) parts.push(h("p", { class: "description" }, dataset.description));
  parts.push(
    h(
      "dl",
      { class: "details" },
      h("dt", null, "Version"),
      h("dd", { class: "mono" }, dataset.currentVersion ? shortHash(dataset.currentVersion) : "–"),
      h("dt", null, "Updated"),
      h("dd", null, formatTime(dataset.updatedAt)),
      dataset.tags?.length
        ? [
            h("dt", null, "Tags"),
            h(
              "dd",
              null,
              dataset.tags.map((t) => h("span", { class: "tag" }, t)),
            ),
          ]
        : null,
    ),
  );
  if (fields.length) {
    parts.push(
      h("h3", null, `Columns (${fields.length})`),
      h(
        "ul",
        { class: "fields compact" },
        fields
          .slice(0, 15)
          .map((f) =>
            h("li", null, h("span", { class: "field-name" }, f.name), h("span", { class: "field-type" }, f.type || "")),
          ),
      ),
      fields.length > 15 ? h("p", { class: "muted" }, `…and ${fields.length - 15} more.`) : null,
      h("button", { type: "button", class: "small ghost", onclick: () => showColumns(id) }, "Show column lineage"),
    );
  }
  return parts;
}

/** The panel of the column view: a dataset's box, or a column with the columns it comes from.
 * `columns`: the column-lineage answer. */
export function columnPanel(id, columns) {
  const parsed = parseNodeId(id);
  if (parsed?.kind === "dataset") {
    return h(
      "div",
      { class: "node-panel" },
      h("h2", { class: "panel-title" }, parsed.name),
      h("p", { class: "muted" }, parsed.namespace),
      h("a", { href: pageUrl(id), "data-link": "", class: "button small" }, "Open page"),
    );
  }
  if (!parsed || parsed.kind !== "datasetField") return h("p", { class: "muted" }, "Select a column.");
  const node = columns?.graph.find((n) => n.id === id);
  const d = node?.data;
  const input = (field) => {
    const t = field.transformations?.[0] || {};
    const kind = [t.type || field.transformationType, t.subtype].filter(Boolean).join(" · ") || "unknown";
    const description = t.description || field.transformationDescription;
    return h(
      "li",
      null,
      h("code", null, `${field.dataset}.${field.field}`),
      " ",
      h("span", { class: "tag" }, kind),
      description ? h("div", { class: "muted small" }, description) : null,
    );
  };
  const centre = lineageUrl(datasetId(parsed.namespace, parsed.name), { view: "columns", field: parsed.field });
  return h(
    "div",
    { class: "node-panel" },
    h(
      "div",
      { class: "panel-head" },
      h("span", { class: "kind-badge kind-column" }, "column"),
      h("h2", { class: "panel-title" }, parsed.field),
    ),
    h("p", { class: "muted" }, `${parsed.name} · ${parsed.namespace}`),
    d?.fieldType ? h("p", null, "Type: ", h("code", null, d.fieldType)) : null,
    d?.inputFields?.length
      ? [h("h3", null, "Comes from"), h("ul", { class: "compact" }, d.inputFields.map(input))]
      : h(
          "p",
          { class: "muted" },
          node ? "No recorded inputs: a source column." : "No column lineage recorded for it.",
        ),
    h(
      "div",
      { class: "actions" },
      h("a", { href: pageUrl(id), "data-link": "", class: "button small" }, "Open dataset"),
      h("a", { href: centre, "data-link": "", class: "button small ghost" }, "Center on this column"),
    ),
  );
}
