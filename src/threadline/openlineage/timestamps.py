"""Event times: ISO 8601 text on the wire, integer microseconds since the epoch (UTC) in the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: The times every reader can print (``datetime``'s range in UTC), in microseconds since the epoch.
MIN_MICROS = -62_135_596_800_000_000
MAX_MICROS = 253_402_300_799_999_999


def parse_time(text: str) -> int:
    """Parse an ISO 8601 date-time into UTC microseconds; a time without offset is taken as UTC.

    Raises ``ValueError`` with the offending text when it is not a date-time.
    """
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - _EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if not MIN_MICROS <= micros <= MAX_MICROS:
        msg = f"{text!r} is outside 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999Z in UTC"
        raise ValueError(msg)
    return micros


def to_datetime(micros: int) -> datetime:
    """Turn stored microseconds back into an aware UTC datetime."""
    return _EPOCH + timedelta(microseconds=micros)  # integers throughout: no float rounding


def format_time(micros: int | None) -> str | None:
    """Format stored microseconds as ISO 8601 UTC with a ``Z`` suffix (Marquez's style)."""
    if micros is None:
        return None
    return to_datetime(micros).isoformat(timespec="microseconds").replace("+00:00", "Z")


def now_micros() -> int:
    """The current time in UTC microseconds."""
    delta = datetime.now(UTC) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
