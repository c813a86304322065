"""What every command shares: consoles, store resolution and turning expected errors into one line.

Expected failures (a :class:`~threadline.errors.ThreadlineError`, an unreadable file, a database
that cannot be reached) end the command with ``error: <message>`` on stderr and exit status 1;
usage errors are Click's and exit with 2. Nothing expected ever shows a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy.exc import SQLAlchemyError

from threadline import settings
from threadline.errors import ThreadlineError
from threadline.redact import redact_url
from threadline.store.sql import SqlStore, open_store

#: Results go to stdout; progress, notes and errors to stderr so that output can be piped.
out = Console(highlight=False)
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


def resolve_store_url(explicit: str | None) -> str:
    """The store URL: ``--store``, then the config file, ``THREADLINE_STORE``, then the project's."""
    return settings.store_url(explicit)


def connect(explicit: str | None) -> SqlStore:
    """Open (and on first use create) the store; call inside :func:`expected_errors`."""
    url = resolve_store_url(explicit)
    return open_store(url, sqlite_synchronous=settings.resolve("sqlite_synchronous"))


def display_url(url: str) -> str:
    """A store URL fit for printing, with any password (or secret query value) hidden."""
    return redact_url(url)


def format_micros(micros: int | None) -> str:
    """A timestamp in microseconds since the epoch as ``YYYY-MM-DD HH:MM:SSZ`` (UTC)."""
    if micros is None:
        return ""
    return datetime.fromtimestamp(micros / 1_000_000, tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def plural(count: int, word: str) -> str:
    """``1 event``, ``2 events``."""
    return f"{count} {word}{'' if count == 1 else 's'}"
