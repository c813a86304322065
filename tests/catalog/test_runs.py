"""Runs are found by id, by ``run:<id>`` and by a unique prefix."""

from __future__ import annotations

import pytest

from tests.projection.helpers import feed, run_event, run_id
from threadline.catalog.runs import resolve_run_id
from threadline.errors import BadRequest, NotFound


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
