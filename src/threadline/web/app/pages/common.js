// Pieces several pages share: run tables, error boxes, the page header.

import { ApiError } from "../api.js";
import {
  formatDuration,
  formatTime,
  h,
  link,
  notice,
  relativeTime,
  shorten,
  shortRunId,
  statePill,
  truncate,
} from "../dom.js";
import { catalogEntryUrl, jobUrl, runUrl } from "../nodes.js";
import { producerOfJobType } from "../producers.js";

/** A producer's coloured swatch with its short name (full name as a tooltip). */
export function producerSwatch(producer) {
  return h("span", { class: `producer-swatch producer-${producer.key}`, title: producer.label }, producer.short);
}

/** A table of run summaries (from /api/v1/ui/runs and friends). */
export function runsTable(runs, { showJob = true, extra = null, empty = "No runs." } = {}) {
  if (!runs.length) return h("p", { class: "empty" }, empty);
  const head = ["State", showJob ? "Job" : null, "Run", "Started", "Duration", extra?.title, "Error"].filter(
    (c) => c !== null && c !== undefined,
  );
  return h(
    "table",
    { class: "grid runs" },
    h(
      "thead",
      null,
      h(
        "tr",
        null,
        head.map((c) => h("th", null, c)),
      ),
    ),
    h(
      "tbody",
      null,
      runs.map((run) =>
        h(
          "tr",
          { dataset: { run: run.id } },
          h("td", null, statePill(run.state)),
          showJob
            ? h(
                "td",
                null,
                producerSwatch(producerOfJobType(run.jobType)),
                " ",
                link(jobUrl(run.namespace, run.job), shorten(run.job, 60)),
                h("div", { class: "muted small" }, run.namespace),
              )
            : null,
          h("td", null, link(runUrl(run.id), h("code", null, shortRunId(run)))),
          h("td", { title: formatTime(run.startedAt || run.createdAt) }, relativeTime(run.startedAt || run.createdAt)),
          h("td", { class: "nowrap" }, formatDuration(run.durationMs)),
          extra ? h("td", null, extra.cell(run)) : null,
          h("td", { class: "error-cell" }, run.errorMessage ? truncate(run.errorMessage, 120) : ""),
        ),
      ),
    ),
  );
}

/** An error box for a failed page load, with the API's advice. */
export function errorBox(error) {
  const advice = error instanceof ApiError ? error.advice : "";
  return notice("error", h("strong", null, error.message), advice ? h("div", null, advice) : null);
}

/** A button to the catalog entry of a lineage dataset or job (node id `dataset:NS:NAME`): lineage's own
 * entry, or one a person registered for it; where its tags are read and written. */
export function catalogButton(nodeId) {
  return h("a", { href: catalogEntryUrl(nodeId), "data-link": "", class: "button ghost" }, "Catalog entry");
}

/** A page header: kind badge, title, subtitle, and actions on the right. */
export function pageHeader({ kind, title, subtitle, actions = [], extra = null }) {
  return h(
    "header",
    { class: "page-header" },
    h(
      "div",
      { class: "page-heading" },
      kind ? h("span", { class: `kind-badge kind-${kind}` }, kind) : null,
      h("h1", null, title),
      subtitle ? h("p", { class: "muted namespace" }, subtitle) : null,
      extra,
    ),
    actions.length ? h("div", { class: "actions" }, actions) : null,
  );
}

/** Paging links for a list page: previous / next, keeping the other query parameters. */
export function pager(query, total, limit) {
  const offset = Number(query.get("offset") || 0);
  const at = (value) => {
    const q = new URLSearchParams(query);
    if (value > 0) q.set("offset", String(value));
    else q.delete("offset");
    return `${window.location.pathname}?${q}`;
  };
  return h(
    "nav",
    { class: "pager" },
    offset > 0 ? link(at(Math.max(0, offset - limit)), "← Newer") : h("span", null),
    h(
      "span",
      { class: "muted" },
      total ? `${offset + 1}–${Math.min(offset + limit, total)} of ${total.toLocaleString()}` : "none",
    ),
    offset + limit < total ? link(at(offset + limit), "Older →") : h("span", null),
  );
}
