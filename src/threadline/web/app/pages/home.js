// The home page: counts, recent runs, recent failures.

import { api } from "../api.js";
import { formatNumber, formatTime, h, link, notice, replace, section } from "../dom.js";
import { errorBox, runsTable } from "./common.js";

export async function homePage({ outlet, signal }) {
  document.title = "threadline";
  let data;
  try {
    data = await api.overview({ signal });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    replace(outlet, h("h1", null, "threadline"), errorBox(error));
    return;
  }
  const c = data.counts;
  const card = (label, value, href, tone = "") =>
    h(
      "a",
      { class: `stat ${tone}`, href, "data-link": "" },
      h("span", { class: "stat-value" }, formatNumber(value)),
      h("span", { class: "stat-label" }, label),
    );
  const empty =
    c.events === 0
      ? notice(
          "info",
          "No events yet. Point a producer at this server (OPENLINEAGE_URL), or load files with ",
          h("code", null, "threadline ingest events.jsonl"),
          ".",
        )
      : null;
  replace(
    outlet,
    h(
      "header",
      { class: "page-header" },
      h(
        "div",
        { class: "page-heading" },
        h("h1", null, "Overview"),
        data.lastEventTime
          ? h(
              "p",
              { class: "muted" },
              `Events from ${formatTime(data.firstEventTime)} to ${formatTime(data.lastEventTime)}`,
            )
          : null,
      ),
    ),
    empty,
    h(
      "div",
      { class: "stats" },
      card("datasets", c.datasets, "/search?q=%25&filter=DATASET"),
      card("jobs", c.jobs, "/search?q=%25&filter=JOB"),
      card("runs", c.runs, "/runs"),
      card("failed runs", c.failedRuns, "/runs?state=FAILED", c.failedRuns ? "bad" : ""),
      card("running", c.runningRuns, "/runs?state=RUNNING"),
      card("events", c.events, "/events"),
      card("namespaces", c.namespaces, "/search?q=%25"),
    ),
    h(
      "div",
      { class: "columns-2" },
      section("Recent runs", runsTable(data.recentRuns), h("p", null, link("/runs", "All runs →"))),
      section(
        "Recent failures",
        runsTable(data.recentFailures, { empty: "No failed runs. 🎉" }),
        h("p", null, link("/runs?state=FAILED", "All failures →")),
      ),
    ),
  );
}
