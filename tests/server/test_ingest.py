"""OpenLineage ingest over real HTTP: single events, batches, the conformance corpus, exact bytes."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.server.helpers import JSON, make_event

pytestmark = pytest.mark.slow


def _post(client: httpx.Client, body: bytes) -> httpx.Response:
    return client.post("/api/v1/lineage", content=body, headers=JSON)


def test_single_event_is_created(client: httpx.Client) -> None:
    body = make_event(job="single")
    response = _post(client, body)
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["status"] == "created"
    assert answer["problems"] == []
    assert len(answer["id"]) == 64
    stored = client.get(f"/api/v1/events/{answer['id']}")
    assert stored.status_code == 200
    assert stored.json()["event"] == json.loads(body)


def test_same_event_twice_is_stored_once(client: httpx.Client) -> None:
    body = make_event(job="twice", event_time="2003-03-03T03:03:03Z")
    first = _post(client, body)
    second = _post(client, body)
    # Reformatted but equal JSON is the same event: ids come from the canonical form.
    third = _post(client, json.dumps(json.loads(body), indent=2).encode())
    assert (first.status_code, second.status_code, third.status_code) == (201, 201, 201)
    assert first.json()["status"] == "created"
    assert second.json()["status"] == third.json()["status"] == "duplicate"
    assert first.json()["id"] == second.json()["id"] == third.json()["id"]
    page = client.get(
        "/api/v1/events/lineage", params={"after": "2003-03-03T00:00:00Z", "before": "2003-03-04T00:00:00Z"}
    ).json()
    assert page["totalCount"] == 1


def test_stored_bytes_are_exactly_the_posted_bytes(client: httpx.Client) -> None:
    # Odd spacing, key order and unicode escapes must survive: the log keeps what was sent.
    body = b'{ "producer":"p\\u00e9",  "eventTime":"2024-05-01T12:00:00.123456+02:00",\n'
    body += (
        b'"run":{"runId":"0b2e7d9e-2cf4-4bd3-9d0b-1c4d1f5a6a01"},"job":{"name":"exact","namespace":"n"}}\n'
    )
    answer = _post(client, body).json()
    raw = client.get(f"/api/v1/events/{answer['id']}/raw")
    assert raw.content == body
    assert body in client.get(f"/api/v1/events/{answer['id']}").content


def test_batch_elements_keep_their_exact_bytes(client: httpx.Client) -> None:
    first = b'{"eventTime":"2024-01-01T00:00:00Z",  "producer":"p","job":{"namespace":"b","name":"x"},'
    first += b'"run":{"runId":"5b7a0c0e-9d43-4d5e-8f4b-7f1b0f3c2a11"}}'
    second = make_event(job="batch-exact")
    body = b"[\n  " + first + b" ,\n" + second + b"\n]"
    answer = client.post("/api/v1/lineage/batch", content=body, headers=JSON).json()
    assert answer["status"] == "success"
    ids = [event["id"] for event in answer["events"]]
    assert client.get(f"/api/v1/events/{ids[0]}/raw").content == first
    assert client.get(f"/api/v1/events/{ids[1]}/raw").content == second


def test_batch_with_invalid_events_is_a_partial_success(client: httpx.Client) -> None:
    good = [make_event(job="batch-good-1"), make_event(job="batch-good-2")]
    no_run_id = json.loads(make_event(job="batch-bad"))
    del no_run_id["run"]["runId"]
    elements = [good[0], json.dumps(no_run_id).encode(), b"42", good[1], good[0]]
    response = client.post("/api/v1/lineage/batch", content=b"[" + b",".join(elements) + b"]", headers=JSON)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "partial_success"
    assert answer["summary"] == {
        "received": 5,
        "successful": 3,
        "failed": 2,
        "retriable": 0,
        "non_retriable": 2,
    }
    failed = {item["index"]: item for item in answer["failed_events"]}
    assert set(failed) == {1, 2}
    assert failed[1]["field"] == "run.runId"
    assert "run.runId" in failed[1]["reason"]
    assert failed[1]["retriable"] is False
    assert failed[2]["field"] == "$"
    stored = {item["index"]: item for item in answer["events"]}
    assert set(stored) == {0, 3, 4}
    assert stored[0]["status"] == "created"
    assert stored[4]["status"] == "duplicate"  # the same event again within the batch
    assert stored[4]["id"] == stored[0]["id"]
    for index in (0, 3):
        got = client.get(f"/api/v1/events/{stored[index]['id']}/raw")
        assert got.content == elements[index]


def test_a_large_batch_parsed_on_two_cores_keeps_order_and_bytes(client: httpx.Client) -> None:
    # 80 events: at least PARALLEL_MIN, so the worker processes parse them.
    elements = [make_event(job=f"parallel-{i}") for i in range(80)]
    elements[5] = b'{"eventTime": "yesterday", "producer": "p", "run": {}, "job": {}}'
    elements[70] = b'"not an event"'
    body = b"[" + b",".join(elements) + b"]"
    answer = client.post("/api/v1/lineage/batch", content=body, headers=JSON).json()
    assert answer["summary"]["successful"] == 78
    assert [item["index"] for item in answer["failed_events"]] == [5, 70]
    assert answer["failed_events"][0]["field"] == "eventTime"
    stored = answer["events"]
    assert [item["index"] for item in stored] == [i for i in range(80) if i not in (5, 70)]
    for item in (stored[0], stored[40], stored[-1]):
        assert client.get(f"/api/v1/events/{item['id']}/raw").content == elements[item["index"]]


def test_batch_all_valid_is_a_success(client: httpx.Client) -> None:
    body = b"[" + b",".join(make_event(job=f"ok-{i}") for i in range(3)) + b"]"
    answer = client.post("/api/v1/lineage/batch", content=body, headers=JSON).json()
    assert answer["status"] == "success"
    assert answer["summary"]["successful"] == 3
    assert answer["failed_events"] == []
    assert client.post("/api/v1/lineage/batch", content=b"[]", headers=JSON).json()["summary"] == {
        "received": 0,
        "successful": 0,
        "failed": 0,
        "retriable": 0,
        "non_retriable": 0,
    }


def _corpus(conformance: Path) -> list[Path]:
    return sorted((conformance / "events" / "valid").glob("*.json")) + sorted(
        conformance.glob("scenarios/*/events/*.json")
    )


def test_conformance_valid_events_are_accepted(client: httpx.Client, conformance: Path) -> None:
    files = _corpus(conformance)
    assert len(files) > 10
    for path in files:
        body = path.read_bytes()
        response = _post(client, body)
        if path.name == "client-python-nominal_time_without_end.json":
            # Despite its folder, this file is a bare NominalTimeRunFacet from the Python client's
            # tests ({"_producer", "_schemaURL", "nominalStartTime"}), not an event: it has no
            # eventTime, so refusing it naming eventTime is the right answer.
            assert response.status_code == 400, response.text
            assert response.json()["field"] == "eventTime"
            continue
        assert response.status_code == 201, f"{path}: {response.text}"
        event_id = response.json()["id"]
        assert client.get(f"/api/v1/events/{event_id}/raw").content == body, path


def test_conformance_invalid_events_are_refused_or_reported(client: httpx.Client, conformance: Path) -> None:
    files = sorted((conformance / "events" / "invalid").glob("*.json"))
    assert files
    reported = {
        item["id"]: item
        for item in client.get("/api/v1/events/problems", params={"limit": 1000}).json()["events"]
    }
    for path in files:
        response = _post(client, path.read_bytes())
        answer = response.json()
        if response.status_code == 400:
            assert path.name == "fluentd-event_no_run_id.json"
            assert answer["field"] == "run.runId"
            assert "run.runId" in answer["error"]
            continue
        assert response.status_code == 201, f"{path}: {response.text}"
        assert answer["problems"], f"{path}: the invalid facet is not reported"
        for problem in answer["problems"]:
            assert set(problem) == {"path", "facet", "message"}
        detail = client.get(f"/api/v1/events/{answer['id']}").json()
        assert detail["problems"] == answer["problems"]
        reported = {
            item["id"]: item
            for item in client.get("/api/v1/events/problems", params={"limit": 1000}).json()["events"]
        }
        assert answer["id"] in reported, path
        assert reported[answer["id"]]["problems"] == answer["problems"]


def test_nul_character_is_refused_not_a_server_error(client: httpx.Client) -> None:
    # PostgreSQL text cannot hold U+0000: without the check this would fail inside the store.
    response = _post(client, make_event(job="nul\u0000job"))
    assert response.status_code == 400, response.text
    assert "NUL" in response.json()["error"]
    batch = b"[" + make_event(job="fine-nul-neighbour") + b"," + make_event(job="a\u0000") + b"]"
    answer = client.post("/api/v1/lineage/batch", content=batch, headers=JSON).json()
    assert answer["summary"]["successful"] == 1
    assert answer["failed_events"][0]["index"] == 1


def test_health_reports_the_store(client: httpx.Client, open_server) -> None:
    health = client.get("/api/v1/health").json()
    assert health["status"] == "ok"
    assert health["store"]["backend"] in ("sqlite", "postgresql")
    assert health["store"]["writable"] is True
    assert health["events"] >= 0
    assert health["projectionLag"] >= 0
    assert "version" in health
    deadline = time.monotonic() + 10
    while not health["lineageIndex"]["ready"] and time.monotonic() < deadline:
        time.sleep(0.05)  # the index is built in the background at start
        health = client.get("/api/v1/health").json()
    assert health["lineageIndex"]["ready"], health["lineageIndex"]
    assert health["lineageIndex"]["nodes"] >= 0


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def _batch(prefix: str, count: int) -> bytes:
    return b"[" + b",".join(make_event(job=f"{prefix}-{i}") for i in range(count)) + b"]"


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_a_dead_parse_worker_is_replaced_and_no_request_fails(start_server, sqlite_url: str) -> None:
    server = start_server(sqlite_url, auth="none", parse_workers=2)
    assert server.proc is not None
    workers = _children(server.proc.pid)
    assert len(workers) == 2
    for worker in workers:
        os.kill(worker, signal.SIGKILL)
    with server.client() as client:
        for round_number in range(3):
            answer = client.post(
                "/api/v1/lineage/batch", content=_batch(f"dead-{round_number}", 80), headers=JSON
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["summary"]["successful"] == 80
    replaced = _children(server.proc.pid)
    assert len(replaced) == 2
    assert not set(replaced) & set(workers)
    assert "Traceback" not in server.log()


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_parse_workers_end_with_a_killed_server(start_server, sqlite_url: str) -> None:
    server = start_server(sqlite_url, auth="none", parse_workers=2)
    assert server.proc is not None
    workers = _children(server.proc.pid)
    assert workers
    server.kill()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(Path(f"/proc/{w}").exists() for w in workers):
        time.sleep(0.1)
    alive = [w for w in workers if Path(f"/proc/{w}").exists() and "Z" not in _state(w)]
    assert alive == []


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def test_api_answers_say_how_long_the_server_took(client: httpx.Client) -> None:
    for response in (client.get("/api/v1/health"), client.get("/api/v1/namespaces/nope/jobs/nope")):
        timing = response.headers["server-timing"]
        assert timing.startswith("app;dur=")
        assert 0 <= float(timing.removeprefix("app;dur=")) < 60_000
    assert "server-timing" not in client.get("/").headers  # the UI's pages are not timed


def test_batches_folded_by_the_parse_workers_give_the_projections_of_the_log(
    start_server, store_url: str, new_store, example_events: list[bytes], conformance: Path
) -> None:
    """The server folds batches in its parse workers and applies the folds without reading the log
    (``projection.projector.FoldAhead``); what it ends with is what folding the log gives."""
    from tests.projection.helpers import state
    from threadline.openlineage.events import parse_event
    from threadline.projection import project_all
    from threadline.store.sql import open_store

    scenarios = sorted((conformance / "scenarios").glob("*/events/*.json"))
    stream = [*example_events, *(path.read_bytes() for path in scenarios)]
    arrivals = [*reversed(stream), *stream[::3]]  # newest first, some twice
    server = start_server(store_url, auth="none", parse_workers=2, max_body_bytes=16 << 20)
    with server.client() as client:
        for start in range(0, len(arrivals), 40):  # at least 32 events: parsed (and folded) by workers
            body = b"[" + b",".join(arrivals[start : start + 40]) + b"]"
            answer = client.post("/api/v1/lineage/batch", content=body, headers=JSON)
            assert answer.status_code == 200, answer.text
        deadline = time.monotonic() + 60
        while client.get("/api/v1/health").json()["projectionLag"] and time.monotonic() < deadline:
            time.sleep(0.1)
    store = open_store(store_url)
    reference = new_store()
    try:
        reference.append([parse_event(raw) for raw in stream])
        project_all(reference)
        assert store.projection_lag() == 0
        assert state(store) == state(reference)
    finally:
        store.close()
    assert "Traceback" not in server.log()
