"""Backend specifics: turning a store URL into a configured SQLAlchemy engine.

SQLite runs in WAL mode with write transactions opened as ``BEGIN IMMEDIATE`` (so two writers queue
instead of failing half-way); PostgreSQL goes through psycopg 3.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import NullPool

from threadline.errors import ConfigError
from threadline.redact import redact_url

_SQLITE_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")


def normalise_url(url: str) -> str:
    """Accept the spellings users type (``postgres://``, ``postgresql://``) and pick our drivers."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def display_url(url: str) -> str:
    """A store URL as the user wrote it, fit for messages: any password (or secret query value) hidden."""
    return redact_url(url)


def backend_of(url: str) -> str:
    """``sqlite`` or ``postgresql`` for a store URL; anything else is a configuration error."""
    try:
        parsed = make_url(normalise_url(url))
    except ArgumentError as exc:
        msg = f"store URL {url!r} is not a URL; use sqlite:///PATH or postgresql://USER@HOST:PORT/DB"
        raise ConfigError(msg) from exc
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        msg = f"store URL {url!r}: only sqlite:///PATH and postgresql://… stores are supported"
        raise ConfigError(msg)
    return parsed.get_backend_name()


def _sqlite_engine(url: str, synchronous: str, autocheckpoint: int | None) -> Engine:
    parsed = make_url(url)
    database = parsed.database
    if not database or database == ":memory:":
        msg = "an in-memory SQLite store would lose every event on exit; give a file: sqlite:///PATH"
        raise ConfigError(msg)
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    mode = synchronous.upper()
    if mode not in _SQLITE_SYNCHRONOUS:
        msg = f"sqlite_synchronous must be one of {', '.join(_SQLITE_SYNCHRONOUS)}, got {synchronous!r}"
        raise ConfigError(msg)
    engine = create_engine(
        parsed,
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=8,
        max_overflow=8,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so that BEGIN is ours to issue.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={mode}")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.execute("PRAGMA cache_size=-65536")
        if autocheckpoint is not None:  # checkpoints are another thread's (checkpoint.py)
            cursor.execute(f"PRAGMA wal_autocheckpoint={int(autocheckpoint)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.info.pop("write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _postgres_engine(url: str, *, pooled: bool = True) -> Engine:
    options: dict[str, Any] = {"pool_size": 8, "max_overflow": 8, "pool_pre_ping": True}
    if not pooled:
        options = {"poolclass": NullPool}
    return create_engine(url, **options)


def make_engine(
    url: str, *, sqlite_synchronous: str = "NORMAL", sqlite_autocheckpoint: int | None = None
) -> Engine:
    """Create the engine for ``url`` with the settings each backend needs; on SQLite,
    ``sqlite_autocheckpoint`` (pages) replaces SQLite's default of 1,000 for when a commit
    checkpoints by itself."""
    url = normalise_url(url)
    if backend_of(url) == "sqlite":
        return _sqlite_engine(url, sqlite_synchronous, sqlite_autocheckpoint)
    return _postgres_engine(url)
