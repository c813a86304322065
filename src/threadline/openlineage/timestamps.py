"""Event times: ISO 8601 text on the wire, integer microseconds since the epoch (UTC) in the store.

Times are integers from the moment they are parsed to the moment they are printed; no float is ever
involved, so no rounding can push a time across a second, a day or the end of the calendar. The log
accepts only times that every reader can print: from ``0001-01-01T00:00:00Z`` to
``9999-12-31T23:59:59.999999Z`` once converted to UTC (Python's ``datetime`` range, and ISO 8601's
four-digit years). A time outside it is refused at ingest (see :class:`TimeOutOfRange`); a stored
time outside it (only a store written before this check can hold one) is printed clamped to the
nearest end, so that no single event can make a read fail.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: ``0001-01-01T00:00:00Z``, the earliest time the log accepts, in microseconds since the epoch.
MIN_MICROS = -62_135_596_800_000_000
#: ``9999-12-31T23:59:59.999999Z``, the latest time the log accepts, in microseconds since the epoch.
MAX_MICROS = 253_402_300_799_999_999
RANGE_TEXT = "0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z"
#: The longest text ``datetime.fromisoformat`` reads as a date alone (``2024-05-01``); any form with a
#: time of day is longer.
_DATE_ONLY_LENGTH = 10


class TimeOutOfRange(ValueError):
    """A well-formed date-time whose UTC value falls outside ``MIN_MICROS`` .. ``MAX_MICROS``."""


def _micros(value: datetime) -> int:
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def parse_time(text: str) -> int:
    """Parse an ISO 8601 date-time into UTC microseconds; a time without offset is taken as UTC.

    Raises ``ValueError`` when ``text`` is not a date-time, and :class:`TimeOutOfRange` (a
    ``ValueError``) when it is one outside the range every reader can print (:data:`RANGE_TEXT`).
    """
    return parse_time_noting(text)[0]


def parse_time_noting(text: str) -> tuple[int, str | None]:
    """:func:`parse_time`, and what is vague about ``text``: no time zone, or no time of day.

    The note is ``None`` for a full date-time with an offset (``2024-05-01T12:00:00Z``, ``…+02:00``).
    OpenLineage asks for both; without them the time is taken as midnight and as UTC, which may not be
    what the producer meant, so ingest reports the note as a problem of the event (and keeps it).
    """
    value = datetime.fromisoformat(text)
    note = None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
        if len(text) <= _DATE_ONLY_LENGTH:
            note = f"{text!r} is a date without a time of day or time zone; it is taken as midnight UTC"
        else:
            note = f"{text!r} has no time zone (such as Z or +02:00); it is taken as UTC"
    micros = _micros(value)
    if micros > MAX_MICROS:
        msg = f"{text!r} is after 9999-12-31T23:59:59.999999Z in UTC; times must lie in {RANGE_TEXT}"
        raise TimeOutOfRange(msg)
    if micros < MIN_MICROS:
        msg = f"{text!r} is before 0001-01-01T00:00:00Z in UTC; times must lie in {RANGE_TEXT}"
        raise TimeOutOfRange(msg)
    return micros, note


def to_datetime(micros: int) -> datetime:
    """Turn stored microseconds back into an aware UTC datetime, exactly (integer arithmetic).

    A value outside the accepted range is clamped to its nearest end rather than failing.
    """
    return _EPOCH + timedelta(microseconds=min(max(micros, MIN_MICROS), MAX_MICROS))


def format_time(micros: int | None) -> str | None:
    """Format stored microseconds as ISO 8601 UTC with a ``Z`` suffix (Marquez's style)."""
    if micros is None:
        return None
    return to_datetime(micros).isoformat(timespec="microseconds").replace("+00:00", "Z")


def now_micros() -> int:
    """The current time in UTC microseconds."""
    return _micros(datetime.now(UTC))
