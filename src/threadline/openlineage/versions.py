"""OpenLineage spec versions and the event kinds they define."""

from __future__ import annotations

import re
from enum import IntEnum, StrEnum

#: Every published version of the core spec that threadline accepts.
SPEC_VERSIONS: tuple[str, ...] = (
    "1-0-0",
    "1-0-1",
    "1-0-2",
    "1-0-3",
    "1-0-4",
    "1-0-5",
    "2-0-0",
    "2-0-1",
    "2-0-2",
)
RUN_EVENT, DATASET_EVENT, JOB_EVENT = "RunEvent", "DatasetEvent", "JobEvent"


class RunPhase(IntEnum):
    """Where in its life an event puts a run: started, running, ended. Ordered, so that of two events
    at the same time the later phase wins (a run that started and ended in the same microsecond has
    ended)."""

    STARTED = 1
    RUNNING = 2
    ENDED = 3


class EventType(StrEnum):
    """The ``eventType`` of a RunEvent, as OpenLineage spells it (a ``str``: ``EventType.COMPLETE ==
    "COMPLETE"``). The state a run is in after one is :class:`threadline.vocabulary.RunState`."""

    START = "START"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    ABORT = "ABORT"
    FAIL = "FAIL"
    OTHER = "OTHER"

    @property
    def phase(self) -> RunPhase | None:
        """The phase of the run's life this event marks; none for OTHER (it says nothing of it)."""
        return _PHASES.get(self)

    @property
    def is_terminal(self) -> bool:
        """Whether the run has ended after it: COMPLETE, ABORT or FAIL."""
        return self in TERMINAL_TYPES


_PHASES = {
    EventType.START: RunPhase.STARTED,
    EventType.RUNNING: RunPhase.RUNNING,
    EventType.COMPLETE: RunPhase.ENDED,
    EventType.ABORT: RunPhase.ENDED,
    EventType.FAIL: RunPhase.ENDED,
}
#: Every event type's text, in the spec's order (plain strings: ingest checks each event against them).
EVENT_TYPES: tuple[str, ...] = tuple(t.value for t in EventType)
#: The event types that end a run.
TERMINAL_TYPES: frozenset[EventType] = frozenset(t for t, phase in _PHASES.items() if phase is RunPhase.ENDED)
#: The phase of each event type, by its text (for code that reads types as text from the store).
PHASE_OF: dict[str, RunPhase] = {t.value: phase for t, phase in _PHASES.items()}

_SPEC_URL = re.compile(r"/spec/(\d+-\d+-\d+)/OpenLineage\.json(?:#/(?:\$defs|definitions)/(\w+))?")


def parse_schema_url(url: str | None) -> tuple[str | None, str | None]:
    """Return ``(version, kind)`` from an event's ``schemaURL``; either may be ``None`` when absent."""
    if not url:
        return None, None
    match = _SPEC_URL.search(url)
    if match is None:
        return None, None
    return match.group(1), match.group(2)
