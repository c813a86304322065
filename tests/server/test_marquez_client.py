"""Marquez's own Python client (``marquez-python``) against threadline, loaded with the example events.

What the client cannot do against threadline, and why:

* it has no search method: search is called through the client's own request helpers;
* ``list_events`` asks for ``/api/v1/events``, which Marquez does not serve either (its events are at
  ``/api/v1/events/lineage``), so it is not exercised;
* the deprecated write methods (``create_namespace``, ``create_dataset``, ``create_job``,
  ``mark_job_run_as_*``) are Marquez's pre-OpenLineage API, which threadline does not offer.

Known defects of marquez-python 0.50.0 on modern Python, worked around here: it imports ``pytz``
without declaring it (so ``pytz`` is in threadline's dev extras), and ``MarquezClient(api_key=...)``
writes the key into a module-level header dict shared by every client (restored after each test).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.projection.helpers import feed
from tests.server.conftest import ServerProcess, free_port
from threadline.store import open_store

marquez_client = pytest.importorskip("marquez_client")
from marquez_client import MarquezClient  # noqa: E402
from marquez_client import client as client_module  # noqa: E402
from marquez_client.errors import APIError  # noqa: E402

pytestmark = pytest.mark.slow

LAKE = "s3://acme-lake"
CRM = "postgres://crm-db.internal:5432"
EXAMPLES = "threadline-examples"
RAW = "raw/churn/customers.parquet"


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, example_events: list[bytes]
) -> Iterator[tuple[str, str]]:
    """A token-mode server over a store holding the example events; its URL and a write key."""
    folder: Path = tmp_path_factory.mktemp("marquez-client")
    url = f"sqlite:///{folder / 'threadline.db'}"
    store = open_store(url)
    feed(store, example_events)
    secret, _ = store.create_api_key("marquez-client", "write")
    store.close()
    process = ServerProcess(url, free_port(), folder / "server.log", {"auth": "token"}).start()
    yield process.url, secret
    process.stop()
    assert "Traceback" not in process.log(), process.log()


@pytest.fixture
def marquez(server: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> MarquezClient:
    monkeypatch.setattr(client_module, "_HEADERS", dict(client_module._HEADERS))
    url, secret = server
    return MarquezClient(url, api_key=secret)


def test_namespaces(marquez: MarquezClient) -> None:
    names = [n["name"] for n in marquez.list_namespaces()["namespaces"]]
    assert names == [CRM, LAKE, "s3://acme-models", EXAMPLES]
    assert marquez.get_namespace("S3://ACME-LAKE/")["name"] == LAKE


def test_datasets_and_versions(marquez: MarquezClient) -> None:
    datasets = marquez.list_datasets(LAKE)
    assert datasets["totalCount"] == 3
    assert [d["name"] for d in datasets["datasets"]] == [
        "clean/churn/customers.parquet",
        "features/churn/customer_features.parquet",
        RAW,
    ]
    raw = marquez.get_dataset(LAKE, RAW)
    assert raw["id"] == {"namespace": LAKE, "name": RAW}
    assert raw["sourceName"] == "acme-lake"
    assert "customer_id" in [f["name"] for f in raw["fields"]]
    versions = marquez.list_dataset_versions(LAKE, RAW)["versions"]
    assert len(versions) == 5
    assert versions[0]["version"] == raw["currentVersion"]
    assert all(v["createdByRun"]["state"] == "COMPLETED" for v in versions)
    oldest = marquez.get_dataset_version(LAKE, RAW, versions[-1]["version"])
    assert oldest["createdByRun"]["id"] == versions[-1]["createdByRun"]["id"]
    customers = marquez.get_dataset(CRM, "crm.public.customers")
    assert customers["sourceName"] == "crm-db"


def test_jobs_and_runs(marquez: MarquezClient) -> None:
    jobs = marquez.list_jobs(EXAMPLES)
    assert [j["name"] for j in jobs["jobs"]] == [
        "churn_pipeline",
        "churn_pipeline.clean",
        "churn_pipeline.extract",
        "churn_pipeline.features",
        "churn_pipeline.train",
    ]
    train = marquez.get_job(EXAMPLES, "churn_pipeline.train")
    assert train["inputs"] == [{"namespace": LAKE, "name": "features/churn/customer_features.parquet"}]
    assert train["outputs"] == [{"namespace": "s3://acme-models", "name": "churn/model.pkl"}]
    assert train["location"].endswith("pipelines/churn/train.py")
    runs = marquez.list_job_runs(EXAMPLES, "churn_pipeline.train")["runs"]
    assert [r["state"] for r in runs] == ["COMPLETED", "FAILED", "COMPLETED", "COMPLETED", "COMPLETED"]
    failed = marquez.get_job_run(runs[1]["id"])
    assert failed["facets"]["errorMessage"]["message"]
    assert failed["jobVersion"]["name"] == "churn_pipeline.train"


def test_sources(marquez: MarquezClient) -> None:
    assert [s["name"] for s in marquez.list_sources()["sources"]] == ["acme-lake", "acme-models", "crm-db"]
    assert marquez.get_source("crm-db")["connectionUrl"] == "postgres://crm-db.internal:5432/crm"


def test_search_through_the_clients_request_helpers(marquez: MarquezClient) -> None:
    found = marquez._get(marquez._url("/search"), params={"q": "customer", "filter": "DATASET"})
    assert [r["name"] for r in found["results"]] == [
        "clean/churn/customers.parquet",
        "crm.public.customers",
        "crm.public.subscriptions",  # its customer_id field matches
        "features/churn/customer_features.parquet",
        RAW,
    ]


def test_tagging(marquez: MarquezClient) -> None:
    tagged = marquez.tag_dataset(CRM, "crm.public.customers", "PII")
    assert tagged["tags"] == ["PII"]
    field = marquez.tag_dataset_field(CRM, "crm.public.customers", "email", "SENSITIVE")
    assert next(f for f in field["fields"] if f["name"] == "email")["tags"] == ["SENSITIVE"]
    assert marquez.create_tag("PII", "Personal data") == {"name": "PII", "description": "Personal data"}
    tags = marquez.list_tags()["tags"]
    assert {"name": "PII", "description": "Personal data"} in tags
    assert marquez.get_dataset(CRM, "crm.public.customers")["tags"] == ["PII"]


def test_errors_and_the_api_key(
    marquez: MarquezClient, server: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(APIError):
        marquez.get_dataset(LAKE, "nope")
    # marquez-python keeps the key in module-level headers: a client made without one still sends it
    assert MarquezClient(server[0]).list_namespaces()["namespaces"]
    monkeypatch.delitem(client_module._HEADERS, "Authorization")
    with pytest.raises(APIError):
        MarquezClient(server[0]).list_namespaces()  # no key at all: 401
