"""Tag changes are operations that merge: none is lost, whatever runs at the same time.

Two servers share one store (a SQLite file, or PostgreSQL) while a third client keeps ingesting;
twenty tag changes arrive at once, split between the servers. Every change that was answered 200
is in the result, read from either server.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import httpx
import pytest

from tests.server.conftest import ServerProcess
from tests.server.helpers import JSON, make_event

pytestmark = pytest.mark.slow

NAMESPACE = "postgres://tags-db:5432"
DATASET = "public.customers"


def _seed(client: httpx.Client) -> None:
    schema = {
        "_producer": "https://example.com/p",
        "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json",
        "fields": [{"name": f"col{i}", "type": "string"} for i in range(4)],
    }
    body = make_event(
        job="tagged-writer",
        namespace="tags",
        outputs=[{"namespace": NAMESPACE, "name": DATASET, "facets": {"schema": schema}}],
    )
    assert client.post("/api/v1/lineage", content=body, headers=JSON).status_code == 201


def _settle(client: httpx.Client) -> None:
    deadline = time.monotonic() + 60
    while client.get("/api/v1/health").json()["projectionLag"] and time.monotonic() < deadline:
        time.sleep(0.05)


class _Load:
    """Batches of events posted without pause, until stopped."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.stop = threading.Event()
        self.sent = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with self.server.client() as client:
            while not self.stop.is_set():
                batch = [json.loads(make_event(job=f"load-{uuid.uuid4().hex[:6]}")) for _ in range(50)]
                client.post("/api/v1/lineage/batch", content=json.dumps(batch), headers=JSON)
                self.sent += len(batch)

    def __enter__(self) -> _Load:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(30)


def _dataset(client: httpx.Client) -> dict:
    response = client.get(f"/api/v1/namespaces/{quote(NAMESPACE, safe='')}/datasets/{DATASET}")
    assert response.status_code == 200, response.text
    return response.json()


def _change(servers: list[ServerProcess], method: str, path: str, index: int) -> int:
    with servers[index % 2].client() as client:
        return client.request(method, path).status_code


def test_concurrent_tag_changes_on_two_servers_under_load_are_all_kept(start_server, store_url: str) -> None:
    servers = [start_server(store_url, auth="none"), start_server(store_url, auth="none")]
    with servers[0].client() as client:
        _seed(client)
        _settle(client)
    base = f"/api/v1/namespaces/{quote(NAMESPACE, safe='')}/datasets/{DATASET}"
    job_base = "/api/v1/namespaces/tags/jobs/tagged-writer"
    adds = [("POST", f"{base}/tags/t{i:02d}") for i in range(20)]
    with _Load(servers[0]) as load, ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(lambda item: _change(servers, *item[1], item[0]), enumerate(adds)))
        assert load.sent > 0
    assert statuses == [200] * 20
    expected = {f"t{i:02d}" for i in range(20)}
    for server in servers:
        with server.client() as client:
            assert set(_dataset(client)["tags"]) == expected

    # Remove ten, add ten more to the dataset, ten to a field and ten to the job, all at once.
    changes = [("DELETE", f"{base}/tags/t{i:02d}") for i in range(10)]
    changes += [("POST", f"{base}/tags/u{i:02d}") for i in range(10)]
    changes += [("POST", f"{base}/fields/col{i % 4}/tags/f{i:02d}") for i in range(10)]
    changes += [("POST", f"{job_base}/tags/j{i:02d}") for i in range(10)]
    with _Load(servers[1]), ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(lambda item: _change(servers, *item[1], item[0]), enumerate(changes)))
    assert statuses == [200] * 40
    expected = {f"t{i:02d}" for i in range(10, 20)} | {f"u{i:02d}" for i in range(10)}
    for server in servers:
        with server.client() as client:
            dataset = _dataset(client)
            assert set(dataset["tags"]) == expected
            fields = {f["name"]: set(f["tags"]) for f in dataset["fields"]}
            assert fields == {f"col{c}": {f"f{i:02d}" for i in range(10) if i % 4 == c} for c in range(4)}
            job = client.get(job_base).json()
            assert set(job["tags"]) == {f"j{i:02d}" for i in range(10)}
            listed = {t["name"] for t in client.get("/api/v1/tags", params={"limit": 1000}).json()["tags"]}
            assert expected | {f"f{i:02d}" for i in range(10)} | {f"j{i:02d}" for i in range(10)} <= listed
