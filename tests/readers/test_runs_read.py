"""Reading runs: Marquez states, state history, durations, versions read and written, facets."""

from __future__ import annotations

import pytest

from tests.projection.helpers import ds, feed, micros, parent_facet, run_event, run_id
from tests.readers.helpers import facet
from threadline.errors import BadRequest, NotFound
from threadline.projection.readers.runs import get_run, load_runs, run_facets


def test_state_history_duration_and_facets(store) -> None:
    nominal = {"nominalTime": facet(nominalStartTime="2024-05-01T00:00:00Z")}
    feed(
        store,
        [
            run_event("START", 10, 1, run_facets=nominal),
            run_event(None, 12, 1),
            run_event("RUNNING", 15, 1),
            run_event("COMPLETE", 75, 1),
            run_event("START", 80, 2, job="child", run_facets=parent_facet(1, "job")),
        ],
    )
    with store.read() as connection:
        run = get_run(connection, run_id(1))
        child = get_run(connection, run_id(2).upper())
    assert run.marquez_state == "COMPLETED"
    assert [(c.state, c.time) for c in run.states] == [
        ("START", micros(10)),
        (None, micros(12)),
        ("RUNNING", micros(15)),
        ("COMPLETE", micros(75)),
    ]
    assert run.duration_ms == 65_000
    assert run.nominal_time("nominalStartTime") == "2024-05-01T00:00:00Z"
    assert child.marquez_state == "RUNNING"
    assert child.duration_ms is None
    assert child.parent_run_id == run_id(1)
    assert (child.job_namespace, child.job_name) == ("ns", "child")


def test_versions_read_and_written(store) -> None:
    feed(
        store,
        [
            run_event("COMPLETE", 10, 1, job="writer", outputs=[ds("t")]),
            run_event(
                "COMPLETE",
                20,
                2,
                job="reader",
                inputs=[ds("t")],
                outputs=[ds("u", version={"datasetVersion": "7"})],
            ),
            run_event("COMPLETE", 30, 3, job="writer", outputs=[ds("t")]),
            run_event(
                "COMPLETE", 40, 4, job="reader2", inputs=[ds("t", version={"datasetVersion": "pinned"})]
            ),
        ],
    )
    with store.read() as connection:
        reader, reader2, writer = load_runs(connection, [run_id(2), run_id(4), run_id(1), "missing"])
        alone = get_run(connection, run_id(2))
    # an input read without a version facet has the version that was current when the run began,
    # read alone or in a list (one answer for every reader of a run)
    assert [(d.name, d.version) for d in reader.inputs] == [("t", run_id(1))]
    assert [(d.name, d.version) for d in alone.inputs] == [("t", run_id(1))]
    assert [(d.name, d.version) for d in reader.outputs] == [("u", "7")]
    assert [(d.name, d.version) for d in reader2.inputs] == [("t", "pinned")]
    assert [(d.name, d.version) for d in writer.outputs] == [("t", run_id(1))]


def test_io_facets_and_run_facets_endpoint(store) -> None:
    stats = {"inputStatistics": facet(rowCount=12)}
    feed(
        store,
        [
            {
                **run_event("COMPLETE", 10, 1, job_facets={"sql": facet(query="select 1")}),
                "inputs": [{"namespace": "db", "name": "t", "inputFacets": stats}],
            }
        ],
    )
    with store.read() as connection:
        run = get_run(connection, run_id(1))
        assert run.inputs[0].facets["inputStatistics"]["rowCount"] == 12
        assert run_facets(connection, run_id(1), "run") == {"runId": run_id(1), "facets": {}}
        assert run_facets(connection, run_id(1), "job")["facets"]["sql"]["query"] == "select 1"
        with pytest.raises(BadRequest, match="type must be run or job"):
            run_facets(connection, run_id(1), "dataset")
        with pytest.raises(BadRequest, match="not a UUID"):
            get_run(connection, "abc")
        with pytest.raises(NotFound, match="no run"):
            get_run(connection, "00000000-0000-0000-0000-000000000000")
