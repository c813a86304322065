// A run: parameters, metrics (a chart for each series), inputs and outputs with their exact versions,
// code commit, environment, error, child runs, run-level lineage, and a diff against another run.

import { api } from "../api.js";
import {
  copyButton,
  details,
  formatDuration,
  formatNumber,
  formatTime,
  h,
  link,
  notice,
  replace,
  section,
  shorten,
  shortRunId,
  stateLabel,
  statePill,
  table,
  shortHash,
} from "../dom.js";
import { lineChart } from "../chart.js";
import { facetList, jsonTree } from "../facets.js";
import { datasetUrl, jobUrl, runUrl } from "../nodes.js";
import { producerOf } from "../producers.js";
import { navigate } from "../router.js";
import { errorBox, pageHeader, producerSwatch, runsTable } from "./common.js";
import { sourceLink } from "./job.js";
import { pipelineRunUrl } from "./pipeline.js";
import { runLineageSection } from "./run-lineage.js";

const params = (run) => run.facets?.threadline_params?.params || {};
const metrics = (run) => run.facets?.threadline_metrics?.metrics || {};
/** A link to the pipeline run page when the run is a staged pipeline's run (tag threadline.pipeline). */
const pipelineLink = (run) =>
  (run.facets?.tags?.tags || []).some((t) => t.key === "threadline.pipeline" && t.value === run.jobVersion?.name)
    ? h("a", { href: pipelineRunUrl(run.id), "data-link": "", class: "button", id: "pipeline-view" }, "Pipeline view")
    : null;
const lastValue = (points) => (points.length ? points[points.length - 1][1] : null);

export async function runPage({ params: route, query, outlet, signal }) {
  const id = route.id; // a run id, or a unique prefix of one (as the CLI and the lists show them)
  document.title = `run ${id.slice(0, 13)} · threadline`;
  const compareId = query.get("compare");
  let page;
  try {
    page = await api.runPage(id, compareId || undefined, { signal });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    replace(outlet, pageHeader({ kind: "run", title: id }), errorBox(error), await candidates(id, error, signal));
    return undefined;
  }
  const { run, jobFacets, children, comparison, compareError } = page;
  const short = (runId) => page.shortIds?.[runId] || runId.slice(0, 8);
  document.title = `run ${short(run.id)} · threadline`;
  const job = run.jobVersion;
  const producer = producerOf(jobFacets);
  const siblings = page.jobRuns.runs.filter((r) => r.id !== run.id);

  const env = run.facets?.threadline_environment;
  const git = env?.git || {};
  const location = jobFacets.sourceCodeLocation;
  const error = run.facets?.errorMessage;
  const nominal = run.nominalStartTime
    ? `${formatTime(run.nominalStartTime)}${run.nominalEndTime ? ` → ${formatTime(run.nominalEndTime)}` : ""}`
    : null;

  const compareSelect = h(
    "select",
    {
      id: "compare",
      "aria-label": "Compare with another run of this job",
      onchange: (e) => navigate(runUrl(run.id, { compare: e.target.value || undefined })),
    },
    h("option", { value: "" }, siblings.length ? "Compare with another run…" : "No other run of this job"),
    siblings.map((r) =>
      h(
        "option",
        { value: r.id, selected: r.id === comparison?.b.id },
        `${shortRunId(r)} · ${stateLabel(r.state)} · ${formatTime(r.startedAt || r.createdAt)}`,
      ),
    ),
  );

  const lineage = runLineageSection(run, { children: children.totalCount, producer, signal });
  const parts = [
    pageHeader({
      kind: "run",
      title: job.name,
      subtitle: h("span", null, "run ", h("code", null, run.id), " ", copyButton(run.id, "copy id")),
      extra: h(
        "p",
        null,
        statePill(run.state),
        " ",
        producerSwatch(producer),
        ` ${producer.label} · `,
        link(jobUrl(job.namespace, job.name), "job page"),
      ),
      actions: [pipelineLink(run), compareSelect].filter(Boolean),
    }),
    error
      ? notice(
          "error",
          h("strong", null, error.message || "The run failed."),
          error.stackTrace
            ? h("details", null, h("summary", null, "Stack trace"), h("pre", { class: "code" }, error.stackTrace))
            : null,
        )
      : null,
    compareError ? notice("warning", `Cannot compare: ${compareError}`) : null,
    comparison ? diffSection(comparison) : null,
    h(
      "div",
      { class: "columns-2" },
      section(
        "Run",
        details([
          ["State", statePill(run.state)],
          ["Started", formatTime(run.startedAt)],
          ["Ended", formatTime(run.endedAt)],
          ["Duration", formatDuration(run.durationMs)],
          ["Scheduled for", nominal],
          [
            "Parent run",
            run.parentRunId ? link(runUrl(run.parentRunId), h("code", null, short(run.parentRunId))) : null,
          ],
          ["Job version", h("code", null, job.version)],
          [
            "Events",
            (run.states || []).map((s) =>
              h("div", { class: "small" }, `${s.state || "OTHER"} · ${formatTime(s.time)}`),
            ),
          ],
        ]),
      ),
      section(
        "Code and environment",
        orNothing(
          details([
            ["Source", sourceLink(location)],
            ["Commit", git.commit || location?.version ? h("code", null, git.commit || location.version) : null],
            ["Branch", git.branch || location?.branch],
            ["Uncommitted changes", git.dirty === undefined ? null : git.dirty ? "yes" : "no"],
            ["Python", env ? `${env.python} (${env.implementation})` : null],
            ["Platform", env?.platform],
            ["Host", env?.host],
            ["Command", env?.command_line ? h("code", null, env.command_line) : null],
            [
              "Packages",
              env?.packages_object
                ? h(
                    "code",
                    { title: env.packages_object },
                    `${env.packages_count ?? "?"} packages · ${shortHash(env.packages_object)}`,
                  )
                : null,
            ],
            [
              "Engine",
              run.facets?.processing_engine
                ? `${run.facets.processing_engine.name} ${run.facets.processing_engine.version || ""}`
                : null,
            ],
          ]),
          "Its producer sent no code location or environment.",
        ),
      ),
    ),
    paramsSection(run),
    metricsSection(run),
    ioSection(run),
    children.runs.length ? section(`Child runs (${children.totalCount})`, runsTable(children.runs)) : null,
    lineage.element,
    section("Facets", facetList(run.facets)),
  ];
  replace(outlet, ...parts);
  await lineage.start();
  return () => lineage.destroy();
}

/** A list of details, or a line saying there are none. */
function orNothing(list, empty) {
  return list.children.length ? list : h("p", { class: "empty" }, empty);
}

/** The runs an ambiguous prefix starts, to pick one from (nothing for any other error). */
async function candidates(prefix, error, signal) {
  if (error.code !== "ambiguous_run_id") return null;
  try {
    const answer = await api.runs({ run: prefix, limit: 50 }, { signal });
    return section(`Runs whose id starts with ${prefix} (${answer.totalCount})`, runsTable(answer.runs));
  } catch (failure) {
    if (failure.name === "AbortError") throw failure;
    return null;
  }
}

function paramsSection(run) {
  const entries = Object.entries(params(run));
  if (!entries.length) return null;
  return section(
    `Parameters (${entries.length})`,
    table(
      ["Name", "Value"],
      entries.map(([k, v]) => [h("code", null, k), typeof v === "object" ? jsonTree(v) : String(v)]),
    ),
  );
}

function metricsSection(run) {
  const series = Object.entries(metrics(run));
  if (!series.length) return null;
  const charts = series
    .filter(([, points]) => points.length > 1)
    .map(([name, points]) =>
      lineChart([{ label: name, points: points.map((p) => [p[0], p[1]]) }], {
        title: name,
        xLabel: "step",
        height: 200,
      }),
    );
  return section(
    `Metrics (${series.length})`,
    table(
      ["Metric", "Last value", "Points"],
      series.map(([name, points]) => [h("code", null, name), formatNumber(lastValue(points)), String(points.length)]),
    ),
    charts.length ? h("div", { class: "charts", id: "metric-charts" }, charts) : null,
  );
}

function ioRows(entries) {
  return entries.map((entry) => {
    const ref = entry.datasetVersionId;
    const f = entry.facets || {};
    const stats = f.outputStatistics || f.inputStatistics || f.dataQualityMetrics;
    return [
      link(datasetUrl(ref.namespace, ref.name), shorten(ref.name, 60)),
      h("span", { class: "muted small" }, ref.namespace),
      ref.version
        ? h("span", { class: "mono", title: ref.version }, shortHash(ref.version), " ", copyButton(ref.version, "copy"))
        : "–",
      stats?.rowCount != null ? h("span", { class: "nowrap" }, formatNumber(stats.rowCount)) : "",
    ];
  });
}

function ioSection(run) {
  return h(
    "div",
    { class: "columns-2" },
    section(
      `Inputs (${run.inputDatasetVersions.length})`,
      table(["Dataset", "Namespace", "Version read", "Rows"], ioRows(run.inputDatasetVersions), {
        empty: "No inputs.",
      }),
    ),
    section(
      `Outputs (${run.outputDatasetVersions.length})`,
      table(["Dataset", "Namespace", "Version written", "Rows"], ioRows(run.outputDatasetVersions), {
        empty: "No outputs.",
      }),
    ),
  );
}

const SECTIONS = ["run", "inputs", "outputs", "params", "metrics", "code", "environment"];
const SECTION_NAMES = {
  run: "run",
  inputs: "read",
  outputs: "wrote",
  params: "param",
  metrics: "metric",
  code: "code",
  environment: "env",
};

/**
 * What differs between this run (A) and another (B), as the server compared them
 * (catalog/compare.py; `threadline diff A B --all` prints the same): the page only renders it.
 */
function diffSection(comparison) {
  const { a, b, counts } = comparison;
  const rows = SECTIONS.flatMap((name) => {
    const changes = comparison[name];
    const same = changes.filter((change) => change.change === "same").length;
    const shown = changes.map((change) => {
      const { text } = change;
      const key = change.dataset ? h("span", { title: change.key }, shorten(text.key, 60)) : change.key;
      const full = (value) => (typeof value === "string" ? value : null); // a version, whole, on hover
      return h(
        "tr",
        {
          class: change.change === "same" ? "same" : "changed",
          dataset: { section: name, key: change.key, change: change.change },
        },
        h("td", null, h("span", { class: "muted small" }, SECTION_NAMES[name]), " ", key),
        h("td", { title: full(change.a) }, text.a || "–"),
        h(
          "td",
          { title: full(change.b) },
          text.b || "–",
          text.delta ? h("span", { class: "muted small" }, ` (${text.delta})`) : null,
        ),
        h("td", null, h("span", { class: `pill change-${change.change}` }, change.change)),
      );
    });
    // With only the differences shown, each section says how much of it is the same (as the CLI does).
    if (same) {
      const how =
        same === changes.length ? (same === 1 ? "the same" : `all ${same} the same`) : `${same} more the same`;
      shown.push(
        h(
          "tr",
          { class: "same-count" },
          h("td", { colspan: "4", class: "muted small" }, `${SECTION_NAMES[name]}: ${how}`),
        ),
      );
    }
    return shown;
  });
  const differing = counts.changed + counts.added + counts.removed + counts.unknown;
  return h(
    "section",
    { class: "card only-changes", id: "run-compare" },
    h("h2", null, `Compared with run ${b.shortId} (${differing} difference${differing === 1 ? "" : "s"})`),
    h(
      "label",
      { class: "inline" },
      h("input", {
        type: "checkbox",
        checked: true,
        onchange: (e) => e.target.closest("section").classList.toggle("only-changes", e.target.checked),
      }),
      " only differences",
    ),
    comparison.notes.length ? h("p", { class: "muted small" }, comparison.notes.join("; ")) : null,
    h(
      "table",
      { class: "grid diff", id: "run-diff" },
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          h("th", null, ""),
          h("th", null, `A: this run ${a.shortId}`),
          h("th", null, "B: ", link(runUrl(b.id), `run ${b.shortId}`)),
          h("th", null, ""),
        ),
      ),
      h("tbody", null, rows),
    ),
  );
}
