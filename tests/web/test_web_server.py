"""What the server does for the UI: pages, static files, security headers, and the /api/v1/ui/ API."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.server.conftest import ServerProcess
from tests.web.conftest import HOSTILE_DATASET, HOSTILE_NAMESPACE
from threadline.server.web import WEB_DIR, asset_digest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def http(web_server: ServerProcess) -> Any:
    with web_server.client() as client:
        yield client


@pytest.mark.parametrize(
    "path",
    ["/", "/lineage?node=dataset:a:b", "/datasets/postgres%3A%2F%2Fdb%3A5432/a%2Fb", "/runs/abc", "/events"],
)
def test_every_page_is_index_html_with_a_strict_policy(http: httpx.Client, path: str) -> None:
    response = http.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert f"/static/{asset_digest()}/app/main.js" in response.text
    assert "ASSETS" not in response.text
    assert "<script>" not in response.text  # no inline script


def test_every_module_is_preloaded(http: httpx.Client) -> None:
    """The page names every module of the UI up front, so the browser fetches them in parallel."""
    page = http.get("/").text
    modules = sorted(p.relative_to(WEB_DIR).as_posix() for p in (WEB_DIR / "app").rglob("*.js"))
    assert len(modules) > 10
    for module in modules:
        url = f"/static/{asset_digest()}/{module}"
        assert url in page, module
        assert http.get(url).status_code == 200
    # The libraries are loaded by the pages that draw a graph or a chart (app/dom.js library()),
    # after those pages have asked for their data.
    assert "cytoscape.min.js" not in page
    assert "uPlot.iife.min.js" not in page
    dom = http.get(f"/static/{asset_digest()}/app/dom.js").text
    for library in ("cytoscape/cytoscape.min.js", "elkjs/elk.bundled.js", "uplot/uPlot.iife.min.js"):
        assert f"../vendor/{library}" in dom
        assert http.get(f"/static/{asset_digest()}/vendor/{library}").status_code == 200


def test_static_files_are_cached_under_their_digest(http: httpx.Client) -> None:
    digest = asset_digest()
    response = http.get(f"/static/{digest}/vendor/cytoscape/cytoscape.min.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    css = http.get(f"/static/{digest}/app.css")
    assert css.headers["content-type"].startswith("text/css")
    old = http.get("/static/0000000000000000/app/main.js")
    assert old.status_code == 200
    assert old.headers["cache-control"] == "no-cache"
    assert http.get(f"/static/{digest}/vendor/elkjs/LICENSE.md").status_code == 200


def test_static_files_are_gzipped_for_clients_that_accept_it(http: httpx.Client) -> None:
    url = f"/static/{asset_digest()}/vendor/elkjs/elk.bundled.js"
    plain = http.get(url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.content == (WEB_DIR / "vendor/elkjs/elk.bundled.js").read_bytes()
    zipped = http.get(url, headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert int(zipped.headers["content-length"]) < len(plain.content) / 2
    assert zipped.content == plain.content  # httpx decodes it
    assert zipped.headers["vary"] == "accept-encoding"
    assert zipped.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "script-src 'self'" in zipped.headers["content-security-policy"]


def test_head_and_other_methods_on_pages(http: httpx.Client) -> None:
    plain = {"Accept-Encoding": "identity"}
    head = http.head("/runs", headers=plain)
    assert head.status_code == 200
    assert head.content == b""
    assert int(head.headers["content-length"]) == len(http.get("/runs", headers=plain).content)
    assert http.head(f"/static/{asset_digest()}/app.css").headers["content-type"].startswith("text/css")
    favicon = http.get("/favicon.ico")
    assert favicon.headers["content-type"] == "image/svg+xml"
    assert favicon.headers["cache-control"] == "public, max-age=86400"
    assert http.post("/runs").status_code in (404, 405)  # pages are only read


def test_an_unknown_static_file_is_a_json_404(http: httpx.Client) -> None:
    response = http.get(f"/static/{asset_digest()}/app/no-such-module.js")
    assert response.status_code == 404
    message = "no file 'app/no-such-module.js' in the web UI"
    assert response.json() == {"status": 404, "code": "not_found", "message": message, "error": message}


@pytest.mark.parametrize(
    "path", ["/static/x/../../server/web.py", "/static/x/%2e%2e/%2e%2e/server/web.py", "/static/x/nope.js"]
)
def test_static_files_stay_inside_the_ui(http: httpx.Client, path: str) -> None:
    response = http.get(path)
    assert response.status_code == 404 or "def asset_digest" not in response.text


def test_api_paths_are_not_pages(http: httpx.Client) -> None:
    response = http.get("/api/v1/no-such-endpoint")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"


def test_overview(http: httpx.Client) -> None:
    data = http.get("/api/v1/ui/overview").json()
    counts = data["counts"]
    assert counts["datasets"] >= 17
    assert counts["failedRuns"] >= 4
    assert data["firstEventTime"].startswith("2026-11-01")
    assert all(run["state"] == "FAILED" for run in data["recentFailures"])
    assert {"id", "job", "namespace", "durationMs", "jobType", "errorMessage"} <= set(data["recentRuns"][0])


def test_runs_filters(http: httpx.Client) -> None:
    failed = http.get("/api/v1/ui/runs", params={"state": "FAILED"}).json()
    assert failed["totalCount"] == len(failed["runs"]) >= 4
    assert {run["state"] for run in failed["runs"]} == {"FAILED"}
    payments = http.get(
        "/api/v1/ui/runs", params={"job": "load_payments", "namespace": "acme-airflow"}
    ).json()
    assert payments["totalCount"] == 4
    parent = http.get("/api/v1/ui/runs", params={"job": "dbt-run"}).json()["runs"][0]
    children = http.get("/api/v1/ui/runs", params={"parent": parent["id"]}).json()
    assert children["totalCount"] >= 10
    assert all(child["parentRunId"] == parent["id"] for child in children["runs"])
    since = http.get(
        "/api/v1/ui/runs", params={"since": "2026-11-04T00:00:00Z", "until": "2026-11-04T23:59:59Z"}
    ).json()
    assert all(run["createdAt"].startswith("2026-11-04") for run in since["runs"])
    assert http.get("/api/v1/ui/runs", params={"state": "SLEEPING"}).status_code == 400
    # the state as people write it, or OpenLineage's event type, is understood too
    assert (
        http.get("/api/v1/ui/runs", params={"state": "failed"}).json()["totalCount"] == failed["totalCount"]
    )
    assert http.get("/api/v1/ui/runs", params={"state": "FAIL"}).json()["totalCount"] == failed["totalCount"]


def test_runs_of_a_pipeline(http: httpx.Client) -> None:
    """A pipeline is a job and every job under it: the Airflow DAG, its tasks, and the dbt models of
    the dbt run one task started (in another namespace)."""
    answer = http.get("/api/v1/ui/runs", params={"pipeline": "jaffle_shop_daily", "limit": 500}).json()
    jobs = {(run["namespace"], run["job"]) for run in answer["runs"]}
    assert ("acme-airflow", "jaffle_shop_daily") in jobs
    assert ("acme-airflow", "jaffle_shop_daily.load_payments") in jobs
    assert ("acme-dbt", "dbt-run-jaffle_shop") in jobs
    assert any(namespace == "acme-dbt" and job.startswith("analytics.") for namespace, job in jobs)
    assert answer["totalCount"] == len(answer["runs"])
    sdk = http.get("/api/v1/ui/runs", params={"pipeline": "churn", "limit": 500}).json()
    assert {run["job"] for run in sdk["runs"]} == {"churn", "churn.clean", "churn.features", "churn.train"}
    missing = http.get("/api/v1/ui/runs", params={"pipeline": "nothing-like-it"})
    assert missing.status_code == 404
    assert "no pipeline 'nothing-like-it'" in missing.json()["error"]


def test_runs_carry_short_ids(http: httpx.Client) -> None:
    runs = http.get("/api/v1/ui/runs", params={"limit": 500}).json()["runs"]
    for run in runs:
        assert run["id"].startswith(run["shortId"])
        assert len(run["shortId"]) >= 8
        if run["parentRunId"]:
            assert run["parentRunId"].startswith(run["parentShortId"])
    events = http.get("/api/v1/ui/events", params={"limit": 20}).json()["events"]
    assert all(e["runId"].startswith(e["runShortId"]) for e in events if e["runId"])


def test_events_filters(http: httpx.Client) -> None:
    fails = http.get("/api/v1/ui/events", params={"type": "FAIL", "producer": "apache/airflow"}).json()
    assert fails["totalCount"] == 2  # load_payments and the DAG run, on day 2
    assert all(e["eventType"] == "FAIL" for e in fails["events"])
    page = http.get("/api/v1/ui/events", params={"limit": 5, "offset": 5}).json()
    assert len(page["events"]) == 5
    assert http.get("/api/v1/ui/events", params={"type": "NOPE"}).status_code == 400


def test_dataset_runs_with_quality_facets(http: httpx.Client) -> None:
    node = "dataset:postgres://warehouse.internal:5432:analytics.jaffle_shop.stg_orders"
    data = http.get("/api/v1/ui/dataset-runs", params={"nodeId": node}).json()
    assert len(data["writes"]) == 3
    assert all("outputStatistics" in run["facets"] for run in data["writes"])
    assertions = [
        run["facets"]["dataQualityAssertions"]
        for run in data["reads"]
        if "dataQualityAssertions" in run["facets"]
    ]
    assert any(not a["success"] for facet in assertions for a in facet["assertions"])
    missing = http.get("/api/v1/ui/dataset-runs", params={"nodeId": "dataset:nowhere:nothing"})
    assert missing.status_code == 404


def test_run_page_in_one_answer(http: httpx.Client) -> None:
    parent = http.get("/api/v1/ui/runs", params={"job": "dbt-run"}).json()["runs"][0]
    page = http.get("/api/v1/ui/pages/run", params={"runId": parent["id"]}).json()
    # The same parts as the endpoints the page asked before, read in one transaction.
    assert page["run"] == http.get(f"/api/v1/jobs/runs/{parent['id']}").json()
    job_facets = http.get(f"/api/v1/jobs/runs/{parent['id']}/facets", params={"type": "job"}).json()
    assert page["jobFacets"] == job_facets["facets"]
    assert (
        page["children"] == http.get("/api/v1/ui/runs", params={"parent": parent["id"], "limit": 100}).json()
    )
    assert page["children"]["totalCount"] >= 10
    job_runs = http.get(f"/api/v1/namespaces/{parent['namespace']}/jobs/{parent['job']}/runs").json()
    assert [r["id"] for r in page["jobRuns"]["runs"]] == [r["id"] for r in job_runs["runs"]]
    assert page["jobRuns"]["totalCount"] == job_runs["totalCount"] >= 2
    assert set(page["jobRuns"]["runs"][0]) == {"id", "shortId", "state", "createdAt", "startedAt"}
    assert page["shortIds"][parent["id"]] == parent["shortId"]
    assert page["comparison"] is None
    assert page["compareError"] is None
    # a short id (as the lists show it) is accepted for the run and for the run compared with
    other = next(r for r in page["jobRuns"]["runs"] if r["id"] != parent["id"])
    compared = http.get(
        "/api/v1/ui/pages/run", params={"runId": parent["shortId"], "compare": other["shortId"]}
    ).json()
    assert compared["run"]["id"] == parent["id"]
    assert compared["comparison"]["a"]["id"] == parent["id"]
    assert compared["comparison"]["b"]["id"] == other["id"]
    assert compared["shortIds"][other["id"]] == other["shortId"]
    # A run to compare with that does not exist is said, and the page still answers.
    unknown = "00000000-0000-4000-8000-000000000000"
    missing = http.get("/api/v1/ui/pages/run", params={"runId": parent["id"], "compare": unknown}).json()
    assert missing["comparison"] is None
    assert unknown in missing["compareError"]
    assert http.get("/api/v1/ui/pages/run", params={"runId": unknown}).status_code == 404
    refused = http.get("/api/v1/ui/pages/run")
    assert refused.status_code == 400
    assert "runId" in refused.json()["error"]


def test_job_page_in_one_answer(http: httpx.Client) -> None:
    namespace, name = "acme-airflow", "jaffle_shop_daily.load_payments"
    page = http.get("/api/v1/ui/pages/job", params={"namespace": namespace, "name": name}).json()
    assert page["job"] == http.get(f"/api/v1/namespaces/{namespace}/jobs/{name}").json()
    runs = http.get("/api/v1/ui/runs", params={"job": "load_payments", "namespace": namespace}).json()
    assert page["runs"] == runs
    assert page["runs"]["totalCount"] == 4
    assert any(run["errorMessage"] for run in page["runs"]["runs"])
    assert page["steps"] == []
    dag = http.get(
        "/api/v1/ui/pages/job", params={"namespace": namespace, "name": "jaffle_shop_daily"}
    ).json()
    assert {"namespace": namespace, "name": name} in dag["steps"]  # a pipeline's steps
    absent = http.get("/api/v1/ui/pages/job", params={"namespace": namespace, "name": "nothing"})
    assert absent.status_code == 404
    assert http.get("/api/v1/ui/pages/job", params={"name": name}).status_code == 400


def test_dataset_page_in_one_answer(http: httpx.Client) -> None:
    namespace, name = "postgres://warehouse.internal:5432", "analytics.jaffle_shop.stg_orders"
    page = http.get("/api/v1/ui/pages/dataset", params={"namespace": namespace, "name": name}).json()
    segments = f"/api/v1/namespaces/{quote(namespace, safe='')}/datasets/{name}"
    assert page["dataset"] == http.get(segments).json()
    versions = http.get(f"{segments}/versions", params={"limit": 50}).json()
    assert page["versions"]["totalCount"] == versions["totalCount"] == 3
    brief = [
        {
            "version": v["version"],
            "createdAt": v["createdAt"],
            "fieldCount": len(v["fields"]),
            "createdByRun": {
                "id": v["createdByRun"]["id"],
                "shortId": v["createdByRun"]["id"][:8],  # unique among the demo's runs
                "state": v["createdByRun"]["state"],
            },
        }
        for v in versions["versions"]
    ]
    assert page["versions"]["versions"] == brief
    node = f"dataset:{namespace}:{name}"
    assert page["runs"] == http.get("/api/v1/ui/dataset-runs", params={"nodeId": node}).json()
    assert len(page["runs"]["writes"]) == 3
    hostile = http.get(
        "/api/v1/ui/pages/dataset", params={"namespace": HOSTILE_NAMESPACE, "name": HOSTILE_DATASET}
    ).json()
    assert hostile["dataset"]["name"] == HOSTILE_DATASET
    absent = http.get("/api/v1/ui/pages/dataset", params={"namespace": "nowhere", "name": "nothing"})
    assert absent.status_code == 404
    refused = http.get("/api/v1/ui/pages/dataset", params={"namespace": namespace})
    assert refused.status_code == 400
    assert "name" in refused.json()["error"]


def test_column_search(http: httpx.Client) -> None:
    data = http.get("/api/v1/ui/columns", params={"q": "lifetime"}).json()
    assert data["results"][0]["nodeId"] == (
        "datasetField:postgres://warehouse.internal:5432:analytics.jaffle_shop.customers:customer_lifetime_value"
    )
    hostile = http.get("/api/v1/ui/columns", params={"q": "onload"}).json()["results"]
    assert hostile[0]["dataset"] == HOSTILE_DATASET
    assert hostile[0]["namespace"] == HOSTILE_NAMESPACE


def test_the_hostile_dataset_page_route(http: httpx.Client) -> None:
    path = f"/datasets/{quote(HOSTILE_NAMESPACE, safe='')}/{quote(HOSTILE_DATASET, safe='')}"
    assert http.get(path).status_code == 200


def test_ui_lineage_is_compact(http: httpx.Client) -> None:
    customers = "dataset:postgres://warehouse.internal:5432:analytics.jaffle_shop.customers"
    answer = http.get("/api/v1/ui/lineage", params={"nodeId": customers, "depth": 1}).json()
    nodes = {node["id"]: node for node in answer["graph"]}
    assert answer["depth"] == 1
    assert answer["direction"] == "both"
    assert nodes[customers]["distance"] == 0
    assert nodes[customers]["model"] is False
    job = nodes["job:acme-dbt:analytics.jaffle_shop.customers"]
    assert job["jobType"]["integration"] == "DBT"
    assert set(job["jobType"]) <= {"integration", "jobType", "processingType", "_producer"}
    assert job["latestRunState"] == "COMPLETED"
    assert job["outEdges"] == [customers]
    assert job["more"] == ["up"]  # its inputs (the staging models) are one edge further
    assert "fields" not in nodes[customers]
    # The time span of the log comes along: the view's as-of control needs no second request.
    overview = http.get("/api/v1/ui/overview").json()
    assert answer["firstEventTime"] == overview["firstEventTime"]
    assert answer["lastEventTime"] == overview["lastEventTime"]
    assert len(http.get("/api/v1/lineage", params={"nodeId": customers, "depth": 1}).content) > 4 * len(
        http.get("/api/v1/ui/lineage", params={"nodeId": customers, "depth": 1}).content
    )
    with_fields = http.get(
        "/api/v1/ui/lineage", params={"nodeId": customers, "depth": 0, "fields": "true"}
    ).json()
    assert "customer_lifetime_value" in {f["name"] for f in with_fields["graph"][0]["fields"]}
    model = "dataset:s3://acme-models:churn/model.pkl"
    assert (
        http.get("/api/v1/ui/lineage", params={"nodeId": model, "depth": 0}).json()["graph"][0]["model"]
        is True
    )


def test_ui_lineage_as_of_and_errors(http: httpx.Client) -> None:
    customers = "dataset:postgres://warehouse.internal:5432:analytics.jaffle_shop.customers"
    now = http.get("/api/v1/ui/lineage", params={"nodeId": customers, "depth": 2, "direction": "downstream"})
    then = http.get(
        "/api/v1/ui/lineage",
        params={"nodeId": customers, "depth": 2, "direction": "downstream", "asOf": "2026-11-02T00:00:00Z"},
    )
    segments = "job:acme-dbt:analytics.jaffle_shop.customer_segments"
    assert segments in {node["id"] for node in now.json()["graph"]}
    assert segments not in {node["id"] for node in then.json()["graph"]}
    assert then.json()["asOf"].startswith("2026-11-02T00:00:00")
    assert http.get("/api/v1/ui/lineage").status_code == 400
    assert http.get("/api/v1/ui/lineage", params={"nodeId": customers, "depth": "x"}).status_code == 400
    assert (
        http.get("/api/v1/ui/lineage", params={"nodeId": customers, "direction": "sideways"}).status_code
        == 400
    )
    assert http.get("/api/v1/ui/lineage", params={"nodeId": "dataset:nowhere:nothing"}).status_code == 404


@pytest.mark.parametrize(
    ("accept", "gzipped"),
    [
        ("gzip, deflate", True),
        ("*", True),
        ("gzip;q=0.5", True),
        ("gzip;q=0", False),
        ("br, gzip; q=0.0", False),
    ],
)
def test_gzip_follows_the_weights_of_accept_encoding(http: httpx.Client, accept: str, gzipped: bool) -> None:
    response = http.get(f"/static/{asset_digest()}/app.css", headers={"Accept-Encoding": accept})
    assert response.status_code == 200
    assert (response.headers.get("content-encoding") == "gzip") is gzipped
