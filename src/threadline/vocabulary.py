"""One vocabulary for runs: how states, durations, times and short run ids are spelled.

- **Run states** are Marquez's in every JSON answer and output (``NEW``, ``RUNNING``, ``COMPLETED``,
  ``FAILED``, ``ABORTED``: :class:`RunState`), and the same words in lower case wherever people read
  them (the CLI's tables, the web UI's pills): ``completed``, ``failed``. OpenLineage's *event types*
  (``START``, ``RUNNING``, ``COMPLETE``, ``FAIL``, ``ABORT``, ``OTHER``: :class:`EventType`) are
  another thing: they name events, and are shown as OpenLineage spells them where events are listed.
  The projections keep a run's latest typed event; :meth:`RunState.of` is the one map from it to the
  run's state, and :attr:`EventType.phase` (:class:`RunPhase`) places it in the run's life.
- **Durations** for people: ``850 ms``, ``12.3 s``, ``4 min 05 s``, ``2 h 01 min``
  (:func:`format_duration`; the web UI's ``formatDuration`` spells them the same, and a browser test
  checks it). JSON gives numbers (``durationMs``).
- **Times**: every JSON answer and output writes ISO 8601 in UTC, ``2026-12-06T01:06:17.123456Z``
  (:func:`iso_time`); the CLI's tables write ``2026-12-06 01:06:17Z`` (:func:`people_time`); the web
  UI writes them in the browser's time zone.
- **Short run ids** are the shortest prefix of the id that no other run of the store shares, and at
  least :data:`SHORT_ID_LENGTH` characters (``store.run_ids.short_run_ids`` computes them); any unique
  prefix is accepted back wherever a run id is.
"""

from __future__ import annotations

from enum import StrEnum

from threadline.openlineage.timestamps import format_time, to_datetime
from threadline.openlineage.versions import TERMINAL_TYPES, EventType, RunPhase

__all__ = [
    "SHORT_ID_LENGTH",
    "TERMINAL_TYPES",
    "EventType",
    "RunPhase",
    "RunState",
    "format_duration",
    "iso_time",
    "people_time",
    "short_id_length",
    "state_label",
]

#: The shortest short run id shown (UUIDv7 ids share more than their first 8 digits only when made
#: within about a minute of each other; then they are shown longer).
SHORT_ID_LENGTH = 8


class RunState(StrEnum):
    """A run's state, as Marquez names it."""

    NEW = "NEW"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    ABORTED = "ABORTED"

    @classmethod
    def of(cls, event_type: str | None) -> RunState:
        """The state a run is in after an event of OpenLineage type ``event_type`` (the projections
        keep that type): START and RUNNING are RUNNING, COMPLETE COMPLETED, FAIL FAILED, ABORT
        ABORTED; no typed event yet is NEW."""
        return _OF_EVENT_TYPE.get(event_type or "", cls.NEW)

    @classmethod
    def parse(cls, text: str) -> RunState:
        """A state typed by someone: Marquez's word or OpenLineage's event type, in any case.

        Raises ``ValueError`` naming the states when ``text`` is none of them.
        """
        wanted = text.strip().upper()
        if wanted in cls.__members__:
            return cls[wanted]
        if wanted in _OF_EVENT_TYPE:
            return _OF_EVENT_TYPE[wanted]
        msg = f"state must be one of {', '.join(s.label for s in cls)}, got {text!r}"
        raise ValueError(msg)

    @property
    def label(self) -> str:
        """The state for people: ``completed``, ``failed``, ``running``, ``aborted``, ``new``."""
        return self.value.lower()

    @property
    def event_types(self) -> tuple[EventType, ...]:
        """The OpenLineage event types that leave a run in this state (none for NEW)."""
        return tuple(EventType(event) for event, state in _OF_EVENT_TYPE.items() if state is self)

    @property
    def is_terminal(self) -> bool:
        """Whether a run in this state has ended (COMPLETED, FAILED, ABORTED)."""
        return any(event in TERMINAL_TYPES for event in self.event_types)


#: The one map from a run's latest typed event to its state (OTHER says nothing of the state).
_OF_EVENT_TYPE: dict[str, RunState] = {
    EventType.START: RunState.RUNNING,
    EventType.RUNNING: RunState.RUNNING,
    EventType.COMPLETE: RunState.COMPLETED,
    EventType.FAIL: RunState.FAILED,
    EventType.ABORT: RunState.ABORTED,
}


def state_label(event_type: str | None) -> str:
    """The state of a run whose latest typed event is ``event_type``, for people (``completed``)."""
    return RunState.of(event_type).label


def format_duration(micros: int | None) -> str:
    """A duration for people: ``850 ms``, ``12.3 s``, ``4 min 05 s``, ``2 h 01 min`` ("" when unknown).

    Worked out in whole milliseconds and integer rounding (halves up), as the web UI's
    ``formatDuration`` does from the API's ``durationMs``, so that both spell a duration alike.
    """
    if micros is None:
        return ""
    ms = micros // 1000
    if ms < 1000:
        return f"{ms} ms"
    tenths = (ms + 50) // 100
    if tenths < 600:
        return f"{tenths // 10}.{tenths % 10} s"
    minutes, seconds = divmod((ms + 500) // 1000, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def iso_time(micros: int | None) -> str | None:
    """A time for JSON: ISO 8601 in UTC with microseconds, ``2026-12-06T01:06:17.000000Z``."""
    return format_time(micros)


def people_time(micros: int | None) -> str:
    """A time for the CLI's tables: ``2026-12-06 01:06:17Z`` (UTC; "" when unknown)."""
    if micros is None:
        return ""
    return to_datetime(micros).strftime("%Y-%m-%d %H:%M:%SZ")


def short_id_length(run_id: str, neighbours: tuple[str | None, ...]) -> int:
    """How many characters of ``run_id`` tell it from its ``neighbours`` (the ids just before and after
    it in sorted order): at least :data:`SHORT_ID_LENGTH`, never ending on a dash."""
    shared = 0
    for other in neighbours:
        if other is None:
            continue
        common = 0
        for mine, theirs in zip(run_id, other, strict=False):
            if mine != theirs:
                break
            common += 1
        shared = max(shared, common)
    length = max(SHORT_ID_LENGTH, shared + 1)
    while length < len(run_id) and run_id[length - 1] == "-":
        length += 1
    return min(length, len(run_id))
