"""The ``threadline`` command: one Typer app, one module per command group."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from rich.markup import escape

from threadline import __version__
from threadline.cli import db, tokens
from threadline.cli.common import err
from threadline.cli.events import events
from threadline.cli.ingest import ingest
from threadline.cli.reindex import reindex
from threadline.cli.serve import serve

#: Set to 1 to see the traceback of an unexpected error (a bug) instead of one line.
TRACEBACK_ENV = "THREADLINE_TRACEBACK"

app = typer.Typer(
    name="threadline",
    help="threadline: an OpenLineage lineage server with an append-only event log.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
app.command()(serve)
app.command()(ingest)
app.command()(reindex)
app.command()(events)
app.add_typer(db.app, name="db")
app.add_typer(tokens.app, name="token")


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
) -> None:
    """threadline: an OpenLineage lineage server with an append-only event log."""


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
