"""Running a pipeline: one threadline run of the pipeline, a child run per stage, in the staged
order (extract and land, load, validate, transform, validate, promote).

Write-audit-publish: every table is written to the environment's staging schema and checked there; the
``promote`` stage runs only when every ``error`` check passed, and swaps all promoted tables into the
production schema in one transaction. A failed check leaves production as it was; the pipeline run
fails with a message naming each failed check and its failing-row count, and the validate run carries
the failing rows (``threadline_check_results`` facet).

Approval gate (``Pipeline(approval=...)``): in an environment that needs one, a run whose checks all
passed does not promote; it stops at *awaiting approval*: the pipeline run stays open (RUNNING) with
the parameter ``approval`` (``{"status": "awaiting", "tables", "versions", "cursors", "environment",
...}``, see ``approval.py``), and ``threadline pipeline approve RUN`` or the web UI promotes it later.

CI mode (``run_pipeline(..., env="ci", sample=N)``): every stage runs on the first ``N`` rows of each
source, into a throwaway environment (a temporary lake and DuckDB warehouse, removed afterwards) unless
the pipeline declares ``ci`` itself; cursors are not used, nothing waits for an approval.

Notifications: the pipeline's webhook (``notify.py``) hears of a failed run, of a run awaiting approval
and of a promotion; a webhook that is down never fails the run.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import threadline.tracking as tl
from threadline.errors import PipelineError
from threadline.pipeline import notify, promotion
from threadline.pipeline.checks import (
    CheckResult,
    assertions_facet,
    metrics_facet,
    results_facet,
    run_checks,
)
from threadline.pipeline.config import Environment
from threadline.pipeline.declare import Extract, Pipeline, Transform
from threadline.pipeline.history import NOTIFY_STAGE
from threadline.pipeline.lake import Lake
from threadline.pipeline.lineage import column_lineage
from threadline.pipeline.state import last_cursors
from threadline.pipeline.warehouse import BOOKKEEPING, open_warehouse

if TYPE_CHECKING:
    from collections.abc import Iterator

#: The environment ``--env ci`` runs in when the pipeline declares none of that name: a throwaway one.
CI_ENV = "ci"
#: The parameter of a pipeline run that records its approval (see ``approval.py``).
APPROVAL_PARAM = "approval"


@dataclass
class StageResult:
    """What one stage did."""

    name: str
    status: str  #: ``completed``, ``failed``, ``skipped`` or ``awaiting approval``
    message: str = ""
    rows: int | None = None
    checks: list[CheckResult] = field(default_factory=list)


@dataclass
class PipelineResult:
    """What a pipeline run did."""

    pipeline: str
    env: str
    run_id: str | None
    stages: list[StageResult] = field(default_factory=list)
    promoted: bool = False
    blocked_by: list[str] = field(default_factory=list)
    cursors: dict[str, Any] = field(default_factory=dict)
    #: Whether the run stopped at *awaiting approval* (every check passed, nothing promoted yet).
    awaiting_approval: bool = False
    #: The rows each source was cut to (CI mode), else ``None``.
    sample: int | None = None

    @property
    def ok(self) -> bool:
        """Whether every check passed: the promotion happened, or waits for an approval."""
        return self.promoted or self.awaiting_approval


def _version(facet_value: str) -> dict[str, Any]:
    from openlineage.client.facet_v2 import dataset_version_dataset as dv

    from threadline.tracking.events import facet

    return facet(dv.DatasetVersionDatasetFacet._get_schema(), datasetVersion=facet_value)


def _statistics(rows: int) -> dict[str, Any]:
    from openlineage.client.facet_v2 import output_statistics_output_dataset as os_

    from threadline.tracking.events import facet

    return {"outputStatistics": facet(os_.OutputStatisticsOutputDatasetFacet._get_schema(), rowCount=rows)}


def _schema(columns: list[tuple[str, str]]) -> dict[str, Any]:
    from openlineage.client.facet_v2 import schema_dataset

    from threadline.tracking.events import facet

    return facet(
        schema_dataset.SchemaDatasetFacet._get_schema(),
        fields=[{"name": name, "type": kind} for name, kind in columns],
    )


class _Runner:
    def __init__(
        self, pipeline: Pipeline, env_name: str, env: Environment, *, sample: int | None = None
    ) -> None:
        self.pipeline = pipeline
        self.env_name = env_name
        self.env = env
        self.sample = sample
        self.lake = Lake(env.lake)
        self.warehouse = open_warehouse(env)
        self.versions: dict[str, str] = {}  #: staging table -> its version (the run that wrote it)
        self.result = PipelineResult(pipeline.name, env_name, None, sample=sample)
        #: The pipeline run, once started (the webhook deliveries are recorded under it).
        self.parent: tl.Run | None = None

    def stage(self, name: str, **params: Any) -> tl.Run:
        return tl.run(name, pipeline=self.pipeline.name, params={"env": self.env_name, **params})

    def _table_output(self, run: tl.Run, table: str, rows: int, **facets: Any) -> None:
        self.versions[table] = run.id
        run.output(
            self.warehouse.uri(table),
            facets={"version": _version(run.id), "schema": _schema(self.warehouse.columns(table)), **facets},
            output_facets=_statistics(rows),
        )

    def _table_input(self, run: tl.Run, table: str, **input_facets: Any) -> None:
        facets = {"version": _version(self.versions[table])} if table in self.versions else {}
        run.input(self.warehouse.uri(table), facets=facets, input_facets=input_facets or None)

    # ---- stages ---------------------------------------------------------------------------------

    def extract_and_load(self, step: Extract, cursors: dict[str, Any]) -> None:
        since = cursors.get(step.table) if step.cursor else None
        with self.stage(
            f"extract.{step.table}", source=step.source.uri, cursor=step.cursor, since=since
        ) as run:
            source = step.source.resolved(self.pipeline.base)
            data = source.read(step.cursor, since)
            if self.sample is not None and data.num_rows > self.sample:
                data = data.slice(0, self.sample)
                run.log_param("sample", self.sample)
            run.input(source.uri)
            landed = self.lake.land(step.table, data)
            if "://" in landed.path:  # a remote lake: the SDK hashes local files only; the lake hashed it
                run.output(landed.path, facets={"version": _version(f"blake3:{landed.content_hash}")})
            else:
                run.output(landed.path, store=True)
            run.log_metric("rows", landed.rows)
            if step.cursor and data.num_rows:
                import pyarrow.compute as pc

                newest = pc.max(data[step.cursor]).as_py()
                self.result.cursors[step.table] = (
                    newest if isinstance(newest, int | float | str) else str(newest)
                )
            elif step.cursor and since is not None:
                self.result.cursors[step.table] = since
        self.result.stages.append(StageResult(f"extract.{step.table}", "completed", landed.path, landed.rows))
        with self.stage(f"load.{step.table}", mode=step.mode, primary_key=list(step.primary_key)) as run:
            run.input(landed.path)
            # the rows just landed: the partition's file holds exactly these (reading it back cost a
            # tenth of the benchmark pipeline's time)
            rows = self.warehouse.load(step.table, data, mode=step.mode, primary_key=step.primary_key)
            self._table_output(run, step.table, rows)
            run.log_metric("rows", rows)
        self.result.stages.append(StageResult(f"load.{step.table}", "completed", rows=rows))

    def validate(self, table: str) -> bool:
        """Run the table's checks; ``False`` when an error check failed (and was not quarantined)."""
        validation = self.pipeline.validations.get(table)
        if validation is None or not validation.checks:
            return True
        name = f"validate.{table}"
        failed: list[CheckResult] = []
        results: list[CheckResult] = []
        try:
            with self.stage(name, quarantine=validation.quarantine) as run:
                results, failing = run_checks(self.warehouse, table, validation.checks)
                if validation.quarantine:
                    self._quarantine(run, table, results, failing)
                rows = self.warehouse.count(table)
                self._table_input(
                    run,
                    table,
                    dataQualityAssertions=assertions_facet(results),
                    dataQualityMetrics=metrics_facet(rows, results),
                    threadline_check_results=results_facet(results),
                )
                run.log_param("checks", [r.as_json() | {"sample": r.sample[:3]} for r in results])
                run.log_metrics(
                    {
                        "checks_passed": sum(r.status == "passed" for r in results),
                        "checks_warned": sum(r.status == "warned" for r in results),
                        "checks_failed": sum(r.status == "failed" for r in results),
                    }
                )
                failed = [r for r in results if r.status == "failed"]
                if failed:
                    raise PipelineError(_failure_text(table, failed))
        except PipelineError as exc:
            self.result.stages.append(StageResult(name, "failed", exc.message, checks=results))
            self.result.blocked_by.extend(f"{table}: {r.check.label} ({r.message})" for r in failed)
            return False
        self.result.stages.append(StageResult(name, "completed", checks=results))
        return True

    def _quarantine(
        self, run: tl.Run, table: str, results: list[CheckResult], failing: dict[str, set[Any]]
    ) -> None:
        import pandas as pd

        bad: dict[Any, list[str]] = {}
        for result in results:
            if result.check.severity == "error" and result.check.row_level and not result.passed:
                for index in failing.get(result.check.label, set()):
                    bad.setdefault(index, []).append(result.check.label)
                result.quarantined = len(failing.get(result.check.label, set()))
        if not bad:
            return
        frame = self.warehouse.frame(table)
        moved = frame.loc[sorted(bad)].copy()
        moved["_failed_checks"] = [", ".join(bad[i]) for i in sorted(bad)]
        moved["_quarantined_at"] = pd.Timestamp.now(tz="UTC")
        self.warehouse.replace_rows(table, frame.drop(index=sorted(bad)))
        quarantine = f"{table}_quarantine"
        self.warehouse.append_rows(quarantine, moved)
        run.output(self.warehouse.uri(quarantine), output_facets=_statistics(len(moved)))

    def transform(self, step: Transform) -> None:
        name = f"transform.{step.table}"
        with self.stage(name, kind="sql" if step.sql else "python") as run:
            if step.sql is not None:
                inputs = _sql_tables(step.sql, self.warehouse.tables()) or list(step.inputs)
                for table in inputs:
                    self._table_input(run, table)
                run.log_param("sql", step.sql)
                rows = self.warehouse.create_as(step.table, step.sql)
                outputs = [n for n, _ in self.warehouse.columns(step.table)]
                lineage = column_lineage(
                    step.sql,
                    outputs,
                    {t: [n for n, _ in self.warehouse.columns(t)] for t in inputs},
                    self.warehouse.uri,
                )
                extra = {"columnLineage": lineage} if lineage else {}
                self._table_output(run, step.table, rows, **extra)
            else:
                assert step.function is not None
                frames = {}
                for table in step.inputs:
                    self._table_input(run, table)
                    frame = self.warehouse.frame(table).reset_index(drop=True)
                    frames[table] = frame.drop(columns=list(BOOKKEEPING), errors="ignore")
                out = step.function(**frames)
                import pandas as pd

                if not isinstance(out, pd.DataFrame):
                    msg = (
                        f"transform {step.table}: the function returned {type(out).__name__}, not a DataFrame"
                    )
                    raise PipelineError(msg)
                self.warehouse.replace_rows(step.table, out)
                self._table_output(run, step.table, len(out))
            run.log_metric("rows", self.warehouse.count(step.table))
        self.result.stages.append(StageResult(name, "completed", rows=self.warehouse.count(step.table)))

    def promote(self) -> None:
        tables = self.pipeline.promotes
        with self.stage("promote", tables=tables, cursors=self.result.cursors) as run:
            for table in tables:
                self._table_input(run, table)
            # the lake's version written first, journaled, switched once the warehouse committed
            version = promotion.promote(
                self.warehouse, self.lake, tables, lake_production=self.env.lake_production
            )
            if self.env.lake_production:
                run.log_param("lake_version", version)
            for table in tables:
                run.output(
                    self.warehouse.uri(table, production=True),
                    facets={"version": _version(self.versions.get(table, run.id))},
                    output_facets=_statistics(self.warehouse.count(table, production=True)),
                )
        self.result.promoted = True
        self.result.stages.append(StageResult("promote", "completed", ", ".join(tables)))

    # ---- the whole run --------------------------------------------------------------------------

    def await_approval(self, parent: tl.Run) -> None:
        """Every check passed and the environment needs an approval: record what the approval will
        promote on the pipeline run and leave it open (``approval.py`` ends it)."""
        tables = self.pipeline.promotes
        webhook = self.pipeline.webhook
        parent.log_param(
            APPROVAL_PARAM,
            {
                "status": "awaiting",
                "requestedAt": _now_iso(),
                "tables": tables,
                "versions": {table: self.versions[table] for table in tables if table in self.versions},
                "cursors": self.result.cursors,
                "environment": {
                    "lake": self.env.lake,
                    "warehouse": self.env.warehouse,
                    "staging_schema": self.env.staging_schema,
                    "schema": self.env.schema,
                    "lake_production": self.env.lake_production,
                },
                **({"webhook": webhook.describe()} if webhook is not None else {}),
            },
        )
        self.result.awaiting_approval = True
        self.result.stages.append(StageResult("promote", "awaiting approval", ", ".join(tables)))
        parent.leave_open()

    def run(self) -> PipelineResult:
        pipeline = self.pipeline
        cursors = (
            last_cursors(pipeline.name, self.env_name)
            if self.sample is None
            and self.env_name in pipeline.environments  # a throwaway CI environment starts empty
            and any(e.cursor for e in pipeline.extracts.values())
            else {}
        )
        params: dict[str, Any] = {
            "env": self.env_name,
            "lake": self.env.lake,
            "warehouse": self.env.warehouse,
        }
        if self.sample is not None:
            params["sample"] = self.sample
        recovered = promotion.recover(self.warehouse, self.lake)  # a promotion a killed run left
        with tl.run(
            pipeline.name,
            params=params,
            tags={"threadline.pipeline": pipeline.name, "env": self.env_name},
            description=pipeline.description,
        ) as parent:
            self.parent = parent
            self.result.run_id = parent.id
            if recovered:
                parent.log_param("recovered_promotion", recovered)
            for step in pipeline.extracts.values():
                self.extract_and_load(step, cursors)
            outcomes = [self.validate(table) for table in pipeline.extracts]  # every table, not the first
            ok = all(outcomes)
            for transform in pipeline.transforms.values():
                if not ok:
                    self.result.stages.append(
                        StageResult(f"transform.{transform.table}", "skipped", "blocked")
                    )
                    continue
                self.transform(transform)
            if ok:
                outcomes = [self.validate(table) for table in pipeline.transforms]
                ok = all(outcomes)
            else:
                for table in pipeline.transforms:
                    if table in pipeline.validations:
                        self.result.stages.append(StageResult(f"validate.{table}", "skipped", "blocked"))
            if not ok:
                self.result.stages.append(StageResult("promote", "skipped", "blocked by failed checks"))
                msg = f"not promoted: production {self.env.schema} is unchanged; failed checks: " + "; ".join(
                    self.result.blocked_by
                )
                raise PipelineError(msg)
            if pipeline.needs_approval(self.env_name):
                self.await_approval(parent)
            else:
                self.promote()
        return self.result


def _now_iso() -> str:
    from threadline.vocabulary import iso_time

    return iso_time(int(time.time() * 1_000_000)) or ""


def _failure_text(table: str, failed: list[CheckResult]) -> str:
    parts = [f"{r.check.label}: {r.message or 'failed'}" for r in failed]
    return f"{len(failed)} error check(s) failed on {table}: " + "; ".join(parts)


def _sql_tables(sql: str, known: list[str]) -> list[str]:
    """The staging tables ``sql`` reads, found by sqlglot."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        tree = sqlglot.parse_one(sql, dialect="duckdb")
    except SqlglotError as exc:
        msg = f"cannot parse the transform's SQL: {str(exc).splitlines()[0]}"
        raise PipelineError(msg) from exc
    names = {table.name for table in tree.find_all(exp.Table)}
    return [name for name in known if name in names]


@contextlib.contextmanager
def run_environment(pipeline: Pipeline, env: str, sample: int | None = None) -> Iterator[Environment]:
    """The environment to run in: the declared one, or for ``ci`` when undeclared a throwaway one
    in a temporary folder (removed when the run ends)."""
    if sample is not None and (sample < 1 or env != CI_ENV):
        msg = (
            f"--sample must be at least 1, got {sample}"
            if sample < 1
            else f"--sample runs only with --env {CI_ENV} (a sample must never reach a real environment)"
        )
        raise PipelineError(msg)
    if env == CI_ENV and env not in pipeline.environments:
        folder = Path(tempfile.mkdtemp(prefix=f"threadline-{pipeline.name}-ci-"))
        try:
            yield Environment(str(folder / "lake"), f"duckdb:///{folder / 'warehouse.duckdb'}")
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    yield pipeline.environment(env)


#: What the webhook's ``awaiting_approval`` notification says (a local run's, and an Airflow DAG's).
AWAITING_APPROVAL = "every check passed; the run awaits an approval"


def _notify(
    pipeline: Pipeline,
    env: str,
    event: str,
    result: PipelineResult,
    message: str,
    parent: tl.Run | None = None,
) -> None:
    if pipeline.webhook is None or env not in pipeline.environments:  # not the throwaway CI one
        return
    extra: dict[str, Any] = {"tables": pipeline.promotes}
    if event == "failed":
        extra["failedChecks"] = list(result.blocked_by)
    if event == "awaiting_approval" and result.run_id:
        extra["approve"] = f"threadline pipeline approve {result.run_id}"
    body = notify.notification(event, pipeline.name, env, result.run_id, message, **extra)
    delivery = notify.deliver(pipeline.webhook, body)
    if delivery is not None and parent is not None:
        record_delivery(pipeline.name, parent, delivery)


def record_delivery(pipeline: str, parent: tl.Run, delivery: dict[str, Any]) -> None:
    """Record a webhook delivery as a ``notify`` run under the pipeline run (its parameters: the
    delivery; always completed, so that a webhook that is down never fails the pipeline run): the
    run's page lists them under Notifications."""
    with tl.run(NOTIFY_STAGE, pipeline=pipeline, parent=parent, params={"notification": delivery}):
        pass


def run_pipeline(pipeline: Pipeline, env: str = "staging", *, sample: int | None = None) -> PipelineResult:
    """Run ``pipeline`` in the environment ``env``; raises :class:`PipelineError` (after recording
    the failed run) when a stage fails or a check blocks the promotion. ``error.result`` holds the
    :class:`PipelineResult` then. When ``env`` needs an approval the run ends *awaiting approval*
    (``result.awaiting_approval``) instead of promoting. ``sample`` (only with ``env="ci"``): CI mode,
    see the module docstring."""
    pipeline.check_references()
    with run_environment(pipeline, env, sample) as environment:
        runner = _Runner(pipeline, env, environment, sample=sample)
        started = time.time()
        try:
            result = runner.run()
        except Exception as exc:
            message = exc.message if isinstance(exc, PipelineError) else f"{exc.__class__.__name__}: {exc}"
            _notify(pipeline, env, "failed", runner.result, message, runner.parent)
            if isinstance(exc, PipelineError):
                exc.result = runner.result  # type: ignore[attr-defined]
            raise
        finally:
            runner.warehouse.close()
    if result.awaiting_approval:
        _notify(pipeline, env, "awaiting_approval", result, AWAITING_APPROVAL, runner.parent)
    elif result.promoted:
        _notify(pipeline, env, "promoted", result, f"promoted to {environment.schema}", runner.parent)
    runner.result.stages.append(StageResult("total", "completed", f"{time.time() - started:.2f} s"))
    return result
