"""Jobs: current inputs and outputs, type, location, parent, latest runs, runs and versions."""

from __future__ import annotations

import pytest

from tests.projection.helpers import ds, feed, parent_facet, run_event, run_id
from tests.readers.helpers import facet, job_event
from threadline.errors import NotFound
from threadline.projection.readers.jobs import (
    JobIO,
    current_io,
    get_job,
    get_job_version,
    list_job_runs,
    list_job_versions,
    list_jobs,
)
from threadline.projection.readers.versions import job_version
from threadline.store.ids import dataset_id, job_id

LOCATION = {"sourceCodeLocation": facet(type="git", url="https://git.example.com/repo/job.py")}


def test_current_io_is_the_latest_completed_run(store) -> None:
    feed(
        store,
        [
            run_event("COMPLETE", 10, 1, inputs=[ds("a")], outputs=[ds("b")]),
            run_event("COMPLETE", 20, 2, inputs=[ds("a"), ds("c")], outputs=[ds("b")]),
            # a later run that fails does not change what the job reads and writes
            run_event("FAIL", 30, 3, inputs=[ds("z")], outputs=[ds("y")]),
            job_event(5, job="declared", inputs=[ds("x")], outputs=[ds("w")]),
        ],
    )
    with store.read() as connection:
        io = current_io(connection, [job_id("ns", "job"), job_id("ns", "declared"), 424242])
    assert io[job_id("ns", "job")] == JobIO(
        tuple(sorted((dataset_id("db", "a"), dataset_id("db", "c")))), (dataset_id("db", "b"),)
    )
    assert io[job_id("ns", "declared")] == JobIO((dataset_id("db", "x"),), (dataset_id("db", "w"),))
    assert 424242 not in io


def test_current_io_falls_back_to_the_latest_run_and_empty(store) -> None:
    feed(store, [run_event("START", 10, 1, inputs=[ds("a")]), run_event("START", 20, 2, job="empty")])
    with store.read() as connection:
        io = current_io(connection, [job_id("ns", "job"), job_id("ns", "empty")])
    assert io[job_id("ns", "job")] == JobIO((dataset_id("db", "a"),), ())
    assert io[job_id("ns", "empty")] == JobIO((), ())


def test_job_fields(store) -> None:
    feed(
        store,
        [
            run_event("START", 10, 1, job="dag"),
            run_event(
                "COMPLETE",
                20,
                2,
                job="dag.task",
                inputs=[ds("b_in"), ds("a_in")],
                outputs=[ds("out")],
                run_facets=parent_facet(1, "dag"),
                job_facets={
                    **LOCATION,
                    "jobType": facet(processingType="STREAMING", integration="FLINK", jobType="JOB"),
                    "documentation": facet(description="does things"),
                    "ownership": facet(owners=[{"name": "me"}]),
                    "tags": facet(tags=[{"key": "critical", "value": "true"}]),
                },
            ),
        ],
    )
    with store.read() as connection:
        job = get_job(connection, "ns", "dag.task")
        dag = get_job(connection, "ns", "dag")
    assert job.type == "STREAM"
    assert dag.type == "BATCH"
    assert job.location == "https://git.example.com/repo/job.py"
    assert job.description == "does things"
    assert job.owners == [{"name": "me"}]
    assert [t.name for t in job.tags] == ["critical"]
    assert job.parent == ("ns", "dag")
    assert job.simple_name == "task"
    assert [d.name for d in job.inputs] == ["a_in", "b_in"]  # sorted by name
    assert [d.name for d in job.outputs] == ["out"]
    assert job.latest_run is not None
    assert job.latest_run.id == run_id(2)
    assert job.current_version == job_version(
        "ns",
        "dag.task",
        [dataset_id("db", "a_in"), dataset_id("db", "b_in")],
        [dataset_id("db", "out")],
        "https://git.example.com/repo/job.py",
    )
    assert job.current_version == job.latest_run.job_version


def test_lists_runs_and_latest_runs_sorted(store) -> None:
    feed(store, [run_event("COMPLETE", second, n) for n, second in [(1, 30), (2, 10), (3, 50), (4, 20)]])
    feed(store, [run_event("COMPLETE", 5, 10 + i, job=f"j{i}") for i in (3, 1, 2)])
    with store.read() as connection:
        job = get_job(connection, "ns", "job")
        assert [r.id for r in job.latest_runs] == [run_id(n) for n in (3, 1, 4, 2)]
        pages = [list_job_runs(connection, "ns", "job", limit=3, offset=o) for o in (0, 3)]
        assert [p.total for p in pages] == [4, 4]
        assert [r.id for p in pages for r in p.items] == [run_id(n) for n in (3, 1, 4, 2)]
        names = [j.name for o in (0, 2) for j in list_jobs(connection, "ns", limit=2, offset=o).items]
        assert names == ["j1", "j2", "j3", "job"]
        assert list_jobs(connection, None).total == 4
        with pytest.raises(NotFound, match="no job 'nope' in namespace 'ns'"):
            get_job(connection, "ns", "nope")
        with pytest.raises(NotFound, match="no namespace 'elsewhere'"):
            list_job_runs(connection, "elsewhere", "job")


def test_latest_runs_are_the_ten_newest(store) -> None:
    feed(store, [run_event("COMPLETE", n, n) for n in range(1, 13)])
    with store.read() as connection:
        job = get_job(connection, "ns", "job")
    assert [r.id for r in job.latest_runs] == [run_id(n) for n in range(12, 2, -1)]


def test_versions_group_runs_by_shape(store) -> None:
    feed(
        store,
        [
            run_event("COMPLETE", 10, 1, inputs=[ds("a")], outputs=[ds("b")], job_facets=LOCATION),
            run_event("COMPLETE", 20, 2, inputs=[ds("a")], outputs=[ds("b")]),
            run_event("COMPLETE", 30, 3, inputs=[ds("a"), ds("c")], outputs=[ds("b")]),
        ],
    )
    with store.read() as connection:
        page = list_job_versions(connection, "ns", "job")
        assert page.total == 2
        newest, oldest = page.items
        assert [d.name for d in newest.inputs] == ["a", "c"]
        assert (newest.run_count, oldest.run_count) == (1, 2)
        assert oldest.latest_run is not None
        assert oldest.latest_run.id == run_id(2)
        assert newest.version == get_job(connection, "ns", "job").current_version
        assert get_job_version(connection, "ns", "job", oldest.version.upper()).run_count == 2
        assert [v.version for v in list_job_versions(connection, "ns", "job", limit=1, offset=1).items] == [
            oldest.version
        ]
        with pytest.raises(NotFound, match="has no version"):
            get_job_version(connection, "ns", "job", "00000000-0000-0000-0000-000000000000")


def test_a_job_that_never_ran_has_one_version(store) -> None:
    feed(store, [job_event(5, job="declared", inputs=[ds("x")])])
    with store.read() as connection:
        page = list_job_versions(connection, "ns", "declared")
        job = get_job(connection, "ns", "declared")
    assert page.total == 1
    assert page.items[0].version == job.current_version
    assert page.items[0].latest_run is None
    assert job.latest_run is None
