"""Limits on one event's size, and large events parsed off the event loop (issue 13, item 6).

The report: one 13 MB event with 300,000 inputs was accepted and held up the next small event for
20.5 s while it was parsed and folded, and the server's memory grew from 633 to 1,404 MB over four such
events and stayed there. Now an event over a limit is refused (413, naming the limit and its setting)
before anything else is done with it, and a large event within the limits is parsed by a parse worker.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.server.conftest import ServerFactory, ServerProcess
from tests.server.helpers import JSON, PRODUCER, SCHEMA_URL
from threadline.openlineage.events import parse_event
from threadline.openlineage.limits import EventLimits, EventTooLarge

SMALL = EventLimits(inputs=5, outputs=4, fields=10, column_edges=6)


def _event(
    *,
    inputs: int = 0,
    outputs: int = 1,
    fields: int = 0,
    nested: int = 0,
    edges: int = 0,
    dataset_edges: int = 0,
    job: str = "limits",
    padding: int = 0,
) -> dict[str, Any]:
    facets: dict[str, Any] = {}
    if fields or nested:
        schema_fields: list[dict[str, Any]] = [{"name": f"f{i}", "type": "INT"} for i in range(fields)]
        if nested:
            inner = [{"name": f"n{i}", "type": "INT"} for i in range(nested)]
            schema_fields.append({"name": "nested", "type": "STRUCT", "fields": inner})
        facets["schema"] = {"_producer": PRODUCER, "_schemaURL": "https://x/schema", "fields": schema_fields}
    if edges or dataset_edges:
        inputs_of = [{"namespace": "n", "name": "in", "field": f"c{i}"} for i in range(edges)]
        facets["columnLineage"] = {
            "_producer": PRODUCER,
            "_schemaURL": "https://x/cl",
            "fields": {"out": {"inputFields": inputs_of}} if edges else {},
            **(
                {"dataset": [{"namespace": "n", "name": "in", "field": "k"}] * dataset_edges}
                if dataset_edges
                else {}
            ),
        }
    return {
        "eventType": "COMPLETE",
        "eventTime": "2024-05-01T12:00:00Z",
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
        "run": {
            "runId": str(uuid.uuid4()),
            "facets": {"pad": {"_producer": PRODUCER, "_schemaURL": "x", "p": "x" * padding}},
        },
        "job": {"namespace": "limits", "name": job},
        "inputs": [{"namespace": "limits", "name": f"in-{i}"} for i in range(inputs)],
        "outputs": [
            {"namespace": "limits", "name": f"out-{i}", **({"facets": facets} if i == 0 and facets else {})}
            for i in range(outputs)
        ],
    }


def _raw(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).encode()


#: (what is counted, the event at its limit, the event one over, the field named, the setting)
CASES = [
    ("inputs", {"inputs": 5}, {"inputs": 6}, "inputs", "max_event_inputs"),
    ("outputs", {"outputs": 4}, {"outputs": 5}, "outputs", "max_event_outputs"),
    ("fields", {"fields": 10}, {"fields": 11}, "schema.fields", "max_event_fields"),
    (
        "nested fields",
        {"fields": 5, "nested": 4},
        {"fields": 5, "nested": 5},
        "schema.fields",
        "max_event_fields",
    ),
    ("column edges", {"edges": 6}, {"edges": 7}, "columnLineage.fields", "max_event_column_edges"),
    (
        "dataset-level column edges",
        {"edges": 3, "dataset_edges": 3},
        {"edges": 3, "dataset_edges": 4},
        "columnLineage.fields",
        "max_event_column_edges",
    ),
]


@pytest.mark.parametrize(("what", "at", "over", "field", "setting"), CASES, ids=[case[0] for case in CASES])
def test_an_event_at_a_limit_passes_and_one_over_is_refused_naming_it(
    what: str, at: dict[str, int], over: dict[str, int], field: str, setting: str
) -> None:
    assert parse_event(_raw(_event(**at)), SMALL).job_name == "limits"
    with pytest.raises(EventTooLarge) as refused:
        parse_event(_raw(_event(**over)), SMALL)
    assert refused.value.status == 413
    assert refused.value.field == field
    assert setting in refused.value.message


@given(
    inputs=st.integers(0, 8),
    outputs=st.integers(1, 6),
    fields=st.integers(0, 14),
    nested=st.integers(0, 4),
    edges=st.integers(0, 9),
)
def test_refused_exactly_when_a_count_is_over(
    inputs: int, outputs: int, fields: int, nested: int, edges: int
) -> None:
    doc = _event(inputs=inputs, outputs=outputs, fields=fields, nested=nested, edges=edges)
    over = (
        inputs > SMALL.inputs
        or outputs > SMALL.outputs
        or fields + nested + (1 if nested else 0) > SMALL.fields
        or edges > SMALL.column_edges
    )
    if over:
        with pytest.raises(EventTooLarge):
            SMALL.check(doc)
    else:
        SMALL.check(doc)


@given(limit=st.integers(1, 50), count=st.integers(0, 120))
def test_an_event_too_small_to_be_over_a_limit_is_not_counted(limit: int, count: int) -> None:
    """The shortcut of ``could_exceed``: the smallest JSON of ``count`` datasets still counts as
    possibly over when ``count`` is over the limit."""
    limits = EventLimits(inputs=limit, outputs=limit, fields=limit, column_edges=limit)
    smallest = json.dumps({"inputs": [0] * count}, separators=(",", ":")).encode()
    if count > limit:
        assert limits.could_exceed(len(smallest))
        with pytest.raises(EventTooLarge):
            limits.check(json.loads(smallest))


@pytest.mark.parametrize(
    "doc",
    [
        [],
        "text",
        {"inputs": "not a list"},
        {"inputs": [1, None, "x"]},
        {"outputs": [{"facets": "no"}, {"facets": {"schema": {"fields": "no"}}}]},
        {
            "outputs": [
                {"facets": {"schema": {"fields": [1, {"fields": 7}]}, "columnLineage": {"fields": []}}}
            ]
        },
        {"outputs": [{"facets": {"columnLineage": {"fields": {"a": 1, "b": {"inputFields": "x"}}}}}]},
        {"dataset": {"facets": {"schema": {"fields": [{"name": "a"}] * 3}}}},
    ],
)
def test_malformed_shapes_are_left_to_validation(doc: Any) -> None:
    SMALL.check(doc)  # counting never fails on what validation reports


# ---- the real server ---------------------------------------------------------------------------------------

LIMITS = {"max_event_inputs": 5, "max_event_outputs": 4, "max_event_fields": 10, "max_event_column_edges": 6}


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> ServerProcess:
    from tests.server.conftest import free_port

    folder = tmp_path_factory.mktemp("limited")
    options = {"auth": "none", "max_body_bytes": 16 << 20, "max_batch_events": 100, **LIMITS}
    server = ServerProcess(
        f"sqlite:///{folder / 'threadline.db'}", free_port(), folder / "server.log", options
    )
    server.start()
    yield server
    server.stop()
    assert "Traceback" not in server.log(), server.log()


@pytest.mark.slow
@pytest.mark.parametrize(("what", "at", "over", "field", "setting"), CASES, ids=[case[0] for case in CASES])
@pytest.mark.parametrize("padding", [0, 400_000], ids=["small", "large: parsed by a worker"])
def test_the_server_refuses_an_event_over_a_limit_with_413(
    limited_server: ServerProcess,
    what: str,
    at: dict[str, int],
    over: dict[str, int],
    field: str,
    setting: str,
    padding: int,
) -> None:
    with limited_server.client() as client:
        fine = _raw(_event(**at, padding=padding, job=f"at-{what}"))
        stored = client.post("/api/v1/lineage", content=fine, headers=JSON)
        assert stored.status_code == 201, stored.text
        assert client.get(f"/api/v1/events/{stored.json()['id']}/raw").content == fine
        refused = client.post("/api/v1/lineage", content=_raw(_event(**over, padding=padding)), headers=JSON)
        assert refused.status_code == 413, refused.text
        assert refused.json()["field"] == field
        assert setting in refused.json()["error"]
        batch = b"[" + _raw(_event(**over)) + b"," + _raw(_event(**at, job=f"batch-{what}")) + b"]"
        answer = client.post("/api/v1/lineage/batch", content=batch, headers=JSON).json()
        assert answer["status"] == "partial_success"
        assert answer["failed_events"][0]["index"] == 0
        assert answer["failed_events"][0]["field"] == field
        assert setting in answer["failed_events"][0]["reason"]
        assert answer["events"][0]["index"] == 1


@pytest.mark.slow
def test_a_large_invalid_event_is_400_naming_the_field(limited_server: ServerProcess) -> None:
    doc = _event(padding=400_000)
    doc["eventTime"] = "not a time"
    with limited_server.client() as client:
        response = client.post("/api/v1/lineage", content=_raw(doc), headers=JSON)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == "eventTime"


@pytest.mark.slow
def test_the_report_an_event_of_300000_inputs_is_refused_and_ingest_goes_on(
    start_server: ServerFactory, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("report")
    server = start_server(f"sqlite:///{folder / 'threadline.db'}", auth="none", max_body_bytes=16 << 20)
    huge = _raw(_event(inputs=300_000))
    assert len(huge) > 10_000_000
    with server.client() as client:
        refused = client.post("/api/v1/lineage", content=huge, headers=JSON)
        assert refused.status_code == 413, refused.text[:300]
        assert "max_event_inputs" in refused.json()["error"]
        assert "300,000" in refused.json()["error"]
        small = client.post("/api/v1/lineage", content=_raw(_event(inputs=3, job="after-huge")), headers=JSON)
        assert small.status_code == 201
        health = httpx.get(f"{server.url}/api/v1/health").json()
        assert health["events"] == 1
