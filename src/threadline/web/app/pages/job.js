// A job: its runs with state and duration, SQL or source location, owners, inputs and outputs.

import { api } from "../api.js";
import { details, formatTime, h, link, replace, section, stateLabel } from "../dom.js";
import { lineChart } from "../chart.js";
import { facetList } from "../facets.js";
import { datasetUrl, jobId, jobUrl, lineageUrl } from "../nodes.js";
import { jobTypeLabel, producerOf } from "../producers.js";
import { catalogButton, errorBox, pageHeader, producerSwatch, runsTable } from "./common.js";

/** A link to source code when it is a web URL; else the text. */
export function sourceLink(location) {
  if (!location) return null;
  const url = location.url || location.repoUrl || "";
  const text = [
    location.repoUrl || location.url,
    location.path,
    location.version ? `@ ${String(location.version).slice(0, 12)}` : null,
  ]
    .filter(Boolean)
    .join(" ");
  return /^https?:\/\//.test(url)
    ? h("a", { href: url, rel: "noopener noreferrer", target: "_blank" }, text)
    : h("code", null, text);
}

export async function jobPage({ params, outlet, signal }) {
  const { namespace, name } = params;
  document.title = `${name} · threadline`;
  let job;
  let runs;
  let steps;
  try {
    ({ job, runs, steps = [] } = await api.jobPage(namespace, name, { signal }));
  } catch (error) {
    if (error.name === "AbortError") throw error;
    replace(outlet, pageHeader({ kind: "job", title: name, subtitle: namespace }), errorBox(error));
    return;
  }
  const facets = job.facets || {};
  const producer = producerOf(facets);
  const durations = runs.runs
    .filter((r) => r.durationMs != null)
    .map((r) => [new Date(r.startedAt).getTime() / 1000, r.durationMs / 1000])
    .sort((a, b) => a[0] - b[0]);
  const sql = facets.sql?.query;
  const owners = (facets.ownership?.owners || job.owners || []).map((o) =>
    o.type ? `${o.name} (${o.type.toLowerCase()})` : o.name || o,
  );
  const refList = (refs) =>
    refs.length
      ? h(
          "ul",
          { class: "compact" },
          refs.map((r) =>
            h(
              "li",
              null,
              link(datasetUrl(r.namespace, r.name), r.name),
              h("span", { class: "muted small" }, ` ${r.namespace}`),
            ),
          ),
        )
      : h("p", { class: "empty" }, "none");
  const parent = job.parentJobName;
  replace(
    outlet,
    pageHeader({
      kind: "job",
      title: job.name,
      subtitle: job.namespace,
      extra: h(
        "p",
        null,
        producerSwatch(producer),
        ` ${producer.label}`,
        jobTypeLabel(facets) ? ` · ${jobTypeLabel(facets)}` : "",
        ` · ${job.type.toLowerCase()}`,
      ),
      actions: [
        h("a", { href: lineageUrl(jobId(job.namespace, job.name)), "data-link": "", class: "button" }, "Lineage"),
        catalogButton(jobId(job.namespace, job.name)),
      ],
    }),
    h(
      "div",
      { class: "columns-2" },
      section(
        "About",
        details([
          ["Description", job.description || facets.documentation?.description],
          ["Source", sourceLink(facets.sourceCodeLocation)],
          ["Owners", owners.join(", ")],
          [
            "Pipeline",
            parent
              ? [
                  link(jobUrl(job.namespace, parent), parent),
                  " · ",
                  link(`/runs?pipeline=${encodeURIComponent(parent)}`, "its runs"),
                ]
              : null,
          ],
          [
            "Steps",
            steps.length
              ? [
                  h(
                    "ul",
                    { class: "compact", id: "job-steps" },
                    steps.map((step) => h("li", null, link(jobUrl(step.namespace, step.name), step.name))),
                  ),
                  link(`/runs?pipeline=${encodeURIComponent(job.name)}`, "Runs of the pipeline and its steps →"),
                ]
              : null,
          ],
          [
            "Latest run",
            job.latestRun
              ? `${stateLabel(job.latestRun.state)} · ${formatTime(job.latestRun.endedAt || job.latestRun.startedAt)}`
              : "none",
          ],
          ["Tags", (job.tags || []).length ? job.tags.map((t) => h("span", { class: "tag" }, t)) : null],
          ["Current version", job.currentVersion ? h("code", null, job.currentVersion) : null],
        ]),
      ),
      section(
        "Inputs and outputs",
        h("h3", null, `Reads (${job.inputs.length})`),
        refList(job.inputs),
        h("h3", null, `Writes (${job.outputs.length})`),
        refList(job.outputs),
      ),
    ),
    sql ? section("SQL", h("pre", { class: "code" }, h("code", null, sql))) : null,
    section(
      `Runs (${runs.totalCount})`,
      durations.length > 1
        ? lineChart([{ label: "duration (s)", points: durations }], {
            time: true,
            height: 160,
            title: "Duration of each run",
          })
        : null,
      runsTable(runs.runs, { showJob: false }),
    ),
    section("Facets", facetList(facets)),
  );
}
