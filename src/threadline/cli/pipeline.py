"""``threadline pipeline run|list|show|status|approve|export``: run a staged pipeline declared in a
Python file (``--env ci --sample N`` for CI), list the pipelines that ran, show a pipeline's runs or
one run with each stage's state and check results, approve a run awaiting approval, and export a
pipeline to a scheduler."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from threadline.cli.common import StoreOption, err, expected_errors, fail, out
from threadline.cli.tracked import opened_store
from threadline.errors import PipelineError
from threadline.store.run_ids import short_run_ids
from threadline.vocabulary import people_time, state_label

app = typer.Typer(
    help="Staged DataOps pipelines: extract, land, load, validate, transform, validate, promote.",
    no_args_is_help=True,
)

_STATUS_STYLE = {
    "completed": "green",
    "passed": "green",
    "warned": "yellow",
    "failed": "red",
    "skipped": "dim",
    "awaiting approval": "yellow",
}


def _need_extra() -> None:
    try:
        import duckdb  # noqa: F401
        import pandera  # noqa: F401
        import pyarrow  # noqa: F401
        import sqlglot  # noqa: F401
    except ImportError as exc:
        fail(f"pipelines need the pipeline extra ({exc.name} is missing): pip install 'threadline[pipeline]'")


@app.command("run")
def run_command(
    file: Annotated[
        Path, typer.Argument(help="The Python file that declares the pipeline.", show_default=False)
    ],
    env: Annotated[
        str, typer.Option("--env", "-e", help="The environment to run in (from the pipeline's environments).")
    ] = "staging",
    pipeline: Annotated[
        str | None,
        typer.Option("--pipeline", "-p", help="The pipeline's name, when the file declares several."),
    ] = None,
    output_format: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
    sample: Annotated[
        int | None,
        typer.Option(
            "--sample",
            min=1,
            help="CI mode, with --env ci: run every stage on the first N rows of each source, "
            "into a throwaway environment.",
        ),
    ] = None,
) -> None:
    """Run a pipeline: each stage is a threadline run under the pipeline's run; production changes only
    when every error check passed (and, where the pipeline asks for one, after an approval: the run
    then stops at awaiting approval). Exits 1, naming the failed checks, when the promotion was blocked."""
    _need_extra()
    if output_format not in ("table", "json"):
        fail(f"unknown --format {output_format!r}: use table or json", 2)
    if sample is not None and env != "ci":
        fail("--sample runs only with --env ci: a sample must never reach a real environment", 2)
    from threadline.pipeline.loader import load_pipeline
    from threadline.pipeline.runner import PipelineResult, run_pipeline
    from threadline.tracking import flush

    result: PipelineResult | None = None
    message = ""
    with expected_errors():
        declared = load_pipeline(file, pipeline)
        try:
            result = run_pipeline(declared, env, sample=sample)
        except PipelineError as exc:
            result = getattr(exc, "result", None)
            message = exc.message
            if result is None:
                raise
        except KeyboardInterrupt:
            err.print(
                f"pipeline {escape(declared.name)} ({escape(env)}): interrupted; its run is recorded as "
                "aborted, and production holds its tables of before (or, if the promotion had "
                "committed, the new ones: never a mix); "
                f"`threadline pipeline show {escape(declared.name)}` shows where it stopped"
            )
            raise typer.Exit(130) from None
        finally:
            flush()
    assert result is not None
    if output_format == "json":
        out.print_json(json.dumps(_result_json(result, message)))
    else:
        _print_result(result)
    if message:
        fail(message)
    where = f"pipeline {escape(result.pipeline)} ({escape(result.env)})"
    if result.awaiting_approval:
        err.print(
            f"{where}: every check passed; [yellow]awaiting approval[/]: "
            f"`threadline pipeline approve {result.run_id}` promotes it (or the Approve button on its page)"
        )
    elif result.sample is not None:
        err.print(
            f"{where}: every check passed on a sample of {result.sample} rows per source; run {result.run_id}"
        )
    else:
        err.print(f"{where}: promoted; run {result.run_id}")


def _result_json(result: Any, message: str) -> dict[str, Any]:
    return {
        "pipeline": result.pipeline,
        "env": result.env,
        "runId": result.run_id,
        "promoted": result.promoted,
        "awaitingApproval": result.awaiting_approval,
        "sample": result.sample,
        "error": message or None,
        "cursors": result.cursors,
        "stages": [
            {
                "stage": s.name,
                "status": s.status,
                "rows": s.rows,
                "message": s.message,
                "checks": [c.as_json() for c in s.checks],
            }
            for s in result.stages
        ],
    }


def _print_result(result: Any) -> None:
    table = Table("stage", "status", "rows", "detail")
    for stage in result.stages:
        style = _STATUS_STYLE.get(stage.status, "")
        table.add_row(
            escape(stage.name),
            f"[{style}]{stage.status}[/]" if style else stage.status,
            "" if stage.rows is None else str(stage.rows),
            escape(stage.message),
        )
        for check in stage.checks:
            status = check.status
            detail = check.message + (f" (sample: {json.dumps(check.sample[:2])})" if check.sample else "")
            table.add_row(
                f"  {escape(check.check.label)}",
                f"[{_STATUS_STYLE[status]}]{status}[/]",
                str(check.failures) if check.failures else "",
                escape(detail),
            )
    out.print(table)


@app.command("list")
def list_command(store: StoreOption = None) -> None:
    """List the pipelines that ran, with their newest run."""
    from threadline.pipeline.approval import approval_status
    from threadline.pipeline.history import pipelines

    with expected_errors(), opened_store(store) as opened, opened.read() as connection:
        found = pipelines(connection)
        short = short_run_ids(connection, [p.last.id for p in found])
    if not found:
        err.print("no pipeline runs yet; `threadline pipeline run FILE.py` runs one")
        return
    table = Table("pipeline", "runs", "last run", "env", "state", "started")
    for summary in found:
        last = summary.last
        table.add_row(
            escape(summary.name),
            str(summary.runs),
            short[last.id],
            escape(str(last.params.get("env", ""))),
            "[yellow]awaiting approval[/]"
            if approval_status(last) == "awaiting"
            else state_label(last.state),
            people_time(last.started_at or last.created_at),
        )
    out.print(table)


@app.command("show")
def show_command(
    name: Annotated[
        str, typer.Argument(help="The pipeline's name (`threadline pipeline list`).", show_default=False)
    ],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many runs to show.")] = 3,
    store: StoreOption = None,
) -> None:
    """Show a pipeline's newest runs: each stage's state, and each check's result with its failing rows."""
    from threadline.pipeline.approval import approval_status
    from threadline.pipeline.history import pipeline_runs

    with expected_errors(), opened_store(store) as opened, opened.read() as connection:
        views = pipeline_runs(connection, name, limit)
        short = short_run_ids(connection, [v.run.id for v in views])
    if not views:
        err.print(f"pipeline {escape(name)} has no runs")
        return
    for view in views:
        run = view.run
        state = (
            "[yellow]awaiting approval[/]" if approval_status(run) == "awaiting" else state_label(run.state)
        )
        header = (
            f"[bold]{escape(name)}[/] run {short[run.id]} ({escape(view.env)}): {state}, "
            f"{people_time(run.started_at or run.created_at)}"
        )
        out.print(header)
        if run.error:
            out.print(f"  [red]{escape(run.error)}[/]")
        table = Table("stage", "state", "detail")
        for stage in view.stages:
            label = stage.job_name.removeprefix(f"{name}.")
            table.add_row(escape(label), state_label(stage.state), escape(stage.error or ""))
            for check in view.checks(stage):
                status = str(check.get("status"))
                detail = str(check.get("message") or "")
                if check.get("sample"):
                    detail += f" sample: {json.dumps(check['sample'][:2])}"
                table.add_row(
                    f"  {escape(str(check.get('check')))}",
                    f"[{_STATUS_STYLE.get(status, '')}]{status}[/]",
                    escape(detail),
                )
        out.print(table)


@app.command("status")
def status_command(
    run: Annotated[
        str,
        typer.Argument(help="The pipeline run's id, or a unique prefix of it.", show_default=False),
    ],
    output_format: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
    store: StoreOption = None,
) -> None:
    """Show one pipeline run: its state (awaiting approval included), each stage, each check with its
    failing rows, and the staging and production versions. A promotion of its lake that a killed
    process left half-done is completed or rolled back first."""
    from threadline.pipeline.history import run_detail
    from threadline.pipeline.promotion import recover_lake
    from threadline.projection.readers.runs import load_runs

    if output_format not in ("table", "json"):
        fail(f"unknown --format {output_format!r}: use table or json", 2)
    with expected_errors(), opened_store(store) as opened, opened.read() as connection:
        detail = run_detail(connection, run)
        (top,) = load_runs(connection, [detail["id"]])
    lake = top.params.get("lake")
    if isinstance(lake, str) and lake:
        with expected_errors():  # a promotion a killed process left half-done: completed or undone
            recovered = recover_lake(lake)
        if recovered:
            err.print(escape(recovered))
    if output_format == "json":
        out.print_json(json.dumps(detail))
        return
    approval = detail.get("approval") or {}
    state = detail["state"].lower() if detail.get("state") else "new"
    if approval.get("status") == "awaiting":
        state = "[yellow]awaiting approval[/]"
    out.print(
        f"[bold]{escape(detail['pipeline'])}[/] run {detail['shortId']} ({escape(detail['env'])}): {state}"
    )
    if approval.get("status") == "approved":
        by = f" by {escape(str(approval['approvedBy']))}" if approval.get("approvedBy") else ""
        out.print(f"  approved{by} at {approval.get('approvedAt')}")
    if detail.get("error"):
        out.print(f"  [red]{escape(detail['error'])}[/]")
    table = Table("stage", "state", "rows", "detail")
    for stage in detail["stages"]:
        table.add_row(
            escape(stage["stage"]),
            state_label_of(stage["state"]),
            _number(stage.get("rows")),
            escape(stage.get("error") or ""),
        )
        for check in stage["checks"]:
            status = str(check.get("status"))
            info = str(check.get("message") or "")
            if check.get("sample"):
                info += f" sample: {json.dumps(check['sample'][:2])}"
            table.add_row(
                f"  {escape(str(check.get('check')))}",
                f"[{_STATUS_STYLE.get(status, '')}]{status}[/]",
                str(check.get("failures") or ""),
                escape(info),
            )
    if approval.get("status") == "awaiting":
        table.add_row("promote", "[yellow]awaiting approval[/]", "", escape(", ".join(approval["tables"])))
    out.print(table)
    for side in ("staging", "production"):
        versions = detail["versions"][side]
        names = ", ".join(f"{v['name']} ({v['rows']} rows)" for v in versions) or "none"
        out.print(f"{side}: {escape(names)}")
    for delivery in detail["notifications"]:
        where = f" to {delivery['url']}" if delivery.get("url") else ""
        why = f": {delivery['problem']}" if delivery.get("problem") else ""
        event = str(delivery.get("event") or "").replace("_", " ")
        said = f"notification {event}{where}: {delivery['status']}{why}"
        out.print(escape(said))
    if approval.get("status") == "awaiting":
        err.print(f"`threadline pipeline approve {detail['shortId']}` promotes it")


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def state_label_of(state: str | None) -> str:
    """A Marquez state (``COMPLETED``) for people, coloured."""
    label = (state or "NEW").lower()
    style = {"completed": "green", "failed": "red", "aborted": "yellow"}.get(label)
    return f"[{style}]{label}[/]" if style else label


def _who() -> str | None:
    """Who approves from the command line: the login name (recorded as ``approvedBy``)."""
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return None


@app.command("approve")
def approve_command(
    run: Annotated[
        str,
        typer.Argument(
            help="The id of the run awaiting approval, or a unique prefix of it.", show_default=False
        ),
    ],
    store: StoreOption = None,
) -> None:
    """Approve a pipeline run awaiting approval: promote the staging tables it checked to production,
    in one transaction, and end the run. Refused, saying why, for a run that is not awaiting approval."""
    _need_extra()
    from threadline.pipeline.approval import approve_in_store

    with expected_errors(), opened_store(store) as opened:
        pending = approve_in_store(opened, run, _who())
    err.print(
        f"pipeline {escape(pending.pipeline)} ({escape(pending.env)}) run {pending.run.id[:8]}: approved; "
        f"promoted {escape(', '.join(pending.tables))} to {escape(pending.environment.schema)}"
    )


# ---- running on a scheduler (``threadline.pipeline.airflow``) --------------------------------------

export_app = typer.Typer(help="Export a pipeline to run on a scheduler.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("airflow")
def export_airflow_command(
    file: Annotated[
        Path, typer.Argument(help="The Python file that declares the pipeline.", show_default=False)
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="The DAG file to write (put it in Airflow's dags folder)."),
    ] = None,
    env: Annotated[str, typer.Option("--env", "-e", help="The environment the DAG runs in.")] = "staging",
    pipeline: Annotated[
        str | None,
        typer.Option("--pipeline", "-p", help="The pipeline's name, when the file declares several."),
    ] = None,
) -> None:
    """Write an Airflow DAG running the pipeline: one task per stage, each running that stage with
    `threadline pipeline stage` in this folder, with the lineage of a local run. Prints it without -o."""
    _need_extra()
    from threadline.pipeline.airflow import export_airflow
    from threadline.pipeline.loader import load_pipeline

    with expected_errors():
        declared = load_pipeline(file, pipeline)
        source = export_airflow(declared, file, env)
    if output is None:
        out.print(source, markup=False, highlight=False, soft_wrap=True, end="")
        return
    try:
        output.write_text(source)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror}")
    err.print(f"wrote the Airflow DAG threadline_{escape(declared.name)} to {escape(str(output))}")


@app.command("stage", hidden=True)
def stage_command(
    file: Annotated[Path, typer.Argument(help="The Python file that declares the pipeline.")],
    stage: Annotated[str, typer.Argument(help="The stage: begin, extract.T, validate.T, ..., finish.")],
    run_key: Annotated[str, typer.Option("--run-key", help="The orchestrator's run id.")],
    env: Annotated[str, typer.Option("--env", "-e")] = "staging",
    pipeline: Annotated[str | None, typer.Option("--pipeline", "-p")] = None,
) -> None:
    """Run one stage of a pipeline as a task of an exported DAG (`threadline pipeline export`)."""
    _need_extra()
    from threadline.pipeline.airflow import run_stage
    from threadline.pipeline.loader import load_pipeline

    with expected_errors():
        declared = load_pipeline(file, pipeline)
        err.print(escape(run_stage(declared, env, stage, run_key)))
