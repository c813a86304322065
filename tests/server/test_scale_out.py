"""Three ``threadline serve`` processes on one PostgreSQL store, one of them SIGKILLed under load.

Load goes through all three (single events and batches); one server is killed mid-way and started
again. Afterwards nothing acknowledged is missing, nothing is stored twice, the projections hold every
event exactly once (the projector ran once at a time and another server took it over), and every
server answers the same lineage (each one's in-memory index caught up with what the others ingested).
"""

from __future__ import annotations

import json
import threading
import time
import uuid

import httpx
import psycopg
import pytest

from tests.server.conftest import ServerFactory, ServerProcess
from tests.server.helpers import JSON, make_event

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

NS = "scale"
LAKE = "scale-lake"
CATCH_UP_SECONDS = 60.0


def _event(worker: int, n: int, i: int = 0) -> bytes:
    """Job ``job-<worker>-<k % 7>`` reads the shared source and writes ``out-<worker>-<k % 5>``
    (``k``: the event's number in the worker's sequence)."""
    k = n * 20 + i
    return make_event(
        job=f"job-{worker}-{k % 7}",
        namespace=NS,
        run_id=str(uuid.uuid4()),
        event_time=f"2031-01-01T00:{(n // 60) % 60:02d}:{n % 60:02d}.{i:06d}Z",
        inputs=[{"namespace": LAKE, "name": "source"}],
        outputs=[{"namespace": LAKE, "name": f"out-{worker}-{k % 5}"}],
    )


def _drive(
    server: ServerProcess, worker: int, batch: bool, acknowledged: list[str], stop: threading.Event
) -> None:
    """Post until stopped or the server is gone; record every id the server acknowledged."""
    with httpx.Client(base_url=server.url, timeout=10) as client:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                if batch:
                    body = b"[" + b",".join(_event(worker, n, i) for i in range(20)) + b"]"
                    response = client.post("/api/v1/lineage/batch", content=body, headers=JSON)
                    if response.status_code == 200:
                        acknowledged.extend(event["id"] for event in response.json()["events"])
                else:
                    response = client.post("/api/v1/lineage", content=_event(worker, n), headers=JSON)
                    if response.status_code == 201:
                        acknowledged.append(response.json()["id"])
            except (httpx.TransportError, ValueError):
                return  # this server is gone: what it did not acknowledge may be lost


def _caught_up(server: ServerProcess) -> dict[str, object]:
    deadline = time.monotonic() + CATCH_UP_SECONDS
    while True:
        health = httpx.get(f"{server.url}/api/v1/health", timeout=10).json()
        if health["projectionLag"] == 0 or time.monotonic() > deadline:
            return health
        time.sleep(0.2)


def _lineage(server: ServerProcess, node: str) -> list[tuple[str, list[str], list[str]]]:
    response = httpx.get(f"{server.url}/api/v1/lineage", params={"nodeId": node, "depth": "all"}, timeout=30)
    assert response.status_code == 200, response.text
    assert "x-threadline-projection-lag" not in response.headers
    return sorted(
        (
            node["id"],
            sorted(edge["origin"] for edge in node["inEdges"]),
            sorted(edge["destination"] for edge in node["outEdges"]),
        )
        for node in response.json()["graph"]
    )


def test_three_servers_one_killed(start_server: ServerFactory, pg_url: str) -> None:
    servers = [start_server(pg_url, auth="none", max_batch_events=1000) for _ in range(3)]
    acknowledged: list[str] = []
    stop = threading.Event()
    workers = [
        threading.Thread(target=_drive, args=(server, index * 2 + batch, bool(batch), acknowledged, stop))
        for index, server in enumerate(servers)
        for batch in (0, 1)
    ]
    for worker in workers:
        worker.start()
    time.sleep(1.5)
    servers[1].kill()  # SIGKILL: no shutdown code runs, its transactions and locks die with it
    time.sleep(1.5)
    stop.set()
    for worker in workers:
        worker.join(15)
    assert len(acknowledged) > 200, f"too few events were posted to be a test: {len(acknowledged)}"
    servers[1] = start_server(pg_url, auth="none", max_batch_events=1000)  # back again

    health = [_caught_up(server) for server in servers]
    assert all(h["projectionLag"] == 0 for h in health), json.dumps(health)

    with psycopg.connect(pg_url, autocommit=True) as db:
        stored, distinct = db.execute("SELECT count(*), count(DISTINCT id) FROM events").fetchone()
        wanted = set(acknowledged)
        found = {row[0] for row in db.execute("SELECT id FROM events WHERE id = ANY(%s)", (list(wanted),))}
        runs = db.execute("SELECT count(*) FROM runs").fetchone()[0]
        folded = db.execute("SELECT count(*) FROM event_ids").fetchone()[0]
        mark = db.execute("SELECT seq FROM log_marks WHERE name = 'projection'").fetchone()[0]
        head = db.execute("SELECT max(seq) FROM events").fetchone()[0]
        job_names = {row[0] for row in db.execute("SELECT DISTINCT job_name FROM events")}
    assert wanted <= found, f"{len(wanted - found)} acknowledged events are missing"
    assert stored == distinct, "an event is stored twice"
    assert len(acknowledged) == len(wanted), "an event was acknowledged as new twice"
    # Every stored event (acknowledged, or committed just before its server died) is folded once.
    assert mark == head
    assert folded == stored
    assert runs == stored  # every event is a run of its own

    answers = [
        [_lineage(server, node) for node in (f"dataset:{LAKE}:source", f"job:{NS}:{min(job_names)}")]
        for server in servers
    ]
    assert answers[0][0], "the shared source has no lineage"
    assert answers[0] == answers[1] == answers[2]
    jobs = {node for node, _, _ in answers[0][0] if node.startswith("job:")}
    assert jobs == {f"job:{NS}:{name}" for name in job_names}  # every job any server stored
