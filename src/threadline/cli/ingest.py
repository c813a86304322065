"""``threadline ingest``: load OpenLineage events from files, folders or stdin into the store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from threadline.cli.common import StoreOption, connect, err, expected_errors, fail, out, plural
from threadline.errors import ThreadlineError
from threadline.openlineage.events import ParsedEvent, parse_event, split_document
from threadline.projection import project_all
from threadline.store.sql import SqlStore

BATCH_SIZE = 1000
SUFFIXES = (".json", ".jsonl", ".ndjson")
SHOW_AT_MOST = 20
#: Inputs larger than this (about one batch of typical events) get a progress bar on a terminal.
PROGRESS_BYTES = 2 * 1024 * 1024
STDIN = "-"


@dataclass
class Source:
    """One input: a file, or stdin; ``size`` in bytes when known."""

    label: str
    path: Path | None
    size: int | None

    def read(self) -> bytes:
        """The whole input."""
        if self.path is None:
            return typer.get_binary_stream("stdin").read()
        return self.path.read_bytes()


@dataclass
class Tally:
    """What an ingest did so far."""

    accepted: int = 0
    duplicate: int = 0
    with_problems: int = 0
    rejected: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def read_any(self) -> bool:
        """Whether at least one event was valid (stored now or before)."""
        return self.accepted + self.duplicate > 0

    def summary(self) -> str:
        """``N accepted (N with facet problems), N duplicate, N rejected``."""
        return (
            f"{self.accepted} accepted ({self.with_problems} with facet problems), "
            f"{self.duplicate} duplicate, {len(self.rejected)} rejected"
        )


def collect_sources(paths: list[str]) -> list[Source]:
    """Expand the arguments into inputs; a folder gives its event files, recursively and sorted."""
    sources: list[Source] = []
    for argument in paths:
        if argument == STDIN:
            sources.append(Source("<stdin>", None, None))
            continue
        path = Path(argument)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
            if not found:
                fail(f"{argument}: no {', '.join('*' + s for s in SUFFIXES)} files in this folder")
            sources.extend(Source(str(p), p, p.stat().st_size) for p in found)
        elif path.is_file():
            sources.append(Source(argument, path, path.stat().st_size))
        elif path.exists():
            fail(f"{argument}: not a regular file or folder")
        else:
            fail(f"{argument}: no such file or folder")
    return sources


def _events_of(source: Source, tally: Tally) -> Iterator[tuple[str, ParsedEvent, int]]:
    """Yield ``(where, event, size)`` for every valid event of ``source``; record the rejects."""
    try:
        data = source.read()
    except OSError as exc:
        tally.rejected.append(f"{source.label}: cannot read: {exc.strerror or exc}")
        return
    try:
        documents = list(split_document(data))
    except ThreadlineError as exc:
        tally.rejected.append(f"{source.label}: {exc.message}")
        return
    for number, raw in enumerate(documents, start=1):
        where = f"{source.label}:{number}" if len(documents) > 1 else source.label
        try:
            parsed = parse_event(raw)
        except ThreadlineError as exc:
            tally.rejected.append(f"{where}: {exc.message}")
            continue
        yield where, parsed, len(raw) + 1


def _flush(store: SqlStore, batch: list[tuple[str, ParsedEvent]], tally: Tally) -> None:
    if not batch:
        return
    result = store.append([parsed for _, parsed in batch])
    fresh = set(result.inserted)
    tally.accepted += len(result.inserted)
    tally.duplicate += len(result.duplicates)
    for where, parsed in batch:
        if parsed.problems and parsed.id in fresh:
            fresh.discard(parsed.id)  # an event repeated inside the input counts once
            tally.with_problems += 1
            tally.problems.extend(f"{where}: {problem.message}" for problem in parsed.problems)
    batch.clear()


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )


def _print_list(title: str, lines: list[str], style: str) -> None:
    for line in lines[:SHOW_AT_MOST]:
        err.print(f"[{style}]{escape(line)}[/]")
    if len(lines) > SHOW_AT_MOST:
        err.print(f"[{style}]… and {len(lines) - SHOW_AT_MOST} more {title}[/]")


def ingest(
    paths: Annotated[
        list[str],
        typer.Argument(
            metavar="FILE|DIR|-",
            help="Event files (a JSON event, a JSON array of events, or JSON lines), folders "
            "(every *.json, *.jsonl, *.ndjson inside, recursively), or - for stdin.",
            show_default=False,
        ),
    ],
    store: StoreOption = None,
) -> None:
    """Load OpenLineage events into the store and fold them into the projections.

    Events already in the store count as duplicates (ingesting is idempotent). Invalid events are
    listed and skipped; the others are kept. Exit status 0 when at least one event was valid,
    1 when nothing could be read.
    """
    sources = collect_sources(paths)
    total_bytes = sum(s.size or 0 for s in sources)
    unknown_size = any(s.size is None for s in sources)
    show = err.is_terminal and (unknown_size or total_bytes > PROGRESS_BYTES)
    tally = Tally()
    with expected_errors():
        opened = connect(store, create=True)
        try:
            with _progress() as progress:
                reading = progress.add_task(
                    "ingesting", total=None if unknown_size else total_bytes, visible=show
                )
                batch: list[tuple[str, ParsedEvent]] = []
                for source in sources:
                    for where, parsed, size in _events_of(source, tally):
                        batch.append((where, parsed))
                        progress.advance(reading, size)
                        if len(batch) >= BATCH_SIZE:
                            _flush(opened, batch, tally)
                _flush(opened, batch, tally)
                progress.update(reading, visible=False)
                lag = opened.projection_lag()
                folding = progress.add_task(
                    "projecting", total=lag, visible=show and lag > BATCH_SIZE, start=True
                )
                project_all(opened, progress=lambda done: progress.advance(folding, done))
        finally:
            opened.close()
    if tally.problems:
        err.print("[yellow]facet problems (the events are kept; GET /api/v1/events/problems lists them):[/]")
        _print_list("facet problems", tally.problems, "yellow")
    if tally.rejected:
        err.print("[red]rejected:[/]")
        _print_list("rejected", tally.rejected, "red")
    out.print(tally.summary(), soft_wrap=True)
    if not tally.read_any:
        if tally.rejected:
            fail(f"no valid event in the input ({plural(len(tally.rejected), 'rejection')})")
        fail("no events in the input")
