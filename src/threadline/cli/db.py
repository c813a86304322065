"""``threadline db``: the store's schema version, and upgrading it.

These commands connect without :func:`~threadline.store.open_store`, which refuses a database whose
schema is older than this threadline; upgrading such a database is the point here.
"""

from __future__ import annotations

from pathlib import Path

import typer
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from threadline import settings
from threadline.cli.common import (
    StoreOption,
    display_url,
    expected_errors,
    fail,
    out,
    resolve_store_url,
    say_store,
)
from threadline.store import migrate
from threadline.store.backends import backend_of, make_engine

app = typer.Typer(help="Inspect and upgrade the store's schema version.", no_args_is_help=True)


def _sqlite_file_exists(url: str) -> bool:
    database = make_url(url).database or ""
    return database in ("", ":memory:") or Path(database).is_file()


def _engine(store: str | None) -> tuple[str, Engine]:
    url = resolve_store_url(store)
    return url, make_engine(url, sqlite_synchronous=settings.resolve("sqlite_synchronous"))


@app.command()
def status(store: StoreOption = None) -> None:
    """Show the store's schema revision and the newest one this threadline knows."""
    with expected_errors():
        url = resolve_store_url(store)
        say_store(url, store)
        if backend_of(url) == "sqlite" and not _sqlite_file_exists(url):  # look, never create
            out.print(f"store:   {display_url(url)}", markup=False, soft_wrap=True)
            out.print("current: none (no such file: `threadline init` or `threadline db upgrade` creates it)")
            out.print(f"head:    {migrate.head_revision()}")
            return
        url, engine = _engine(store)
        try:
            with engine.connect() as connection:
                current = migrate.current_revision(connection)
        finally:
            engine.dispose()
        head = migrate.head_revision()
    out.print(f"store:   {display_url(url)}", markup=False, soft_wrap=True)
    out.print(f"current: {current or 'none (a new database; created at head on first use)'}")
    out.print(f"head:    {head}")
    if current == head:
        out.print("up to date")
    elif current is not None:
        out.print("upgrade needed: run `threadline db upgrade` (back the database up first)", markup=False)


@app.command()
def upgrade(store: StoreOption = None) -> None:
    """Upgrade the store's schema to the newest revision (a new database is created at it)."""
    with expected_errors():
        from alembic.util import CommandError  # Alembic only for this command

        url, engine = _engine(store)
        try:
            before, after = migrate.upgrade(engine)
        except CommandError as exc:  # e.g. a revision newer than this threadline knows
            fail(f"cannot upgrade {display_url(url)}: {exc}")
        finally:
            engine.dispose()
    if before == after:
        out.print(f"{display_url(url)} is already at revision {after}", markup=False, soft_wrap=True)
    else:
        out.print(f"upgraded {display_url(url)}: {before or 'empty'} → {after}", markup=False, soft_wrap=True)
