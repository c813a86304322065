"""An acknowledged event survives SIGKILL of the server (SQLite WAL with synchronous=NORMAL, PostgreSQL)."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from tests.server.conftest import ServerFactory
from tests.server.helpers import JSON, make_event
from threadline.store import open_store

pytestmark = pytest.mark.slow


def _hammer(url: str, acknowledged: list[str], stop: threading.Event, batch: bool, worker: int) -> None:
    """Post events as fast as possible, recording the id of every one the server acknowledged."""
    with httpx.Client(base_url=url, timeout=5) as client:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                if batch:
                    bodies = [make_event(job=f"kill-{worker}-{n}-{i}") for i in range(20)]
                    response = client.post(
                        "/api/v1/lineage/batch", content=b"[" + b",".join(bodies) + b"]", headers=JSON
                    )
                    if response.status_code == 200:
                        acknowledged.extend(event["id"] for event in response.json()["events"])
                else:
                    response = client.post(
                        "/api/v1/lineage", content=make_event(job=f"kill-{worker}-{n}"), headers=JSON
                    )
                    if response.status_code == 201:
                        acknowledged.append(response.json()["id"])
            except (httpx.TransportError, ValueError):
                return  # the server is gone; whatever was not acknowledged may be lost


def test_acknowledged_events_survive_sigkill(start_server: ServerFactory, store_url: str) -> None:
    server = start_server(store_url, auth="none", sqlite_synchronous="NORMAL", max_batch_events=1000)
    acknowledged: list[str] = []
    stop = threading.Event()
    workers = [
        threading.Thread(target=_hammer, args=(server.url, acknowledged, stop, batch, index))
        for index, batch in enumerate([False, False, True, True])
    ]
    for worker in workers:
        worker.start()
    # Kill it in mid-flow once enough is acknowledged (not after a fixed time: on a loaded machine,
    # such as under `make test`'s two workers, 1.2 s had seen none).
    deadline = time.monotonic() + 60
    while len(acknowledged) < 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill()  # SIGKILL: no shutdown, no flush, no goodbye
    stop.set()
    for worker in workers:
        worker.join(10)
    assert len(acknowledged) > 50, f"too few events were posted to be a test: {len(acknowledged)}"

    # The store opens cleanly after the crash and holds every acknowledged event.
    store = open_store(store_url)
    try:
        missing = [event_id for event_id in acknowledged if store.get_event(event_id) is None]
        assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged events were lost"
    finally:
        store.close()

    # And the restarted server serves them, projecting what the killed one had not yet folded.
    restarted = start_server(store_url, auth="none")
    with restarted.client() as client:
        for event_id in acknowledged[:: max(1, len(acknowledged) // 50)]:
            assert client.get(f"/api/v1/events/{event_id}").status_code == 200
        deadline = time.monotonic() + 20
        while client.get("/api/v1/health").json()["projectionLag"] and time.monotonic() < deadline:
            time.sleep(0.1)
        health = client.get("/api/v1/health").json()
    assert health["events"] >= len(set(acknowledged))
    assert health["projectionLag"] == 0
