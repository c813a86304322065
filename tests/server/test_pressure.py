"""Back-pressure's decisions and the projection backlog it samples, on every backend."""

from __future__ import annotations

import time

import pytest

from tests.server.helpers import make_event
from threadline.errors import Overloaded
from threadline.openlineage.events import parse_event
from threadline.projection import project_all
from threadline.server.pressure import Backlog, BackPressure, projection_backlog


def test_the_backlog_counts_unfolded_events_and_ages_the_oldest(store) -> None:
    assert projection_backlog(store) == Backlog(0, 0.0)
    events = [parse_event(make_event(job=f"j{i}")) for i in range(5)]
    store.append(events)
    store.append(events[:3])  # duplicates: on PostgreSQL they take sequence numbers, not rows
    store.append([parse_event(make_event(job="late"))])
    time.sleep(0.05)
    backlog = projection_backlog(store)
    assert backlog.events == 6
    assert 0.05 <= backlog.seconds < 30
    project_all(store)
    assert projection_backlog(store) == Backlog(0, 0.0)
    store.append([parse_event(make_event(job="after"))])
    assert projection_backlog(store).events == 1


class _Store:
    """Only what :class:`BackPressure` touches of a store, for its decisions alone."""


def _pressure(depth: list[int], backlog: Backlog, **limits: float) -> BackPressure:
    pressure = BackPressure(
        _Store(),  # type: ignore[arg-type]
        lambda: depth[0],
        max_queue=int(limits.get("max_queue", 100)),
        max_lag_seconds=limits.get("max_lag_seconds", 60.0),
        backlog=lambda _store: backlog,
    )
    pressure.sample()
    return pressure


def test_a_full_queue_is_refused_with_retry_after_one_second() -> None:
    depth = [99]
    pressure = _pressure(depth, Backlog(0, 0.0))
    pressure.check()
    assert pressure.active() is None
    depth[0] = 100
    with pytest.raises(Overloaded, match="max_writer_queue") as refused:
        pressure.check()
    assert (refused.value.status, refused.value.retry_after, refused.value.reason) == (503, 1, "writer_queue")
    assert pressure.status()["active"] is True
    assert pressure.status()["refused"] == {"writer_queue": 1, "projection_lag": 0}
    depth[0] = 0
    pressure.check()


@pytest.mark.parametrize(("lag", "retry_after"), [(60.0, 1), (62.5, 3), (600.0, 10)])
def test_a_long_lag_is_refused_for_as_long_as_it_is_over(lag: float, retry_after: int) -> None:
    pressure = _pressure([0], Backlog(5000, lag), max_lag_seconds=60.0)
    with pytest.raises(Overloaded, match="max_projection_lag") as refused:
        pressure.check()
    assert refused.value.retry_after == retry_after
    assert pressure.active() == "projection_lag"


def test_zero_means_no_limit() -> None:
    pressure = _pressure([10**9], Backlog(10**9, 10**6), max_queue=0, max_lag_seconds=0)
    pressure.check()
    assert pressure.active() is None
    assert pressure.status()["active"] is False


def test_a_store_that_refuses_writes_is_not_taken_for_a_lagging_one() -> None:
    """The projector cannot fold into a read-only store: its writes say why (503, read-only), not
    back-pressure."""
    pressure = _pressure([0], Backlog(5000, 600.0), max_lag_seconds=60.0)
    pressure.store.write_problem = "the file is read-only"  # type: ignore[attr-defined]
    pressure.check()
    assert pressure.active() is None
