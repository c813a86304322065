"""Traversals up, down, both ways and undirected, to a depth; the index and SQL agree."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.graph.helpers import D, J, chain, step
from tests.projection.helpers import feed, micros
from threadline.errors import BadRequest
from threadline.graph.index import LineageIndex
from threadline.graph.model import DIRECTIONS
from threadline.graph.traverse import lineage


def _both(store, start, **options):
    """The answer from SQL and from the index, which must be equal."""
    with store.read() as connection:
        by_sql = lineage(connection, start, **options)
    index = LineageIndex(store)
    index.refresh()
    assert index.usable()
    by_index = lineage(index, start, **options)
    assert by_index.distances == by_sql.distances
    assert by_index.edges == by_sql.edges
    return by_sql


def test_upstream_downstream_and_depth(store) -> None:
    feed(store, chain())
    up = _both(store, D("model"), direction="upstream", depth=None)
    assert up.distances == {
        D("model"): 0,
        J("train"): 1,
        D("c"): 2,
        J("clean"): 3,
        D("b"): 4,
        J("extract"): 5,
        D("a"): 6,
    }
    assert (J("train"), D("model")) in up.edges
    assert (D("c"), J("train")) in up.edges
    down = _both(store, D("b"), direction="downstream", depth=None)
    assert set(down.distances) == {
        D("b"),
        J("clean"),
        D("c"),
        J("train"),
        D("model"),
        J("audit"),
        D("report"),
    }
    assert _both(store, D("b"), direction="downstream", depth=2).distances == {
        D("b"): 0,
        J("clean"): 1,
        J("audit"): 1,
        D("c"): 2,
        D("report"): 2,
    }
    assert _both(store, D("b"), direction="downstream", depth=0).distances == {D("b"): 0}


def test_both_is_up_and_down_but_undirected_reaches_siblings(store) -> None:
    feed(store, chain())
    both = _both(store, D("c"), direction="both", depth=None)
    assert D("report") not in both.distances  # a sibling branch: neither up nor down of c
    assert {D("a"), D("model")} <= set(both.distances)
    undirected = _both(store, D("c"), direction="undirected", depth=None)
    assert D("report") in undirected.distances
    assert undirected.distances[D("report")] == 4  # c <- clean <- b -> audit -> report


def test_an_unknown_or_isolated_node_is_its_own_lineage(store) -> None:
    feed(store, chain())
    assert _both(store, D("nowhere"), direction="both").distances == {D("nowhere"): 0}


def test_bad_arguments(store) -> None:
    with store.read() as connection:
        with pytest.raises(BadRequest, match="direction"):
            lineage(connection, D("a"), direction="sideways")
        with pytest.raises(BadRequest, match="depth"):
            lineage(connection, D("a"), depth=-1)


def test_a_replaced_producer_is_no_longer_upstream(store) -> None:
    feed(
        store,
        [
            step("old_loader", 1, 10, ["src"], ["x"]),
            step("new_loader", 2, 20, ["src2"], ["x"]),
            step("old_loader", 3, 30, ["src"], ["y"]),  # the old job now writes something else
        ],
    )
    producers = {
        n for n, d in _both(store, D("x"), direction="upstream", depth=1).distances.items() if d == 1
    }
    assert producers == {J("new_loader")}


def test_as_of_shows_the_producer_of_the_time(store) -> None:
    feed(
        store,
        [
            step("old_loader", 1, 10, ["src"], ["x"]),
            step("new_loader", 2, 20, ["src2"], ["x"]),
            step("old_loader", 3, 30, ["src"], ["y"]),
        ],
    )

    def producers(second: int) -> set:
        answer = _as_of(store, D("x"), micros(second))
        return {node for node, distance in answer.distances.items() if distance == 1}

    assert producers(5) == set()
    assert producers(15) == {J("old_loader")}
    assert producers(25) == {J("old_loader"), J("new_loader")}  # both were writing x then
    assert producers(35) == {J("new_loader")}


def _as_of(store, start, as_of):
    with store.read() as connection:
        by_sql = lineage(connection, start, direction="upstream", depth=1, as_of=as_of)
    index = LineageIndex(store)
    index.refresh()
    by_index = lineage(index, start, direction="upstream", depth=1, as_of=as_of)
    assert by_index.distances == by_sql.distances
    return by_sql


def test_as_of_now_equals_the_current_graph(store, example_events, conformance: Path, walk_mode: str) -> None:
    raws = list(example_events) + [
        p.read_bytes() for p in sorted(conformance.glob("scenarios/*/events/*.json"))
    ]
    feed(store, raws)
    index = LineageIndex(store)
    index.refresh()
    with store.read() as connection:
        nodes = [(r[0], r[1]) for r in connection.exec_driver_sql("SELECT 'dataset', id FROM datasets")]
        nodes += [(r[0], r[1]) for r in connection.exec_driver_sql("SELECT 'job', id FROM jobs")]
        from threadline.graph.model import Node

        for kind, entity in nodes:
            start = Node(kind, entity)
            for direction in DIRECTIONS:
                now = lineage(connection, start, direction=direction, depth=None)
                far_future = lineage(connection, start, direction=direction, depth=None, as_of=2**62)
                indexed = lineage(index, start, direction=direction, depth=None)
                assert far_future.distances == now.distances == indexed.distances, (start, direction)
                assert far_future.edges == now.edges == indexed.edges


@pytest.fixture(params=["node by node", "with arrays"])
def walk_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with walks node by node, and again with walks switching to arrays at once."""
    if request.param == "with arrays":
        monkeypatch.setattr("threadline.graph.index.ARRAY_WALK_FROM", 1)
    return request.param


def test_the_index_follows_new_events_and_agrees_with_sql(store, walk_mode: str) -> None:
    rng = random.Random(7)
    index = LineageIndex(store)
    datasets = [f"d{i}" for i in range(40)]
    run = 0
    for round_number in range(6):
        events = []
        for job_number in range(12):
            run += 1
            inputs = rng.sample(datasets, rng.randint(0, 3))
            outputs = rng.sample(datasets, rng.randint(1, 2))
            state = rng.choice(["COMPLETE", "COMPLETE", "START", "FAIL"])
            events.append(
                step(f"job{job_number}", run, round_number * 100 + job_number, inputs, outputs, state)
            )
        feed(store, events)
        index.refresh()
        with store.read() as connection:
            for name in rng.sample(datasets, 8):
                for direction in DIRECTIONS:
                    by_sql = lineage(connection, D(name), direction=direction, depth=None)
                    by_index = lineage(index, D(name), direction=direction, depth=None)
                    assert by_index.distances == by_sql.distances
                    assert by_index.edges == by_sql.edges
    assert index.builds == 1  # kept current through the overlay, never rebuilt


def test_an_index_not_built_or_far_behind_answers_with_sql(store, monkeypatch: pytest.MonkeyPatch) -> None:
    feed(store, chain())
    index = LineageIndex(store)
    assert not index.usable()  # not built: questions do not wait for it
    assert set(lineage(index, D("model"), direction="upstream", depth=None).distances) >= {D("a")}
    index.refresh()
    assert index.usable()
    monkeypatch.setattr("threadline.graph.index.INLINE_CATCH_UP", 0)
    feed(store, [step("publish", 9, 40, ["model"], ["dashboard"])])
    assert not index.usable()  # behind: SQL answers, and sees the new edge
    assert D("dashboard") in lineage(index, D("a"), direction="downstream", depth=None).distances


def test_a_server_index_trusts_its_last_look_until_told_of_a_change(store) -> None:
    """With ``mark_check_seconds`` (as a server has it) a walk does not ask the store for its mark
    again within that time; the server's projector says ``changed()`` after each fold."""
    feed(store, chain())
    index = LineageIndex(store, mark_check_seconds=3600)
    index.refresh()
    assert D("dashboard") not in lineage(index, D("a"), direction="downstream", depth=None).distances
    feed(store, [step("publish", 9, 40, ["model"], ["dashboard"])])
    assert D("dashboard") not in lineage(index, D("a"), direction="downstream", depth=None).distances
    index.changed()
    assert D("dashboard") in lineage(index, D("a"), direction="downstream", depth=None).distances
