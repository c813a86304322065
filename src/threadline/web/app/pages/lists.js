// The list pages: runs (/runs), events (/events) and search results (/search), each with filters kept
// in the URL.

import { api } from "../api.js";
import { formatTime, h, link, notice, replace, section, shorten } from "../dom.js";
import { jsonTree } from "../facets.js";
import { datasetUrl, jobUrl, lineageUrl, runUrl } from "../nodes.js";
import { producerOf } from "../producers.js";
import { navigate } from "../router.js";
import { suggestions } from "../search.js";
import { errorBox, pageHeader, pager, producerSwatch, runsTable } from "./common.js";

const LIMIT = 50;

/** A filter form whose fields become the URL's query (empty ones left out). */
function filterForm(query, fields) {
  const form = h(
    "form",
    { class: "filters", role: "search" },
    fields.map((f) => h("label", { class: "control" }, h("span", null, f.label), f.element(query.get(f.name) || ""))),
    h("button", { type: "submit" }, "Filter"),
    h("a", { href: window.location.pathname, "data-link": "", class: "button ghost" }, "Clear"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const q = new URLSearchParams();
    for (const [key, value] of new FormData(form)) {
      if (!value) continue;
      // datetime-local has no zone: read it in the browser's zone and send UTC.
      q.set(key, form.elements[key].type === "datetime-local" ? new Date(value).toISOString() : value);
    }
    navigate(`${window.location.pathname}${q.toString() ? `?${q}` : ""}`);
  });
  return form;
}

const text = (name, placeholder) => (value) => h("input", { type: "text", name, value, placeholder });
const choice = (name, options) => (value) =>
  h(
    "select",
    { name },
    options.map(([v, t]) => h("option", { value: v, selected: v === value }, t)),
  );
const when = (name) => (value) => h("input", { type: "datetime-local", name, value: value ? toLocalInput(value) : "" });

function toLocalInput(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export async function runsPage({ query, outlet, signal }) {
  document.title = "Runs · threadline";
  const form = filterForm(query, [
    {
      name: "state",
      label: "State",
      element: choice("state", [
        ["", "any"],
        ["COMPLETED", "completed"],
        ["FAILED", "failed"],
        ["RUNNING", "running"],
        ["ABORTED", "aborted"],
      ]),
    },
    { name: "job", label: "Job name", element: text("job", "part of a name") },
    { name: "pipeline", label: "Pipeline", element: text("pipeline", "a pipeline's job name") },
    { name: "namespace", label: "Namespace", element: text("namespace", "exact") },
    { name: "since", label: "Since", element: when("since") },
    { name: "until", label: "Until", element: when("until") },
  ]);
  replace(outlet, pageHeader({ title: "Runs" }), form, h("p", { class: "muted" }, "Loading…"));
  try {
    const answer = await api.runs(
      {
        state: query.get("state"),
        job: query.get("job"),
        pipeline: query.get("pipeline"),
        namespace: query.get("namespace"),
        since: query.get("since"),
        until: query.get("until"),
        parent: query.get("parent"),
        limit: LIMIT,
        offset: query.get("offset") || 0,
      },
      { signal },
    );
    replace(
      outlet,
      pageHeader({ title: "Runs", subtitle: `${answer.totalCount.toLocaleString()} matching` }),
      form,
      section(
        "Runs, newest first",
        runsTable(answer.runs, { empty: "No run matches these filters." }),
        pager(query, answer.totalCount, LIMIT),
      ),
    );
  } catch (error) {
    if (error.name === "AbortError") throw error;
    replace(outlet, pageHeader({ title: "Runs" }), form, errorBox(error));
  }
}

export async function eventsPage({ query, outlet, signal }) {
  document.title = "Events · threadline";
  const form = filterForm(query, [
    {
      name: "type",
      label: "Type",
      element: choice("type", [
        ["", "any"],
        ["START", "START"],
        ["RUNNING", "RUNNING"],
        ["COMPLETE", "COMPLETE"],
        ["FAIL", "FAIL"],
        ["ABORT", "ABORT"],
        ["OTHER", "OTHER / none"],
      ]),
    },
    { name: "job", label: "Job name", element: text("job", "part of a name") },
    { name: "run", label: "Run id", element: text("run", "id or prefix") },
    { name: "producer", label: "Producer", element: text("producer", "part of the URL") },
    { name: "after", label: "After", element: when("after") },
    { name: "before", label: "Before", element: when("before") },
    {
      name: "problems",
      label: "Problems",
      element: choice("problems", [
        ["", "any"],
        ["true", "with facet problems"],
      ]),
    },
  ]);
  replace(outlet, pageHeader({ title: "Events" }), form, h("p", { class: "muted" }, "Loading…"));
  try {
    const answer = await api.events(
      {
        type: query.get("type"),
        job: query.get("job"),
        run: query.get("run"),
        producer: query.get("producer"),
        after: query.get("after"),
        before: query.get("before"),
        problems: query.get("problems"),
        limit: LIMIT,
        offset: query.get("offset") || 0,
      },
      { signal },
    );
    const rows = answer.events.map((event) => {
      const producer = producerOf({}, event.producer);
      const body = h(
        "tr",
        { class: "event-body", hidden: true },
        h("td", { colspan: "6" }, h("p", { class: "muted" }, "Loading…")),
      );
      const toggle = h(
        "button",
        {
          type: "button",
          class: "small ghost",
          "aria-expanded": "false",
          onclick: async () => {
            const open = body.hidden;
            body.hidden = !open;
            toggle.setAttribute("aria-expanded", String(open));
            if (open && !body.dataset.loaded) {
              try {
                const full = await api.event(event.id);
                body.firstChild.replaceChildren(
                  full.problems ? notice("warning", `Facet problems: ${JSON.stringify(full.problems)}`) : "",
                  jsonTree(full.event, 1),
                );
                body.dataset.loaded = "1";
              } catch (error) {
                body.firstChild.replaceChildren(errorBox(error));
              }
            }
          },
        },
        "JSON",
      );
      return [
        h(
          "tr",
          null,
          h("td", { title: event.eventTime }, formatTime(event.eventTime)),
          h(
            "td",
            null,
            h(
              "span",
              { class: `pill event-${(event.eventType || "other").toLowerCase()}` },
              event.eventType || event.kind,
            ),
          ),
          h(
            "td",
            null,
            event.jobName ? link(jobUrl(event.jobNamespace, event.jobName), shorten(event.jobName, 50)) : "–",
          ),
          h(
            "td",
            null,
            event.runId ? link(runUrl(event.runId), h("code", null, event.runShortId || event.runId.slice(0, 8))) : "–",
          ),
          h("td", { title: event.producer }, producerSwatch(producer), " ", shorten(event.producer, 50)),
          h(
            "td",
            null,
            event.hasProblems
              ? h("span", { class: "pill state-aborted", title: "kept despite invalid facets" }, "problems")
              : "",
            " ",
            toggle,
          ),
        ),
        body,
      ];
    });
    replace(
      outlet,
      pageHeader({ title: "Events", subtitle: `${answer.totalCount.toLocaleString()} matching` }),
      form,
      section(
        "Events, newest first",
        rows.length
          ? h(
              "table",
              { class: "grid events" },
              h(
                "thead",
                null,
                h(
                  "tr",
                  null,
                  ["Event time", "Type", "Job", "Run", "Producer", ""].map((c) => h("th", null, c)),
                ),
              ),
              h("tbody", null, rows.flat()),
            )
          : h("p", { class: "empty" }, "No event matches these filters."),
        pager(query, answer.totalCount, LIMIT),
      ),
    );
  } catch (error) {
    if (error.name === "AbortError") throw error;
    replace(outlet, pageHeader({ title: "Events" }), form, errorBox(error));
  }
}

export async function searchPage({ query, outlet, signal }) {
  const q = query.get("q") || "";
  const filter = query.get("filter") || "";
  document.title = `Search ${q} · threadline`;
  if (!q) {
    replace(
      outlet,
      pageHeader({ title: "Search" }),
      notice("info", "Type in the search box above: dataset, job and column names, or a run id."),
    );
    return;
  }
  try {
    const offset = Number(query.get("offset") || 0);
    const results = await getResults(q, filter, offset, signal);
    const rows = results.items.map((item) =>
      h(
        "tr",
        null,
        h("td", null, h("span", { class: `kind-badge kind-${item.kind.toLowerCase()}` }, item.kind.toLowerCase())),
        h("td", null, link(item.href, item.title)),
        h("td", { class: "muted" }, item.subtitle),
        h("td", null, item.lineage ? link(item.lineage, "lineage") : ""),
      ),
    );
    replace(
      outlet,
      pageHeader({ title: `Results for “${q}”`, subtitle: `${results.total.toLocaleString()} found` }),
      h(
        "nav",
        { class: "segmented" },
        [
          ["", "All"],
          ["DATASET", "Datasets"],
          ["JOB", "Jobs"],
        ].map(([value, label]) =>
          h(
            "a",
            {
              href: `/search?q=${encodeURIComponent(q)}${value ? `&filter=${value}` : ""}`,
              "data-link": "",
              class: "segment",
              "aria-pressed": String(filter === value),
            },
            label,
          ),
        ),
      ),
      section(
        "Results",
        rows.length
          ? h("table", { class: "grid" }, h("tbody", null, rows))
          : h("p", { class: "empty" }, "Nothing matches."),
        pager(query, results.total, LIMIT),
      ),
    );
  } catch (error) {
    if (error.name === "AbortError") throw error;
    replace(outlet, pageHeader({ title: `Results for “${q}”` }), errorBox(error));
  }
}

/** The first page of everything comes with column matches; a filtered or later page is names only. */
async function getResults(q, filter, offset, signal) {
  if (!filter && !offset) return suggestions(q, { signal, limit: LIMIT });
  const answer = await api.searchPage({ q, filter, limit: LIMIT, offset }, { signal });
  return {
    total: answer.totalCount,
    items: answer.results.map((r) => ({
      kind: r.type,
      title: r.name,
      subtitle: r.namespace,
      href:
        r.type === "RUN"
          ? runUrl(r.name)
          : r.type === "DATASET"
            ? datasetUrl(r.namespace, r.name)
            : jobUrl(r.namespace, r.name),
      lineage: r.type === "RUN" ? null : lineageUrl(r.nodeId),
    })),
  };
}

export function notFoundPage({ outlet }) {
  document.title = "Not found · threadline";
  replace(
    outlet,
    pageHeader({ title: "No such page" }),
    notice("info", "This address is not a page of threadline. ", link("/", "Go to the overview"), "."),
  );
}
