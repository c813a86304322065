"""The reads of the lineage projections (``LineageReads``), on every backend."""

from __future__ import annotations

from tests.graph.helpers import step
from tests.projection.helpers import ds, feed, micros, parent_facet, run_event, run_id
from threadline.store.ids import dataset_id, job_id
from threadline.store.lineage_sql import lineage_reads


def _sorted(edges: dict[int, list[tuple[int, str]]]) -> dict[int, list[tuple[int, str]]]:
    return {job: sorted(pairs) for job, pairs in edges.items()}


def test_current_edges_are_the_current_runs_and_unknown_jobs_are_left_out(store) -> None:
    feed(
        store,
        [
            step("loader", 1, 10, ["src"], ["x"]),
            step("loader", 2, 20, ["src"], ["y"]),  # the current run writes y, no longer x
            run_event("COMPLETE", 30, 3, job="idle"),  # ran, read and wrote nothing
        ],
    )
    loader, idle = job_id("ns", "loader"), job_id("ns", "idle")
    src, y = dataset_id("db", "src"), dataset_id("db", "y")
    with store.read() as connection:
        reads = lineage_reads(connection)
        some = reads.current_edges_of([loader, idle, 12345])
        every = reads.all_current_edges()
        outputs = reads.current_job_edges([loader], "out")
        writers = reads.current_dataset_edges([y, dataset_id("db", "x")], "out")
    assert _sorted(some) == {loader: sorted([(src, "in"), (y, "out")]), idle: []}
    assert _sorted(every) == {loader: sorted([(src, "in"), (y, "out")])}
    assert [tuple(row) for row in outputs] == [(loader, y, "out")]
    assert [tuple(row) for row in writers] == [(loader, y)]


def test_as_of_reads_see_what_was_reported_by_then(store) -> None:
    feed(store, [step("loader", 1, 10, ["src"], ["x"]), step("loader", 2, 20, ["src"], ["y"])])
    loader = job_id("ns", "loader")
    x, y = dataset_id("db", "x"), dataset_id("db", "y")
    with store.read() as connection:
        reads = lineage_reads(connection)
        assert reads.run_states_as_of([loader], micros(5)) == []
        assert {(row[1], row[2]) for row in reads.run_states_as_of([loader], micros(15))} == {
            (run_id(1), "COMPLETE")
        }
        assert reads.jobs_touching_as_of([y], "out", micros(15)) == set()
        assert reads.jobs_touching_as_of([x, y], "out", micros(25)) == {loader}
        assert {tuple(row) for row in reads.run_edges_as_of([run_id(2)], micros(25), "out")} == {
            (run_id(2), y, "out")
        }


def test_child_runs_and_nodes_by_name(store) -> None:
    feed(
        store,
        [
            run_event("START", 10, 1, job="dag"),
            run_event("COMPLETE", 11, 3, job="task_b", run_facets=parent_facet(1, "dag")),
            run_event("COMPLETE", 12, 2, job="task_a", run_facets=parent_facet(1, "dag")),
            run_event("COMPLETE", 13, 4, job="writer", outputs=[ds("t")]),
        ],
    )
    with store.read() as connection:
        reads = lineage_reads(connection)
        assert reads.child_runs([run_id(1)]) == [run_id(2), run_id(3)]
        assert reads.child_runs([run_id(2)]) == []
        assert reads.find_dataset("db", "t") == dataset_id("db", "t")
        assert reads.find_dataset("db", "missing") is None
        assert reads.find_job("ns", "writer") == job_id("ns", "writer")
        assert reads.find_job("other", "writer") is None
        assert ("db", "t") in reads.names("dataset")
        assert {name for _, name in reads.names("job")} >= {"dag", "task_a", "task_b", "writer"}
