"""The SQL implementation of :class:`~threadline.store.base.Store` on SQLAlchemy Core.

Every query lives here; :mod:`threadline.store.backends` supplies engines and the few dialect
differences. Writes go through :meth:`SqlStore.write`, which opens ``BEGIN IMMEDIATE`` on SQLite.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, and_, delete, func, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from threadline.errors import BadRequest, NotFound, StoreError, StoreNotFound, StoreReadOnly
from threadline.openlineage.events import ParsedEvent
from threadline.openlineage.timestamps import now_micros
from threadline.redact import redact_text
from threadline.store import bulk, codec, lookups, schema
from threadline.store.backends import backend_of, display_url, make_engine
from threadline.store.base import (
    PROJECTION_MARK,
    SCOPES,
    ApiKey,
    AppendResult,
    EventFilter,
    EventPage,
    EventSummary,
    Store,
    StoredEvent,
)
from threadline.store.checkpoint import WRITER_LIMIT_PAGES, Checkpointer
from threadline.store.lookups import name_like
from threadline.store.migrate import ensure_schema
from threadline.store.writable import PROBE_MARK, ConnectionGenerations, probe_write, read_only_reason

_EVENT_COLUMNS = (
    schema.events.c.seq,
    schema.events.c.id,
    schema.events.c.event_time,
    schema.events.c.received_at,
    schema.events.c.kind,
    schema.events.c.event_type,
    schema.events.c.run_id,
    schema.events.c.job_namespace,
    schema.events.c.job_name,
    schema.events.c.producer,
    schema.events.c.schema_url,
    schema.events.c.raw,
    schema.events.c.problems,
    schema.events.c.codec,
)
# An event's summary (:class:`EventSummary`, less ``has_problems``), in its order.
_SUMMARY_COLUMNS = (
    schema.events.c.id,
    schema.events.c.event_time,
    schema.events.c.received_at,
    schema.events.c.kind,
    schema.events.c.event_type,
    schema.events.c.run_id,
    schema.events.c.job_namespace,
    schema.events.c.job_name,
    schema.events.c.producer,
)
_TIMESPAN = select(func.min(schema.events.c.event_time), func.max(schema.events.c.event_time))
# The columns an append fills, in the order of the rows it builds.
_APPENDED_COLUMNS = (
    "id",
    "event_time",
    "received_at",
    "kind",
    "event_type",
    "run_id",
    "job_namespace",
    "job_name",
    "producer",
    "schema_url",
    "raw",
    "codec",
    "problems",
    "origin",
)
_KEY_PREFIX = "tl_"
#: Events folded before PostgreSQL's planner statistics are refreshed, at the least (``note_folded``).
ANALYZE_MIN_GROWTH = 50_000
# Appends take this transaction-level lock on PostgreSQL (keyed by schema, so that stores in different
# schemas of one database do not wait for each other): one append at a time keeps sequence numbers
# visible in order, which is what lets the projector keep a mark instead of a queue.
_PG_LOG_LOCK = "SELECT pg_advisory_xact_lock(7715340, hashtext(current_schema()))"
#: The log's head and the projector's mark (:meth:`SqlStore.freshness`).
_FRESHNESS = select(
    select(func.max(schema.events.c.seq)).scalar_subquery(),
    select(schema.log_marks.c.seq).where(schema.log_marks.c.name == PROJECTION_MARK).scalar_subquery(),
)
#: What a PostgreSQL append adds to its insert: the new events' ids and sequence numbers, and the log's
#: head before the insert (one round trip for all three).
_PG_APPEND = (
    f" ON CONFLICT (event_time, id) DO NOTHING RETURNING id, seq, (SELECT max(seq) FROM {schema.events.name})"
)
#: Which events of a batch the log holds, by its key (time, id): two IN lists, of times and of ids.
_STORED_IDS = "SELECT event_time, id FROM {events} WHERE event_time IN ({times}) AND id IN ({keys})"


def _log_row(event: ParsedEvent, received: int) -> tuple[Any, ...]:
    """The values of an event's row in the log, in the order of ``_APPENDED_COLUMNS``."""
    return (
        event.id,
        event.event_time,
        received,
        event.kind,
        event.event_type,
        event.run_id,
        event.job_namespace,
        event.job_name,
        event.producer,
        event.schema_url,
        *_payload(event),
        json.dumps([p.to_dict() for p in event.problems]) if event.problems else None,
        event.origin,
    )


def _payload(event: ParsedEvent) -> tuple[bytes, int]:
    """The ``raw`` and ``codec`` columns of an event."""
    if event.payload is not None:
        return event.payload, event.codec
    event_codec, payload = codec.encode(event.raw)
    return payload, event_codec


def _stored(row: Any) -> StoredEvent:
    return StoredEvent(
        seq=row.seq,
        id=row.id,
        event_time=row.event_time,
        received_at=row.received_at,
        kind=row.kind,
        event_type=row.event_type,
        run_id=row.run_id,
        job_namespace=row.job_namespace,
        job_name=row.job_name,
        producer=row.producer,
        schema_url=row.schema_url,
        raw=codec.decode(row.codec, bytes(row.raw)),
        problems=json.loads(row.problems) if row.problems else [],
    )


def _hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _api_key(row: Any) -> ApiKey:
    return ApiKey(row.id, row.name, row.scope, row.created_at, row.revoked_at)


class SqlStore(Store):
    """A store in a SQLite file or a PostgreSQL database."""

    def __init__(
        self,
        url: str,
        *,
        sqlite_synchronous: str = "NORMAL",
        create: bool = True,
        background_checkpoint: bool = False,
    ) -> None:
        """Open the store at ``url`` (as the user wrote it: ``postgres://`` and ``postgresql://`` pick
        our driver themselves). ``create``: make the store (folder, file, schema) if there is none;
        without it a missing store is a :class:`StoreNotFound` and nothing is created.
        ``background_checkpoint`` (SQLite; for a long-running process that writes a lot, such as the
        server): a thread of the store checkpoints the WAL, not the commits (``checkpoint.py``)."""
        self.url = url
        self.backend = backend_of(url)
        shown = display_url(url)
        if not create and self.backend == "sqlite":
            database = make_url(url).database or ""
            if database and database != ":memory:" and not Path(database).is_file():
                msg = (
                    f"no store at {shown} (no file {Path(database).resolve()}); create one with "
                    "`threadline init` (a project in the current folder) or point --store at an existing one"
                )
                raise StoreNotFound(msg)
        background_checkpoint = background_checkpoint and self.backend == "sqlite"
        self.engine: Engine = make_engine(
            url,
            sqlite_synchronous=sqlite_synchronous,
            sqlite_autocheckpoint=WRITER_LIMIT_PAGES if background_checkpoint else None,
        )
        #: The thread that checkpoints the WAL (``background_checkpoint``), else ``None``.
        self.checkpointer: Checkpointer | None = None
        #: Planner statistics bookkeeping (PostgreSQL, see :meth:`note_folded`).
        self._folded_since_analyze = 0
        self._analyzed_size: int | None = None
        #: Why the store refuses writes, as last seen (a read-only file or role), or ``None``.
        self.write_problem: str | None = None
        self._generations = ConnectionGenerations(self.engine)
        try:
            ensure_schema(self.engine, shown, create=create)
        except OperationalError as exc:
            self.engine.dispose()
            said = redact_text(str(exc.orig)).strip()
            reason = read_only_reason(self.backend, url, exc) or (
                said.splitlines()[0] if said else type(exc.orig).__name__
            )
            msg = f"cannot open store {shown}: {reason}"
            raise StoreError(msg) from exc
        except Exception:
            self.engine.dispose()
            raise
        if background_checkpoint:
            path = self.engine.url.database
            assert path is not None  # the engine refuses a store without a file
            # no rounds while writes are refused (see checkpoint.py)
            self.checkpointer = Checkpointer(path, paused=lambda: self.write_problem is not None).start()

    # ---- transactions ---------------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite), committed when the block ends.

        A store that refuses writes (a read-only file, folder or role) raises :class:`StoreReadOnly`
        saying why, and is remembered as such in :attr:`write_problem` until a write succeeds.
        """
        try:
            with self.engine.connect() as connection:
                connection.info["write"] = True
                with connection.begin():
                    yield connection
        except SQLAlchemyError as exc:
            reason = read_only_reason(self.backend, self.url, exc)
            if reason is None:
                raise
            self._note_read_only(reason)
            raise StoreReadOnly(reason) from exc
        self.write_problem = None

    def _note_read_only(self, reason: str) -> None:
        self.write_problem = reason
        # SQLite opened the file read-only for every connection: only new ones can write once the file
        # is writable again.
        self._generations.renew()

    def check_writable(self) -> str | None:
        """Find out whether the store can be written (a write, rolled back): ``None`` when it can,
        else why not; the answer is kept in :attr:`write_problem`."""
        probe = self.upsert(schema.log_marks, ["name"]).values(name=PROBE_MARK, seq=0)
        reason = probe_write(self.engine, self.backend, self.url, probe)
        if reason is None:
            self.write_problem = None
        else:
            self._note_read_only(reason)
        return reason

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction with a consistent snapshot (``REPEATABLE READ`` on PostgreSQL, whose
        default would let each statement see a newer state than the one before)."""
        with self.engine.connect() as opened:
            connection = (
                opened.execution_options(isolation_level="REPEATABLE READ")
                if self.backend == "postgresql"
                else opened
            )
            with connection.begin():
                yield connection

    # ---- the log --------------------------------------------------------------------------------

    def append(self, events: Sequence[ParsedEvent]) -> AppendResult:
        """Durably add events to the log; events already stored (same id) are reported as duplicates.

        Appends are serialised (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL), so
        sequence numbers become visible in order. On SQLite the events already stored are looked up
        first and the rest inserted; on PostgreSQL one statement inserts the batch and returns what
        was new (a round trip saved).
        """
        if not events:
            return AppendResult()
        received = now_micros()
        unique: dict[str, ParsedEvent] = {}
        for parsed in events:
            unique.setdefault(parsed.id, parsed)
        try:
            with self.write() as connection:
                self._lock_log(connection)
                if self.backend == "postgresql":
                    # Appends are serialised, so the conflict clause only meets events already stored.
                    # The subquery sees the log as the statement found it: the head before the insert.
                    rows = [_log_row(parsed, received) for parsed in unique.values()]
                    returned = bulk.insert_rows(
                        connection, schema.events, _APPENDED_COLUMNS, rows, _PG_APPEND
                    )
                    fresh = {row[0] for row in returned}
                    head = max((row[1] for row in returned), default=0)
                    before = int(returned[0][2] or 0) if returned else self.log_head(connection)
                else:
                    before = self.log_head(connection)
                    stored = self._stored_ids(connection, list(unique.values()))
                    rows = [
                        _log_row(parsed, received)
                        for event_id, parsed in unique.items()
                        if event_id not in stored
                    ]
                    bulk.insert_rows(connection, schema.events, _APPENDED_COLUMNS, rows)
                    fresh = {row[0] for row in rows}
                    head = self.log_head(connection) if fresh else 0
                if not fresh:
                    head = before
        except SQLAlchemyError as exc:
            msg = f"the store could not save the events ({exc.__class__.__name__}); nothing was stored"
            raise StoreError(msg) from exc
        # The first copy of an id that this call stored is "inserted"; every other copy (already in
        # the log, or repeated within this call) is a duplicate, so the two lists add up to the input.
        inserted: list[str] = []
        duplicates: list[str] = []
        for parsed in events:
            if parsed.id in fresh:
                fresh.discard(parsed.id)
                inserted.append(parsed.id)
            else:
                duplicates.append(parsed.id)
        return AppendResult(inserted=inserted, duplicates=duplicates, head=head, before=before)

    def log_head(self, connection: Connection) -> int:
        """The highest sequence number in the log (0: empty), as ``connection`` sees it."""
        return int(connection.scalar(select(func.max(schema.events.c.seq))) or 0)

    def freshness(self) -> tuple[int, int]:
        """The log's head and the projector's mark, read together (one statement, one snapshot).

        Every read of a server on PostgreSQL asks first (``server.freshness``), so the statement is
        built once (SQLAlchemy computed a new statement's cache key on every call) and runs there
        outside a transaction (no ``BEGIN`` and ``ROLLBACK`` round trips): 0.7 instead of 1.7-2.0 ms
        a call (``benchmarks/README.md``, stop 30)."""
        with self.engine.connect() as opened:
            connection = (
                opened.execution_options(isolation_level="AUTOCOMMIT")
                if self.backend == "postgresql"
                else opened
            )
            head, folded = connection.execute(_FRESHNESS).one()
        return int(head or 0), int(folded or 0)

    def _lock_log(self, connection: Connection) -> None:
        """Serialise appends for the rest of this transaction (SQLite's ``BEGIN IMMEDIATE`` already does)."""
        if self.backend == "postgresql":
            connection.exec_driver_sql(_PG_LOG_LOCK)

    def _stored_ids(self, connection: Connection, events: list[ParsedEvent]) -> set[str]:
        """Which of ``events`` the log already holds (looked up by the log's key, time then id)."""
        found: set[str] = set()
        # two IN lists per statement (times, ids): half a batch of events each
        for batch in lookups.batches(events, lookups.IN_BATCH // 2):
            wanted = {(event.event_time, event.id) for event in batch}
            times = sorted({event.event_time for event in batch})
            ids = [event.id for event in batch]
            sql = lookups.sql_text(connection, _STORED_IDS, len(ids), times=len(times))
            result = connection.exec_driver_sql(sql, (*times, *ids))
            found.update(event_id for event_time, event_id in result if (event_time, event_id) in wanted)
        return found

    def get_event(self, event_id: str) -> StoredEvent | None:
        """One event by id, or ``None``.

        The log's index is by time then id: the time comes from the ``event_ids`` projection, and the
        events the projector has not read yet (its tail, usually a handful) are searched directly.
        """
        events = schema.events
        with self.read() as connection:
            mark = self.log_mark(connection)  # first: whatever is past it is not in event_ids yet
            event_time = connection.scalar(
                select(schema.event_ids.c.event_time).where(schema.event_ids.c.id == event_id)
            )
            if event_time is not None:
                where = (events.c.event_time == event_time, events.c.id == event_id)
            else:
                where = (events.c.seq > mark, events.c.id == event_id)
            row = connection.execute(select(*_EVENT_COLUMNS).where(*where)).first()
        return _stored(row) if row else None

    def list_events(
        self,
        *,
        limit: int = 100,
        offset: int = 0,
        before: int | None = None,
        after: int | None = None,
        with_problems: bool = False,
        ascending: bool = False,
    ) -> EventPage:
        """Events newest first by event time (then arrival), optionally within ``(after, before]``.

        ``ascending`` turns the order round: oldest first.
        """
        conditions = []
        if before is not None:
            conditions.append(schema.events.c.event_time <= before)
        if after is not None:
            conditions.append(schema.events.c.event_time > after)
        if with_problems:
            conditions.append(schema.events.c.problems.is_not(None))
        query = (
            select(*_EVENT_COLUMNS)
            .where(*conditions)
            .order_by(
                *(
                    (schema.events.c.event_time, schema.events.c.seq)
                    if ascending
                    else (schema.events.c.event_time.desc(), schema.events.c.seq.desc())
                )
            )
            .limit(limit)
            .offset(offset)
        )
        count = select(func.count()).select_from(schema.events).where(*conditions)
        with self.read() as connection:
            rows = connection.execute(query).all()
            total = connection.scalar(count) or 0
        return EventPage([_stored(row) for row in rows], total)

    def count_events(self) -> int:
        """How many events the log holds."""
        with self.read() as connection:
            return connection.scalar(select(func.count()).select_from(schema.events)) or 0

    def iter_events(self, *, after_seq: int = 0, batch_size: int = 1000) -> Iterator[list[StoredEvent]]:
        """All events after ``after_seq`` in arrival order, ``batch_size`` at a time."""
        cursor = after_seq
        while True:
            with self.read() as connection:
                rows = connection.execute(
                    select(*_EVENT_COLUMNS)
                    .where(schema.events.c.seq > cursor)
                    .order_by(schema.events.c.seq)
                    .limit(batch_size)
                ).all()
            if not rows:
                return
            batch = [_stored(row) for row in rows]
            cursor = batch[-1].seq
            yield batch

    def log_mark(self, connection: Connection, name: str = PROJECTION_MARK) -> int:
        """The sequence number up to which the consumer ``name`` has read the log (0: nothing yet)."""
        value = connection.scalar(select(schema.log_marks.c.seq).where(schema.log_marks.c.name == name))
        return int(value or 0)

    def logged_jobs(self, connection: Connection, after: int, upto: int) -> set[tuple[str, str]]:
        """The jobs (namespace and name, as sent) of the events logged after sequence number ``after``
        up to ``upto``: which jobs a fold of those events may have changed."""
        events = schema.events
        rows = connection.execute(
            select(events.c.job_namespace, events.c.job_name)
            .where(events.c.seq > after, events.c.seq <= upto, events.c.job_name.is_not(None))
            .distinct()
        )
        return {(namespace, name) for namespace, name in rows}

    def event_summaries(
        self, connection: Connection, wanted: EventFilter, limit: int, offset: int
    ) -> tuple[list[EventSummary], int]:
        """Events matching ``wanted``, newest first, without their bodies, and how many match in all."""
        events = schema.events
        where: list[Any] = []
        if wanted.event_type is not None:
            if wanted.event_type == "OTHER":
                where.append(or_(events.c.event_type == "OTHER", events.c.event_type.is_(None)))
            else:
                where.append(events.c.event_type == wanted.event_type)
        if wanted.job is not None:
            where.append(name_like(events.c.job_name, wanted.job))
        if wanted.run is not None:
            prefix = wanted.run.lower().removeprefix("run:")
            where.append(and_(events.c.run_id >= prefix, events.c.run_id < prefix + "\uffff"))
        if wanted.producer is not None:
            where.append(name_like(events.c.producer, wanted.producer))
        if wanted.problems:
            where.append(events.c.problems.is_not(None))
        if wanted.before is not None:
            where.append(events.c.event_time < wanted.before)
        if wanted.after is not None:
            where.append(events.c.event_time > wanted.after)
        rows = connection.execute(
            select(*_SUMMARY_COLUMNS, events.c.problems.is_not(None).label("has_problems"))
            .where(*where)
            .order_by(events.c.event_time.desc(), events.c.id.desc())
            .limit(limit)
            .offset(offset)
        ).all()
        total = connection.scalar(select(func.count()).select_from(events).where(*where)) or 0
        return [EventSummary(*row) for row in rows], total

    def event_timespan(self, connection: Connection) -> tuple[int | None, int | None]:
        """The times of the first and the last event of the log (``None`` for an empty log)."""
        first, last = connection.execute(_TIMESPAN).one()
        return first, last

    def set_log_mark(self, connection: Connection, seq: int, name: str = PROJECTION_MARK) -> None:
        """Record that the consumer ``name`` has read the log up to ``seq``."""
        statement = self.upsert(schema.log_marks, ["name"]).values(name=name, seq=seq)
        connection.execute(statement)

    def insert_ignore(self, table: Table) -> Any:
        """``INSERT … ON CONFLICT DO NOTHING`` for this backend."""
        dialect = postgresql if self.backend == "postgresql" else sqlite
        return dialect.insert(table).on_conflict_do_nothing()

    def upsert(self, table: Table, keys: list[str]) -> Any:
        """``INSERT … ON CONFLICT (keys) DO UPDATE`` setting every other column, for this backend."""
        dialect = postgresql if self.backend == "postgresql" else sqlite
        statement = dialect.insert(table)
        others = {c.name: statement.excluded[c.name] for c in table.c if c.name not in keys}
        return statement.on_conflict_do_update(index_elements=keys, set_=others)

    def pending_events(self, connection: Connection, limit: int) -> list[StoredEvent]:
        """The oldest ``limit`` events past the projector's mark, read inside the caller's transaction."""
        mark = self.log_mark(connection)
        query = (
            select(*_EVENT_COLUMNS)
            .where(schema.events.c.seq > mark)
            .order_by(schema.events.c.seq)
            .limit(limit)
        )
        return [_stored(row) for row in connection.execute(query).all()]

    def logged_range(self, connection: Connection, after: int, upto: int) -> list[StoredEvent]:
        """The events logged after sequence number ``after`` up to ``upto``, in log order."""
        events = schema.events
        query = (
            select(*_EVENT_COLUMNS).where(events.c.seq > after, events.c.seq <= upto).order_by(events.c.seq)
        )
        return [_stored(row) for row in connection.execute(query).all()]

    def backlog_steps(
        self, connection: Connection, size: int, at_least: int = 1
    ) -> list[tuple[int, int, int]]:
        """The events past the projector's mark cut into steps of ``size`` in log order: each step's
        first sequence number minus one, its last, and how many events it holds; none when there are
        fewer than ``at_least`` (found without counting them all)."""
        mark = self.log_mark(connection)
        enough = (
            select(schema.events.c.seq)
            .where(schema.events.c.seq > mark)
            .order_by(schema.events.c.seq)
            .offset(max(0, at_least - 1))
            .limit(1)
        )
        if connection.scalar(enough) is None:
            return []
        rows = connection.execute(
            text(
                "SELECT seq, n FROM (SELECT seq, row_number() OVER (ORDER BY seq) AS n, "
                "count(*) OVER () AS total FROM events WHERE seq > :mark) s "
                "WHERE n % :size = 0 OR n = total ORDER BY seq"
            ),
            {"mark": mark, "size": size},
        ).all()
        steps, after, counted = [], mark, 0
        for seq, number in rows:
            steps.append((after, int(seq), int(number) - counted))
            after, counted = int(seq), int(number)
        return steps

    def mark_projected(self, connection: Connection, seqs: Sequence[int]) -> None:
        """Move the projector's mark past the folded events (they are the oldest pending ones)."""
        if seqs:
            self.set_log_mark(connection, max(seqs))

    def requeue_all(self, connection: Connection) -> None:
        """Clear every projection and move the projector's mark back to the start of the log."""
        for table in reversed(schema.PROJECTION_TABLES):
            connection.execute(delete(table))
        self.set_log_mark(connection, 0)

    def projection_lag(self) -> int:
        """How many logged events are not yet folded into the projections."""
        with self.read() as connection:
            mark = self.log_mark(connection)
            return connection.scalar(select(func.count()).where(schema.events.c.seq > mark)) or 0

    def note_folded(self, events: int) -> bool:
        """Count ``events`` just folded into the projections; on PostgreSQL, refresh the planner's
        statistics (``ANALYZE``) once the projections have grown by a fifth since the last refresh
        (at least ``ANALYZE_MIN_GROWTH`` events). Without statistics the planner takes a table of a
        million rows for an empty one and walks lineage by sequential scans: 0.5 s instead of 10 ms per
        walk after a bulk load, on a server where autovacuum is off or has not come round yet. Return
        whether it refreshed them."""
        if self.backend != "postgresql" or events <= 0:
            return False
        self._folded_since_analyze += events
        if self._analyzed_size is None:  # the first fold of this process: growth counts from here,
            self._analyzed_size = self._projected_size()
            if self._analyzed_size > ANALYZE_MIN_GROWTH and not self._ever_analyzed():
                # unless a large store never had statistics (loaded while autovacuum was off): now.
                self._folded_since_analyze = max(self._folded_since_analyze, self._analyzed_size)
        if self._folded_since_analyze < max(ANALYZE_MIN_GROWTH, self._analyzed_size // 5):
            return False
        tables = ", ".join(
            self.engine.dialect.identifier_preparer.format_table(table)
            for table in (schema.events, *schema.PROJECTION_TABLES)
        )
        with self.engine.connect() as connection:  # ANALYZE blocks neither reads nor writes
            connection.execute(text(f"ANALYZE {tables}"))
            connection.commit()
        self._analyzed_size = self._projected_size()
        self._folded_since_analyze = 0
        return True

    def _ever_analyzed(self) -> bool:
        """Whether PostgreSQL has statistics for the log (ANALYZE or autovacuum ever ran on it)."""
        with self.read() as connection:
            return bool(
                connection.scalar(
                    text(
                        "SELECT last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL "
                        "FROM pg_stat_user_tables WHERE relid = 'events'::regclass"
                    )
                )
            )

    def _projected_size(self) -> int:
        with self.read() as connection:
            return self.log_mark(connection)

    def try_projection_lock(self, connection: Connection) -> bool:
        """Take the projector's lock for this transaction (PostgreSQL: an advisory lock)."""
        if self.backend != "postgresql":
            return True  # BEGIN IMMEDIATE already serialises writers
        # Advisory locks are database-wide: key the lock by schema too, so that stores living in
        # different schemas of one database do not skip each other's projection.
        return bool(
            connection.scalar(text("SELECT pg_try_advisory_xact_lock(7715339, hashtext(current_schema()))"))
        )

    # ---- API keys -------------------------------------------------------------------------------

    def create_api_key(self, name: str, scope: str) -> tuple[str, ApiKey]:
        """Create a key; the secret is returned once and stored only as a SHA-256 hash."""
        if scope not in SCOPES:
            msg = f"scope must be one of {', '.join(SCOPES)}, got {scope!r}"
            raise BadRequest(msg)
        name = name.strip()
        if not name:
            msg = "an API key needs a non-empty --name"
            raise BadRequest(msg)
        key_id = secrets.token_hex(6)
        secret = f"{_KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        row: dict[str, Any] = {
            "id": key_id,
            "name": name,
            "scope": scope,
            "key_hash": _hash_key(secret),
            "created_at": now_micros(),
            "revoked_at": None,
        }
        with self.write() as connection:
            taken = connection.scalar(select(schema.api_keys.c.id).where(schema.api_keys.c.name == name))
            if taken is not None:
                msg = f"an API key named {name!r} exists; revoke it or pick another name"
                raise BadRequest(msg)
            connection.execute(insert(schema.api_keys), [row])
        return secret, ApiKey(key_id, name, scope, row["created_at"], None)

    def list_api_keys(self) -> list[ApiKey]:
        """Every key, oldest first."""
        with self.read() as connection:
            rows = connection.execute(select(schema.api_keys).order_by(schema.api_keys.c.created_at)).all()
        return [_api_key(row) for row in rows]

    def revoke_api_key(self, name_or_id: str) -> ApiKey:
        """Revoke a key by name or id."""
        table = schema.api_keys
        with self.write() as connection:
            row = connection.execute(
                select(table).where((table.c.name == name_or_id) | (table.c.id == name_or_id))
            ).first()
            if row is None:
                msg = f"no API key named {name_or_id!r}; `threadline token list` shows them"
                raise NotFound(msg)
            revoked = row.revoked_at or now_micros()
            connection.execute(update(table).where(table.c.id == row.id).values(revoked_at=revoked))
        return ApiKey(row.id, row.name, row.scope, row.created_at, revoked)

    def verify_api_key(self, secret: str) -> ApiKey | None:
        """The active key with this secret, or ``None``."""
        if not secret.startswith(_KEY_PREFIX):
            return None
        key_id = secret[len(_KEY_PREFIX) :].split("_", 1)[0]
        with self.read() as connection:
            row = connection.execute(select(schema.api_keys).where(schema.api_keys.c.id == key_id)).first()
        if row is None or row.revoked_at is not None:
            return None
        if not secrets.compare_digest(row.key_hash, _hash_key(secret)):
            return None
        return _api_key(row)

    def has_api_keys(self) -> bool:
        """Whether any active key exists."""
        with self.read() as connection:
            found = connection.scalar(
                select(schema.api_keys.c.id).where(schema.api_keys.c.revoked_at.is_(None)).limit(1)
            )
        return found is not None

    # ---- projections ----------------------------------------------------------------------------

    def table_rows(self, table: str) -> list[dict[str, Any]]:
        """Every row of a projection table, sorted by all its columns."""
        tables = {t.name: t for t in schema.PROJECTION_TABLES}
        if table not in tables:
            msg = f"unknown projection table {table!r}; known: {', '.join(tables)}"
            raise NotFound(msg)
        target = tables[table]
        with self.read() as connection:
            rows = connection.execute(select(target).order_by(*target.c)).mappings().all()
        return [dict(row) for row in rows]

    def close(self) -> None:
        """Stop the checkpoint thread, if any, and release every pooled connection."""
        if self.checkpointer is not None:
            self.checkpointer.stop()
        self.engine.dispose()


def open_store(
    url: str,
    *,
    sqlite_synchronous: str = "NORMAL",
    create: bool = True,
    background_checkpoint: bool = False,
) -> SqlStore:
    """Open the store at ``url``; with ``create`` (commands that write) make it on first use, without
    (commands that only read) a missing store is a :class:`~threadline.errors.StoreNotFound`.
    ``background_checkpoint``: see :class:`SqlStore`."""
    return SqlStore(
        url,
        sqlite_synchronous=sqlite_synchronous,
        create=create,
        background_checkpoint=background_checkpoint,
    )
