"""The storage interface every backend implements, and the values it returns."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from threadline.openlineage.events import ParsedEvent

SCOPES = ("read", "write", "admin")
#: The log mark of the projector.
PROJECTION_MARK = "projection"


@dataclass(frozen=True)
class AppendResult:
    """What an append did: the ids newly stored and the ids that were already in the log."""

    inserted: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    #: The log's head (highest sequence number) once this append committed: every event of the
    #: append is at or below it (0: not known, as for an empty append).
    head: int = 0
    #: The log's head before this append: the events it stored are those after it up to :attr:`head`
    #: (appends are serialised).
    before: int = 0


@dataclass(frozen=True)
class StoredEvent:
    """An event as the log holds it: the exact bytes received plus the columns indexed from them."""

    seq: int
    id: str
    event_time: int
    received_at: int
    kind: str
    event_type: str | None
    run_id: str | None
    job_namespace: str | None
    job_name: str | None
    producer: str
    schema_url: str | None
    raw: bytes
    problems: list[dict[str, str]]


@dataclass(frozen=True)
class EventPage:
    """One page of events and the number of events that match in all."""

    events: list[StoredEvent]
    total: int


@dataclass(frozen=True)
class EventFilter:
    """Which events to list (every field optional): an event type (``OTHER`` takes events without one
    too), part of the job's name, the start of the run's id, part of the producer, only events with
    problems, and event times strictly before or after (microseconds)."""

    event_type: str | None = None
    job: str | None = None
    run: str | None = None
    producer: str | None = None
    problems: bool = False
    before: int | None = None
    after: int | None = None


@dataclass(frozen=True)
class EventSummary:
    """An event as lists show it: the columns the log indexes, without its body."""

    id: str
    event_time: int
    received_at: int
    kind: str
    event_type: str | None
    run_id: str | None
    job_namespace: str | None
    job_name: str | None
    producer: str
    has_problems: bool


@dataclass(frozen=True)
class ApiKey:
    """An API key's public record (never the secret itself)."""

    id: str
    name: str
    scope: str
    created_at: int
    revoked_at: int | None

    @property
    def active(self) -> bool:
        """Whether the key is still accepted."""
        return self.revoked_at is None

    def allows(self, needed: str) -> bool:
        """Whether this key's scope covers ``needed`` (admin > write > read)."""
        return SCOPES.index(self.scope) >= SCOPES.index(needed)


class Store(ABC):
    """The event log, its projections and API keys, behind one interface.

    The log is append-only and keeps every event byte-for-byte; appending an event whose canonical id
    is already stored does nothing. Projections are rebuilt from the log by ``threadline.projection``.
    """

    url: str
    backend: str

    @abstractmethod
    def append(self, events: Sequence[ParsedEvent]) -> AppendResult:
        """Durably add events to the log in one transaction; duplicates (same id) are skipped."""

    @abstractmethod
    def get_event(self, event_id: str) -> StoredEvent | None:
        """One event by id, or ``None``."""

    @abstractmethod
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
        """Events newest first by event time (oldest first if ``ascending``), optionally within
        ``(after, before]`` (microseconds)."""

    @abstractmethod
    def count_events(self) -> int:
        """How many events the log holds."""

    @abstractmethod
    def iter_events(self, *, after_seq: int = 0, batch_size: int = 1000) -> Iterator[list[StoredEvent]]:
        """All events in arrival order, in batches."""

    @abstractmethod
    def projection_lag(self) -> int:
        """How many logged events are not yet folded into the projections."""

    # ---- reads inside a caller's read transaction -----------------------------------------------
    # What other packages read of the log, so that none of them queries its tables (the way dagster's
    # EventLogStorage answers its readers): each takes a connection of ``read()``, so that one answer
    # (a page of the UI, a refresh of the lineage index) reads one consistent snapshot. The reads of the
    # lineage projections (edges, versions, column edges) are declared, the same way, by
    # ``lineage_reads.py: LineageReads`` (in SQL in ``lineage_sql.py``).

    @abstractmethod
    def read(self) -> AbstractContextManager[Connection]:
        """A read-only transaction with a consistent snapshot of the log and the projections."""

    @abstractmethod
    def log_mark(self, connection: Connection, name: str = PROJECTION_MARK) -> int:
        """The sequence number up to which the consumer ``name`` (the projector by default) has read
        the log (0: nothing yet)."""

    @abstractmethod
    def logged_jobs(self, connection: Connection, after: int, upto: int) -> set[tuple[str, str]]:
        """The jobs (namespace and name, as sent) of the events logged after sequence number ``after``
        up to ``upto``."""

    @abstractmethod
    def event_summaries(
        self, connection: Connection, wanted: EventFilter, limit: int, offset: int
    ) -> tuple[list[EventSummary], int]:
        """Events matching ``wanted``, newest first (by event time, then id), without their bodies, and
        how many match in all."""

    @abstractmethod
    def event_timespan(self, connection: Connection) -> tuple[int | None, int | None]:
        """The times of the first and the last event of the log (``None`` for an empty log)."""

    @abstractmethod
    def create_api_key(self, name: str, scope: str) -> tuple[str, ApiKey]:
        """Create a key; return the secret (shown once, stored only as a hash) and its record."""

    @abstractmethod
    def list_api_keys(self) -> list[ApiKey]:
        """Every key, active and revoked."""

    @abstractmethod
    def revoke_api_key(self, name_or_id: str) -> ApiKey:
        """Revoke a key by name or id; raises NotFound if there is none."""

    @abstractmethod
    def verify_api_key(self, secret: str) -> ApiKey | None:
        """The active key with this secret, or ``None``."""

    @abstractmethod
    def has_api_keys(self) -> bool:
        """Whether any active key exists (which turns authentication on by default)."""

    @abstractmethod
    def table_rows(self, table: str) -> list[dict[str, Any]]:
        """Every row of a projection table, sorted by all columns (for comparisons and exports)."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""
