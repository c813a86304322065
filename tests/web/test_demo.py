"""``make demo``'s data (``examples/demo.py --no-serve``, built once for the web tests, see conftest.py):
the SDK pipeline's runs, one of them on changed data and one failing, the shipped event sets, and the
staged sales pipeline's three days (two approved and promoted, the third blocked by its bad rows)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from examples.demo import SDK_NAMESPACE

from tests.server.conftest import ServerProcess

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def http(web_server: ServerProcess) -> Any:
    with web_server.client() as client:
        yield client


def runs_of(http: httpx.Client, job: str) -> list[dict[str, Any]]:
    """The runs of the SDK job ``job``, oldest first."""
    answer = http.get("/api/v1/ui/runs", params={"namespace": SDK_NAMESPACE, "job": job, "limit": 100}).json()
    return [run for run in reversed(answer["runs"]) if run["job"] == job]


def test_the_pipeline_ran_four_times_and_the_last_run_failed(http: httpx.Client) -> None:
    pipeline = runs_of(http, "churn")
    assert [run["state"] for run in pipeline] == ["COMPLETED", "COMPLETED", "COMPLETED", "FAILED"]
    failed = pipeline[-1]
    assert "monthly_charges" in failed["errorMessage"]
    steps = {
        run["job"]: run["state"]
        for run in http.get("/api/v1/ui/runs", params={"parent": failed["id"]}).json()["runs"]
    }
    assert steps == {"churn.clean": "COMPLETED", "churn.features": "FAILED"}
    overview = http.get("/api/v1/ui/overview").json()
    assert failed["id"] in {run["id"] for run in overview["recentFailures"]}


def test_runs_differ_in_parameters_and_in_their_input(http: httpx.Client) -> None:
    trained = runs_of(http, "churn.train")
    assert len(trained) == 3
    params = [
        http.get(f"/api/v1/jobs/runs/{run['id']}").json()["facets"]["threadline_params"]["params"]
        for run in trained
    ]
    assert [p["n_estimators"] for p in params] == [120, 60, 120]
    cleaned = runs_of(http, "churn.clean")
    inputs = [http.get(f"/api/v1/jobs/runs/{run['id']}").json()["inputDatasetVersions"] for run in cleaned]
    raw = [entry[0]["datasetVersionId"] for entry in inputs]
    assert raw[0]["name"] == raw[1]["name"] == raw[2]["name"]
    assert raw[0]["version"] == raw[1]["version"] != raw[2]["version"]  # make-data --seed 8 in between
    assert raw[2]["version"].startswith("blake3:")
    assert raw[3]["name"].endswith("customers-export.csv")


def test_the_shipped_event_sets_are_in(http: httpx.Client) -> None:
    namespaces = {n["name"] for n in http.get("/api/v1/namespaces").json()["namespaces"]}
    assert {"acme-dbt", "acme-airflow", "threadline-examples", SDK_NAMESPACE} <= namespaces


def test_the_sales_pipeline_promoted_two_days_and_blocked_the_third(http: httpx.Client) -> None:
    runs = http.get("/api/v1/pipelines/daily_sales/runs").json()["runs"][::-1]  # oldest first
    assert [run["state"] for run in runs] == ["COMPLETED", "COMPLETED", "FAILED"]
    assert [(run["approval"] or {}).get("status") for run in runs[:2]] == ["approved", "approved"]
    assert all(len(run["versions"]["production"]) == 3 for run in runs[:2])
    blocked = runs[2]
    assert blocked["versions"]["production"] == []
    checks = {
        c["check"]: c for stage in blocked["stages"] for c in stage["checks"] if c["status"] == "failed"
    }
    assert set(checks) == {"unique(order_id)", "not_null(customer_id)", "between(amount)"}
    assert {row["order_id"] for row in checks["unique(order_id)"]["sample"]} == {3005}
    assert checks["between(amount)"]["sample"][0]["amount"] == 12999
