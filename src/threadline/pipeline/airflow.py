"""Running a pipeline on Airflow: ``threadline pipeline export airflow FILE.py`` writes a DAG in which
each stage is a task, and each task runs that one stage with ``threadline pipeline stage``.

The lineage is the local run's: one pipeline run, each stage's run its child. The pipeline run's id
is derived from the pipeline's name and Airflow's run id (:func:`pipeline_run_id`), so every task of
one DAG run names the same parent without passing anything between tasks. The ``begin`` task records
the pipeline run's start, and ``finish`` (which runs whatever happened upstream) its end: completed
when the promotion ran, else failed naming the stages that failed. A failed check fails its
``validate`` task, and Airflow then skips what depends on it (the transforms and the promotion), so
production stays as it was, as in a local run.

Extract and load are one task per table (``extract.T``, recording the ``extract.T`` and ``load.T``
runs): the load reads the partition the extract just landed.
"""

from __future__ import annotations

import os
import shlex
import sys
import uuid
from pathlib import Path
from typing import Any

import threadline.tracking as tl
from threadline.errors import PipelineError
from threadline.pipeline.declare import Pipeline
from threadline.pipeline.history import PIPELINE_TAG
from threadline.tracking.records import PARENT_ENV, RunRef

BEGIN = "begin"
FINISH = "finish"


def pipeline_run_id(pipeline: str, key: str) -> str:
    """The pipeline run's id for the orchestrator's run ``key`` (Airflow's ``run_id``)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"threadline:pipeline:{pipeline}:{key}"))


def task_graph(pipeline: Pipeline) -> dict[str, list[str]]:
    """Each task and the tasks it waits for, in the staged order of a local run."""
    graph: dict[str, list[str]] = {BEGIN: []}
    extracts = [f"extract.{t}" for t in pipeline.extracts]
    for task in extracts:
        graph[task] = [BEGIN]
    checked = [f"validate.{t}" for t in pipeline.extracts if _has_checks(pipeline, t)]
    for task in checked:
        graph[task] = list(extracts)  # relationship checks read the other tables
    last = checked or extracts or [BEGIN]
    for table in pipeline.transforms:
        graph[f"transform.{table}"] = list(last)
        last = [f"transform.{table}"]
    checked_after = [f"validate.{t}" for t in pipeline.transforms if _has_checks(pipeline, t)]
    for task in checked_after:
        graph[task] = list(last)
    graph["promote"] = checked_after or last
    graph[FINISH] = [task for task in graph if task != FINISH]
    return graph


def _has_checks(pipeline: Pipeline, table: str) -> bool:
    validation = pipeline.validations.get(table)
    return validation is not None and bool(validation.checks)


def _dag_id(name: str) -> str:
    return f"threadline_{name}"


def export_airflow(pipeline: Pipeline, file: Path, env: str, *, python: str | None = None) -> str:
    """The source of an Airflow (3.x) DAG running ``pipeline`` (declared in ``file``) in ``env``: one
    task per stage, each running ``threadline pipeline stage`` with this Python (or ``python``), in
    the current folder (where the project's ``.threadline`` store is)."""
    pipeline.environment(env)  # a typo'd environment fails here, not in Airflow
    graph = task_graph(pipeline)
    command = [
        python or sys.executable,
        "-m",
        "threadline",
        "pipeline",
        "stage",
        str(file.resolve()),
        "STAGE",
        "--env",
        env,
        "--pipeline",
        pipeline.name,
        "--run-key",
    ]
    base = shlex.join(command)
    lines = [
        f'"""Airflow DAG of the threadline pipeline {pipeline.name!r} (environment {env!r}).',
        "",
        f"Written by `threadline pipeline export airflow {file}`; export it again after changing the",
        "pipeline's stages. Each task runs one stage with `threadline pipeline stage`; every stage's run",
        "is a child of the pipeline run, as in `threadline pipeline run`.",
        '"""',
        "",
        "import pendulum",
        "from airflow.providers.standard.operators.bash import BashOperator",
        "from airflow.sdk import DAG",
        "",
        f"COMMAND = {base!r}",
        f"FOLDER = {str(Path.cwd())!r}",
        "RUN_KEY = \"'{{ run_id }}'\"",
        "",
        "with DAG(",
        f"    dag_id={_dag_id(pipeline.name)!r},",
        f"    description={(pipeline.description or f'threadline pipeline {pipeline.name}')!r},",
        "    schedule=None,",
        '    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),',
        "    catchup=False,",
        "    max_active_runs=1,",
        f"    tags=['threadline', {pipeline.name!r}],",
        ") as dag:",
        "    tasks = {}",
    ]
    for task in graph:
        trigger = ', trigger_rule="all_done"' if task == FINISH else ""
        lines.append(
            f"    tasks[{task!r}] = BashOperator(task_id={task!r}, "
            f'bash_command=COMMAND.replace("STAGE", {task!r}, 1) + " " + RUN_KEY, cwd=FOLDER{trigger})'
        )
    for task, upstream in graph.items():
        if upstream:
            listed = ", ".join(f"tasks[{u!r}]" for u in upstream)
            lines.append(f"    [{listed}] >> tasks[{task!r}]")
    return "\n".join(lines) + "\n"


# ---- running one stage (``threadline pipeline stage``) --------------------------------------------


def _pipeline_run(pipeline: Pipeline, env: str, run_id: str) -> tl.Run:
    environment = pipeline.environment(env)
    run = tl.run(
        pipeline.name,
        params={"env": env, "lake": environment.lake, "warehouse": environment.warehouse},
        tags={PIPELINE_TAG: pipeline.name, "env": env},
        description=pipeline.description,
    )
    run.id = run_id
    # Not this process's current run: the stage runs name it through THREADLINE_PARENT, and this
    # process must not end it when it exits (``finish`` does).
    run._implicit = True
    return run


def run_stage(pipeline: Pipeline, env: str, stage: str, run_key: str) -> str:
    """Run the task ``stage`` of ``pipeline`` for the orchestrator's run ``run_key``; returns what it
    did, raises :class:`PipelineError` when it failed (a failed check, a failed stage)."""
    from threadline.pipeline.runner import _Runner

    graph = task_graph(pipeline)
    if stage not in graph:
        msg = f"pipeline {pipeline.name!r} has no stage {stage!r}; its stages: {', '.join(graph)}"
        raise PipelineError(msg)
    run_id = pipeline_run_id(pipeline.name, run_key)
    pipeline.check_references()
    if stage == BEGIN:
        _pipeline_run(pipeline, env, run_id).start()
        tl.flush()
        return f"pipeline run {run_id} started"
    if stage == FINISH:
        return _finish(pipeline, env, run_id)
    from threadline.tracking.tracker import get_tracker

    tracker = get_tracker()
    parent = RunRef(run_id, tracker.namespace, pipeline.name, pipeline.name)
    saved = os.environ.get(PARENT_ENV)
    os.environ[PARENT_ENV] = parent.to_env(None)
    runner = _Runner(pipeline, env, pipeline.environment(env))
    try:
        kind, _, table = stage.partition(".")
        if kind == "extract":
            from threadline.pipeline.state import last_cursors

            step = pipeline.extracts[table]
            cursors = last_cursors(pipeline.name, env) if step.cursor else {}
            runner.extract_and_load(step, cursors)
        elif kind == "validate":
            if not runner.validate(table):
                raise PipelineError("; ".join(runner.result.blocked_by) or f"{stage} failed")
        elif kind == "transform":
            runner.transform(pipeline.transforms[table])
        else:  # promote
            runner.result.cursors = _cursors(pipeline, runner)
            if pipeline.needs_approval(env):
                return _await_approval(pipeline, env, run_id, runner)
            runner.promote()
    finally:
        runner.warehouse.close()
        tl.flush()
        _deliver_journal(get_tracker())
        if saved is None:
            os.environ.pop(PARENT_ENV, None)
        else:
            os.environ[PARENT_ENV] = saved
    return f"{stage}: completed (pipeline run {run_id})"


def _await_approval(pipeline: Pipeline, env: str, run_id: str, runner: Any) -> str:
    """The ``promote`` task of an environment with an approval gate: record on the pipeline run what
    the approval will promote and leave the run open, *awaiting approval*, as a local run does
    (``threadline pipeline approve RUN`` promotes it later); tell the webhook."""
    from threadline.pipeline.runner import AWAITING_APPROVAL, _notify

    runner.versions.update(_staging_versions(run_id, pipeline.promotes))
    run = _pipeline_run(pipeline, env, run_id)
    run.start()
    runner.result.run_id = run_id
    runner.await_approval(run)
    _notify(pipeline, env, "awaiting_approval", runner.result, AWAITING_APPROVAL, run)
    return f"promote: awaiting approval (`threadline pipeline approve {run_id}` promotes it)"


def _staging_versions(run_id: str, tables: list[str]) -> dict[str, str]:
    """Each staging table's version (the id of the stage run that last wrote it) among the stage runs
    of the pipeline run ``run_id``, read from the project's store (the tasks ran in other
    processes); empty when the store cannot be read."""
    from threadline.projection.readers.runs import load_runs, run_tree
    from threadline.store.sql import open_store
    from threadline.tracking.tracker import get_tracker

    tracker = get_tracker()
    config = tracker.config
    if config is None or config.transport != "embedded":
        return {}
    tl.flush()
    _deliver_journal(tracker)
    found: dict[str, str] = {}
    try:
        store = open_store(config.store_url, create=False)
    except Exception:  # no store yet: the approval records no versions, as a run without lineage
        return {}
    try:
        with store.read() as connection:
            stages = [r for r in load_runs(connection, run_tree(connection, run_id)) if r.id != run_id]
    finally:
        store.close()
    for stage in sorted(stages, key=lambda r: r.started_at or r.created_at):
        kind, _, table = stage.job_name.partition(".")[2].partition(".")
        if kind in ("load", "transform") and table in tables:
            found[table] = stage.id
    return found


def _deliver_journal(tracker: Any) -> None:
    """Append to the project's store what waits in the journal (this task's events that the store
    could not take when they were made, or an earlier task's), and say on stderr, where the
    orchestrator's task log shows it, when some still wait (``threadline journal flush`` appends them
    later; the ``finish`` task counts a stage only once its runs are in the store)."""
    config = tracker.config
    if tracker.disabled or config is None or config.transport != "embedded":
        return
    try:
        report = tracker.transport().retry(force=True)
    except Exception as exc:  # the stage itself ran: never fail it for its lineage
        print(f"threadline: cannot append the journal to the store: {exc}", file=sys.stderr)
        return
    if report is not None and report.pending_segments:
        print(
            f"threadline: {report.pending_segments} journal segment(s) wait in {config.journal_dir} "
            f"({report.failure or 'not delivered'}); `threadline journal flush` appends them",
            file=sys.stderr,
        )


def _cursors(pipeline: Pipeline, runner: Any) -> dict[str, Any]:
    """Each incremental table's cursor for the promotion to record: the largest cursor value in its
    staging table (the local run takes it from the rows it extracted; the same value)."""
    found: dict[str, Any] = {}
    for table, step in pipeline.extracts.items():
        if not step.cursor:
            continue
        column = runner.warehouse.frame(table)[step.cursor]
        if len(column) and column.notna().any():
            newest = column.max()
            found[table] = newest if isinstance(newest, int | float | str) else str(newest)
    return found


def _finish(pipeline: Pipeline, env: str, run_id: str) -> str:
    """End the pipeline run: completed when the promotion completed, else failed naming the stages
    that failed (read from the store, where every task recorded its stage)."""
    from threadline.errors import StoreNotFound
    from threadline.pipeline.approval import approval_status
    from threadline.projection.readers.runs import load_runs, run_tree
    from threadline.store.sql import open_store
    from threadline.tracking.tracker import get_tracker
    from threadline.vocabulary import RunState

    tracker = get_tracker()
    config = tracker.config
    if config is None or config.transport != "embedded":
        msg = "the finish task reads the stages' states from the project's store: use the embedded transport"
        raise PipelineError(msg)
    # A stage whose events the store could not take then (locked too long) left them in the journal:
    # append them before reading. (``tl.flush()`` would not: this process has tracked nothing yet, so
    # its tracking thread, which delivers the journal, has not started.)
    _deliver_journal(tracker)
    try:
        store = open_store(config.store_url, create=False)
    except StoreNotFound as exc:
        msg = f"no threadline store at {config.store_url}: did the stages run?"
        raise PipelineError(msg) from exc
    try:
        with store.read() as connection:
            stages = [r for r in load_runs(connection, run_tree(connection, run_id)) if r.id != run_id]
            found = load_runs(connection, [run_id])
    finally:
        store.close()
    states = {r.job_name.removeprefix(f"{pipeline.name}."): RunState.of(r.state) for r in stages}
    failed = sorted(name for name, state in states.items() if state == RunState.FAILED)
    if not failed and found and approval_status(found[0]) == "awaiting":
        # the promote task left the run open: `threadline pipeline approve` ends it
        return f"pipeline run {run_id}: awaiting approval (`threadline pipeline approve {run_id}`)"
    run = _pipeline_run(pipeline, env, run_id)
    if stages:
        run.started_at = min((r.started_at or r.created_at) for r in stages) / 1_000_000  # microseconds
    run.start()
    if states.get("promote") == RunState.COMPLETED and not failed:
        run.end("COMPLETE")
        tl.flush()
        return f"pipeline run {run_id}: promoted"
    reason = f"failed stages: {', '.join(failed)}" if failed else "the promotion did not run"
    error = PipelineError(f"not promoted: production is unchanged; {reason}")
    run.end("FAIL", error)
    tl.flush()
    raise error
