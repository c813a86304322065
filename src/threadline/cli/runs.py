"""``threadline runs`` and ``threadline diff``: tracked runs, and what differs between two of them."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from threadline.artifacts.objects import ObjectDB
from threadline.artifacts.store import OBJECTS_DIR_NAME
from threadline.cli.common import StoreOption, err, expected_errors, out
from threadline.cli.tracked import RunArgument, opened_store, resolve_run, store_url_for, tracking_folder
from threadline.projection.readers.pipelines import pipeline_job_ids
from threadline.projection.readers.runs import Run, newest_runs
from threadline.store.run_ids import short_run_ids
from threadline.tracking.compare import (
    SECTIONS,
    RunComparison,
    compare_runs,
    delta_text,
    format_value,
    shown,
    shown_key,
)
from threadline.vocabulary import RunState, format_duration, iso_time, people_time, state_label

#: Final metric values shown per run in `threadline runs`.
KEY_METRICS = 3


class OutputFormat(StrEnum):
    """How results are printed."""

    table = "table"
    json = "json"


FormatOption = Annotated[
    OutputFormat, typer.Option("--format", "-f", help="table (for people) or json (for programs).")
]


def _run_json(info: Run, short_id: str) -> dict[str, Any]:
    return {
        "id": info.id,
        "shortId": short_id,
        "job": {"namespace": info.job_namespace, "name": info.job_name},
        "state": RunState.of(info.state).value,
        "createdAt": iso_time(info.created_at),
        "startedAt": iso_time(info.started_at),
        "endedAt": iso_time(info.ended_at),
        "durationMs": info.duration_ms,
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
    """List tracked runs, newest first: short id, job, state, start, duration and key metrics.

    `--pipeline P` lists the runs of the job P and of every job under it (its steps).
    """
    with expected_errors(), opened_store(store) as opened, opened.read() as connection:
        job_ids = pipeline_job_ids(connection, pipeline) if pipeline else None
        found = newest_runs(connection, job_ids=job_ids, limit=limit)
        short = short_run_ids(connection, [info.id for info in found])
    if output_format == OutputFormat.json:
        out.print_json(json.dumps([_run_json(info, short[info.id]) for info in found]))
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
            short[info.id],
            escape(info.job_name),
            state_label(info.state),
            people_time(info.started_at or info.created_at),
            format_duration(info.duration_micros),
            escape(shown),
        )
    out.print(table)
    err.print(f"{len(found)} run{'s' if len(found) != 1 else ''} (newest first)")


def _print_diff(diff: RunComparison, show_all: bool) -> None:
    changes = diff.changes if show_all else diff.differing()
    root = diff.root or tracking_folder().parent  # where the runs ran, else this project
    table = Table(
        "",
        "",
        f"A {diff.a.short_id} ({escape(diff.a.info.job_name)})",
        f"B {diff.b.short_id} ({escape(diff.b.info.job_name)})",
        "",
    )
    for column in table.columns:
        column.overflow = "fold"  # a narrow terminal wraps a name rather than cutting it
    for section in SECTIONS:
        rows = [c for c in changes if c.section == section]
        same = sum(1 for c in diff.changes if c.section == section and c.kind == "same")
        for index, change in enumerate(rows):
            delta = delta_text(change)
            table.add_row(
                section if index == 0 else "",
                escape(shown_key(change, root)),
                escape(shown(change, "a")),
                escape(shown(change, "b") + (f" ({delta})" if delta else "")),
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


def _objects_of(store_url: str) -> ObjectDB | None:
    """The object store holding the package lists of the store's runs: the ``objects`` folder beside a
    SQLite store (its project's, as ``threadline serve`` uses it), else the tracking folder's."""
    if store_url.startswith("sqlite:///") and ":memory:" not in store_url:
        beside = Path(store_url.removeprefix("sqlite:///").split("?", 1)[0]).parent / OBJECTS_DIR_NAME
        if beside.is_dir():
            return ObjectDB(beside)
    folder = tracking_folder() / OBJECTS_DIR_NAME
    return ObjectDB(folder) if folder.is_dir() else None


def diff(
    run_a: RunArgument,
    run_b: RunArgument,
    output_format: FormatOption = OutputFormat.table,
    show_all: Annotated[bool, typer.Option("--all", help="Also show what is the same.")] = False,
    store: StoreOption = None,
) -> None:
    """Show what differs between two runs: the job, state and duration; inputs and outputs (by dataset
    and version: content id, else the dataset version); parameters; final metric values; code (commit,
    branch, dirty) and environment (Python, packages added, removed or changed).

    A pipeline run is compared with the runs of its steps (their keys are prefixed `STEP.`). The web
    UI's *Compare with another run* shows the same comparison.
    """
    with expected_errors(), opened_store(store) as opened:
        a_id, b_id = resolve_run(opened, run_a), resolve_run(opened, run_b)
        with opened.read() as connection:
            result = compare_runs(connection, a_id, b_id, _objects_of(store_url_for(store)))
    if output_format == OutputFormat.json:
        out.print_json(json.dumps(result.to_dict(include_same=show_all)))
        return
    _print_diff(result, show_all)
