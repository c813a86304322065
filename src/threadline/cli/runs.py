"""``threadline runs`` and ``threadline diff``: tracked runs, and what differs between two of them."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from threadline.cli.common import StoreOption, err, expected_errors, format_micros, out
from threadline.cli.tracked import RunArgument, opened_artifacts, opened_store, resolve_run
from threadline.tracking.queries import RunInfo, list_runs
from threadline.tracking.snapshots import RunDiff, diff_runs

#: Final metric values shown per run in `threadline runs`.
KEY_METRICS = 3


class OutputFormat(StrEnum):
    """How results are printed."""

    table = "table"
    json = "json"


FormatOption = Annotated[
    OutputFormat, typer.Option("--format", "-f", help="table (for people) or json (for programs).")
]


def format_duration(micros: int | None) -> str:
    """``850 ms``, ``12.3 s``, ``4 min 05 s``, ``2 h 01 min``."""
    if micros is None:
        return ""
    seconds = micros / 1_000_000
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def format_value(value: Any) -> str:
    """A parameter or metric value, short."""
    if isinstance(value, float):
        return f"{value:.6g}"
    if value is None:
        return "-"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _run_json(info: RunInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "job": {"namespace": info.job_namespace, "name": info.job_name},
        "state": info.state,
        "startedAt": format_micros(info.started_at) or None,
        "endedAt": format_micros(info.ended_at) or None,
        "durationSeconds": None if info.duration_micros is None else info.duration_micros / 1_000_000,
        "parentRunId": info.parent_run_id,
        "params": info.params,
        "metrics": info.final_metrics,
    }


def runs(
    pipeline: Annotated[
        str | None,
        typer.Option(
            "--pipeline", "-p", metavar="NAME", help="Only this pipeline's runs and its steps' runs."
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many runs to show.")] = 20,
    output_format: FormatOption = OutputFormat.table,
    store: StoreOption = None,
) -> None:
    """List tracked runs, newest first: id prefix, job, state, start, duration and key metrics."""
    with expected_errors(), opened_store(store) as opened, opened.read() as connection:
        found = list_runs(connection, pipeline=pipeline, limit=limit)
    if output_format == OutputFormat.json:
        out.print_json(json.dumps([_run_json(info) for info in found]))
        return
    if not found:
        err.print("no runs" + (f" of pipeline {escape(pipeline)}" if pipeline else ""))
        return
    table = Table("run", "job", "state", "started", "duration", "metrics")
    for info in found:
        metrics = info.final_metrics
        shown = "  ".join(
            f"{name}={format_value(value)}" for name, value in list(metrics.items())[:KEY_METRICS]
        )
        if len(metrics) > KEY_METRICS:
            shown += f"  (+{len(metrics) - KEY_METRICS})"
        table.add_row(
            info.id[:8],
            escape(info.job_name),
            info.state or "",
            format_micros(info.started_at or info.created_at),
            format_duration(info.duration_micros),
            escape(shown),
        )
    out.print(table)
    err.print(f"{len(found)} run{'s' if len(found) != 1 else ''} (newest first)")


_SECTIONS = ("inputs", "params", "metrics", "code", "environment")


def _print_diff(diff: RunDiff, show_all: bool) -> None:
    changes = diff.changes if show_all else diff.differing()
    table = Table(
        "",
        "",
        f"A {diff.a.id[:8]} ({escape(diff.a.job_name)})",
        f"B {diff.b.id[:8]} ({escape(diff.b.job_name)})",
        "",
    )
    for section in _SECTIONS:
        rows = [c for c in changes if c.section == section]
        same = sum(1 for c in diff.changes if c.section == section and c.kind == "same")
        for index, change in enumerate(rows):
            table.add_row(
                section if index == 0 else "",
                escape(change.key),
                escape(format_value(change.a)),
                escape(format_value(change.b)),
                change.kind,
            )
        if not rows:
            recorded = any(c.section == section for c in diff.changes)
            table.add_row(
                section,
                "[dim]no difference[/]" if recorded else "[dim]nothing recorded[/]",
                "",
                "",
                "",
            )
        elif same and not show_all:
            table.add_row("", f"[dim]{same} the same[/]", "", "", "")
        table.add_section()
    out.print(table)
    for message in diff.notes:
        err.print(f"[yellow]note: {escape(message)}[/]")


def diff(
    run_a: RunArgument,
    run_b: RunArgument,
    output_format: FormatOption = OutputFormat.table,
    show_all: Annotated[bool, typer.Option("--all", help="Also show what is the same.")] = False,
    store: StoreOption = None,
) -> None:
    """Show what differs between two runs: inputs (by content id), parameters, final metric values,
    code (commit, branch, dirty) and environment (Python, packages added, removed or changed).

    A pipeline run is compared with the runs of its steps (their keys are prefixed `STEP.`).
    """
    with expected_errors(), opened_store(store) as opened:
        a_id, b_id = resolve_run(opened, run_a), resolve_run(opened, run_b)
        with opened_artifacts() as artifacts:
            result = diff_runs(opened, a_id, b_id, artifacts)
    if output_format == OutputFormat.json:
        out.print_json(json.dumps(result.to_dict(include_same=show_all)))
        return
    _print_diff(result, show_all)
