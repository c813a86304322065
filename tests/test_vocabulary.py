"""One vocabulary: run states (Marquez's words; lower case for people), durations, times, short ids."""

from __future__ import annotations

import typing

import pytest

from threadline.openlineage import envelope
from threadline.openlineage.versions import PHASE_OF
from threadline.vocabulary import (
    TERMINAL_TYPES,
    EventType,
    RunPhase,
    RunState,
    format_duration,
    iso_time,
    people_time,
    short_id_length,
    state_label,
)

#: (milliseconds, how people read them): the web UI's formatDuration must agree (tests/web/test_ui.py).
DURATIONS = [
    (0, "0 ms"),
    (850, "850 ms"),
    (999, "999 ms"),
    (1000, "1.0 s"),
    (12_249, "12.2 s"),
    (12_250, "12.3 s"),  # halves round up, as in JavaScript
    (59_949, "59.9 s"),
    (59_950, "1 min 00 s"),
    (515_000, "8 min 35 s"),
    (3_599_400, "59 min 59 s"),
    (3_599_500, "1 h 00 min"),
    (7_260_000, "2 h 01 min"),
]


@pytest.mark.parametrize(("ms", "text"), DURATIONS)
def test_durations_are_spelled_one_way(ms: int, text: str) -> None:
    assert format_duration(ms * 1000) == text
    assert format_duration(ms * 1000 + 999) == text  # whole milliseconds, as the API's durationMs


def test_an_unknown_duration_is_empty() -> None:
    assert format_duration(None) == ""


def test_states_are_marquez_words_and_lower_case_for_people() -> None:
    assert [RunState.of(t) for t in ("START", "RUNNING", "COMPLETE", "FAIL", "ABORT", None, "OTHER")] == [
        "RUNNING",
        "RUNNING",
        "COMPLETED",
        "FAILED",
        "ABORTED",
        "NEW",
        "NEW",
    ]
    assert RunState.COMPLETED.label == "completed"
    assert state_label("FAIL") == "failed"
    assert RunState.RUNNING.event_types == ("START", "RUNNING")
    assert RunState.NEW.event_types == ()


@pytest.mark.parametrize("typed", ["completed", "COMPLETED", "complete", " Complete "])
def test_a_state_is_read_in_either_spelling_and_any_case(typed: str) -> None:
    assert RunState.parse(typed) is RunState.COMPLETED


def test_an_unknown_state_names_the_states() -> None:
    with pytest.raises(ValueError, match="state must be one of new, running, completed, failed, aborted"):
        RunState.parse("sleeping")


def test_times_iso_for_programs_and_short_for_people() -> None:
    micros = 1_796_519_177_000_000 + 123
    assert iso_time(micros) == "2026-12-06T01:06:17.000123Z"
    assert people_time(micros) == "2026-12-06 01:06:17Z"
    assert iso_time(None) is None
    assert people_time(None) == ""


def test_short_ids_are_unique_and_never_end_on_a_dash() -> None:
    run = "01a248e6-1b2c-7d3e-8f00-000000000001"
    assert short_id_length(run, (None, None)) == 8
    assert short_id_length(run, ("01a248e5-ffff-7000-8000-000000000000", None)) == 8
    # shares its first 8 digits with a neighbour: one more digit, past the dash
    assert run[: short_id_length(run, ("01a248e6-0000-7000-8000-000000000000", None))] == "01a248e6-1"
    assert short_id_length(run, (None, "01a248e6-1b2c-7d3e-8f00-000000000002")) == 36


def test_event_types_are_spelled_once() -> None:
    """The envelope's decoder, the terminal set and the phases all come from EventType."""
    (literal, _none) = typing.get_args(typing.get_type_hints(envelope._RunEvent)["eventType"])
    assert typing.get_args(literal) == tuple(t.value for t in EventType)
    assert {t for t in EventType if t.is_terminal} == TERMINAL_TYPES == {"COMPLETE", "FAIL", "ABORT"}
    assert {t for t in EventType if t.phase is None} == {EventType.OTHER}
    assert set(PHASE_OF) == {t.value for t in EventType if t.phase is not None}


def test_the_run_lifecycle_is_ordered() -> None:
    assert RunPhase.STARTED < RunPhase.RUNNING < RunPhase.ENDED
    assert EventType.START.phase is RunPhase.STARTED
    assert all(t.phase is RunPhase.ENDED for t in TERMINAL_TYPES)


@pytest.mark.parametrize("event_type", list(EventType))
def test_every_event_type_has_one_state(event_type: EventType) -> None:
    state = RunState.of(event_type)
    assert state.is_terminal == event_type.is_terminal
    assert state is RunState.NEW or event_type in state.event_types
    assert RunState.of(event_type.value) is state  # text from the store reads the same
