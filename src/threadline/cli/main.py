"""The ``threadline`` command: one Typer app, one module per command group."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer
from rich.markup import escape
from typer.core import TyperOption

from threadline import __version__
from threadline.cli import artifacts, catalog, common, db, journal, pipeline, tokens
from threadline.cli.browse import datasets, jobs, show
from threadline.cli.common import err
from threadline.cli.events import events
from threadline.cli.ingest import ingest
from threadline.cli.init import init
from threadline.cli.lineage import impact_command, lineage
from threadline.cli.reindex import reindex
from threadline.cli.runs import diff, runs
from threadline.cli.serve import serve
from threadline.cli.snapshots import restore, snapshot
from threadline.cli.sync import pull, push, remote_app, status

#: Set to 1 to see the traceback of an unexpected error (a bug) instead of one line.
TRACEBACK_ENV = "THREADLINE_TRACEBACK"

_display_type_rich = TyperOption.display_type_rich


def _flag_has_no_type(self: TyperOption, ctx: Any) -> str | None:
    """Typer's help gives every option a type, flags included (`--help <bool>`); a flag takes no
    value, so it shows none."""
    return None if self.is_flag else _display_type_rich(self, ctx)


TyperOption.display_type_rich = _flag_has_no_type  # type: ignore[method-assign]

app = typer.Typer(
    name="threadline",
    help="threadline: an OpenLineage lineage server with an append-only event log.\n\n"
    "Tables fit the terminal; piped or redirected, they keep every character. For scripts, the "
    "listing commands (runs, datasets, jobs, show, lineage, impact, diff) take `--format json`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
app.command()(serve)
app.command()(ingest)
app.command()(reindex)
app.command()(events)
app.command()(init)
app.command()(runs)
app.command()(diff)
app.command()(snapshot)
app.command()(restore)
app.command()(datasets)
app.command()(jobs)
app.command()(show)
app.command()(lineage)
app.command("impact")(impact_command)
app.command()(push)
app.command()(pull)
app.command()(status)
app.add_typer(db.app, name="db")
app.add_typer(tokens.app, name="token")
app.add_typer(artifacts.app, name="artifacts")
app.add_typer(remote_app, name="remote")
app.add_typer(journal.app, name="journal")
app.add_typer(catalog.app, name="catalog")
app.add_typer(pipeline.app, name="pipeline")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"threadline {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option("--verbose", "-v", help="Say which store each command uses (on stderr)."),
    ] = False,
) -> None:
    """threadline: an OpenLineage lineage server with an append-only event log."""
    common.VERBOSE = verbose


def main() -> None:
    """The console script's entry point: run the app; an unexpected error is one line too."""
    try:
        app()
    except Exception as exc:
        if os.environ.get(TRACEBACK_ENV):
            raise
        message = " ".join(str(exc).split()) or exc.__class__.__name__
        err.print(
            f"[bold red]error:[/] [red]unexpected {exc.__class__.__name__}: {escape(message)}[/] "
            f"[dim](a bug: rerun with {TRACEBACK_ENV}=1 and report the traceback)[/]"
        )
        sys.exit(1)
