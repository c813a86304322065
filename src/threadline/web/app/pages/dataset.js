// A dataset: schema, versions with their content hashes, the runs that wrote and read it, quality
// assertions and statistics over time, tags and facets.

import { api } from "../api.js";
import {
  copyButton,
  details,
  formatBytes,
  formatNumber,
  formatTime,
  h,
  link,
  relativeTime,
  replace,
  section,
  shortRunId,
  statePill,
  table,
  shortHash,
} from "../dom.js";
import { lineChart } from "../chart.js";
import { facetList } from "../facets.js";
import { datasetId, jobUrl, lineageUrl, runUrl } from "../nodes.js";
import { kindOf, producerOfJobType } from "../producers.js";
import { catalogButton, errorBox, pageHeader, producerSwatch, runsTable } from "./common.js";
import { qualityHistorySection } from "./pipeline.js";

export async function datasetPage({ params, query, outlet, signal }) {
  const { namespace, name } = params;
  document.title = `${name} · threadline`;
  let dataset;
  let versions;
  let runs;
  try {
    ({ dataset, versions, runs } = await api.datasetPage(namespace, name, { signal }));
  } catch (error) {
    if (error.name === "AbortError") throw error;
    replace(outlet, pageHeader({ kind: "dataset", title: name, subtitle: namespace }), errorBox(error));
    return;
  }
  const kind = kindOf("DATASET", dataset);
  const writer = runs.writes[0];
  const producer = producerOfJobType(writer?.jobType);
  const focusField = query.get("field");
  const ownId = datasetId(dataset.namespace, dataset.name);

  const header = pageHeader({
    kind,
    title: dataset.name,
    subtitle: dataset.namespace,
    extra: writer
      ? h(
          "p",
          null,
          producerSwatch(producer),
          ` written by ${producer.label} job `,
          link(jobUrl(writer.namespace, writer.job), writer.job),
        )
      : null,
    actions: [
      h("a", { href: lineageUrl(ownId), "data-link": "", class: "button", id: "open-lineage" }, "Lineage"),
      h(
        "a",
        {
          href: lineageUrl(ownId, { view: "columns", field: focusField || undefined }),
          "data-link": "",
          class: "button ghost",
        },
        "Column lineage",
      ),
      catalogButton(ownId),
    ],
  });

  const fields = dataset.fields || [];
  const schema = section(
    `Schema (${fields.length} columns)`,
    table(
      ["Column", "Type", "Tags", "Description"],
      fields.map((f) => [
        h("code", { class: f.name === focusField ? "focus" : "" }, f.name),
        f.type || "",
        (f.tags || []).map((t) => h("span", { class: "tag" }, t)),
        f.description || "",
      ]),
      { empty: "No schema recorded (producers send it in the schema facet)." },
    ),
  );

  const versionRows = versions.versions.map((v) => {
    const run = v.createdByRun;
    return [
      h("span", { class: "mono" }, shortHash(v.version, 16), " ", copyButton(v.version, "copy")),
      formatTime(v.createdAt),
      `${v.fieldCount}`,
      run ? [statePill(run.state), " ", link(runUrl(run.id), h("code", null, shortRunId(run)))] : "–",
    ];
  });
  const versionsBox = section(
    `Versions (${versions.totalCount})`,
    h(
      "p",
      { class: "muted small" },
      "A version is what a run wrote: a content hash (blake3:…) when the producer sent one, else an id of the run's write.",
    ),
    table(["Version", "Created", "Columns", "Written by run"], versionRows, { empty: "No versions recorded." }),
  );

  const versionCell = {
    title: "Version",
    cell: (run) => (run.version ? h("code", { title: run.version }, shortHash(run.version)) : "–"),
  };
  const producing = section(
    `Written by (${runs.writes.length})`,
    runsTable(runs.writes, { extra: versionCell, empty: "No run wrote it (a source)." }),
  );
  const consuming = section(
    `Read by (${runs.reads.length})`,
    runsTable(runs.reads, { extra: versionCell, empty: "No run read it yet." }),
  );

  replace(
    outlet,
    header,
    h(
      "div",
      { class: "columns-2" },
      section(
        "About",
        details([
          ["Description", dataset.description],
          ["Kind", kind],
          ["Source", dataset.sourceName],
          [
            "Current version",
            dataset.currentVersion
              ? h(
                  "span",
                  { class: "mono" },
                  shortHash(dataset.currentVersion, 16),
                  " ",
                  copyButton(dataset.currentVersion, "copy"),
                )
              : null,
          ],
          [
            "Updated",
            dataset.updatedAt ? `${formatTime(dataset.updatedAt)} (${relativeTime(dataset.updatedAt)})` : null,
          ],
          ["Owners", (dataset.owners || []).map((o) => o.name || o).join(", ")],
          ["Tags", (dataset.tags || []).length ? dataset.tags.map((t) => h("span", { class: "tag" }, t)) : null],
          [
            "Also known as",
            dataset.aliases?.length
              ? dataset.aliases.map((a) => h("div", null, h("code", null, `${a.namespace} ${a.name}`)))
              : null,
          ],
        ]),
      ),
      quality(runs),
    ),
    qualityHistorySection(ownId, signal),
    schema,
    versionsBox,
    h("div", { class: "columns-2" }, producing, consuming),
    section("Facets", facetList(dataset.facets)),
  );
  if (focusField) outlet.querySelector("code.focus")?.scrollIntoView({ block: "center" });
}

/** Statistics written over time (rows, bytes) and quality checks of the runs that read it. */
function quality(runs) {
  const when = (run) => new Date(run.endedAt || run.startedAt || run.seenAt).getTime() / 1000;
  const rows = [];
  const bytes = [];
  for (const run of runs.writes) {
    const stats = run.facets.outputStatistics;
    if (stats?.rowCount != null) rows.push([when(run), stats.rowCount]);
    if (stats?.size != null) bytes.push([when(run), stats.size]);
  }
  for (const run of runs.reads) {
    const metrics = run.facets.dataQualityMetrics;
    if (metrics?.rowCount != null && !runs.writes.length) rows.push([when(run), metrics.rowCount]);
  }
  const assertions = [];
  for (const run of runs.reads) {
    for (const a of run.facets.dataQualityAssertions?.assertions || []) {
      assertions.push([
        formatTime(run.endedAt || run.startedAt),
        a.assertion,
        a.column || "",
        h("span", { class: `pill ${a.success ? "state-completed" : "state-failed"}` }, a.success ? "passed" : "failed"),
        link(runUrl(run.id), h("code", null, shortRunId(run))),
      ]);
    }
  }
  const columnStats = [];
  const latestRead = runs.reads.find((r) => r.facets.dataQualityMetrics?.columnMetrics);
  if (latestRead) {
    for (const [column, m] of Object.entries(latestRead.facets.dataQualityMetrics.columnMetrics)) {
      columnStats.push([
        h("code", null, column),
        formatNumber(m.nullCount),
        formatNumber(m.distinctCount),
        formatNumber(m.min),
        formatNumber(m.max),
      ]);
    }
  }
  const parts = [];
  if (rows.length > 1)
    parts.push(
      lineChart([{ label: "rows", points: rows.sort((a, b) => a[0] - b[0]) }], {
        time: true,
        height: 160,
        title: "Rows written",
      }),
    );
  else if (rows.length) parts.push(h("p", null, `Rows written: ${formatNumber(rows[0][1])}`));
  if (bytes.length) parts.push(h("p", { class: "muted" }, `Latest size: ${formatBytes(bytes[0][1])}`));
  if (assertions.length)
    parts.push(
      h("h3", null, "Quality assertions"),
      table(["When", "Assertion", "Column", "Result", "Run"], assertions.slice(0, 30)),
    );
  if (columnStats.length)
    parts.push(
      h("h3", null, "Column statistics (latest read)"),
      table(["Column", "Nulls", "Distinct", "Min", "Max"], columnStats),
    );
  if (!parts.length)
    parts.push(
      h(
        "p",
        { class: "empty" },
        "No statistics or quality checks recorded (outputStatistics, dataQualityMetrics and dataQualityAssertions facets).",
      ),
    );
  return section("Quality and statistics", ...parts);
}
