"""The ``threadline`` command: one Typer app, one module per command group."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Annotated, Any

import typer
import typer.main as typer_main
from rich.markup import escape
from typer.core import TyperGroup, TyperOption
from typer.models import CommandInfo, TyperInfo

from threadline import __version__
from threadline.collector import collect_less_often

#: Set to 1 to see the traceback of an unexpected error (a bug) instead of one line.
TRACEBACK_ENV = "THREADLINE_TRACEBACK"

_display_type_rich = TyperOption.display_type_rich


def _flag_has_no_type(self: TyperOption, ctx: Any) -> str | None:
    """Typer's help gives every option a type, flags included (`--help <bool>`); a flag takes no
    value, so it shows none."""
    return None if self.is_flag else _display_type_rich(self, ctx)


TyperOption.display_type_rich = _flag_has_no_type  # type: ignore[method-assign]

#: Every command and command group: its module and the function or Typer app in it, in the order
#: ``--help`` lists them. Each is imported when it is run (or listed), so ``threadline catalog apply``
#: loads the catalog's modules and not the server's, the SDK's or the pipelines' (start-up went from
#: about 1.5 s to a third of it: ``python -X importtime -m threadline --version``).
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("threadline.cli.serve", "serve"),
    "ingest": ("threadline.cli.ingest", "ingest"),
    "reindex": ("threadline.cli.reindex", "reindex"),
    "events": ("threadline.cli.events", "events"),
    "init": ("threadline.cli.init", "init"),
    "runs": ("threadline.cli.runs", "runs"),
    "diff": ("threadline.cli.runs", "diff"),
    "snapshot": ("threadline.cli.snapshots", "snapshot"),
    "restore": ("threadline.cli.snapshots", "restore"),
    "datasets": ("threadline.cli.browse", "datasets"),
    "jobs": ("threadline.cli.browse", "jobs"),
    "show": ("threadline.cli.browse", "show"),
    "lineage": ("threadline.cli.lineage", "lineage"),
    "impact": ("threadline.cli.lineage", "impact_command"),
    "push": ("threadline.cli.sync", "push"),
    "pull": ("threadline.cli.sync", "pull"),
    "status": ("threadline.cli.sync", "status"),
    "db": ("threadline.cli.db", "app"),
    "token": ("threadline.cli.tokens", "app"),
    "artifacts": ("threadline.cli.artifacts", "app"),
    "remote": ("threadline.cli.sync", "remote_app"),
    "journal": ("threadline.cli.journal", "app"),
    "catalog": ("threadline.cli.catalog", "app"),
    "pipeline": ("threadline.cli.pipeline", "app"),
}


class _Commands(dict[str, Any]):
    """The root group's commands by name, each built (its module imported) when first asked for.
    A ``dict``, as click and Typer expect of a group's ``commands``."""

    def __init__(self, build: Any) -> None:
        super().__init__((name, None) for name in COMMANDS)
        self._build = build

    def __getitem__(self, name: str) -> Any:
        command = super().__getitem__(name)
        if command is None:
            command = self._build(name)
            super().__setitem__(name, command)
        return command

    def get(self, name: str, default: Any = None) -> Any:
        return self[name] if name in self else default  # noqa: SIM401 (dict.get would not build it)

    def values(self) -> list[Any]:  # type: ignore[override]
        return [self[name] for name in self]

    def items(self) -> list[tuple[str, Any]]:  # type: ignore[override]
        return [(name, self[name]) for name in self]


class _LazyGroup(TyperGroup):
    """The root group, whose commands come from :data:`COMMANDS` as they are needed."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        registered = dict(self.commands)
        self.commands = _Commands(self._command)
        self.commands.update(registered)

    def _command(self, name: str) -> Any:
        module, attribute = COMMANDS[name]
        target = getattr(importlib.import_module(module), attribute)
        if isinstance(target, typer.Typer):
            return typer_main.get_group_from_info(
                TyperInfo(target, name=name),
                pretty_exceptions_short=app.pretty_exceptions_short,
                rich_markup_mode=app.rich_markup_mode,
                suggest_commands=app.suggest_commands,
            )
        return typer_main.get_command_from_info(
            CommandInfo(name=name, callback=target),
            pretty_exceptions_short=app.pretty_exceptions_short,
            rich_markup_mode=app.rich_markup_mode,
        )


app = typer.Typer(
    name="threadline",
    cls=_LazyGroup,
    help="threadline: an OpenLineage lineage server with an append-only event log.\n\n"
    "Tables fit the terminal; piped or redirected, they keep every character. For scripts, the "
    "listing commands (runs, datasets, jobs, show, lineage, impact, diff) take `--format json`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)


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
    from threadline.cli import common  # imported here: `--version` needs none of it

    common.VERBOSE = verbose


def main() -> None:
    """The console script's entry point: run the app; an unexpected error is one line too."""
    collect_less_often()  # commands build large trees of values at once: see threadline.collector
    try:
        app()
    except Exception as exc:
        if os.environ.get(TRACEBACK_ENV):
            raise
        from threadline.cli.common import err

        message = " ".join(str(exc).split()) or exc.__class__.__name__
        err.print(
            f"[bold red]error:[/] [red]unexpected {exc.__class__.__name__}: {escape(message)}[/] "
            f"[dim](a bug: rerun with {TRACEBACK_ENV}=1 and report the traceback)[/]"
        )
        sys.exit(1)
