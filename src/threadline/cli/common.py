"""What every command shares: consoles, store resolution and turning expected errors into one line.

Expected failures (a :class:`~threadline.errors.ThreadlineError`, an unreadable file, a database
that cannot be reached) end the command with ``error: <message>`` on stderr and exit status 1;
usage errors are Click's and exit with 2. Nothing expected ever shows a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console, ConsoleDimensions
from rich.markup import escape
from sqlalchemy.exc import SQLAlchemyError

from threadline import settings
from threadline.errors import StoreNotFound, ThreadlineError
from threadline.openlineage.timestamps import to_datetime
from threadline.redact import redact_url
from threadline.store.sql import SqlStore, open_store

#: How wide output is when it goes to a file or a pipe (rich would cut tables to 80 columns, or to the
#: width of a terminal on stderr): wide enough that no name or id is cut or folded.
PIPED_WIDTH = 10_000


class _Output(Console):
    """A console that, writing to a terminal, fits its width, and writing to a pipe or a file keeps
    every character (unless ``COLUMNS`` says how wide to be)."""

    @property
    def size(self) -> ConsoleDimensions:
        if self._width is None and not self.is_terminal and not self._environ.get("COLUMNS", "").isdigit():
            return ConsoleDimensions(PIPED_WIDTH, super().size.height)
        return super().size

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]


#: Results go to stdout; progress, notes and errors to stderr so that output can be piped.
out = _Output(highlight=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)

StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        metavar="URL",
        help="Store URL (sqlite:///PATH or postgresql://USER@HOST:PORT/DB). "
        "Default: THREADLINE_STORE, the config file, else .threadline/threadline.db.",
        show_default=False,
    ),
]


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``error: message`` in red on one line and end the command."""
    first_line = " ".join(message.split())
    err.print(f"[bold red]error:[/] [red]{escape(first_line)}[/]")
    raise typer.Exit(code)


def note(message: str) -> None:
    """A dim informational line on stderr."""
    err.print(f"[dim]{escape(message)}[/]")


def _database_message(exc: SQLAlchemyError) -> str:
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip().splitlines()
    return f"database error: {text[0] if text else exc.__class__.__name__}"


@contextmanager
def expected_errors() -> Iterator[None]:
    """Turn every expected failure inside the block into one ``error:`` line and exit status 1."""
    try:
        yield
    except ThreadlineError as exc:
        fail(exc.message)
    except SQLAlchemyError as exc:
        fail(_database_message(exc))
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        fail(f"{where}{exc.strerror or exc}")


#: ``threadline -v``: every command says which store it uses (on stderr).
VERBOSE = False


def resolve_store_url(explicit: str | None) -> str:
    """The store URL: ``--store``, then the config file, ``THREADLINE_STORE``, then the project's."""
    return settings.store_url(explicit)


def store_source(explicit: str | None, *, fallback: str = "the project") -> str:
    """Where the store URL of a command comes from, in words (for ``-v`` and for messages)."""
    if explicit is not None:
        return "--store"
    project = settings.find_project_dir()
    config = project / settings.CONFIG_FILE_NAME if project else None
    if settings.resolve("store") is not None:
        env = os.environ.get("THREADLINE_STORE")
        return "THREADLINE_STORE" if env and settings.resolve("store") == env else str(config)
    if project is None:
        return fallback
    return f"the project {project.parent}"


def say_store(url: str, explicit: str | None, *, fallback: str = "the project") -> None:
    """With ``-v``: the store a command uses, and where that came from."""
    if VERBOSE:
        note(f"store: {display_url(url)} (from {store_source(explicit, fallback=fallback)})")


def missing_project(looked_at: str) -> str:
    """The message of a reading command that found no project and was given no store."""
    return (
        f"no threadline store: {Path.cwd()} is not in a threadline project (no .threadline folder there "
        f"or above) and no store was given, so it looked for {looked_at}. `threadline init` makes this "
        "folder a project; or pass --store URL or set THREADLINE_STORE"
    )


def connect(explicit: str | None, *, create: bool = False) -> SqlStore:
    """Open the store; call inside :func:`expected_errors`. Commands that only read never create a
    store (``create=False``): a missing one is an error that says where they looked and what to do;
    commands that write (``ingest``, ``token create``, ``pull``) create it on first use."""
    url = resolve_store_url(explicit)
    say_store(url, explicit)
    try:
        return open_store(url, sqlite_synchronous=settings.resolve("sqlite_synchronous"), create=create)
    except StoreNotFound as exc:
        if explicit is None and settings.resolve("store") is None and settings.find_project_dir() is None:
            raise StoreNotFound(missing_project(display_url(url))) from exc
        raise


def display_url(url: str) -> str:
    """A store URL fit for printing, with any password (or secret query value) hidden."""
    return redact_url(url)


def format_micros(micros: int | None) -> str:
    """A timestamp in microseconds since the epoch as ``YYYY-MM-DD HH:MM:SSZ`` (UTC)."""
    if micros is None:
        return ""
    # isoformat, not strftime: strftime writes year 1 as "1", not "0001"
    return to_datetime(micros).isoformat(sep=" ", timespec="seconds").replace("+00:00", "Z")


def plural(count: int, word: str) -> str:
    """``1 event``, ``2 events``."""
    return f"{count} {word}{'' if count == 1 else 's'}"
