"""The conformance scenarios as lineage graphs: the exact edges and column edges each describes."""

from __future__ import annotations

from tests.projection.helpers import feed
from tests.projection.test_scenarios import scenario_events
from threadline.graph.columns import column_lineage
from threadline.graph.describe import describe
from threadline.graph.index import LineageIndex
from threadline.graph.model import DATASET, Node
from threadline.graph.traverse import lineage
from threadline.store.ids import dataset_id


def _named_edges(store, start: Node) -> set[tuple[str, str]]:
    """Every edge around ``start`` (undirected, unbounded) by name, checked against the index."""
    with store.read() as connection:
        graph = lineage(connection, start, direction="undirected", depth=None)
        info = describe(connection, graph.distances)
    index = LineageIndex(store)
    index.refresh()
    indexed = lineage(index, start, direction="undirected", depth=None)
    assert indexed.edges == graph.edges
    return {(info[a].name, info[b].name) for a, b in graph.edges}


def test_cll_scenario_edges_and_column_edges(store, conformance) -> None:
    feed(store, scenario_events(conformance, "CLL"))
    tbl1 = Node(DATASET, dataset_id("file", "/tmp/cll_test/tbl1"))
    app = "open_lineage_integration_create_table"
    ctas = f"{app}.execute_create_hive_table_as_select_command.default_tbl1"
    create = f"{app}.execute_create_table_command.cll_test_cll_source"
    # CREATE TABLE cll_source1 and cll_source2, then tbl1 AS SELECT from both (scenario.md).
    assert _named_edges(store, tbl1) == {
        (f"{create}1", "/tmp/cll_test/cll_source1"),
        (f"{create}2", "/tmp/cll_test/cll_source2"),
        ("/tmp/cll_test/cll_source1", ctas),
        ("/tmp/cll_test/cll_source2", ctas),
        (ctas, "/tmp/cll_test/tbl1"),
    }
    source1 = dataset_id("file", "/tmp/cll_test/cll_source1")
    source2 = dataset_id("file", "/tmp/cll_test/cll_source2")
    target = dataset_id("file", "/tmp/cll_test/tbl1")
    with store.read() as connection:
        graph = column_lineage(connection, [(target, f) for f in ("ident", "trans", "agg")], depth=None)
    edges = {(e.source, e.target[1], e.transformation_type, e.transformation_subtype) for e in graph.edges}
    assert {edge for edge in edges if edge[2] == "DIRECT"} == {
        ((source1, "a"), "ident", "DIRECT", "IDENTITY"),
        ((source1, "b"), "trans", "DIRECT", "TRANSFORMATION"),
        ((source2, "c"), "agg", "DIRECT", "AGGREGATION"),
    }
    # The join, filter and grouping columns reach every output field (indirectly).
    assert ((source2, "a"), "ident", "INDIRECT", "JOIN") in edges
    assert ((source1, "b"), "agg", "INDIRECT", "GROUP_BY") in edges


def test_the_hive_table_alias_finds_the_same_node(store, conformance) -> None:
    from threadline.graph.resolve import resolve_node
    from threadline.store.lineage_sql import lineage_reads

    feed(store, scenario_events(conformance, "CLL"))
    with store.read() as connection:
        by_path = resolve_node(connection, "dataset:file:/tmp/cll_test/tbl1")
        by_table = lineage_reads(connection).find_dataset(
            "file:/tmp/cll_test", "default.tbl1"
        )  # the symlink's
    assert by_path.id == by_table


def test_spark_dataproc_scenario(store, conformance) -> None:
    feed(store, scenario_events(conformance, "spark_dataproc_simple_producer_test"))
    start = Node(DATASET, dataset_id("hdfs://dataproc-producer-test-m", "/user/hive/warehouse/t2"))
    job = "cl_i_test_application.execute_insert_into_hive_table.warehouse_t2"
    assert _named_edges(store, start) == {("/user/hive/warehouse/t1", job), (job, "/user/hive/warehouse/t2")}
    with store.read() as connection:
        graph = column_lineage(connection, [(start.id, "a"), (start.id, "b")], depth=None)
    t1 = dataset_id("hdfs://dataproc-producer-test-m", "/user/hive/warehouse/t1")
    assert {(e.source, e.target[1], e.transformation_subtype) for e in graph.edges} == {
        ((t1, "a"), "a", "IDENTITY"),
        ((t1, "b"), "b", "IDENTITY"),
    }


def test_simple_run_event_scenario(store, conformance) -> None:
    feed(store, scenario_events(conformance, "simple_run_event"))
    start = Node(DATASET, dataset_id("bigquery", "test.table.output"))
    assert _named_edges(store, start) == {("test.table.input", "job_name"), ("job_name", "test.table.output")}
