// A run: parameters, metrics (a chart for each series), inputs and outputs with their exact versions,
// code commit, environment, error, child runs, run-level lineage, and a diff against another run.

import { api } from "../api.js";
import { copyButton, details, formatDuration, formatNumber, formatTime, h, link, notice, replace, section, shorten, statePill, table, shortHash } from "../dom.js";
import { lineChart } from "../chart.js";
import { facetList, jsonTree } from "../facets.js";
import { datasetUrl, jobUrl, runUrl } from "../nodes.js";
import { producerOf } from "../producers.js";
import { navigate } from "../router.js";
import { errorBox, pageHeader, producerSwatch, runsTable } from "./common.js";
import { sourceLink } from "./job.js";
import { runLineageSection } from "./run-lineage.js";

const params = (run) => run.facets?.threadline_params?.params || {};
const metrics = (run) => run.facets?.threadline_metrics?.metrics || {};
const lastValue = (points) => (points.length ? points[points.length - 1][1] : null);

export async function runPage({ params: route, query, outlet, signal }) {
  const id = route.id;
  document.title = `run ${id.slice(0, 8)} · threadline`;
  const compareId = query.get("compare");
  let page;
  try {
    page = await api.runPage(id, compareId || undefined, { signal });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    replace(outlet, pageHeader({ kind: "run", title: id }), errorBox(error));
    return undefined;
  }
  const { run, jobFacets, children, compare: other, compareError } = page;
  const job = run.jobVersion;
  const producer = producerOf(jobFacets);
  const siblings = page.jobRuns.runs.filter((r) => r.id !== run.id);

  const env = run.facets?.threadline_environment;
  const git = env?.git || {};
  const location = jobFacets.sourceCodeLocation;
  const error = run.facets?.errorMessage;
  const nominal = run.nominalStartTime ? `${formatTime(run.nominalStartTime)}${run.nominalEndTime ? ` → ${formatTime(run.nominalEndTime)}` : ""}` : null;

  const compareSelect = h("select", { id: "compare", "aria-label": "Compare with another run of this job",
    onchange: (e) => navigate(runUrl(run.id, { compare: e.target.value || undefined })) },
  h("option", { value: "" }, siblings.length ? "Compare with another run…" : "No other run of this job"),
  siblings.map((r) => h("option", { value: r.id, selected: r.id === compareId }, `${r.id.slice(0, 8)} · ${r.state.toLowerCase()} · ${formatTime(r.startedAt || r.createdAt)}`)));

  const lineage = runLineageSection(run, { children: children.totalCount, producer, signal });
  const parts = [
    pageHeader({
      kind: "run", title: job.name,
      subtitle: h("span", null, "run ", h("code", null, run.id), " ", copyButton(run.id, "copy id")),
      extra: h("p", null, statePill(run.state), " ", producerSwatch(producer), ` ${producer.label} · `, link(jobUrl(job.namespace, job.name), "job page")),
      actions: [compareSelect],
    }),
    error ? notice("error", h("strong", null, error.message || "The run failed."),
      error.stackTrace ? h("details", null, h("summary", null, "Stack trace"), h("pre", { class: "code" }, error.stackTrace)) : null) : null,
    compareError ? notice("warning", `Cannot compare: ${compareError}`) : null,
    other ? diffSection(run, other) : null,
    h("div", { class: "columns-2" },
      section("Run", details([
        ["State", statePill(run.state)],
        ["Started", formatTime(run.startedAt)],
        ["Ended", formatTime(run.endedAt)],
        ["Duration", formatDuration(run.durationMs)],
        ["Scheduled for", nominal],
        ["Parent run", run.parentRunId ? link(runUrl(run.parentRunId), h("code", null, run.parentRunId.slice(0, 8))) : null],
        ["Job version", h("code", null, job.version)],
        ["Events", (run.states || []).map((s) => h("div", { class: "small" }, `${(s.state || "event").toLowerCase()} · ${formatTime(s.time)}`))],
      ])),
      section("Code and environment", details([
        ["Source", sourceLink(location)],
        ["Commit", git.commit || location?.version ? h("code", null, git.commit || location.version) : null],
        ["Branch", git.branch || location?.branch],
        ["Uncommitted changes", git.dirty === undefined ? null : git.dirty ? "yes" : "no"],
        ["Python", env ? `${env.python} (${env.implementation})` : null],
        ["Platform", env?.platform],
        ["Host", env?.host],
        ["Command", env?.command_line ? h("code", null, env.command_line) : null],
        ["Packages", env?.packages_object ? h("code", { title: env.packages_object }, `${env.packages_count ?? "?"} packages · ${shortHash(env.packages_object)}`) : null],
        ["Engine", run.facets?.processing_engine ? `${run.facets.processing_engine.name} ${run.facets.processing_engine.version || ""}` : null],
      ]))),
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

function paramsSection(run) {
  const entries = Object.entries(params(run));
  if (!entries.length) return null;
  return section(`Parameters (${entries.length})`, table(["Name", "Value"], entries.map(([k, v]) => [h("code", null, k), typeof v === "object" ? jsonTree(v) : String(v)])));
}

function metricsSection(run) {
  const series = Object.entries(metrics(run));
  if (!series.length) return null;
  const charts = series.filter(([, points]) => points.length > 1)
    .map(([name, points]) => lineChart([{ label: name, points: points.map((p) => [p[0], p[1]]) }], { title: name, xLabel: "step", height: 200 }));
  return section(`Metrics (${series.length})`,
    table(["Metric", "Last value", "Points"], series.map(([name, points]) => [h("code", null, name), formatNumber(lastValue(points)), String(points.length)])),
    charts.length ? h("div", { class: "charts", id: "metric-charts" }, charts) : null);
}

function ioRows(entries) {
  return entries.map((entry) => {
    const ref = entry.datasetVersionId;
    const f = entry.facets || {};
    const stats = f.outputStatistics || f.inputStatistics || f.dataQualityMetrics;
    return [
      link(datasetUrl(ref.namespace, ref.name), shorten(ref.name, 60)), h("span", { class: "muted small" }, ref.namespace),
      ref.version ? h("span", { class: "mono", title: ref.version }, shortHash(ref.version), " ", copyButton(ref.version, "copy")) : "–",
      stats?.rowCount != null ? h("span", { class: "nowrap" }, formatNumber(stats.rowCount)) : "",
    ];
  });
}

function ioSection(run) {
  return h("div", { class: "columns-2" },
    section(`Inputs (${run.inputDatasetVersions.length})`, table(["Dataset", "Namespace", "Version read", "Rows"], ioRows(run.inputDatasetVersions), { empty: "No inputs." })),
    section(`Outputs (${run.outputDatasetVersions.length})`, table(["Dataset", "Namespace", "Version written", "Rows"], ioRows(run.outputDatasetVersions), { empty: "No outputs." })));
}

/** What differs between two runs: state, duration, parameters, final metric values, versions, code. */
function diffSection(run, other) {
  const rows = [];
  const add = (what, a, b) => {
    const same = JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
    rows.push(h("tr", { class: same ? "same" : "changed" }, h("td", null, what), h("td", null, a == null ? "–" : String(a)), h("td", null, b == null ? "–" : String(b))));
  };
  add("state", run.state, other.state);
  add("duration", formatDuration(run.durationMs), formatDuration(other.durationMs));
  const pa = params(run);
  const pb = params(other);
  for (const key of [...new Set([...Object.keys(pa), ...Object.keys(pb)])].sort()) add(`param ${key}`, pa[key], pb[key]);
  const ma = metrics(run);
  const mb = metrics(other);
  for (const key of [...new Set([...Object.keys(ma), ...Object.keys(mb)])].sort()) {
    const a = ma[key] ? lastValue(ma[key]) : null;
    const b = mb[key] ? lastValue(mb[key]) : null;
    const delta = typeof a === "number" && typeof b === "number" ? ` (Δ ${(a - b).toPrecision(3)})` : "";
    add(`metric ${key}`, a == null ? null : `${a}${delta}`, b);
  }
  const versions = (r, dir) => Object.fromEntries((dir === "in" ? r.inputDatasetVersions : r.outputDatasetVersions).map((e) => [e.datasetVersionId.name, e.datasetVersionId.version]));
  for (const dir of ["in", "out"]) {
    const va = versions(run, dir);
    const vb = versions(other, dir);
    for (const key of [...new Set([...Object.keys(va), ...Object.keys(vb)])].sort()) add(`${dir === "in" ? "read" : "wrote"} ${shorten(key, 40)}`, va[key] ? shortHash(va[key]) : null, vb[key] ? shortHash(vb[key]) : null);
  }
  const ga = run.facets?.threadline_environment?.git?.commit;
  const gb = other.facets?.threadline_environment?.git?.commit;
  if (ga || gb) add("commit", ga?.slice(0, 12), gb?.slice(0, 12));
  const ea = run.facets?.threadline_environment;
  const eb = other.facets?.threadline_environment;
  if (ea || eb) {
    add("python", ea?.python, eb?.python);
    add("packages", ea?.packages_object ? shortHash(ea.packages_object) : null, eb?.packages_object ? shortHash(eb.packages_object) : null);
  }
  const changed = rows.filter((r) => r.classList.contains("changed")).length;
  return section(`Compared with run ${other.id.slice(0, 8)} (${changed} differences)`,
    h("label", { class: "inline" }, h("input", { type: "checkbox", onchange: (e) => e.target.closest("section").classList.toggle("only-changes", e.target.checked) }), " only differences"),
    h("table", { class: "grid diff", id: "run-diff" },
      h("thead", null, h("tr", null, h("th", null, ""), h("th", null, `this run ${run.id.slice(0, 8)}`), h("th", null, link(runUrl(other.id), `run ${other.id.slice(0, 8)}`)))),
      h("tbody", null, rows)));
}
