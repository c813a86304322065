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
    """Closes every connection opened before the store was found read-only, as soon as it is free.

    SQLite opens a read-only file read-only for good, and shares that with every connection of the
    process to the same file while any one of them stays open: once the file is writable again, a
    write succeeds only after all of them are closed. :meth:`renew` closes the idle ones at once and
    marks the rest, which are closed when returned to the pool (not at some later garbage collection).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.current = 0
        event.listen(engine, "connect", self._stamp)
        event.listen(engine, "checkin", self._close_if_old)

    def _stamp(self, _dbapi_connection: Any, record: Any) -> None:
        record.info["generation"] = self.current

    def _close_if_old(self, dbapi_connection: Any, record: Any) -> None:
        if dbapi_connection is not None and record.info.get("generation", self.current) != self.current:
            record.invalidate()

    def renew(self) -> None:
        """Start a new generation: close the idle connections now and the busy ones when freed."""
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
