"""``threadline events``: the newest events in the log, as a table."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from threadline.cli.common import StoreOption, connect, err, expected_errors, format_micros, out
from threadline.store.run_ids import short_run_ids


def events(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many events to show.")] = 20,
    problems: Annotated[
        bool, typer.Option("--problems", help="Only events with facet problems, and the problems.")
    ] = False,
    store: StoreOption = None,
) -> None:
    """List the newest events by event time: type, job, run and id (and facet problems)."""
    with expected_errors():
        opened = connect(store)
        try:
            page = opened.list_events(limit=limit, with_problems=problems)
            with opened.read() as connection:
                short = short_run_ids(connection, [event.run_id for event in page.events if event.run_id])
        finally:
            opened.close()
    if not page.events:
        err.print("no events" + (" with facet problems" if problems else ""))
        return
    table = Table("event time", "type", "job", "run", "id", "problems")
    for event in page.events:
        job = f"{event.job_namespace}/{event.job_name}" if event.job_name else ""
        detail = "; ".join(p.get("message", "") for p in event.problems) if problems else ""
        table.add_row(
            format_micros(event.event_time),
            event.event_type or event.kind,
            job,
            short.get(event.run_id, event.run_id[:8]) if event.run_id else "",
            event.id[:12],
            detail or (str(len(event.problems)) if event.problems else ""),
        )
    out.print(table)
    err.print(f"{len(page.events)} of {page.total} events")
