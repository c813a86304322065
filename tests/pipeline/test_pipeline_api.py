"""The pipelines' read API (``server/api/pipelines.py``) over real runs of the example: a promoted run
and a blocked one, each as a chain of stages with their checks and versions; a dataset's quality
history; the answers match the OpenAPI document; mistakes get the one error shape."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jsonschema
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.pipeline.conftest import open_project_store
from threadline.cli.main import app as cli
from threadline.server.app import asgi_app, create_app
from threadline.settings import ServerConfig

BAD_ORDER = "1011,2,-1.00,shipped,2026-12-05T09:00:00\n"


def _run(example: Path) -> int:
    result = CliRunner().invoke(cli, ["pipeline", "run", str(example / "shop.py")])
    assert "Traceback" not in result.output
    return result.exit_code


@pytest.fixture
def client(example: Path, project: Path) -> Iterator[TestClient]:
    """The API on the project's store after a promoted run and a blocked one of the example."""
    assert _run(example) == 0
    with (example / "data/orders.csv").open("a") as handle:
        handle.write(BAD_ORDER)
    assert _run(example) == 1
    store = open_project_store(project)
    with TestClient(
        asgi_app(create_app(store, ServerConfig(auth="none"))), raise_server_exceptions=False
    ) as http:
        yield http
    store.close()


def _valid(client: TestClient, path: str, body: Any) -> None:
    document = client.get("/api/openapi.json").json()
    schema = document["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    jsonschema.Draft202012Validator({**schema, "components": document["components"]}).validate(body)


def _stage(run: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in run["stages"] if s["stage"] == name)


def test_runs_are_chains_of_stages_with_checks_and_versions(client: TestClient) -> None:
    listed = client.get("/api/v1/pipelines").json()
    _valid(client, "/api/v1/pipelines", listed)
    (shop,) = listed["pipelines"]
    assert shop["name"] == "shop"
    assert shop["runs"] == 2
    assert shop["lastRun"]["state"] == "FAILED"

    answer = client.get("/api/v1/pipelines/shop/runs").json()
    _valid(client, "/api/v1/pipelines/{name}/runs", answer)
    blocked, promoted = answer["runs"]
    assert [s["stage"] for s in promoted["stages"]] == [
        "extract.customers",
        "load.customers",
        "extract.orders",
        "load.orders",
        "validate.customers",
        "validate.orders",
        "transform.revenue_by_country",
        "validate.revenue_by_country",
        "promote",
    ]
    assert promoted["state"] == "COMPLETED"
    assert promoted["env"] == "staging"
    assert all(s["state"] == "COMPLETED" for s in promoted["stages"])
    orders = _stage(promoted, "validate.orders")
    assert orders["counts"] == {"passed": 6, "warned": 0, "failed": 0}
    assert {c["check"] for c in orders["checks"]} >= {"unique(order_id)", "between(amount)"}
    staging = {v["name"].rsplit(".", 1)[-1]: v for v in promoted["versions"]["staging"]}
    production = {v["name"].rsplit(".", 1)[-1]: v for v in promoted["versions"]["production"]}
    assert set(staging) == set(production) == {"customers", "orders", "revenue_by_country"}
    # production received exactly the versions that were checked in staging
    assert {t: v["version"] for t, v in production.items()} == {t: v["version"] for t, v in staging.items()}
    assert production["orders"]["rows"] == 6  # the rows of data/orders.csv

    assert blocked["state"] == "FAILED"
    assert "between(amount)" in blocked["error"]
    assert blocked["versions"]["production"] == []
    failed = _stage(blocked, "validate.orders")
    assert failed["state"] == "FAILED"
    assert failed["counts"]["failed"] == 1
    check = next(c for c in failed["checks"] if c["status"] == "failed")
    assert check["check"] == "between(amount)"
    assert check["failures"] == 1
    assert [row["order_id"] for row in check["sample"]] == [1011]
    assert "promote" not in [s["stage"] for s in blocked["stages"]]

    one = client.get(f"/api/v1/pipeline-runs/{blocked['shortId']}").json()
    _valid(client, "/api/v1/pipeline-runs/{run_id}", one)
    assert one["id"] == blocked["id"]
    assert one["stages"] == blocked["stages"]


def test_a_dataset_quality_history_has_each_run_that_checked_it(client: TestClient) -> None:
    runs = client.get("/api/v1/pipelines/shop/runs").json()["runs"]
    orders = next(v for v in runs[1]["versions"]["staging"] if v["name"].endswith("orders"))
    answer = client.get(f"/api/v1/ui/dataset-quality?nodeId={quote(orders['nodeId'], safe='')}").json()
    _valid(client, "/api/v1/ui/dataset-quality", answer)
    newest, oldest = answer["history"]
    assert newest["runId"] == _stage(runs[0], "validate.orders")["id"]
    assert (newest["passed"], newest["failed"]) == (5, 1)
    assert (oldest["passed"], oldest["failed"]) == (6, 0)
    failing = [a for a in newest["assertions"] if not a["success"]]
    assert [(a["assertion"], a.get("column")) for a in failing] == [("between(amount)", "amount")]


def test_mistakes_get_the_one_error_shape(client: TestClient) -> None:
    run = client.get("/api/v1/pipelines/shop/runs").json()["runs"][0]
    stage = _stage(run, "load.orders")
    job = quote(f"job:{run['namespace']}:shop", safe="")
    for url, status, words in (
        ("/api/v1/pipelines/shpo/runs", 404, "no pipeline 'shpo'"),
        ("/api/v1/pipeline-runs/ffffffff", 404, "ffffffff"),
        (f"/api/v1/pipeline-runs/{stage['id']}", 404, "not a pipeline run"),
        (f"/api/v1/ui/dataset-quality?nodeId={job}", 400, "must be a dataset"),
        ("/api/v1/ui/dataset-quality?nodeId=dataset:x:nope", 404, "nope"),
        ("/api/v1/pipelines/shop/runs?limit=0", 400, "limit"),
    ):
        answer = client.get(url)
        assert answer.status_code == status, (url, answer.text)
        body = answer.json()
        assert {"status", "code", "message", "error"} <= set(body), body
        assert words in body["message"], (url, body)
