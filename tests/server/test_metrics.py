"""``GET /metrics`` of a real server: what ingest and requests count, route templates, the modes."""

from __future__ import annotations

import socket
import uuid

import httpx
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.server.conftest import SMALL_BODY_LIMIT, ServerFactory
from tests.server.helpers import JSON, make_event
from threadline.store import open_store

pytestmark = pytest.mark.slow


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a scrape, by name and labels."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name, frozenset(sample.labels.items())] = sample.value
    return found


def _value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_count_ingest_and_requests_by_route_template(
    store_url: str, start_server: ServerFactory
) -> None:
    server = start_server(store_url, auth="none")
    with server.client() as client:
        for _ in range(3):
            assert (
                client.post("/api/v1/lineage", content=make_event(job="m"), headers=JSON).status_code == 201
            )
        again = make_event(job="m")
        client.post("/api/v1/lineage", content=again, headers=JSON)
        assert client.post("/api/v1/lineage", content=again, headers=JSON).json()["status"] == "duplicate"
        batch = b"[" + make_event(job="b") + b',{"eventType": "START"},' + make_event(job="b") + b"]"
        answer = client.post("/api/v1/lineage/batch", content=batch, headers=JSON)
        assert answer.json()["summary"] == {
            "received": 3, "successful": 2, "failed": 1, "retriable": 0, "non_retriable": 1
        }  # fmt: skip
        assert client.post("/api/v1/lineage", content=b"{not json", headers=JSON).status_code == 400
        assert client.post("/api/v1/lineage", content=b'{"eventType": 1}', headers=JSON).status_code == 400
        assert client.post("/api/v1/lineage/batch", content=b"[1,", headers=JSON).status_code == 400
        big = b" " * (SMALL_BODY_LIMIT + 1)
        assert client.post("/api/v1/lineage", content=big, headers=JSON).status_code == 413
        plain = {"Content-Type": "text/plain"}
        assert client.post("/api/v1/lineage", content=b"{}", headers=plain).status_code == 415
        # Reads: one route template however many paths; random paths all count as one.
        for job in ("a", "b", "c"):
            client.get(f"/api/v1/namespaces/tests/jobs/{job}")
        for _ in range(3):
            assert client.get(f"/api/v1/no-such-{uuid.uuid4().hex}").status_code == 404
        client.get("/datasets/some/page")
        answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    samples = _samples(answer.text)

    assert _value(samples, "threadline_events_accepted_total", status="created") == 6
    assert _value(samples, "threadline_events_accepted_total", status="duplicate") == 1
    assert _value(samples, "threadline_events_rejected_total", reason="invalid_event") == 1
    rejected = "threadline_ingest_requests_rejected_total"
    assert _value(samples, rejected, endpoint="single", reason="bad_json") == 1
    assert _value(samples, rejected, endpoint="single", reason="invalid_event") == 1
    assert _value(samples, rejected, endpoint="batch", reason="bad_json") == 1
    assert _value(samples, rejected, endpoint="single", reason="too_large") == 1
    assert _value(samples, rejected, endpoint="single", reason="unsupported_media_type") == 1

    count = "threadline_http_request_duration_seconds_count"
    assert _value(samples, count, method="POST", route="/api/v1/lineage", status="201") == 5
    assert _value(samples, count, method="POST", route="/api/v1/lineage/batch", status="200") == 1
    job_route = "/api/v1/namespaces/{namespace}/jobs/{job}"
    assert (
        sum(v for (name, labels), v in samples.items() if name == count and ("route", job_route) in labels)
        == 3
    )
    assert _value(samples, count, method="GET", route="unmatched", status="404") == 3
    assert _value(samples, count, method="GET", route="/{page}", status="200") == 1
    routes = {dict(labels)["route"] for name, labels in samples if name == count}
    assert not any("no-such" in route or route.endswith("/a") for route in routes), routes
    # A slow bucket holds at least what a fast one does; +Inf holds them all.
    buckets = "threadline_http_request_duration_seconds_bucket"
    labels = {"method": "POST", "route": "/api/v1/lineage", "status": "201"}
    assert (
        _value(samples, buckets, le="0.001", **labels) <= _value(samples, buckets, le="+Inf", **labels) == 5
    )

    assert _value(samples, "threadline_writer_queue_events") == 0
    assert _value(samples, "threadline_writer_appended_events_total") >= 7
    assert _value(samples, "threadline_lineage_index_builds_total") >= 1
    assert ("threadline_projection_lag_seconds", frozenset()) in samples
    assert _value(samples, "threadline_back_pressure", reason="writer_queue") == 0
    assert _value(samples, "threadline_back_pressure_limit", setting="max_writer_queue") == 100_000
    assert _value(samples, "threadline_store_errors_total", operation="append") == 0
    assert _value(samples, "process_resident_memory_bytes") > 0


def test_metrics_in_openmetrics_when_asked(sqlite_url: str, start_server: ServerFactory) -> None:
    server = start_server(sqlite_url, auth="none")
    answer = httpx.get(f"{server.url}/metrics", headers={"Accept": "application/openmetrics-text"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/openmetrics-text")
    assert answer.text.rstrip().endswith("# EOF")
    assert httpx.post(f"{server.url}/metrics").status_code == 405


def test_metrics_modes(sqlite_url: str, start_server: ServerFactory) -> None:
    store = open_store(sqlite_url)
    reader, _ = store.create_api_key("prometheus", "read")
    store.close()

    guarded = start_server(sqlite_url, auth="token")  # default: metrics auth
    anonymous = httpx.get(f"{guarded.url}/metrics")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert "API key" in anonymous.json()["error"]
    wrong = httpx.get(f"{guarded.url}/metrics", headers={"Authorization": "Bearer tl_nope"})
    assert wrong.status_code == 401
    keyed = httpx.get(f"{guarded.url}/metrics", headers={"Authorization": f"Bearer {reader}"})
    assert keyed.status_code == 200
    assert "threadline_events_accepted_total" in keyed.text

    opened = start_server(sqlite_url, auth="token", metrics="open")
    assert httpx.get(f"{opened.url}/metrics").status_code == 200
    assert httpx.get(f"{opened.url}/api/v1/jobs").status_code == 401  # the API still needs a key

    off = start_server(sqlite_url, auth="none", metrics="off")
    answer = httpx.get(f"{off.url}/metrics")
    assert answer.status_code == 404
    assert "metrics are off" in answer.json()["error"]


def test_metrics_labels_stay_bounded_whatever_paths_are_asked(
    sqlite_url: str, start_server: ServerFactory
) -> None:
    """A scanner's random paths add no series: the scrape is as large after 400 of them as after 2."""
    server = start_server(sqlite_url, auth="none")
    with server.client() as client:

        def scan(times: int) -> None:
            for _ in range(times):
                client.get(f"/api/v1/namespaces/{uuid.uuid4().hex}/datasets/{uuid.uuid4().hex}")
                client.get(f"/api/v1/{uuid.uuid4().hex}")

        scan(1)
        client.get("/metrics")  # its own series appear with the first scrape
        before = len(_samples(client.get("/metrics").text))
        scan(200)
        text = client.get("/metrics").text
    assert len(_samples(text)) == before
    assert "namespaces/{namespace}/datasets/{dataset}" in text


@pytest.mark.postgres
def test_store_errors_are_counted(pg_url: str, start_server: ServerFactory) -> None:
    """A store that fails a write: the request is refused (nothing acknowledged) and both the refusal
    and the store error are counted; once the store works again, so does ingest."""
    server = start_server(pg_url, auth="none")
    with server.client() as client:
        assert client.post("/api/v1/lineage", content=make_event(job="ok"), headers=JSON).status_code == 201
        with psycopg.connect(pg_url, autocommit=True) as connection:
            connection.execute(
                "CREATE FUNCTION refuse_events() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'no space left on device (a test)'; END $$"
            )
            connection.execute(
                "CREATE TRIGGER refuse_events BEFORE INSERT ON events "
                "FOR EACH ROW EXECUTE FUNCTION refuse_events()"
            )
            failed = client.post("/api/v1/lineage", content=make_event(job="refused"), headers=JSON)
            assert failed.status_code >= 500
            connection.execute("DROP TRIGGER refuse_events ON events")
        again = client.post("/api/v1/lineage", content=make_event(job="again"), headers=JSON)
        assert again.status_code == 201
        samples = _samples(client.get("/metrics").text)
    assert _value(samples, "threadline_store_errors_total", operation="append") == 1
    rejected = "threadline_ingest_requests_rejected_total"
    assert _value(samples, rejected, endpoint="single", reason="store_unavailable") == 1
    assert _value(samples, "threadline_events_accepted_total", status="created") == 2


def test_connections_closed_by_the_guard_are_counted(sqlite_url: str, start_server: ServerFactory) -> None:
    server = start_server(sqlite_url, auth="none", header_timeout=0.5)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as slow:
        slow.sendall(b"GET /api/v1/hea")  # and nothing more
        answer = slow.recv(1000)
    assert answer.startswith(b"HTTP/1.1 408")
    samples = _samples(httpx.get(f"{server.url}/metrics").text)
    assert _value(samples, "threadline_connections_closed_total", reason="timeout") == 1
    assert _value(samples, "threadline_connections_closed_total", reason="max_connections") == 0
    assert ("threadline_connections_waiting_for_headers", frozenset()) in samples
