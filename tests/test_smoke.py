"""The store opens on each backend and round-trips an event."""

from __future__ import annotations

from threadline.openlineage.events import parse_event


def test_append_and_read_back(store, example_events: list[bytes]) -> None:
    event = parse_event(example_events[0])
    result = store.append([event])
    assert result.inserted == [event.id]
    assert store.get_event(event.id).raw == example_events[0]
