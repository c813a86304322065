"""Column lineage through any number of hops, with the transformation on each edge."""

from __future__ import annotations

from tests.projection.helpers import ds, feed, micros, run_event
from tests.projection.test_scenarios import scenario_events
from threadline.graph.columns import column_lineage, dataset_fields
from threadline.store.ids import dataset_id

_FACET = "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json"


def _lineage(fields: dict[str, list[tuple[str, str, str, str]]]) -> dict:
    """A columnLineage facet: output field -> [(input dataset, input field, type, subtype)]."""
    return {
        "fields": {
            out: {
                "inputFields": [
                    {
                        "namespace": "db",
                        "name": source,
                        "field": field,
                        "transformations": [{"type": kind, "subtype": subtype}],
                    }
                    for source, field, kind, subtype in inputs
                ]
            }
            for out, inputs in fields.items()
        }
    }


def _step(job: str, run: int, second: int, source: str, target: str, fields: dict) -> dict:
    return run_event(
        "COMPLETE",
        second,
        run,
        job=job,
        inputs=[ds(source)],
        outputs=[ds(target, columnLineage={**_lineage(fields), "_schemaURL": _FACET})],
    )


def _chain_of(hops: int) -> list[dict]:
    """t0.v -> t1.v -> ... -> t{hops}.v, each hop a different job, and a side field t{i}.w."""
    return [
        _step(
            f"j{hop}",
            hop,
            hop,
            f"t{hop - 1}",
            f"t{hop}",
            {
                "v": [
                    (f"t{hop - 1}", "v", "DIRECT", "TRANSFORMATION"),
                    (f"t{hop - 1}", "k", "INDIRECT", "FILTER"),
                ],
                "w": [(f"t{hop - 1}", "w", "DIRECT", "IDENTITY")],
            },
        )
        for hop in range(1, hops + 1)
    ]


def test_upstream_through_ten_hops_with_transformation_types(store) -> None:
    feed(store, _chain_of(10))
    with store.read() as connection:
        graph = column_lineage(connection, [(dataset_id("db", "t10"), "v")], depth=None)
    assert graph.distances[(dataset_id("db", "t0"), "v")] == 10
    assert graph.distances[(dataset_id("db", "t0"), "k")] == 10
    assert (dataset_id("db", "t5"), "w") not in graph.distances  # w is another field's lineage
    kinds = {(e.source[1], e.target[1], e.transformation_type, e.transformation_subtype) for e in graph.edges}
    assert kinds == {("v", "v", "DIRECT", "TRANSFORMATION"), ("k", "v", "INDIRECT", "FILTER")}
    with store.read() as connection:
        shallow = column_lineage(connection, [(dataset_id("db", "t10"), "v")], depth=3)
    assert max(shallow.distances.values()) == 3


def test_downstream(store) -> None:
    feed(store, _chain_of(4))
    with store.read() as connection:
        graph = column_lineage(
            connection, [(dataset_id("db", "t0"), "k")], upstream=False, downstream=True, depth=None
        )
    assert graph.distances == {
        (dataset_id("db", "t0"), "k"): 0,
        (dataset_id("db", "t1"), "v"): 1,
        (dataset_id("db", "t2"), "v"): 2,
        (dataset_id("db", "t3"), "v"): 3,
        (dataset_id("db", "t4"), "v"): 4,
    }


def test_only_the_latest_report_is_current_but_as_of_sees_the_old_one(store) -> None:
    before = _step("j", 1, 10, "a", "b", {"x": [("a", "old", "DIRECT", "IDENTITY")]})
    after = _step("j", 2, 20, "a", "b", {"x": [("a", "new", "DIRECT", "IDENTITY")]})
    feed(store, [after, before])
    target = [(dataset_id("db", "b"), "x")]
    with store.read() as connection:
        now = column_lineage(connection, target, depth=None)
        then = column_lineage(connection, target, depth=None, as_of=micros(15))
    assert {field for (_, field) in now.distances} == {"x", "new"}
    assert {field for (_, field) in then.distances} == {"x", "old"}
    with store.read() as connection:
        assert dataset_fields(connection, dataset_id("db", "a")) == [
            (dataset_id("db", "a"), "new"),
            (dataset_id("db", "a"), "old"),
        ]


def test_the_cll_scenario_upstream_of_each_output_field(store, conformance) -> None:
    feed(store, scenario_events(conformance, "CLL"))
    tbl1 = dataset_id("file", "/tmp/cll_test/tbl1")
    source1 = dataset_id("file", "/tmp/cll_test/cll_source1")
    source2 = dataset_id("file", "/tmp/cll_test/cll_source2")
    with store.read() as connection:
        graph = column_lineage(connection, [(tbl1, "agg")], depth=None)
    direct = {(e.source, e.transformation_subtype) for e in graph.edges if e.transformation_type == "DIRECT"}
    assert direct == {((source2, "c"), "AGGREGATION")}
    assert ((source1, "b"), (tbl1, "agg")) in {(e.source, e.target) for e in graph.edges}  # GROUP BY b
