"""Runs are found by id, by ``run:<id>`` and by a unique prefix."""

from __future__ import annotations

import pytest

from tests.projection.helpers import feed, run_event, run_id
from threadline.errors import BadRequest, NotFound
from threadline.store.run_ids import resolve_run_id, short_run_ids


def test_full_id_prefix_and_node_id(store) -> None:
    feed(store, [run_event("COMPLETE", 10, 1)])
    full = run_id(1)
    with store.read() as connection:
        assert resolve_run_id(connection, full) == full
        assert resolve_run_id(connection, f"run:{full}") == full
        assert resolve_run_id(connection, full.upper()) == full
        assert resolve_run_id(connection, full[:8]) == full


def test_ambiguous_unknown_and_too_short(store) -> None:
    feed(store, [run_event("COMPLETE", 10, 1), run_event("COMPLETE", 11, 2)])
    with store.read() as connection:
        with pytest.raises(BadRequest, match="ambiguous"):
            resolve_run_id(connection, run_id(1)[:-1])  # the two ids differ in the last digit only
        with pytest.raises(NotFound, match="threadline runs"):
            resolve_run_id(connection, "ffffffff")
        with pytest.raises(BadRequest, match="too short"):
            resolve_run_id(connection, "ab")


#: UUIDv7 ids, as the OpenLineage client makes them: the first 12 digits are the time in milliseconds,
#: so runs made within a minute share their first 8 digits.
UUID7 = [
    "01a248e6-1b2c-7d3e-8f00-aaaaaaaaaaa1",
    "01a248e6-1b2c-7d3e-8f00-aaaaaaaaaaa2",
    "01a248e6-77aa-7000-8000-000000000001",
    "01a248e7-0000-7000-8000-000000000001",
]


def _uuid7_runs() -> list[dict]:
    events = []
    for index, full in enumerate(UUID7):
        event = run_event("COMPLETE", 10 + index, job=f"model_{index}")
        event["run"]["runId"] = full
        events.append(event)
    return events


def test_short_ids_are_the_shortest_unique_prefixes(store) -> None:
    feed(store, _uuid7_runs())
    with store.read() as connection:
        short = short_run_ids(connection, [*UUID7, "01a248e7-ffff-7000-8000-000000000009"])
        assert short == {
            UUID7[0]: UUID7[0],  # differs from the next in its last digit only
            UUID7[1]: UUID7[1],
            UUID7[2]: "01a248e6-7",  # past the dash, never ending on it
            UUID7[3]: "01a248e7",  # at least 8 characters
            "01a248e7-ffff-7000-8000-000000000009": "01a248e7-f",  # not a run, told from the runs
        }
        # every short id is accepted back
        for full, prefix in short.items():
            if full in UUID7:
                assert resolve_run_id(connection, prefix) == full


def test_an_ambiguous_prefix_names_the_runs_it_starts(store) -> None:
    feed(store, _uuid7_runs())
    with store.read() as connection, pytest.raises(BadRequest) as raised:
        resolve_run_id(connection, "01A248E6")
    message = raised.value.message
    assert message.startswith("run id '01a248e6' is ambiguous: it starts 3 runs: ")
    assert f"{UUID7[0]} (model_0, 2024-05-01 12:00:10Z)" in message
    assert "01a248e6-7 (model_2, 2024-05-01 12:00:12Z)" in message
    assert message.endswith("Give more of the id")
