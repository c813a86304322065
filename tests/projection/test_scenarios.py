"""The conformance scenarios, ingested: the entities each scenario.md describes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.projection.helpers import feed
from threadline.openlineage.events import RUN_ID_NAMESPACE
from threadline.store.ids import dataset_id, job_id


def scenario_events(conformance: Path, name: str) -> list[bytes]:
    files = sorted((conformance / "scenarios" / name / "events").glob("*.json"), key=lambda p: p.stem)
    assert files
    return [path.read_bytes() for path in files]


@pytest.fixture
def cll(store, conformance):
    feed(store, scenario_events(conformance, "CLL"))
    return store


def _names(store) -> dict[int, tuple[str, str]]:
    return {r["id"]: (r["namespace"], r["name"]) for r in store.table_rows("datasets")}


def test_cll_datasets_and_their_hive_aliases(cll) -> None:
    names = set(_names(cll).values())
    assert {("file", "/tmp/cll_test/cll_source1"), ("file", "/tmp/cll_test/cll_source2")} <= names
    assert ("file", "/tmp/cll_test/tbl1") in names
    aliases = {
        (r["dataset_id"], r["namespace"], r["name"], r["type"]) for r in cll.table_rows("dataset_symlinks")
    }
    assert aliases == {
        (dataset_id("file", f"/tmp/cll_test/{table}"), "file:/tmp/cll_test", f"default.{table}", "TABLE")
        for table in ("cll_source1", "cll_source2", "tbl1")
    }


def test_cll_run_reads_the_sources_and_writes_tbl1(cll) -> None:
    ctas = "019127df-0850-72bc-b214-b255290588a6"
    names = _names(cll)
    io = {
        (r["direction"], names[r["dataset_id"]][1]) for r in cll.table_rows("run_io") if r["run_id"] == ctas
    }
    assert io == {
        ("in", "/tmp/cll_test/cll_source1"),
        ("in", "/tmp/cll_test/cll_source2"),
        ("out", "/tmp/cll_test/tbl1"),
    }
    runs = {r["id"]: r for r in cll.table_rows("runs")}
    assert runs[ctas]["state"] == "COMPLETE"
    app = "019127de-fd25-7707-bfa4-3ec02693a531"
    assert runs[ctas]["parent_run_id"] == app
    assert runs[app]["has_events"] is True
    assert runs[app]["state"] == "COMPLETE"
    assert len(runs) == 4
    assert all(r["state"] == "COMPLETE" for r in runs.values())
    parent_job = job_id("testColumnLevelLineage", "open_lineage_integration_create_table")
    children = [r for r in cll.table_rows("jobs") if r["parent_job_id"] == parent_job]
    assert len(children) == 3


def test_cll_column_edges(cll) -> None:
    names = _names(cll)
    edges = {
        (
            r["output_field"],
            names[r["input_dataset_id"]][1].rsplit("/", 1)[1],
            r["input_field"],
            r["transformation_type"],
            r["transformation_subtype"],
        )
        for r in cll.table_rows("column_lineage")
        if names[r["output_dataset_id"]][1] == "/tmp/cll_test/tbl1"
    }
    direct = {edge for edge in edges if edge[3] == "DIRECT"}
    assert direct == {
        ("ident", "cll_source1", "a", "DIRECT", "IDENTITY"),
        ("trans", "cll_source1", "b", "DIRECT", "TRANSFORMATION"),
        ("agg", "cll_source2", "c", "DIRECT", "AGGREGATION"),
    }
    # Indirect edges (join, filter, group by) as the events list them.
    assert ("ident", "cll_source2", "a", "INDIRECT", "JOIN") in edges
    assert ("agg", "cll_source1", "b", "INDIRECT", "GROUP_BY") in edges
    assert ("trans", "cll_source2", "a", "INDIRECT", "FILTER") in edges
    assert len(edges) == 21


def test_cll_schemas(cll) -> None:
    datasets = {r["name"]: r for r in cll.table_rows("datasets")}
    fields = cll.table_rows("schema_fields")
    tbl1 = {
        r["path"]: r["type"]
        for r in fields
        if r["schema_hash"] == datasets["/tmp/cll_test/tbl1"]["schema_hash"]
    }
    assert set(tbl1) == {"ident", "trans", "agg"}
    source1 = {
        r["path"] for r in fields if r["schema_hash"] == datasets["/tmp/cll_test/cll_source1"]["schema_hash"]
    }
    assert source1 == {"a", "b"}


def test_spark_dataproc(store, conformance) -> None:
    feed(store, scenario_events(conformance, "spark_dataproc_simple_producer_test"))
    run = "019299c5-73cf-7069-a70f-74eb8070b577"
    runs = {r["id"]: r for r in store.table_rows("runs")}
    assert runs[run]["state"] == "COMPLETE"
    assert runs[run]["job_id"] == job_id(
        "default", "cl_i_test_application.execute_insert_into_hive_table.warehouse_t2"
    )
    parent = runs[runs[run]["parent_run_id"]]
    assert parent["has_events"] is False  # the application's own events are not in the scenario
    assert {(r["namespace"], r["name"]) for r in store.table_rows("jobs")} == {
        ("default", "cl_i_test_application.execute_insert_into_hive_table.warehouse_t2"),
        ("default", "cl_i_test_application"),
    }
    names = _names(store)
    assert set(names.values()) == {
        ("hdfs://dataproc-producer-test-m", "/user/hive/warehouse/t1"),
        ("hdfs://dataproc-producer-test-m", "/user/hive/warehouse/t2"),
    }
    io = {
        (r["direction"], names[r["dataset_id"]][1]) for r in store.table_rows("run_io") if r["run_id"] == run
    }
    assert io == {("in", "/user/hive/warehouse/t1"), ("out", "/user/hive/warehouse/t2")}
    columns = {
        (r["output_field"], r["input_field"], r["transformation_subtype"])
        for r in store.table_rows("column_lineage")
    }
    assert columns == {("a", "a", "IDENTITY"), ("b", "b", "IDENTITY")}
    assert len(store.table_rows("run_states")) == 4


def test_simple_run_event(store, conformance) -> None:
    (raw,) = scenario_events(conformance, "simple_run_event")
    feed(store, [raw])
    assert set(_names(store).values()) == {
        ("bigquery", "test.table.input"),
        ("bigquery", "test.table.output"),
    }
    from uuid import uuid5

    derived = str(uuid5(RUN_ID_NAMESPACE, "run_id"))
    (run,) = store.table_rows("runs")
    assert run["id"] == derived
    assert run["state"] == "COMPLETE"
    assert run["job_id"] == job_id("job_namespace", "job_name")
    (event,) = store.list_events().events
    assert event.raw == raw
    assert json.loads(event.raw)["run"]["runId"] == "run_id"
    assert [p["path"] for p in event.problems] == ["run.runId"]
