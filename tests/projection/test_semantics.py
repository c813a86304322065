"""What the projections hold after hand-written events, whatever order they came in."""

from __future__ import annotations

import json

from tests.projection.helpers import (
    ds,
    edges,
    feed,
    job_row,
    micros,
    parent_facet,
    run_event,
    run_id,
    run_row,
    state,
)
from threadline.store.ids import dataset_id, job_id

# ---- run states -------------------------------------------------------------------------------------


def test_a_late_start_does_not_undo_complete(store) -> None:
    feed(store, [run_event("COMPLETE", 20)])
    assert run_row(store, 1)["state"] == "COMPLETE"
    feed(store, [run_event("START", 10)])
    run = run_row(store, 1)
    assert run["state"] == "COMPLETE"
    assert run["started_at"] == micros(10)
    assert run["ended_at"] == micros(20)
    assert run["has_events"] is True


def test_a_start_with_a_later_clock_does_not_undo_complete(store) -> None:
    feed(store, [run_event("COMPLETE", 20)])
    feed(store, [run_event("START", 30), run_event("RUNNING", 40)])
    assert run_row(store, 1)["state"] == "COMPLETE"


def test_running_after_start(store) -> None:
    feed(store, [run_event("START", 10)])
    assert run_row(store, 1)["state"] == "START"
    feed(store, [run_event("RUNNING", 11)])
    run = run_row(store, 1)
    assert run["state"] == "RUNNING"
    assert run["ended_at"] is None
    assert run["started_at"] == micros(10)


def test_a_late_start_does_not_undo_running(store) -> None:
    feed(store, [run_event("RUNNING", 11)])
    feed(store, [run_event("START", 10)])
    assert run_row(store, 1)["state"] == "RUNNING"


def test_fail(store) -> None:
    feed(store, [run_event("START", 10), run_event("FAIL", 15)])
    run = run_row(store, 1)
    assert run["state"] == "FAIL"
    assert run["ended_at"] == micros(15)


def test_abort_after_running_then_late_running(store) -> None:
    feed(store, [run_event("ABORT", 15)])
    feed(store, [run_event("RUNNING", 12), run_event("START", 10)])
    run = run_row(store, 1)
    assert run["state"] == "ABORT"
    assert (run["started_at"], run["ended_at"]) == (micros(10), micros(15))


def test_other_may_come_first(store) -> None:
    feed(store, [run_event("OTHER", 5, inputs=[ds("a")])])
    run = run_row(store, 1)
    assert run["state"] is None
    assert run["has_events"] is True
    assert run["job_id"] == job_id("ns", "job")
    feed(store, [run_event("START", 10)])
    assert run_row(store, 1)["state"] == "START"
    feed(store, [run_event("OTHER", 12), run_event("COMPLETE", 20), run_event("OTHER", 25)])
    run = run_row(store, 1)
    assert run["state"] == "COMPLETE"
    assert run["ended_at"] == micros(20)
    states = sorted(row["state"] for row in store.table_rows("run_states"))
    assert states == ["COMPLETE", "OTHER", "OTHER", "OTHER", "START"]
    assert edges(store, 1) == {("in", "a")}


def test_a_run_event_without_event_type(store) -> None:
    feed(store, [run_event(None, 5)])
    assert run_row(store, 1)["state"] is None
    assert [row["state"] for row in store.table_rows("run_states")] == [None]


# ---- inputs and outputs -----------------------------------------------------------------------------


def test_empty_inputs_and_outputs_erase_no_edge(store) -> None:
    feed(store, [run_event("START", 10, inputs=[ds("a"), ds("b")], outputs=[ds("c")])])
    feed(store, [run_event("COMPLETE", 20, inputs=[], outputs=[])])
    assert edges(store, 1) == {("in", "a"), ("in", "b"), ("out", "c")}
    feed(store, [run_event("RUNNING", 15)])  # no inputs or outputs keys at all
    assert edges(store, 1) == {("in", "a"), ("in", "b"), ("out", "c")}
    names = {(row["direction"], row["dataset_id"]) for row in store.table_rows("job_io")}
    assert names == {
        ("in", dataset_id("db", "a")),
        ("in", dataset_id("db", "b")),
        ("out", dataset_id("db", "c")),
    }


def test_inputs_and_outputs_accumulate(store) -> None:
    feed(store, [run_event("START", 10, inputs=[ds("a")])])
    feed(store, [run_event("COMPLETE", 20, inputs=[ds("b")], outputs=[ds("c")])])
    assert edges(store, 1) == {("in", "a"), ("in", "b"), ("out", "c")}
    job_io = [r for r in store.table_rows("job_io") if r["dataset_id"] == dataset_id("db", "a")]
    assert job_io[0]["first_seen"] == micros(10)


# ---- parents ----------------------------------------------------------------------------------------


def _family() -> list[dict]:
    child = parent_facet(1, "parent_job")
    return [
        run_event("START", 10, 1, job="parent_job"),
        run_event("START", 11, 2, job="parent_job.child", run_facets=child, inputs=[ds("a")]),
        run_event("COMPLETE", 12, 2, job="parent_job.child", run_facets=child, outputs=[ds("b")]),
        run_event("COMPLETE", 13, 1, job="parent_job"),
    ]


def test_a_child_before_its_parent_makes_a_placeholder_that_the_parent_fills(store, new_store) -> None:
    family = _family()
    feed(store, [family[1], family[2]])
    placeholder = run_row(store, 1)
    assert placeholder["has_events"] is False
    assert placeholder["job_id"] == job_id("ns", "parent_job")
    assert placeholder["state"] is None
    child = run_row(store, 2)
    assert child["parent_run_id"] == run_id(1)
    assert child["state"] == "COMPLETE"
    assert job_row(store, "parent_job")["namespace"] == "ns"

    feed(store, [family[3], family[0]])
    parent = run_row(store, 1)
    assert parent["has_events"] is True
    assert parent["state"] == "COMPLETE"
    assert parent["started_at"] == micros(10)
    assert parent["ended_at"] == micros(13)

    reference = new_store()
    feed(reference, family)
    assert state(store) == state(reference)


def test_a_parent_facet_does_not_override_the_parents_own_job(store) -> None:
    # The child names the parent's job differently from the parent's own events: the parent's own win.
    child = parent_facet(1, "what_the_child_says")
    feed(store, [run_event("START", 10, 1, job="real_parent_job")])
    feed(store, [run_event("START", 50, 2, job="child", run_facets=child)])
    assert run_row(store, 1)["job_id"] == job_id("ns", "real_parent_job")


def test_the_childs_job_is_linked_to_the_parents_job(store) -> None:
    feed(store, _family())
    assert job_row(store, "parent_job.child")["parent_job_id"] == job_id("ns", "parent_job")
    assert job_row(store, "parent_job")["parent_job_id"] is None
    assert run_row(store, 1)["parent_run_id"] is None


# ---- datasets ---------------------------------------------------------------------------------------


def test_symlinks(store) -> None:
    symlinks = {"identifiers": [{"namespace": "hive://h", "name": "db.t", "type": "TABLE"}]}
    feed(store, [run_event("COMPLETE", 10, outputs=[ds("/data/t", "hdfs://nn", symlinks=symlinks)])])
    rows = store.table_rows("dataset_symlinks")
    assert [(r["dataset_id"], r["namespace"], r["name"], r["type"]) for r in rows] == [
        (dataset_id("hdfs://nn", "/data/t"), "hive://h", "db.t", "TABLE")
    ]
    assert rows[0]["first_seen"] == micros(10)


def test_each_run_that_writes_a_dataset_makes_a_version(store) -> None:
    feed(
        store,
        [
            run_event("START", 10, 1, outputs=[ds("out")], inputs=[ds("in")]),
            run_event("COMPLETE", 11, 1, outputs=[ds("out")], inputs=[ds("in")]),
            run_event("COMPLETE", 20, 2, outputs=[ds("out")]),
        ],
    )
    versions = store.table_rows("dataset_versions")
    assert {(r["dataset_id"], r["version"], r["run_id"]) for r in versions} == {
        (dataset_id("db", "out"), run_id(1), run_id(1)),
        (dataset_id("db", "out"), run_id(2), run_id(2)),
    }
    by_version = {r["version"]: r for r in versions}
    assert by_version[run_id(1)]["created_at"] == micros(10)
    datasets = {r["name"]: r for r in store.table_rows("datasets")}
    assert datasets["out"]["current_version"] == run_id(2)
    assert datasets["in"]["current_version"] is None


def test_the_version_facet_names_the_version(store) -> None:
    feed(
        store,
        [
            run_event("COMPLETE", 10, 1, outputs=[ds("out", version={"datasetVersion": "v7"})]),
            run_event("COMPLETE", 11, 2, inputs=[ds("out", version={"datasetVersion": "v7"})]),
        ],
    )
    versions = store.table_rows("dataset_versions")
    assert [(r["version"], r["run_id"]) for r in versions] == [("v7", run_id(1))]
    reads = [r for r in store.table_rows("run_io") if r["run_id"] == run_id(2)]
    assert [r["version"] for r in reads] == ["v7"]


NESTED = {
    "fields": [
        {"name": "id", "type": "bigint"},
        {
            "name": "address",
            "type": "struct",
            "fields": [
                {"name": "city", "type": "string", "description": "town"},
                {"name": "zip", "type": "int"},
            ],
        },
    ]
}


def test_nested_schema_fields_are_content_addressed(store) -> None:
    feed(
        store,
        [
            run_event("COMPLETE", 10, 1, outputs=[ds("a", schema=NESTED)]),
            run_event("COMPLETE", 20, 2, outputs=[ds("b", schema=json.loads(json.dumps(NESTED)))]),
            run_event("COMPLETE", 30, 3, outputs=[ds("a", schema=NESTED)]),
        ],
    )
    fields = store.table_rows("schema_fields")
    assert len({r["schema_hash"] for r in fields}) == 1
    by_path = {r["path"]: r for r in fields}
    assert set(by_path) == {"id", "address", "address.city", "address.zip"}
    assert by_path["address.city"]["depth"] == 1
    assert by_path["address.city"]["parent_path"] == "address"
    assert by_path["address.city"]["name"] == "city"
    assert by_path["address.city"]["description"] == "town"
    assert by_path["id"]["depth"] == 0
    assert by_path["id"]["parent_path"] is None
    assert sorted(r["ordinal"] for r in fields) == [0, 1, 2, 3]
    hashes = {r["name"]: r["schema_hash"] for r in store.table_rows("datasets")}
    assert hashes["a"] == hashes["b"] == fields[0]["schema_hash"]
    version_hashes = {r["schema_hash"] for r in store.table_rows("dataset_versions")}
    assert version_hashes == {fields[0]["schema_hash"]}


def test_a_changed_schema_gets_its_own_rows_and_the_latest_wins(store) -> None:
    other = {"fields": [{"name": "id", "type": "bigint"}]}
    feed(store, [run_event("COMPLETE", 20, 2, outputs=[ds("a", schema=other)])])
    feed(store, [run_event("COMPLETE", 10, 1, outputs=[ds("a", schema=NESTED)])])
    fields = store.table_rows("schema_fields")
    assert len({r["schema_hash"] for r in fields}) == 2
    current = {r["name"]: r["schema_hash"] for r in store.table_rows("datasets")}["a"]
    assert {r["path"] for r in fields if r["schema_hash"] == current} == {"id"}


def _columns(store) -> set[tuple]:
    names = {r["id"]: r["name"] for r in store.table_rows("datasets")}
    return {
        (
            names[r["output_dataset_id"]],
            r["output_field"],
            names[r["input_dataset_id"]],
            r["input_field"],
            r["transformation_type"],
            r["transformation_subtype"],
            r["description"],
            r["masking"],
        )
        for r in store.table_rows("column_lineage")
    }


def test_column_lineage_current_form(store) -> None:
    lineage = {
        "fields": {
            "name": {
                "inputFields": [
                    {
                        "namespace": "db",
                        "name": "users",
                        "field": "name",
                        "transformations": [
                            {"type": "DIRECT", "subtype": "IDENTITY", "masking": False},
                            {"type": "INDIRECT", "subtype": "FILTER", "description": "WHERE active"},
                        ],
                    }
                ]
            },
            "email_hash": {
                "inputFields": [
                    {
                        "namespace": "db",
                        "name": "users",
                        "field": "email",
                        "transformations": [{"type": "DIRECT", "subtype": "TRANSFORMATION", "masking": True}],
                    }
                ]
            },
        }
    }
    feed(store, [run_event("COMPLETE", 10, outputs=[ds("report", columnLineage=lineage)])])
    assert _columns(store) == {
        ("report", "name", "users", "name", "DIRECT", "IDENTITY", None, False),
        ("report", "name", "users", "name", "INDIRECT", "FILTER", "WHERE active", None),
        ("report", "email_hash", "users", "email", "DIRECT", "TRANSFORMATION", None, True),
    }
    assert {r["job_id"] for r in store.table_rows("column_lineage")} == {job_id("ns", "job")}
    # The input dataset of a column edge exists even though no event lists it as an input.
    assert "users" in {r["name"] for r in store.table_rows("datasets")}


def test_column_lineage_older_form(store) -> None:
    lineage = {
        "fields": {
            "total": {
                "inputFields": [{"namespace": "db", "name": "orders", "field": "amount"}],
                "transformationDescription": "SUM(amount)",
                "transformationType": "AGGREGATION",
            },
            "ssn": {
                "inputFields": [{"namespace": "db", "name": "people", "field": "ssn"}],
                "transformationDescription": "sha256(ssn)",
                "transformationType": "MASKED",
            },
            "plain": {"inputFields": [{"namespace": "db", "name": "people", "field": "plain"}]},
        }
    }
    feed(store, [run_event("COMPLETE", 10, outputs=[ds("summary", columnLineage=lineage)])])
    assert _columns(store) == {
        ("summary", "total", "orders", "amount", "AGGREGATION", None, "SUM(amount)", False),
        ("summary", "ssn", "people", "ssn", "MASKED", None, "sha256(ssn)", True),
        ("summary", "plain", "people", "plain", None, None, None, None),
    }


def test_column_lineage_dataset_level(store) -> None:
    lineage = {
        "fields": {},
        "dataset": [
            {
                "namespace": "db",
                "name": "orders",
                "field": "status",
                "transformations": [{"type": "INDIRECT", "subtype": "FILTER"}],
            },
            {"namespace": "db", "name": "orders", "field": "day"},
        ],
    }
    feed(store, [run_event("COMPLETE", 10, outputs=[ds("summary", columnLineage=lineage)])])
    assert _columns(store) == {
        ("summary", "", "orders", "status", "INDIRECT", "FILTER", None, None),
        ("summary", "", "orders", "day", "INDIRECT", None, None, None),
    }


def test_column_edges_are_kept_across_runs_with_first_and_last_seen(store) -> None:
    lineage = {
        "fields": {
            "x": {
                "inputFields": [
                    {"namespace": "db", "name": "a", "field": "x", "transformations": [{"type": "DIRECT"}]}
                ]
            }
        }
    }
    feed(store, [run_event("COMPLETE", 30, 2, outputs=[ds("o", columnLineage=lineage)])])
    feed(store, [run_event("COMPLETE", 10, 1, outputs=[ds("o", columnLineage=lineage)])])
    rows = store.table_rows("column_lineage")
    assert len(rows) == 1
    assert (rows[0]["first_seen"], rows[0]["last_seen"]) == (micros(10), micros(30))


# ---- facets -----------------------------------------------------------------------------------------


def _facets(store, entity_type: str) -> dict[tuple[str, str], dict]:
    return {
        (r["entity_key"], r["name"]): json.loads(r["value"])
        for r in store.table_rows("facets")
        if r["entity_type"] == entity_type
    }


def test_facets_are_last_writer_wins_by_event_time(store) -> None:
    def doc(text: str) -> dict:
        return {"documentation": {"_producer": "p", "_schemaURL": "s", "description": text}}

    feed(
        store,
        [
            run_event(
                "COMPLETE",
                30,
                2,
                job_facets=doc("newest"),
                outputs=[ds("d", documentation={"description": "new"})],
            ),
        ],
    )
    feed(
        store,
        [
            run_event(
                "COMPLETE",
                10,
                1,
                job_facets=doc("oldest"),
                outputs=[ds("d", documentation={"description": "old"})],
            ),
            run_event("START", 20, 2, job_facets=doc("middle")),
        ],
    )
    jobs = _facets(store, "job")
    assert jobs[(str(job_id("ns", "job")), "documentation")]["description"] == "newest"
    datasets = _facets(store, "dataset")
    assert datasets[(str(dataset_id("db", "d")), "documentation")]["description"] == "new"


def test_run_and_io_facets_are_kept_per_entity(store) -> None:
    nominal = {
        "nominalTime": {"_producer": "p", "_schemaURL": "s", "nominalStartTime": "2024-05-01T00:00:00Z"}
    }
    stats = {"outputStatistics": {"_producer": "p", "_schemaURL": "s", "rowCount": 10}}
    output = {**ds("o"), "outputFacets": stats}
    feed(store, [run_event("COMPLETE", 10, 1, run_facets=nominal, outputs=[output])])
    runs = _facets(store, "run")
    assert runs[(run_id(1), "nominalTime")]["nominalStartTime"] == "2024-05-01T00:00:00Z"
    outputs = _facets(store, "output")
    assert outputs[(f"{run_id(1)}/{dataset_id('db', 'o')}", "outputStatistics")]["rowCount"] == 10


# ---- JobEvent and DatasetEvent ----------------------------------------------------------------------


def test_job_event(store) -> None:
    event = {
        "eventTime": "2024-05-01T12:00:10Z",
        "producer": "p",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
        "job": {
            "namespace": "ns",
            "name": "static_job",
            "facets": {"sql": {"_producer": "p", "_schemaURL": "s", "query": "SELECT 1"}},
        },
        "inputs": [ds("a")],
        "outputs": [ds("b")],
    }
    feed(store, [event])
    assert store.table_rows("runs") == []
    assert store.table_rows("run_io") == []
    assert job_row(store, "static_job")["created_at"] == micros(10)
    io = {(r["direction"], r["dataset_id"]) for r in store.table_rows("job_io")}
    assert io == {("in", dataset_id("db", "a")), ("out", dataset_id("db", "b"))}
    assert _facets(store, "job")[(str(job_id("ns", "static_job")), "sql")]["query"] == "SELECT 1"
    assert {r["name"] for r in store.table_rows("namespaces")} == {"ns", "db"}


def test_dataset_event(store) -> None:
    event = {
        "eventTime": "2024-05-01T12:00:10Z",
        "producer": "p",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": ds("t", "warehouse", schema=NESTED, version={"datasetVersion": "42"}),
    }
    feed(store, [event])
    assert store.table_rows("runs") == []
    assert store.table_rows("jobs") == []
    row = {r["name"]: r for r in store.table_rows("datasets")}["t"]
    assert row["namespace"] == "warehouse"
    assert row["current_version"] == "42"
    assert row["schema_hash"] is not None
    versions = store.table_rows("dataset_versions")
    assert [(v["version"], v["run_id"], v["schema_hash"]) for v in versions] == [
        ("42", None, row["schema_hash"])
    ]
    assert len(store.table_rows("schema_fields")) == 4
    assert {r["name"] for r in store.table_rows("namespaces")} == {"warehouse"}


def test_namespaces_span_first_and_last_event(store) -> None:
    feed(store, [run_event("COMPLETE", 30), run_event("START", 10)])
    ns = {r["name"]: r for r in store.table_rows("namespaces")}["ns"]
    assert (ns["created_at"], ns["updated_at"]) == (micros(10), micros(30))


# ---- identity ---------------------------------------------------------------------------------------


def test_spellings_of_one_namespace_are_one_dataset_shown_as_first_sent(store, new_store) -> None:
    first = run_event(
        "COMPLETE", 10, 1, outputs=[ds("public.orders", namespace="Postgres://DB.example.com/")]
    )
    later = run_event(
        "COMPLETE", 20, 2, inputs=[ds("public.orders", namespace="postgres://db.example.com:5432")]
    )
    for target, order in ((store, [later, first]), (new_store(), [first, later])):
        feed(target, order)
        rows = [r for r in target.table_rows("datasets") if r["name"] == "public.orders"]
        assert len(rows) == 1
        assert rows[0]["namespace"] == "postgres://db.example.com:5432"
        assert rows[0]["display_namespace"] == "Postgres://DB.example.com/"
        assert rows[0]["id"] == dataset_id("postgres://db.example.com", "public.orders")
        namespaces = {r["name"]: r["display_name"] for r in target.table_rows("namespaces")}
        assert namespaces["postgres://db.example.com:5432"] == "Postgres://DB.example.com/"
    assert state(store) == state(target)


def test_the_current_run_of_a_job_is_its_latest_completed_run(store, new_store) -> None:
    events = [
        run_event("START", 10, 1, inputs=[ds("a")]),
        run_event("COMPLETE", 20, 1, outputs=[ds("x")]),
        run_event("START", 30, 2, inputs=[ds("b")]),  # still running: run 1 stays current
        run_event("FAIL", 40, 3, inputs=[ds("c")]),  # a failure does not replace it either
    ]
    feed(store, events)
    assert job_row(store, "job")["current_run_id"] == run_id(1)
    feed(store, [run_event("COMPLETE", 50, 2, outputs=[ds("y")])])
    assert job_row(store, "job")["current_run_id"] == run_id(2)
    other = new_store()
    feed(other, list(reversed([*events, run_event("COMPLETE", 50, 2, outputs=[ds("y")])])))
    assert state(other) == state(store)


def test_before_any_completion_the_latest_run_is_current(store) -> None:
    feed(store, [run_event("START", 10, 1), run_event("START", 20, 2), run_event("FAIL", 15, 3)])
    assert job_row(store, "job")["current_run_id"] == run_id(2)
