"""One reader of runs for every user: the Marquez API's readers and tracking (``threadline runs``,
``diff``, ``snapshot``, ``restore``) read the same runs, and a facet deleted by OpenLineage's
``{"_deleted": true}`` is gone for all of them."""

from __future__ import annotations

from typing import Any

from tests.projection.helpers import PRODUCER, ds, feed, run_event, run_id
from tests.readers.helpers import facet
from threadline.projection.readers.objects import referenced_objects
from threadline.projection.readers.runs import get_run, load_runs, newest_runs, run_facets, run_tree
from threadline.tracking.compare import compare_runs
from threadline.tracking.snapshots import tree_inputs

DELETED = {"_producer": PRODUCER, "_schemaURL": "s", "_deleted": True}
SNAPSHOT = "blake3:" + "ab" * 32


_TAKEN_BACK = ("threadline_params", "threadline_snapshot", "threadline_environment")


def _params(**params: Any) -> dict[str, Any]:
    return {"threadline_params": facet(params=params)}


def _deleted_facets_fed(store) -> None:
    tracked = {
        **_params(lr=0.1),
        "threadline_metrics": facet(metrics={"loss": [[0, 0.5, 1]]}),
        "threadline_snapshot": facet(objects=[{"object": SNAPSHOT, "name": "x"}]),
        "threadline_environment": facet(python="3.12.1", git={"commit": "abc"}),
    }
    feed(
        store,
        [
            run_event("START", 10, 1, run_facets=tracked),
            # a later event of the run takes the parameters and the snapshot back
            run_event("COMPLETE", 20, 1, run_facets=dict.fromkeys(_TAKEN_BACK, DELETED)),
            run_event("COMPLETE", 30, 2, run_facets=_params(lr=0.2)),
        ],
    )


def test_a_deleted_facet_is_gone_for_the_marquez_readers(store) -> None:
    _deleted_facets_fed(store)
    with store.read() as connection:
        run = get_run(connection, run_id(1))
        answer = run_facets(connection, run_id(1), "run")
    assert set(run.facets) == {"threadline_metrics"}
    assert set(answer["facets"]) == {"threadline_metrics"}


def test_a_deleted_facet_is_gone_for_tracking(store) -> None:
    _deleted_facets_fed(store)
    with store.read() as connection:
        listed = {run.id: run for run in newest_runs(connection)}
        comparison = compare_runs(connection, run_id(1), run_id(2))
        objects = referenced_objects(connection)
    assert set(listed[run_id(1)].facets) == {"threadline_metrics"}
    assert (listed[run_id(1)].params, listed[run_id(1)].environment, listed[run_id(1)].git) == ({}, {}, {})
    assert listed[run_id(1)].final_metrics == {"loss": 0.5}
    assert listed[run_id(2)].params == {"lr": 0.2}
    params = [(c.key, c.kind) for c in comparison.changes if c.section == "params"]
    assert params == [("lr", "added")]
    assert SNAPSHOT not in objects


def test_tracking_and_the_api_read_the_same_run(store) -> None:
    feed(
        store,
        [
            run_event("COMPLETE", 10, 1, job="writer", outputs=[ds("t")]),
            run_event("START", 15, 2, job="pipe"),
            run_event(
                "COMPLETE",
                20,
                3,
                job="pipe.step",
                inputs=[ds("t"), ds("f", "file", version={"datasetVersion": SNAPSHOT})],
                run_facets={
                    "parent": {
                        "_producer": PRODUCER,
                        "_schemaURL": "s",
                        "run": {"runId": run_id(2)},
                        "job": {"namespace": "ns", "name": "pipe"},
                    }
                },
            ),
        ],
    )
    with store.read() as connection:
        tree = run_tree(connection, run_id(2))
        (step,) = load_runs(connection, [run_id(3)])
        inputs = tree_inputs(connection, run_id(2))
    assert tree == [run_id(2), run_id(3)]
    # the API gives an input read without a version the version current then ...
    assert {(d.name, d.version) for d in step.inputs} == {("t", run_id(1)), ("f", SNAPSHOT)}
    # ... while a restore takes only what the run recorded: the exact bytes, never a guess
    recorded = {(i.run_id, i.dataset.label, i.dataset.object_id) for i in inputs}
    assert recorded == {(run_id(3), "db/t", None), (run_id(3), "f", SNAPSHOT)}
