"""Event times: ISO 8601 text on the wire, integer microseconds since the epoch (UTC) in the store."""

from __future__ import annotations

from datetime import UTC, datetime

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_time(text: str) -> int:
    """Parse an ISO 8601 date-time into UTC microseconds; a time without offset is taken as UTC.

    Raises ``ValueError`` with the offending text when it is not a date-time.
    """
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def to_datetime(micros: int) -> datetime:
    """Turn stored microseconds back into an aware UTC datetime."""
    return datetime.fromtimestamp(micros / 1_000_000, tz=UTC).replace(microsecond=micros % 1_000_000)


def format_time(micros: int | None) -> str | None:
    """Format stored microseconds as ISO 8601 UTC with a ``Z`` suffix (Marquez's style)."""
    if micros is None:
        return None
    return to_datetime(micros).isoformat(timespec="microseconds").replace("+00:00", "Z")


def now_micros() -> int:
    """The current time in UTC microseconds."""
    delta = datetime.now(UTC) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
