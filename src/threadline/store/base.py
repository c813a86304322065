"""The storage interface every backend implements, and the values it returns."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from threadline.openlineage.events import ParsedEvent

SCOPES = ("read", "write", "admin")


@dataclass(frozen=True)
class AppendResult:
    """What an append did: the ids newly stored and the ids that were already in the log."""

    inserted: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    #: The log's head (highest sequence number) once this append committed: every event of the
    #: append is at or below it (0: not known, as for an empty append).
    head: int = 0
    #: Whether the projections were brought up to :attr:`head` in the same transaction.
    projected: bool = False


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
