"""Whether a store can be written, and why not: a read-only SQLite file or folder, a PostgreSQL role
or server that refuses writes.

Reads work on such a store, so nothing fails at start; without this every write would fail later with
a bare "could not save". :func:`read_only_reason` recognises the database's own refusal (SQLite's
``SQLITE_READONLY`` and ``SQLITE_CANTOPEN``, PostgreSQL's ``read_only_sql_transaction`` and
``insufficient_privilege``) and says in one sentence what is wrong and what to do; :func:`probe_write`
asks the database directly, with a write that is rolled back, so the answer covers every cause at
once (file mode, folder mode, a read-only mount, a standby server, a role's grants) instead of guessing
from file modes, which say nothing to a process running as root.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from threadline.redact import redact_text, redact_url

#: SQLite's result codes for "this database cannot be written".
_SQLITE_READ_ONLY = ("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")
#: PostgreSQL's: read_only_sql_transaction (a standby, ``default_transaction_read_only``) and
#: insufficient_privilege (a role without INSERT/UPDATE grants).
_PG_READ_ONLY = {"25006": "it is read-only", "42501": "the role lacks the privileges"}
#: The generation of a connection opened while an older one was open (see ConnectionGenerations).
_STALE = -1
#: The log mark a probe writes (and rolls back): a name no consumer uses.
PROBE_MARK = "threadline-write-probe"


def _sqlite_path(url: str) -> str:
    try:
        return make_url(url).database or url
    except Exception:
        return url


def read_only_reason(backend: str, url: str, exc: BaseException) -> str | None:
    """A sentence saying why the store at ``url`` refuses writes, when ``exc`` is such a refusal;
    ``None`` for any other error."""
    orig: Any = exc.orig if isinstance(exc, DBAPIError) else exc
    detail = redact_text(str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__)
    if backend == "sqlite":
        code = str(getattr(orig, "sqlite_errorname", ""))
        text = str(orig).lower()
        if not (code.startswith(_SQLITE_READ_ONLY) or "readonly" in text or "read-only" in text):
            return None
        return (
            f"the SQLite file {_sqlite_path(url)} cannot be written ({detail}); make it, the -wal and "
            "-shm files beside it and their folder writable by the user running threadline"
        )
    sqlstate = str(getattr(orig, "sqlstate", "") or "")
    if sqlstate not in _PG_READ_ONLY:
        return None
    return (
        f"PostgreSQL at {redact_url(url)} refuses writes: {_PG_READ_ONLY[sqlstate]} ({detail}); connect "
        "to the primary server as a role that may write (not a standby, no default_transaction_read_only)"
    )


class ConnectionGenerations:
    """Closes every connection opened before the store was found read-only, as soon as it is free, and
    every connection opened while one of those is still open.

    SQLite opens a read-only file read-only for good. Worse, when the file's ``-shm`` was read-only
    as a connection opened it, the process shares that read-only mapping with every connection it
    opens to the file afterwards, for as long as any of them stays open: once the files are writable
    again, a write succeeds only after *all* of them were closed at the same time. A server's threads
    (the writer, the back-pressure sampler, the lineage index, requests) open connections
    continuously, and pooled ones stay open, so without care the old mapping lives on from one
    connection to the next and every write stays refused (found by
    ``tests/server/test_read_only_store.py``, 2 of 5 full runs).

    So :meth:`renew` starts a new generation: the idle connections are closed at once, the busy
    ones when they come back to the pool; and a connection opened while any older one is still open
    is marked stale and closed when it comes back too, instead of being pooled. Once the last of them
    is closed, the next connection maps the file afresh and is pooled as usual. Nothing of this
    happens on a store that never refused a write (one generation, nothing stale).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.current = 0
        #: The generation of every open DBAPI connection of the engine, by its id.
        self._open: dict[int, int] = {}
        self._lock = threading.Lock()
        event.listen(engine, "connect", self._stamp)
        event.listen(engine, "checkin", self._close_if_old)
        event.listen(engine, "close", self._closed)
        event.listen(engine, "close_detached", self._closed)

    def _stamp(self, dbapi_connection: Any, record: Any) -> None:
        with self._lock:
            older_open = any(generation != self.current for generation in self._open.values())
            generation = _STALE if older_open else self.current
            self._open[id(dbapi_connection)] = generation
        record.info["generation"] = generation

    def _close_if_old(self, dbapi_connection: Any, record: Any) -> None:
        if dbapi_connection is not None and record.info.get("generation", self.current) != self.current:
            record.invalidate()

    def _closed(self, dbapi_connection: Any, _record: Any = None) -> None:
        with self._lock:
            self._open.pop(id(dbapi_connection), None)

    def stale_open(self) -> int:
        """How many open connections are of an older generation or stale (they are closed when freed)."""
        with self._lock:
            return sum(1 for generation in self._open.values() if generation != self.current)

    def renew(self) -> None:
        """Start a new generation: close the idle connections now and the busy ones when freed."""
        with self._lock:
            self.current += 1
        self.engine.dispose()


def probe_write(engine: Engine, backend: str, url: str, statement: Any) -> str | None:
    """Try ``statement`` (a write) in a write transaction and roll it back: ``None`` when the store can
    be written, else why not (see :func:`read_only_reason`). Other failures (a database that is down,
    a lock held too long) are not a read-only store: they are raised."""
    try:
        with engine.connect() as connection:
            connection.info["write"] = True  # BEGIN IMMEDIATE on SQLite: the lock a write takes
            transaction = connection.begin()
            try:
                connection.execute(statement)
            finally:
                transaction.rollback()
    except SQLAlchemyError as exc:
        reason = read_only_reason(backend, url, exc)
        if reason is None:
            raise
        return reason
    return None
