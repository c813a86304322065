"""Folding small appends in their own transaction (what the server does for single events) gives the
same projections as the projector folding the log afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.projection.helpers import state
from threadline.openlineage.events import parse_event
from threadline.projection import project_all
from threadline.projection.projector import fold_appended


@pytest.fixture(scope="module")
def stream(example_events: list[bytes], conformance: Path) -> list[bytes]:
    """The example pipeline's events and every conformance scenario's."""
    scenarios = sorted((conformance / "scenarios").glob("*/events/*.json"))
    return list(example_events) + [path.read_bytes() for path in scenarios]


def test_appends_folded_in_their_transaction_match_the_projector(store, new_store, stream) -> None:
    # Newest first, in chunks of 1 to 4 with a repeat now and then; every seventh chunk is appended
    # without folding, so later chunks find the projections behind and must leave them to the projector.
    arrivals = list(reversed(stream)) + stream[::5]
    position, step, inline = 0, 0, 0
    while position < len(arrivals):
        chunk = [parse_event(raw) for raw in arrivals[position : position + 1 + step % 4]]
        position += len(chunk)
        step += 1
        if step % 7 == 0:
            assert not store.append(chunk).projected
            continue
        result = store.append(chunk, then=fold_appended(store, chunk))
        inline += result.projected
        if not result.projected:
            project_all(store)
        assert result.head > 0
    project_all(store)
    assert inline > len(arrivals) // 8  # most chunks were folded with their append
    reference = new_store()
    reference.append([parse_event(raw) for raw in stream])
    project_all(reference)
    assert store.projection_lag() == 0
    assert state(store) == state(reference)


def test_an_append_behind_the_projector_is_not_folded(store, stream) -> None:
    first = [parse_event(stream[0])]
    store.append(first)  # not folded: the projections are now behind the log
    second = [parse_event(stream[1])]
    result = store.append(second, then=fold_appended(store, second))
    assert not result.projected
    assert store.projection_lag() == 2
