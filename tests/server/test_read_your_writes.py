"""Read-your-writes: an event a server acknowledged is in every read answered after it, at once.

Each round posts an event and reads it back immediately (no sleep, no retry) over one keep-alive
connection: the run every time, then in turn its job, its output dataset, the job's lineage, the
output's column lineage, a search, the event list and a tag on the output dataset (a write that
must find it; a search by POST is in tests/server/test_catalog_propagation.py). Batches are read
back the same way. On SQLite,
on PostgreSQL, and through a second server on the same PostgreSQL store (the read must wait for what
the other server acknowledged).
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest

from tests.server.conftest import ServerFactory
from tests.server.helpers import JSON, make_event

ROUNDS = 1_000
BATCH_ROUNDS = 20
NS = "ryw"
DATASETS = "ryw-lake"


_BASE = datetime(2030, 1, 1, tzinfo=UTC)
_clock = itertools.count()


def _event(tag: str, run_id: str) -> bytes:
    """A run of job ``job-<tag>`` reading ``in-<tag>`` and writing ``out-<tag>`` (column ``b`` from ``a``)."""
    lineage = {
        "_producer": "https://example.com/threadline-tests",
        "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
        "fields": {"b": {"inputFields": [{"namespace": DATASETS, "name": f"in-{tag}", "field": "a"}]}},
    }
    when = _BASE + timedelta(seconds=next(_clock))
    return make_event(
        event_time=when.isoformat().replace("+00:00", "Z"),
        job=f"job-{tag}",
        namespace=NS,
        run_id=run_id,
        inputs=[{"namespace": DATASETS, "name": f"in-{tag}"}],
        outputs=[{"namespace": DATASETS, "name": f"out-{tag}", "facets": {"columnLineage": lineage}}],
    )


def _check_run(http: httpx.Client, tag: str, run_id: str) -> None:
    response = http.get(f"/api/v1/jobs/runs/{run_id}")
    assert response.status_code == 200, (tag, response.status_code, response.text)
    assert response.json()["state"] == "COMPLETED", response.text


def _reads(http: httpx.Client) -> list[Callable[[str, str], None]]:
    def job(tag: str, run_id: str) -> None:
        response = http.get(f"/api/v1/namespaces/{NS}/jobs/job-{tag}")
        assert response.status_code == 200, (tag, response.text)
        assert response.json()["latestRun"]["id"] == run_id

    def dataset(tag: str, _run_id: str) -> None:
        response = http.get(f"/api/v1/namespaces/{DATASETS}/datasets/out-{tag}")
        assert response.status_code == 200, (tag, response.text)

    def lineage(tag: str, _run_id: str) -> None:
        response = http.get("/api/v1/lineage", params={"nodeId": f"job:{NS}:job-{tag}"})
        assert response.status_code == 200, (tag, response.text)
        ids = {node["id"] for node in response.json()["graph"]}
        assert f"dataset:{DATASETS}:out-{tag}" in ids, (tag, ids)
        assert f"dataset:{DATASETS}:in-{tag}" in ids, (tag, ids)

    def column_lineage(tag: str, _run_id: str) -> None:
        response = http.get("/api/v1/column-lineage", params={"nodeId": f"dataset:{DATASETS}:out-{tag}"})
        assert response.status_code == 200, (tag, response.text)
        assert f"datasetField:{DATASETS}:in-{tag}:a" in response.text, (tag, response.text)

    def search(tag: str, _run_id: str) -> None:
        response = http.get("/api/v1/search", params={"q": f"job-{tag}"})
        assert response.status_code == 200, (tag, response.text)
        assert any(hit["name"] == f"job-{tag}" for hit in response.json()["results"]), response.text

    def events(tag: str, run_id: str) -> None:
        # The newest event first: each round's events are later than every earlier round's.
        response = http.get("/api/v1/events/lineage", params={"limit": 50})
        assert response.status_code == 200, (tag, response.text)
        # (a tag is an event too, without a run)
        assert run_id in {event.get("run", {}).get("runId") for event in response.json()["events"]}, tag

    def tag_dataset(tag: str, _run_id: str) -> None:
        # A write that needs what was acknowledged: Marquez's tag on a dataset posted a moment ago.
        response = http.post(f"/api/v1/namespaces/{DATASETS}/datasets/out-{tag}/tags/PII")
        assert response.status_code == 200, (tag, response.text)

    return [job, dataset, lineage, column_lineage, search, events, tag_dataset]


def _post_and_read(writer: httpx.Client, reader: httpx.Client, prefix: str) -> None:
    reads = _reads(reader)
    for index in range(ROUNDS):
        tag, run_id = f"{prefix}-{index}", str(uuid.uuid4())
        response = writer.post("/api/v1/lineage", content=_event(tag, run_id), headers=JSON)
        assert response.status_code == 201, response.text
        _check_run(reader, tag, run_id)
        reads[index % len(reads)](tag, run_id)
    for index in range(BATCH_ROUNDS):
        runs = [(f"{prefix}-batch-{index}-{n}", str(uuid.uuid4())) for n in range(50)]
        body = b"[" + b",".join(_event(tag, run_id) for tag, run_id in runs) + b"]"
        response = writer.post("/api/v1/lineage/batch", content=body, headers=JSON)
        assert response.status_code == 200, response.text
        tag, run_id = runs[index % len(runs)]
        _check_run(reader, tag, run_id)
        reads[index % len(reads)](tag, run_id)
    lagging = reader.get("/api/v1/health").json()
    assert lagging["readYourWrites"]["staleReads"] == 0, json.dumps(lagging)


@pytest.mark.slow
@pytest.mark.timeout(900)  # 1,000 rounds: ~10 s on a quiet machine, minutes on a crowded one
def test_a_read_sees_the_write_acknowledged_before_it(start_server: ServerFactory, store_url: str) -> None:
    server = start_server(store_url, auth="none")
    with server.client() as http:
        _post_and_read(http, http, "one")


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(900)
def test_a_second_server_sees_what_the_first_acknowledged(start_server: ServerFactory, pg_url: str) -> None:
    first = start_server(pg_url, auth="none")
    second = start_server(pg_url, auth="none")
    with first.client() as writer, second.client() as reader:
        _post_and_read(writer, reader, "two")


@pytest.mark.postgres
def test_a_read_that_waited_long_enough_says_how_stale_it_is(
    start_server: ServerFactory, pg_url: str, pg_server: str
) -> None:
    """While something else holds the projector's lock, a read waits ``read_wait`` (2 s by default)
    and is answered with the lag in a header (and health counts it); once the lock is free the read
    is complete."""
    server = start_server(pg_url, auth="none")
    schema = pg_url.rsplit("%3D", 1)[1]
    run_id = str(uuid.uuid4())
    with psycopg.connect(pg_server, autocommit=True) as blocker, server.client() as http:
        blocker.execute("SELECT pg_advisory_lock(7715339, hashtext(%s))", (schema,))
        assert http.post("/api/v1/lineage", content=_event("stale", run_id), headers=JSON).status_code == 201
        started = time.monotonic()
        response = http.get(f"/api/v1/jobs/runs/{run_id}")
        assert time.monotonic() - started >= 2.0
        assert response.status_code == 404
        assert int(response.headers["x-threadline-projection-lag"]) >= 1
        health = http.get("/api/v1/health").json()
        assert health["projectionLag"] == 1
        assert health["readYourWrites"]["staleReads"] == 1
        blocker.execute("SELECT pg_advisory_unlock(7715339, hashtext(%s))", (schema,))
        response = http.get(f"/api/v1/jobs/runs/{run_id}")
        assert "x-threadline-projection-lag" not in response.headers
        assert response.status_code == 200
