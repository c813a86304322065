"""The catalog over the conformance scenarios: what each scenario.md describes, read back."""

from __future__ import annotations

from tests.projection.helpers import feed
from tests.projection.test_scenarios import scenario_events
from threadline.projection.readers.datasets import get_dataset, list_dataset_versions, list_datasets
from threadline.projection.readers.jobs import get_job, list_job_runs, list_jobs
from threadline.projection.readers.namespaces import list_namespaces
from threadline.projection.readers.search import search
from threadline.projection.readers.sources import list_sources

CTAS = "019127df-0850-72bc-b214-b255290588a6"


def test_cll_scenario(store, conformance) -> None:
    feed(store, scenario_events(conformance, "CLL"))
    with store.read() as connection:
        tbl1 = get_dataset(connection, "file", "/tmp/cll_test/tbl1")
        # the hive table name of the symlinks facet finds the same dataset
        alias = get_dataset(connection, "file:/tmp/cll_test", "default.tbl1")
        assert (alias.namespace, alias.name) == ("file", "/tmp/cll_test/tbl1")
        assert [f.name for f in tbl1.fields] == ["ident", "trans", "agg"]
        assert tbl1.lifecycle_state == "CREATE"
        versions = list_dataset_versions(connection, "file", "/tmp/cll_test/tbl1")
        assert [v.created_by.id for v in versions.items if v.created_by] == [CTAS]
        jobs = list_jobs(connection, "testColumnLevelLineage")
        assert jobs.total == 4
        parent = get_job(connection, "testColumnLevelLineage", "open_lineage_integration_create_table")
        assert parent.latest_run is not None
        assert parent.latest_run.marquez_state == "COMPLETED"
        ctas_job = next(j for j in jobs.items if j.latest_run and j.latest_run.id == CTAS)
        assert ctas_job.parent == ("testColumnLevelLineage", "open_lineage_integration_create_table")
        assert sorted(d.name for d in ctas_job.inputs) == [
            "/tmp/cll_test/cll_source1",
            "/tmp/cll_test/cll_source2",
        ]
        assert [d.name for d in ctas_job.outputs] == ["/tmp/cll_test/tbl1"]
        run = list_job_runs(connection, "testColumnLevelLineage", ctas_job.name).items[0]
        assert run.parent_run_id == "019127de-fd25-7707-bfa4-3ec02693a531"
        assert {d.name for d in run.inputs} == {"/tmp/cll_test/cll_source1", "/tmp/cll_test/cll_source2"}
        assert [r.name for r in search(connection, "cll_source", kind="DATASET").items] == [
            "/tmp/cll_test/cll_source1",
            "/tmp/cll_test/cll_source2",
        ]


def test_spark_dataproc_scenario(store, conformance) -> None:
    feed(store, scenario_events(conformance, "spark_dataproc_simple_producer_test"))
    with store.read() as connection:
        namespaces = [n.name for n in list_namespaces(connection).items]
        assert namespaces == ["default", "hdfs://dataproc-producer-test-m"]
        t2 = get_dataset(connection, "hive://dataproc-producer-test-m:9083", "default.t2")
        assert t2.name == "/user/hive/warehouse/t2"
        assert t2.source_name == "hdfs://dataproc-producer-test-m"
        assert [f.name for f in t2.fields] == ["a", "b"]
        parent, job = list_jobs(connection, "default").items
        # the parent run is known only from the child's parent facet: a placeholder, NEW
        assert parent.name == "cl_i_test_application"
        assert parent.latest_run is not None
        assert parent.latest_run.marquez_state == "NEW"
        assert job.parent == ("default", "cl_i_test_application")
        assert job.type == "BATCH"
        assert job.latest_run is not None
        assert job.latest_run.marquez_state == "COMPLETED"
        assert [d.name for d in job.inputs] == ["/user/hive/warehouse/t1"]
        assert [(s.name, s.dataset_count) for s in list_sources(connection).items] == [
            ("hdfs://dataproc-producer-test-m", 2)
        ]


def test_simple_run_event_scenario(store, conformance) -> None:
    feed(store, scenario_events(conformance, "simple_run_event"))
    with store.read() as connection:
        assert [d.name for d in list_datasets(connection, "bigquery").items] == [
            "test.table.input",
            "test.table.output",
        ]
        job = get_job(connection, "job_namespace", "job_name")
        assert [d.name for d in job.outputs] == ["test.table.output"]
        assert job.latest_run is not None
        assert job.latest_run.marquez_state == "COMPLETED"
