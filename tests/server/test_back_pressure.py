"""Back-pressure on a real server: 503 + Retry-After over a limit, nothing acknowledged lost, recovery,
and the official OpenLineage client retrying until its event is stored."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.transport.http import HttpConfig, HttpTransport
from prometheus_client.parser import text_string_to_metric_families

from tests.server.conftest import ServerFactory, ServerProcess
from tests.server.helpers import JSON, make_event
from tests.sync.helpers import event_ids, record, remote, site
from threadline.store import open_store
from threadline.sync.push import push

pytestmark = pytest.mark.slow


@contextlib.contextmanager
def writes_blocked(store_url: str) -> Iterator[None]:
    """Hold the store's write lock from another connection: the server's appends wait (its reads go
    on), as when the database is slow or busy with another writer."""
    if store_url.startswith("sqlite:///"):
        connection = sqlite3.connect(store_url.removeprefix("sqlite:///"), isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            connection.execute("ROLLBACK")
            connection.close()
    else:
        with psycopg.connect(store_url) as connection:
            connection.execute("LOCK TABLE events IN EXCLUSIVE MODE")  # reads may go on, inserts wait
            yield
            connection.rollback()


def _health(server: ServerProcess) -> dict:
    return httpx.get(f"{server.url}/api/v1/health", timeout=10).json()


def _wait_for(condition: Callable[[], bool], what: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {seconds} s for {what}")
        time.sleep(0.05)


def _metric(server: ServerProcess, name: str, **labels: str) -> float:
    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def _refused(server: ServerProcess, endpoint: str) -> float:
    """Ingest requests of ``endpoint`` refused by back-pressure, as ``GET /metrics`` counts them."""
    name = "threadline_ingest_requests_rejected_total"
    return _metric(server, name, endpoint=endpoint, reason="back_pressure")


def _stored_ids(store_url: str) -> set[str]:
    store = open_store(store_url)
    try:
        return {event.id for batch in store.iter_events() for event in batch}
    finally:
        store.close()


def test_a_full_writer_queue_answers_503_and_loses_nothing(
    store_url: str, start_server: ServerFactory
) -> None:
    server = start_server(store_url, auth="none", max_writer_queue=3)
    acknowledged: list[str] = []
    with server.client() as client:
        first = client.post("/api/v1/lineage", content=make_event(job="before"), headers=JSON)
        assert first.status_code == 201
        acknowledged.append(first.json()["id"])

        waiting: list[httpx.Response] = []

        def post_and_wait(job: str) -> None:
            with server.client() as own:
                waiting.append(own.post("/api/v1/lineage", content=make_event(job=job), headers=JSON))

        with writes_blocked(store_url):
            threads = [threading.Thread(target=post_and_wait, args=(f"queued-{i}",)) for i in range(3)]
            for thread in threads:
                thread.start()
            _wait_for(lambda: _health(server)["backPressure"]["writerQueue"] == 3, "3 queued events")

            refused = []
            for i in range(4):
                started = time.monotonic()
                answer = client.post("/api/v1/lineage", content=make_event(job=f"refused-{i}"), headers=JSON)
                assert time.monotonic() - started < 5  # refused at once, not after a timeout
                refused.append(answer)
            batch = b"[" + make_event(job="refused-batch") + b"]"
            refused.append(client.post("/api/v1/lineage/batch", content=batch, headers=JSON))
            for answer in refused:
                assert answer.status_code == 503, answer.text
                assert answer.headers["retry-after"] == "1"
                assert "max_writer_queue" in answer.json()["error"]
                assert "nothing of this request was stored" in answer.json()["error"]
            pressure = _health(server)["backPressure"]
            assert pressure["active"] is True
            assert pressure["reason"] == "writer_queue"
            assert pressure["refused"]["writer_queue"] == 5
            assert _metric(server, "threadline_back_pressure", reason="writer_queue") == 1
            assert _metric(server, "threadline_writer_queue_events") == 3
            assert all(thread.is_alive() for thread in threads)  # still waiting for their commit
        for thread in threads:
            thread.join(30)
        assert [answer.status_code for answer in waiting] == [201, 201, 201]
        acknowledged += [answer.json()["id"] for answer in waiting]

        # Recovered: the queue is empty and ingest takes events again.
        after = client.post("/api/v1/lineage", content=make_event(job="after"), headers=JSON)
        assert after.status_code == 201
        acknowledged.append(after.json()["id"])
        assert _health(server)["backPressure"]["active"] is False
        assert _refused(server, "single") == 4
        assert _refused(server, "batch") == 1
    assert _stored_ids(store_url) == set(acknowledged)  # every 201 is stored, no 503 is
    log = server.log()
    assert "back-pressure: ingest answers 503" in log
    assert log.count("back-pressure:") == 1  # said once, not once per refused request
    assert "Traceback" not in log


def test_projection_lag_over_its_limit_answers_503_then_recovers(
    store_url: str, start_server: ServerFactory
) -> None:
    """With a limit far below what any fold keeps to under load (1 ms), steady ingest soon meets
    back-pressure; the clients pause, the projection catches up and ingest is accepted again."""
    server = start_server(store_url, auth="none", max_projection_lag=0.001)
    acknowledged: list[str] = []
    refusals: list[httpx.Response] = []
    stop = threading.Event()

    def produce(worker: int) -> None:
        with server.client() as client:
            sent = 0
            while not stop.is_set():
                batch = [make_event(job=f"lag-{worker}-{sent + i}") for i in range(20)]
                sent += 20
                body = b"[" + b",".join(batch) + b"]"
                answer = client.post("/api/v1/lineage/batch", content=body, headers=JSON)
                if answer.status_code == 503:
                    refusals.append(answer)
                    stop.set()
                    return
                assert answer.status_code == 200, answer.text
                acknowledged.extend(event["id"] for event in answer.json()["events"])

    workers = [threading.Thread(target=produce, args=(n,)) for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert refusals, "no back-pressure within two minutes of steady ingest"
    refusal = refusals[0]
    assert 1 <= int(refusal.headers["retry-after"]) <= 10
    assert "max_projection_lag" in refusal.json()["error"]
    assert _refused(server, "batch") >= 1

    # Nobody sends: the projection catches up, the lag is sampled again, and ingest is open again.
    _wait_for(lambda: _health(server)["backPressure"]["active"] is False, "back-pressure to end", 120)
    assert _health(server)["projectionLag"] == 0
    with server.client() as client:
        answer = client.post("/api/v1/lineage", content=make_event(job="after-lag"), headers=JSON)
    assert answer.status_code == 201, answer.text
    acknowledged.append(answer.json()["id"])
    assert _stored_ids(store_url) == set(acknowledged)
    assert "back-pressure over after" in server.log()


def _run_event(job: str) -> RunEvent:
    return RunEvent(
        eventType=RunState.COMPLETE,
        eventTime=datetime.now(UTC).isoformat(),
        run=Run(runId=str(uuid.uuid4())),
        job=Job(namespace="retry", name=job),
        producer="https://github.com/threadline/tests",
    )


def test_the_openlineage_client_retries_503_and_delivers(
    sqlite_url: str, start_server: ServerFactory
) -> None:
    """openlineage-python's HTTP transport (its default retry: 5 times on 500/502/503/504, waiting
    Retry-After) gets its event stored once the server takes events again."""
    server = start_server(sqlite_url, auth="none", max_writer_queue=1)
    client = OpenLineageClient(transport=HttpTransport(HttpConfig(url=server.url, timeout=30)))
    held: list[httpx.Response] = []

    def hold_the_queue() -> None:
        with server.client() as own:
            held.append(own.post("/api/v1/lineage", content=make_event(job="holder"), headers=JSON))

    with writes_blocked(sqlite_url):
        holder = threading.Thread(target=hold_the_queue)
        holder.start()
        _wait_for(lambda: _health(server)["backPressure"]["writerQueue"] == 1, "a queued event")
        emitted: list[BaseException | None] = []

        def emit() -> None:
            try:
                client.emit(_run_event("retried"))
                emitted.append(None)
            except BaseException as exc:
                emitted.append(exc)

        emitter = threading.Thread(target=emit)
        emitter.start()
        _wait_for(lambda: _refused(server, "single") >= 2, "the client to be refused twice")
    holder.join(30)
    emitter.join(60)
    assert emitted == [None], emitted
    assert held[0].status_code == 201
    store = open_store(sqlite_url)
    try:
        jobs = [event.job_name for batch in store.iter_events() for event in batch]
    finally:
        store.close()
    assert sorted(jobs) == ["holder", "retried"]


def test_a_push_meets_back_pressure_waits_and_is_delivered_once(
    sqlite_url: str, start_server: ServerFactory, tmp_path: Path
) -> None:
    """A site pushing to a server whose writer queue is full is refused (503 + Retry-After, counted in
    the metrics as ``push``); the sync client waits what it is told and sends again, and every event of
    the site is stored once."""
    server = start_server(sqlite_url, auth="none", max_writer_queue=1)
    site_a = site(tmp_path, "a")
    record(site_a, "a")
    httpx.get(f"{server.url}/api/v1/sync/info", timeout=10)  # the server's site id, made on first use
    held: list[httpx.Response] = []
    reports: list[object] = []

    def hold_the_queue() -> None:
        with server.client() as own:
            held.append(own.post("/api/v1/lineage", content=make_event(job="holder"), headers=JSON))

    def push_the_site() -> None:
        try:
            reports.append(push(site_a, remote(server.url)))
        except BaseException as exc:
            reports.append(exc)

    with writes_blocked(sqlite_url):
        holder = threading.Thread(target=hold_the_queue)
        holder.start()
        _wait_for(lambda: _health(server)["backPressure"]["writerQueue"] == 1, "a queued event")
        pusher = threading.Thread(target=push_the_site)
        pusher.start()
        _wait_for(lambda: _refused(server, "push") >= 1, "the push to be refused")
    holder.join(30)
    pusher.join(60)
    assert held[0].status_code == 201
    (report,) = reports
    assert not isinstance(report, BaseException), report
    pushed = event_ids(site_a)
    assert report.sent == report.stored == len(pushed)
    stored = _stored_ids(sqlite_url)
    assert stored == {*pushed, held[0].json()["id"]}
    site_a.close()
