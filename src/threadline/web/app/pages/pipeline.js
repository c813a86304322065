// Staged pipelines (threadline.pipeline): the list of pipelines with their newest runs, and one
// pipeline run as a chain of stages (extract, load, validate, transform, validate, promote), each
// with its checks (passed, warned, failed, with samples of the failing rows) and the staging and
// production versions. A run awaiting approval (every check passed, its environment asks for an
// approval) shows what the approval promotes and an Approve button (POST .../approve, which needs a key
// with the write scope; the server says so otherwise). The run's webhook deliveries are listed with
// their status (delivered, failed, not sent).

import { api } from "../api.js";
import { details, formatNumber, formatTime, h, link, replace, section, shortHash, statePill, table } from "../dom.js";
import { datasetUrl, runUrl } from "../nodes.js";
import { errorBox, pageHeader } from "./common.js";

/** Whether the run waits for an approval. */
const isAwaiting = (run) => run.approval?.status === "awaiting";

/** The run's state as a pill: "awaiting approval" for a run waiting for one (it is still RUNNING). */
function runPill(run) {
  if (isAwaiting(run)) return h("span", { class: "pill state-awaiting" }, "awaiting approval");
  return statePill(run.state);
}

/** The URL of a pipeline run's page. @param {string} id */
export const pipelineRunUrl = (id) => `/pipeline-runs/${encodeURIComponent(id)}`;

const CHECK_CLASS = { passed: "state-completed", warned: "state-aborted", failed: "state-failed" };

/** A check's status as a coloured pill. @param {string} status */
function checkPill(status) {
  return h("span", { class: `pill ${CHECK_CLASS[status] || ""}` }, status);
}

/** The pills counting a stage's checks by status (none when it has no checks). */
function counts(stage) {
  const found = Object.entries(stage.counts || {}).filter(([, n]) => n > 0);
  if (!found.length) return null;
  return h(
    "div",
    { class: "stage-counts" },
    found.map(([status, n]) => h("span", { class: `pill ${CHECK_CLASS[status] || ""}` }, `${n} ${status}`)),
  );
}

/** The last box of a chain that stopped before the promotion: awaiting approval, or blocked. */
function promoteBox(run) {
  if (run.stages.some((s) => s.stage === "promote")) return null;
  if (isAwaiting(run))
    return h(
      "li",
      { class: "stage stage-awaiting", "data-stage": "promote" },
      h("a", { href: "#approval", class: "stage-name" }, "promote"),
      h("span", { class: "pill state-awaiting" }, "awaiting approval"),
    );
  if ((run.state || "").toUpperCase() === "FAILED")
    return h(
      "li",
      { class: "stage stage-blocked", "data-stage": "promote" },
      h("span", { class: "stage-name" }, "promote"),
      h("span", { class: "pill" }, "blocked"),
      h("div", { class: "muted" }, "production unchanged"),
    );
  return null;
}

/** What the approval promotes, and the Approve button (re-renders the page once approved). */
function approvalSection(run, rerender) {
  const status = h("p", { class: "approval-status", role: "status" });
  const button = h(
    "button",
    { type: "button", class: "button primary", "data-approve": run.id },
    "Approve and promote",
  );
  button.addEventListener("click", async () => {
    button.disabled = true;
    status.textContent = "Promoting…";
    try {
      await api.approvePipelineRun(run.id);
      status.textContent = "Approved: production now holds this run's tables.";
      rerender();
    } catch (error) {
      button.disabled = false;
      const advice =
        error.status === 403
          ? "Approving needs an API key with the write scope (`threadline token create --scope write`)."
          : error.advice;
      status.textContent = `Not approved: ${error.message}${advice ? ` ${advice}` : ""}`;
    }
  });
  const box = section(
    "Awaiting approval",
    h(
      "p",
      null,
      `Every check passed. Approving makes the tables this run checked (${run.approval.tables.join(", ")}) the production tables of the ${run.env} warehouse, all of them in one transaction.`,
    ),
    h(
      "div",
      { class: "approval-actions" },
      button,
      h("span", { class: "muted" }, `or \`threadline pipeline approve ${run.shortId}\``),
    ),
    status,
  );
  box.id = "approval";
  box.classList.add("approval");
  return box;
}

/** "approved by … at …" for a run whose approval was given. */
function approvalText(run) {
  const approval = run.approval;
  if (!approval || approval.status === "awaiting") return null;
  const by = approval.approvedBy ? ` by ${approval.approvedBy}` : "";
  const when = approval.approvedAt ? `, ${formatTime(approval.approvedAt)}` : "";
  return `${approval.status}${by}${when}`;
}

/** One stage as a box of the chain. */
function stageBox(stage) {
  const state = (stage.state || "NEW").toLowerCase();
  return h(
    "li",
    { class: `stage stage-${state}`, "data-stage": stage.stage },
    h("a", { href: `#stage-${stage.id}`, class: "stage-name" }, stage.stage),
    statePill(stage.state),
    stage.rows != null
      ? h("div", { class: "muted" }, `${formatNumber(stage.rows)} ${stage.rows === 1 ? "row" : "rows"}`)
      : null,
    counts(stage),
  );
}

/** A cell of a failing row: null shown as such, objects as JSON. */
function cellText(value) {
  if (value === null || value === undefined) return h("span", { class: "muted" }, "null");
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

/** A sample of failing rows as a small table, the checked column marked (the loader's bookkeeping
 * columns, _created_at and _updated_at, left out). */
function sample(rows, column) {
  if (!rows?.length) return "";
  const keys = [...new Set(rows.flatMap((row) => Object.keys(row)))].filter((key) => !key.startsWith("_"));
  return h(
    "details",
    { class: "failing-rows", open: rows.length <= 3 },
    h("summary", null, `${rows.length} failing row${rows.length === 1 ? "" : "s"} (sample)`),
    h(
      "table",
      { class: "failing-sample" },
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          keys.map((key) => h("th", { class: key === column ? "checked" : null }, key)),
        ),
      ),
      h(
        "tbody",
        null,
        rows.map((row) =>
          h(
            "tr",
            null,
            keys.map((key) => h("td", { class: key === column ? "checked" : null }, cellText(row[key]))),
          ),
        ),
      ),
    ),
  );
}

/** The checks of a validate stage. */
function checksTable(stage) {
  return table(
    ["Check", "Column", "Severity", "Result", "Failing rows", "Message"],
    stage.checks.map((c) => [
      h("code", null, c.check),
      c.column || "",
      c.severity,
      checkPill(c.status),
      c.failures ? formatNumber(c.failures) : "",
      h("div", null, c.message || "", sample(c.sample, c.column)),
    ]),
    { className: "checks" },
  );
}

/** A list of dataset versions. */
function versionsTable(versions, empty) {
  return table(
    ["Dataset", "Version", "Rows"],
    versions.map((v) => [
      link(datasetUrl(v.namespace, v.name), v.name),
      v.version ? h("code", { title: v.version }, shortHash(v.version, 13)) : "",
      v.rows != null ? formatNumber(v.rows) : "",
    ]),
    { empty },
  );
}

const DELIVERY_STYLE = { delivered: "state-completed", failed: "state-failed" };

/** The run's webhook deliveries: each notification, whether the webhook took it, and why not. */
function notificationsSection(run) {
  const deliveries = run.notifications ?? [];
  if (!deliveries.length) return null;
  const box = section(
    "Notifications",
    table(
      ["Event", "Status", "Webhook", "Attempts", "Problem", "Sent"],
      deliveries.map((d) => [
        (d.event ?? "").replace("_", " "),
        h("span", { class: `pill ${DELIVERY_STYLE[d.status] ?? "state-awaiting"}` }, d.status),
        d.url ? h("code", null, d.url) : "",
        String(d.attempts ?? 0),
        d.problem ? h("span", { class: "error-text" }, d.problem) : "",
        formatTime(d.time),
      ]),
      { className: "notifications" },
    ),
  );
  box.id = "notifications";
  return box;
}

/** The stage's details below the chain: its state, error, and checks. */
function stageSection(stage) {
  const box = section(
    stage.stage,
    details([
      ["State", statePill(stage.state)],
      ["Run", link(runUrl(stage.id), h("code", null, stage.shortId))],
      ["Started", formatTime(stage.startedAt)],
      ["Rows", stage.rows != null ? formatNumber(stage.rows) : null],
      ["Error", stage.error ? h("span", { class: "error-text" }, stage.error) : null],
    ]),
    stage.checks.length ? checksTable(stage) : null,
  );
  box.id = `stage-${stage.id}`;
  return box;
}

export async function pipelineRunPage(context) {
  const { params, outlet, signal } = context;
  const id = params.id;
  document.title = `pipeline run ${id.slice(0, 13)} · threadline`;
  let run;
  try {
    run = await api.pipelineRun(id, { signal });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    replace(outlet, pageHeader({ kind: "pipeline", title: id }), errorBox(error));
    return;
  }
  document.title = `${run.pipeline} ${run.shortId} · threadline`;
  const failed = run.stages.flatMap((s) => s.checks.filter((c) => c.status === "failed").map((c) => [s, c]));
  replace(
    outlet,
    pageHeader({
      kind: "pipeline",
      title: `${run.pipeline} · run ${run.shortId}`,
      subtitle: run.namespace,
      actions: [h("a", { href: runUrl(run.id), "data-link": "", class: "button" }, "Run details")],
    }),
    isAwaiting(run) ? approvalSection(run, () => pipelineRunPage(context)) : null,
    section(
      "Run",
      details([
        ["State", runPill(run)],
        ["Approval", approvalText(run)],
        ["Awaiting since", isAwaiting(run) ? formatTime(run.approval.requestedAt) : null],
        ["Environment", run.env],
        ["Started", formatTime(run.startedAt)],
        ["Ended", formatTime(run.endedAt)],
        ["Error", run.error ? h("span", { class: "error-text" }, run.error) : null],
        ["Blocked by", failed.length ? failed.map(([s, c]) => h("div", null, `${s.stage}: ${c.check}`)) : null],
      ]),
    ),
    section(
      "Stages",
      h("ol", { class: "stage-chain", "aria-label": "Stages in the order they ran" }, [
        ...run.stages.map(stageBox),
        promoteBox(run),
      ]),
    ),
    h(
      "div",
      { class: "columns-2" },
      section("Staging versions", versionsTable(run.versions.staging, "No table was written.")),
      section("Production versions", versionsTable(run.versions.production, "Not promoted: production is unchanged.")),
    ),
    notificationsSection(run),
    ...run.stages.map(stageSection),
  );
}

export async function pipelinesPage({ outlet, signal }) {
  document.title = "pipelines · threadline";
  let found;
  try {
    found = await api.pipelines({ signal });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    replace(outlet, pageHeader({ title: "Pipelines" }), errorBox(error));
    return;
  }
  replace(
    outlet,
    pageHeader({ title: "Pipelines", subtitle: "Staged pipelines run with `threadline pipeline run`" }),
    section(
      "Pipelines",
      table(
        ["Pipeline", "Runs", "Last run", "Environment", "State", "Started"],
        found.pipelines.map((p) => [
          p.name,
          formatNumber(p.runs),
          link(pipelineRunUrl(p.lastRun.id), h("code", null, p.lastRun.shortId)),
          p.lastRun.env,
          p.lastRun.approval === "awaiting"
            ? h("span", { class: "pill state-awaiting" }, "awaiting approval")
            : statePill(p.lastRun.state),
          formatTime(p.lastRun.startedAt),
        ]),
        { empty: "No pipeline ran yet: `threadline pipeline run FILE.py` runs one." },
      ),
    ),
  );
}

/** A dataset's quality history (the data quality assertions of each run that checked it), filled in
 * when it arrives; empty (hidden) when no run checked the dataset. */
export function qualityHistorySection(nodeId, signal) {
  const box = section("Quality history");
  box.id = "quality-history";
  box.hidden = true;
  api.datasetQuality(nodeId, { signal }).then(
    (answer) => {
      if (!answer.history.length) return;
      box.append(
        table(
          ["When", "Run", "Version", "Passed", "Failed", "Assertions"],
          answer.history.map((entry) => [
            formatTime(entry.time),
            link(runUrl(entry.runId), h("code", null, entry.shortId)),
            entry.version ? h("code", { title: entry.version }, shortHash(entry.version, 13)) : "",
            formatNumber(entry.passed),
            entry.failed ? h("span", { class: "pill state-failed" }, formatNumber(entry.failed)) : "0",
            h(
              "div",
              { class: "assertion-strip" },
              entry.assertions.map((a) =>
                h(
                  "span",
                  {
                    class: `pill ${a.success ? "state-completed" : "state-failed"}`,
                    title: `${a.assertion}${a.column ? ` (${a.column})` : ""}: ${a.success ? "passed" : "failed"}`,
                  },
                  a.column && !a.assertion.includes(a.column) ? `${a.assertion} ${a.column}` : a.assertion,
                ),
              ),
            ),
          ]),
          { className: "quality-history" },
        ),
      );
      box.hidden = false;
    },
    (error) => {
      if (error.name === "AbortError") return;
      box.append(errorBox(error));
      box.hidden = false;
    },
  );
  return box;
}
