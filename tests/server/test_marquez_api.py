"""Marquez's read API against the real server: encoded names, aliases, spellings, paging, tags, auth.

The server runs in token mode with a read and a write key; its store is loaded before it starts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import drop_pg_schema
from tests.projection.helpers import ds, feed, run_event, run_id
from tests.readers.helpers import facet
from tests.server.conftest import ServerProcess, _pg_schema_url, free_port
from threadline.store import open_store

pytestmark = pytest.mark.slow

PG = "POSTGRES://Warehouse.Example.com:5432/"  # the first spelling, shown
PG_OTHER = "postgresql://warehouse.example.com"  # the same namespace
LAKE = "s3://lake"
HIVE = "hive://meta:9083"
SCHEMA = {"fields": [{"name": "id", "type": "BIGINT"}, {"name": "email", "type": "STRING"}]}
PAGING = [f"table_{i:02d}" for i in range(12)]


def enc(name: str) -> str:
    """A path segment as marquez-python and Marquez's web UI encode it (every '/' and ':' too)."""
    return quote(name, safe="")


def _events() -> list[dict]:
    aliases = {"identifiers": [{"namespace": HIVE, "name": "default.orders", "type": "TABLE"}]}
    return [
        run_event("START", 1, 1, job="etl", inputs=[ds("public.orders", PG, schema=SCHEMA)]),
        run_event(
            "COMPLETE",
            30,
            1,
            job="etl",
            inputs=[ds("public.orders", PG_OTHER)],
            outputs=[ds("raw/orders.csv", LAKE, schema=SCHEMA, symlinks=aliases)],
            job_facets={"sql": facet(query="select * from orders")},
        ),
        run_event(
            "START", 40, 2, job="etl", inputs=[ds("public.orders", PG)], outputs=[ds("raw/orders.csv", LAKE)]
        ),
        run_event("FAIL", 50, 2, job="etl"),
        run_event(
            "COMPLETE",
            60,
            3,
            job="etl",
            inputs=[ds("public.orders", PG)],
            outputs=[ds("raw/orders.csv", LAKE)],
        ),
        # reads what run 3 wrote, without a version facet: it read the version current when it began
        run_event("COMPLETE", 70, 4, job="report", inputs=[ds("raw/orders.csv", LAKE)]),
        *[
            run_event(
                "COMPLETE",
                100 + i,
                10 + i,
                job=f"load_{name}",
                namespace="paging",
                outputs=[ds(name, "paging")],
            )
            for i, name in enumerate(reversed(PAGING))
        ],
    ]


@dataclass
class ApiServer:
    """The server and the secrets of its read and write keys."""

    server: ServerProcess
    keys: dict[str, str]

    def client(self, scope: str | None = "read") -> httpx.Client:
        """A client sending the key of ``scope`` (or none)."""
        return self.server.client(self.keys[scope] if scope else None)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url_of_module(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh store URL on each backend, for this module's server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('marquez-api') / 'threadline.db'}"
        return
    pg_server = request.getfixturevalue("pg_server")
    schema_name, url = _pg_schema_url(pg_server)
    yield url
    drop_pg_schema(pg_server, schema_name)


@pytest.fixture(scope="module")
def api(store_url_of_module: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """A token-mode server over a store loaded with this module's events, with a read and a write key."""
    store = open_store(store_url_of_module)
    feed(store, _events())
    keys = {scope: store.create_api_key(f"{scope}-key", scope)[0] for scope in ("read", "write")}
    store.close()
    log = tmp_path_factory.mktemp("marquez-api-log") / "server.log"
    server = ServerProcess(store_url_of_module, free_port(), log, {"auth": "token"}).start()
    yield ApiServer(server, keys)
    server.stop()
    assert "Traceback" not in server.log(), server.log()


@pytest.fixture
def client(api: ApiServer) -> Iterator[httpx.Client]:
    with api.client("read") as http:
        yield http


def ok(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def refused(response: httpx.Response, status: int, *words: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status
    assert isinstance(body["code"], str)  # machine-readable; Marquez's int code is "status" now
    assert body["message"] == body["error"]
    for word in words:
        assert word in body["message"]
    return body["message"]


def test_namespaces_show_the_first_spelling_and_any_spelling_finds_them(client: httpx.Client) -> None:
    listed = ok(client.get("/api/v1/namespaces"))
    # sorted by canonical name (postgres://warehouse…), shown as first spelled
    assert [n["name"] for n in listed["namespaces"]] == ["ns", "paging", PG, LAKE]
    for spelling in (PG, PG_OTHER, "postgres://WAREHOUSE.example.com:5432"):
        assert ok(client.get(f"/api/v1/namespaces/{enc(spelling)}"))["name"] == PG
    assert (
        ok(client.get("/api/v1/namespaces", params={"limit": 1, "offset": 2}))["namespaces"][0]["name"] == PG
    )


def test_encoded_names_with_scheme_port_and_slashes(client: httpx.Client) -> None:
    orders = ok(client.get(f"/api/v1/namespaces/{enc(PG_OTHER)}/datasets/public.orders"))
    assert orders["id"] == {"namespace": PG, "name": "public.orders"}
    assert [f["name"] for f in orders["fields"]] == ["id", "email"]
    raw = ok(client.get(f"/api/v1/namespaces/{enc(LAKE)}/datasets/{enc('raw/orders.csv')}"))
    assert raw["name"] == "raw/orders.csv"
    assert raw["currentVersion"] == run_id(3)
    assert raw["aliases"] == [{"namespace": HIVE, "name": "default.orders", "type": "TABLE"}]
    versions = ok(client.get(f"/api/v1/namespaces/{enc(LAKE)}/datasets/{enc('raw/orders.csv')}/versions"))
    assert versions["totalCount"] == 3
    assert [v["version"] for v in versions["versions"]] == [run_id(3), run_id(2), run_id(1)]
    assert [v["createdByRun"]["state"] for v in versions["versions"]] == ["COMPLETED", "FAILED", "COMPLETED"]
    one = ok(
        client.get(f"/api/v1/namespaces/{enc(LAKE)}/datasets/{enc('raw/orders.csv')}/versions/{run_id(1)}")
    )
    assert one["createdByRun"]["id"] == run_id(1)
    # a dataset whose name ends in /versions is not the versions list of another
    refused(client.get(f"/api/v1/namespaces/{enc(LAKE)}/datasets/{enc('raw/versions')}"), 404, "raw/versions")


def test_alias_finds_the_dataset(client: httpx.Client) -> None:
    found = ok(client.get(f"/api/v1/namespaces/{enc(HIVE)}/datasets/default.orders"))
    assert found["id"] == {"namespace": LAKE, "name": "raw/orders.csv"}


def test_lists_are_sorted_across_pages(client: httpx.Client) -> None:
    names, jobs = [], []
    for offset in range(0, 15, 5):
        page = ok(client.get("/api/v1/namespaces/paging/datasets", params={"limit": 5, "offset": offset}))
        assert page["totalCount"] == 12
        names += [d["name"] for d in page["datasets"]]
        page = ok(client.get("/api/v1/namespaces/paging/jobs", params={"limit": 5, "offset": offset}))
        jobs += [j["name"] for j in page["jobs"]]
    assert names == PAGING
    assert jobs == [f"load_{name}" for name in PAGING]
    everything = ok(client.get("/api/v1/jobs", params={"limit": 2}))
    assert everything["totalCount"] == 14
    assert [j["name"] for j in everything["jobs"]] == ["etl", "report"]  # by namespace, then name


def test_jobs_runs_and_versions(client: httpx.Client) -> None:
    job = ok(client.get("/api/v1/namespaces/ns/jobs/etl"))
    assert job["type"] == "BATCH"
    assert job["inputs"] == [{"namespace": PG, "name": "public.orders"}]
    assert job["outputs"] == [{"namespace": LAKE, "name": "raw/orders.csv"}]
    assert job["latestRun"]["id"] == run_id(3)
    assert [r["state"] for r in job["latestRuns"]] == ["COMPLETED", "FAILED", "COMPLETED"]
    runs = ok(client.get("/api/v1/namespaces/ns/jobs/etl/runs", params={"limit": 2, "offset": 1}))
    assert runs["totalCount"] == 3
    assert [r["id"] for r in runs["runs"]] == [run_id(2), run_id(1)]
    run = ok(client.get(f"/api/v1/jobs/runs/{run_id(1)}"))
    assert run["state"] == "COMPLETED"
    assert run["durationMs"] == 29_000
    assert [s["state"] for s in run["states"]] == ["START", "COMPLETE"]
    assert run["jobVersion"] == {"namespace": "ns", "name": "etl", "version": job["currentVersion"]}
    assert run["inputDatasetVersions"][0]["datasetVersionId"]["name"] == "public.orders"
    assert run["outputDatasetVersions"][0]["datasetVersionId"]["version"] == run_id(1)
    job_facets = ok(client.get(f"/api/v1/jobs/runs/{run_id(1)}/facets", params={"type": "job"}))
    assert job_facets["facets"]["sql"]["query"] == "select * from orders"
    assert ok(client.get(f"/api/v1/jobs/runs/{run_id(1)}/facets"))["runId"] == run_id(1)
    versions = ok(client.get("/api/v1/namespaces/ns/jobs/etl/versions"))
    assert [v["version"] for v in versions["versions"]] == [job["currentVersion"]]
    assert versions["versions"][0]["runCount"] == 3
    one = ok(client.get(f"/api/v1/namespaces/ns/jobs/etl/versions/{job['currentVersion']}"))
    assert one["latestRun"]["id"] == run_id(3)


def test_every_reader_of_a_run_gives_the_same_input_versions(client: httpx.Client) -> None:
    """One run's Marquez shape is the same from the run, the job's runs, and the job's latest runs."""
    one = ok(client.get(f"/api/v1/jobs/runs/{run_id(4)}"))
    listed = ok(client.get("/api/v1/namespaces/ns/jobs/report/runs"))["runs"][0]
    job = ok(client.get("/api/v1/namespaces/ns/jobs/report"))
    everywhere = [one, listed, job["latestRun"], job["latestRuns"][0]]
    everywhere += [
        j["latestRun"] for j in ok(client.get("/api/v1/namespaces/ns/jobs"))["jobs"] if j["name"] == "report"
    ]
    read = [run["inputDatasetVersions"] for run in everywhere]
    assert read[0] == [
        {
            "datasetVersionId": {"namespace": LAKE, "name": "raw/orders.csv", "version": run_id(3)},
            "facets": {},
        }
    ]
    assert all(versions == read[0] for versions in read), read


def test_search_sources_and_tags(client: httpx.Client) -> None:
    found = ok(client.get("/api/v1/search", params={"q": "ORDERS"}))
    assert [(r["type"], r["name"], r["namespace"]) for r in found["results"]] == [
        ("DATASET", "public.orders", PG),
        ("DATASET", "raw/orders.csv", LAKE),
    ]
    assert found["results"][1]["nodeId"] == "dataset:s3://lake:raw/orders.csv"
    page = ok(
        client.get(
            "/api/v1/search/", params={"q": "table_", "filter": "JOB", "sort": "UPDATE_AT", "limit": 3}
        )
    )
    assert page["totalCount"] == 12
    assert [r["name"] for r in page["results"]] == ["load_table_00", "load_table_01", "load_table_02"]
    sources = ok(client.get("/api/v1/sources"))
    assert [s["name"] for s in sources["sources"]] == [PG, "paging", LAKE]
    assert ok(client.get(f"/api/v1/sources/{enc(LAKE)}"))["type"] == "S3"


def test_tags_round_trip_through_the_log(api: ApiServer) -> None:
    path = f"/api/v1/namespaces/{enc(PG_OTHER)}/datasets/public.orders"
    with api.client("write") as writer, api.client("read") as reader:
        assert ok(writer.post(f"{path}/tags/PII"))["tags"] == ["PII"]
        assert ok(writer.post(f"{path}/tags/PII"))["tags"] == ["PII"]  # already there: the same tags
        assert ok(reader.get(path))["tags"] == ["PII"]
        tagged = ok(writer.post(f"{path}/fields/email/tags/SENSITIVE"))
        assert [f["tags"] for f in tagged["fields"]] == [[], ["SENSITIVE"]]
        assert ok(reader.get(path))["tags"] == ["PII"]  # the field tag did not touch the dataset's
        # Marquez's web UI sends the dataset name unencoded when tagging
        assert ok(writer.post(f"/api/v1/namespaces/{enc(LAKE)}/datasets/raw/orders.csv/tags/RAW"))[
            "tags"
        ] == ["RAW"]
        assert ok(writer.put("/api/v1/tags/PII", json={"description": "personal data"})) == {
            "name": "PII",
            "description": "personal data",
        }
        assert ok(writer.post("/api/v1/tags/RAW", json={"description": "landing zone"}))["name"] == "RAW"
        tags = ok(reader.get("/api/v1/tags"))
        assert tags["tags"] == [
            {"name": "PII", "description": "personal data"},
            {"name": "RAW", "description": "landing zone"},
            {"name": "SENSITIVE", "description": None},
        ]
        assert ok(writer.delete(f"{path}/tags/PII"))["tags"] == []
        assert ok(writer.delete(f"{path}/fields/email/tags/SENSITIVE"))["fields"][1]["tags"] == []
        assert ok(reader.get(path))["tags"] == []
        # every change is an event in the log, from threadline, as a DatasetEvent with that one change
        events = ok(reader.get("/api/v1/events/lineage", params={"limit": 20}))["events"]
        ours = [e for e in events if e["producer"] == "https://github.com/threadline-dev/threadline"]
        assert len(ours) == 8
        assert all(e["schemaURL"].endswith("#/$defs/DatasetEvent") for e in ours)
        changes = [
            e["dataset"]["facets"]["threadline_tag_changes"]["changes"]
            for e in ours
            if "tags/" not in e["dataset"]["name"]
        ]
        assert sorted((c["action"], c["tag"], c.get("field")) for [c] in changes) == [
            ("add", "PII", None),
            ("add", "PII", None),
            ("add", "RAW", None),
            ("add", "SENSITIVE", "email"),
            ("remove", "PII", None),
            ("remove", "SENSITIVE", "email"),
        ]
        assert {c["by"] for [c] in changes} == {"write-key"}  # the name of the key that made them
        # the catalog's own namespace (tag descriptions) stays hidden
        assert "threadline://catalog" not in [
            n["name"] for n in ok(reader.get("/api/v1/namespaces"))["namespaces"]
        ]


def test_scopes(api: ApiServer) -> None:
    path = f"/api/v1/namespaces/{enc(LAKE)}/datasets/{enc('raw/orders.csv')}"
    with api.client(None) as anonymous:
        response = anonymous.get("/api/v1/namespaces")
        refused(response, 401, "API key")
        assert response.headers["WWW-Authenticate"] == "Bearer"
    with api.client("read") as reader:
        ok(reader.get(path))
        refused(reader.post(f"{path}/tags/X"), 403, "read", "write")
        refused(reader.delete(f"{path}/tags/X"), 403)
        refused(reader.put("/api/v1/tags/X", json={}), 403)


def test_bad_input_is_a_4xx_with_a_message(api: ApiServer) -> None:
    with api.client("write") as client:
        refused(client.get("/api/v1/namespaces/nowhere"), 404, "nowhere")
        refused(client.get("/api/v1/namespaces/nowhere/datasets"), 404, "nowhere")
        refused(client.get("/api/v1/namespaces/ns/jobs/nope"), 404, "nope")
        refused(client.get(f"/api/v1/namespaces/{enc(LAKE)}/datasets/nope/versions"), 404, "nope")
        refused(
            client.get(f"/api/v1/namespaces/{enc(LAKE)}/datasets/{enc('raw/orders.csv')}/versions/x"),
            404,
            "x",
        )
        refused(client.get("/api/v1/namespaces/ns/jobs/etl/versions/nope"), 404, "nope")
        refused(client.get("/api/v1/namespaces", params={"limit": -1}), 400, "limit")
        refused(client.get("/api/v1/namespaces/ns/jobs", params={"limit": "ten"}), 400, "limit", "'ten'")
        refused(client.get("/api/v1/namespaces/paging/datasets", params={"offset": -3}), 400, "offset")
        refused(client.get("/api/v1/jobs/runs/not-a-uuid"), 400, "not a UUID")
        refused(client.get(f"/api/v1/jobs/runs/{run_id(99)}"), 404, run_id(99))
        refused(client.get(f"/api/v1/jobs/runs/{run_id(1)}/facets", params={"type": "x"}), 400, "type")
        refused(client.get("/api/v1/search"), 400, "q must not be empty")
        refused(client.get("/api/v1/search", params={"q": "a", "filter": "TABLE"}), 400, "filter")
        refused(client.get("/api/v1/search", params={"q": "a", "sort": "size"}), 400, "sort")
        refused(client.get("/api/v1/sources/nope"), 404, "nope")
        refused(
            client.post("/api/v1/namespaces/paging/datasets/table_00/fields/nope/tags/X"),
            404,
            "no field 'nope'",
        )
        refused(client.post("/api/v1/namespaces/paging/datasets/missing/tags/X"), 404, "missing")
        refused(
            client.put("/api/v1/tags/X", content=b"{not json", headers={"Content-Type": "application/json"}),
            400,
        )
        refused(client.put("/api/v1/tags/X", json={"description": 3}), 400, "description")
        refused(client.put("/api/v1/tags/%20", json={}), 400, "tag name")
        assert client.delete("/api/v1/namespaces/ns").status_code == 405
