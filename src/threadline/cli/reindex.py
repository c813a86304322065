"""``threadline reindex``: rebuild every projection from the event log."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from threadline.cli.common import StoreOption, connect, err, expected_errors, out, plural
from threadline.projection import reindex as rebuild
from threadline.projection.catch_up import MAX_WORKERS, MIN_EVENTS, default_workers

WorkersOption = Annotated[
    int | None,
    typer.Option(
        "--workers",
        min=0,
        max=MAX_WORKERS,
        help="Processes that fold the log beside this one (0: fold here only). Default: one per CPU "
        f"core, at most {MAX_WORKERS} ({default_workers()} here), when the log holds {MIN_EVENTS:,} "
        "events or more.",
    ),
]


def reindex(store: StoreOption = None, workers: WorkersOption = None) -> None:
    """Drop the projections and fold every logged event again (the log is the truth)."""
    with expected_errors():
        opened = connect(store)
        try:
            total = opened.count_events()
            started = time.perf_counter()
            with Progress(
                TextColumn("reindexing"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=err,
                transient=True,
                disable=not err.is_terminal,
            ) as progress:
                task = progress.add_task("reindex", total=total)
                folded = rebuild(opened, progress=lambda done: progress.advance(task, done), workers=workers)
            elapsed = time.perf_counter() - started
        finally:
            opened.close()
    out.print(f"reindexed {plural(folded, 'event')} in {elapsed:.2f}s")
