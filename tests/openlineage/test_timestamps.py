"""Event times are integers end to end, and every time the log accepts is one every reader can print."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from threadline.errors import InvalidEvent
from threadline.openlineage.events import parse_event
from threadline.openlineage.timestamps import format_time, parse_time, to_datetime

#: 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z in microseconds since the epoch.
MIN_MICROS = -62_135_596_800_000_000
MAX_MICROS = 253_402_300_799_999_999
RUN_EVENT = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"


def _event(event_time: str) -> bytes:
    doc = {
        "eventType": "COMPLETE",
        "eventTime": event_time,
        "producer": "https://example.com/tests",
        "schemaURL": RUN_EVENT,
        "run": {"runId": "3f5e8a9c-1d2b-4c6e-8f0a-9b7c6d5e4f3a"},
        "job": {"namespace": "times", "name": "job"},
    }
    return json.dumps(doc).encode()


def test_the_ends_of_the_range_are_the_ends_of_the_calendar() -> None:
    assert parse_time("0001-01-01T00:00:00Z") == MIN_MICROS
    assert parse_time("9999-12-31T23:59:59.999999Z") == MAX_MICROS
    assert format_time(MAX_MICROS) == "9999-12-31T23:59:59.999999Z"
    assert format_time(MIN_MICROS) == "0001-01-01T00:00:00.000000Z"


@pytest.mark.parametrize(
    "text",
    [
        "9999-12-31T23:59:59.999999Z",
        "9999-12-31T23:59:59+00:00",
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00-14:00",
    ],
)
def test_times_at_the_ends_are_accepted_and_print_back(text: str) -> None:
    micros = parse_event(_event(text)).event_time
    assert parse_time(format_time(micros)) == micros  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("9999-12-31T23:59:59-14:00", "after 9999-12-31T23:59:59.999999Z"),
        ("9999-12-31T23:59:59.999999-00:01", "after 9999-12-31T23:59:59.999999Z"),
        ("0001-01-01T00:00:00+14:00", "before 0001-01-01T00:00:00Z"),
        ("0001-01-01T00:00:00.000000+00:00:01", "before 0001-01-01T00:00:00Z"),
    ],
)
def test_a_time_outside_the_range_is_refused_naming_eventtime(text: str, words: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        parse_event(_event(text))
    assert caught.value.field == "eventTime"
    assert words in caught.value.message
    assert "eventTime" in caught.value.message
    with pytest.raises(ValueError, match="times must lie in"):
        parse_time(text)


def test_to_datetime_is_exact_where_a_float_rounds() -> None:
    # 253402300799.999999 is not a float: it rounds up to the next second, in year 10000.
    assert to_datetime(MAX_MICROS) == datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
    assert to_datetime(1_700_000_000_999_999).microsecond == 999_999
    assert to_datetime(-1) == datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)


@given(st.integers(min_value=-(10**20), max_value=10**20))
def test_no_stored_time_fails_to_print(micros: int) -> None:
    # A store written before the range check may hold any time: readers clamp it, never fail.
    text = format_time(micros)
    assert text is not None
    assert MIN_MICROS <= parse_time(text) <= MAX_MICROS


@given(st.integers(min_value=MIN_MICROS, max_value=MAX_MICROS))
def test_every_accepted_time_prints_and_reads_back_exactly(micros: int) -> None:
    assert parse_time(format_time(micros)) == micros  # type: ignore[arg-type]


@given(
    st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.sampled_from(
            [UTC, *(timezone(timedelta(minutes=m)) for m in (-840, -330, 0, 345, 840))]
        ),
    )
)
def test_any_offset_parses_to_the_same_instant(value: datetime) -> None:
    micros = parse_time(value.isoformat())
    assert to_datetime(micros) == value


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("2024-05-01", "a date without a time of day"),
        ("20240501", "a date without a time of day"),
        ("2024-05-01T12:00:00", "no time zone"),
        ("2024-05-01 12:00", "no time zone"),
    ],
)
def test_a_vague_event_time_is_kept_and_reported_as_a_problem(text: str, words: str) -> None:
    parsed = parse_event(_event(text))
    assert parsed.event_time == parse_time(text)
    assert [(p.path, p.facet) for p in parsed.problems] == [("eventTime", "eventTime")]
    assert words in parsed.problems[0].message
    assert "taken as" in parsed.problems[0].message


@pytest.mark.parametrize(
    "text", ["2024-05-01T12:00:00Z", "2024-05-01T12:00:00.123+02:00", "2024-05-01T12:00:00-05:30"]
)
def test_a_full_event_time_is_no_problem(text: str) -> None:
    assert parse_event(_event(text)).problems == []
