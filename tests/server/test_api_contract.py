"""The HTTP API's contract: ``/api/openapi.json`` documents every route's parameters and answer, the
answers match what it documents, and every error, on every route, has the one shape.

The routes are walked from the OpenAPI document itself, so a new endpoint is checked without being
listed here (issue 15, items 1 and 2).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jsonschema
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.requests import Request

from tests.conftest import EXAMPLE_EVENTS, ROOT
from threadline.catalog import local
from threadline.catalog.files import load, plan_file
from threadline.openlineage.events import parse_event
from threadline.projection import project_all
from threadline.server.app import asgi_app, create_app
from threadline.settings import ServerConfig
from threadline.store import open_store

#: Handlers that take the raw request, each for its body, read as a stream within a limit (never
#: for its query, which is declared).
BODY_READERS = {
    "post_lineage",
    "post_lineage_batch",
    "push_events",
    "missing",
    "put_object",
    "describe_tag",
}
#: Answers that are not JSON documents of a schema: bytes as received or stored.
RAW_ANSWERS = {("get", "/api/v1/events/{event_id}/raw"), ("get", "/api/v1/objects/{object_id}")}
ERROR_KEYS = {"status", "code", "message", "error"}
BODY_LIMIT = 64 * 1024
LAKE = "s3://acme-lake"
#: Beside examples/catalog/ml-pipelines.yaml: entries linked to the example's datasets, a column tag
#: on the raw customers that propagates along column lineage to the clean ones, a producer's tags.
CATALOG = {
    "tagTemplates": [
        {
            "id": "sensitivity",
            "displayName": "Sensitivity",
            "fields": {"level": {"type": {"enum": ["PUBLIC", "PII"]}, "propagate": "downstream"}},
        }
    ],
    "entryGroups": [
        {
            "id": "lake",
            "entries": [
                {
                    "id": "raw-customers",
                    "type": "TABLE",
                    "linkedResource": f"dataset:{LAKE}:raw/churn/customers.parquet",
                    "schema": {"columns": [{"column": "customer_id", "type": "STRING"}]},
                    "tags": [
                        {"template": "sensitivity", "column": "customer_id", "fields": {"level": "PII"}}
                    ],
                },
                {
                    "id": "clean-customers",
                    "type": "TABLE",
                    "linkedResource": f"dataset:{LAKE}:clean/churn/customers.parquet",
                    "schema": {"columns": [{"column": "customer_id", "type": "STRING"}]},
                },
            ],
        }
    ],
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, example_events_module: list[bytes]) -> Iterator[Any]:
    """The app on a SQLite store holding the example pipeline, without keys."""
    directory = tmp_path_factory.mktemp("contract")
    store = open_store(f"sqlite:///{directory / 'threadline.db'}")
    store.append([parse_event(raw) for raw in example_events_module])
    project_all(store)
    for doc in (load(ROOT / "examples" / "catalog" / "ml-pipelines.yaml"), CATALOG):
        local.change(store, lambda planner, doc=doc: plan_file(planner, doc), by="contract")
    objects = directory / "objects"
    config = ServerConfig(auth="none", max_body_bytes=BODY_LIMIT, max_batch_events=10)
    app = create_app(store, config, objects_dir=objects)
    with TestClient(asgi_app(app), raise_server_exceptions=False) as client:
        yield app, client
    store.close()


@pytest.fixture(scope="module")
def example_events_module() -> list[bytes]:
    return [line for line in EXAMPLE_EVENTS.read_bytes().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def document(served: Any) -> dict[str, Any]:
    _, client = served
    answer = client.get("/api/openapi.json")
    assert answer.status_code == 200
    return answer.json()


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "delete", "patch"):
                yield method, path, operation


def _api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    """Every APIRoute, also those of included routers (FastAPI keeps those nested)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _api_routes(route.original_router.routes)


def _success(operation: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    for status in ("200", "201"):
        if status in operation["responses"]:
            return status, operation["responses"][status]
    raise AssertionError(f"no 2xx answer documented: {sorted(operation['responses'])}")


def test_every_route_is_in_the_document(served: Any, document: dict[str, Any]) -> None:
    app: FastAPI = served[0]
    routes = {(method.lower(), route.path) for route in _api_routes(app.routes) for method in route.methods}
    documented = {(method, path) for method, path, _ in _operations(document)}
    assert routes == documented
    assert len(documented) >= 50


def test_every_route_documents_its_parameters_and_answer(document: dict[str, Any]) -> None:
    problems = []
    for method, path, operation in _operations(document):
        where = f"{method.upper()} {path}"
        in_path = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        problems += [
            f"{where}: path parameter {n} undocumented"
            for n in re.findall(r"{(\w+)}", path)
            if n not in in_path
        ]
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query" and not parameter.get("description"):
                problems.append(f"{where}: query parameter {parameter['name']} has no description")
            if not parameter.get("schema"):
                problems.append(f"{where}: parameter {parameter['name']} has no schema")
        status, answer = _success(operation)
        content = answer.get("content", {})
        if (method, path) in RAW_ANSWERS:
            if not content:
                problems.append(f"{where}: its bytes' media type is undocumented")
            continue
        schema = content.get("application/json", {}).get("schema", {})
        if "$ref" not in schema:
            problems.append(f"{where}: {status} answer has no schema ({schema})")
        error = operation["responses"].get("400", {}).get("content", {}).get("application/json", {})
        if error.get("schema", {}).get("$ref") != "#/components/schemas/ErrorAnswer":
            problems.append(f"{where}: the error answer is undocumented")
        if not operation.get("security"):
            problems.append(f"{where}: the API key is undocumented")
    assert not problems, "\n".join(problems)


def test_a_query_the_handlers_read_is_a_declared_one(served: Any) -> None:
    """No handler parses its query by hand: each takes declared parameters (``server.api.params``),
    and only the handlers of streamed bodies take the raw request."""
    app: FastAPI = served[0]
    for route in _api_routes(app.routes):
        endpoint = route.endpoint
        source = inspect.getsource(endpoint)
        assert "query_params" not in source, route.path
        takes_request = any(
            parameter.annotation in (Request, "Request")
            for parameter in inspect.signature(endpoint).parameters.values()
        )
        assert not takes_request or endpoint.__name__ in BODY_READERS, (route.path, endpoint.__name__)


# ---- the answers are what the document says -------------------------------------------------------------


def _validate(document: dict[str, Any], schema: dict[str, Any], body: Any) -> None:
    root = {**schema, "components": document["components"]}
    jsonschema.Draft202012Validator(root).validate(body)


def _some_values(client: TestClient) -> dict[str, str]:
    """Real names from the store, for the paths and parameters of the routes."""
    job = client.get("/api/v1/jobs", params={"limit": 1}).json()["jobs"][0]
    namespaces = [n["name"] for n in client.get("/api/v1/namespaces").json()["namespaces"]]
    datasets = [
        d for n in namespaces for d in client.get(f"/api/v1/namespaces/{n}/datasets").json()["datasets"]
    ]
    dataset = next(d for d in datasets if d["currentVersion"])
    run = client.get("/api/v1/ui/runs", params={"limit": 1}).json()["runs"][0]
    event = client.get("/api/v1/events/lineage", params={"limit": 1}).json()["events"][0]
    version = client.get(f"/api/v1/namespaces/{_q(job['namespace'])}/jobs/{_q(job['name'])}/versions").json()
    dataset_versions = client.get(
        f"/api/v1/namespaces/{_q(dataset['namespace'])}/datasets/{_q(dataset['name'])}/versions"
    ).json()
    ids = client.get("/api/v1/events/problems", params={"limit": 1}).json()
    return {
        "namespace": job["namespace"],
        "job": job["name"],
        "dataset": dataset["name"],
        "dataset_namespace": dataset["namespace"],
        "run_id": run["id"],
        "event_id": ids["events"][0]["id"] if ids["events"] else _event_id(client, event),
        "job_version": version["versions"][0]["version"],
        "dataset_version": dataset_versions["versions"][0]["version"],
        "source": client.get("/api/v1/sources").json()["sources"][0]["name"],
    }


def _q(text: str) -> str:
    return quote(text, safe="")


def _event_id(client: TestClient, event: dict[str, Any]) -> str:
    problems = client.get("/api/v1/ui/events", params={"limit": 1}).json()
    return problems["events"][0]["id"]


def test_the_answers_match_their_documented_schemas(served: Any, document: dict[str, Any]) -> None:
    _, client = served
    values = _some_values(client)
    node = f"dataset:{values['dataset_namespace']}:{values['dataset']}"
    job_node = f"job:{values['namespace']}:{values['job']}"
    ns, job, ds, dns = (_q(values[key]) for key in ("namespace", "job", "dataset", "dataset_namespace"))
    asked = {
        "/api/v1/health": "/api/v1/health",
        "/api/v1/events/lineage": "/api/v1/events/lineage",
        "/api/v1/events/problems": "/api/v1/events/problems",
        "/api/v1/events/{event_id}": f"/api/v1/events/{values['event_id']}",
        "/api/v1/lineage": f"/api/v1/lineage?nodeId={_q(node)}&depth=all",
        "/api/v1/column-lineage": f"/api/v1/column-lineage?nodeId={_q(node)}",
        "/api/v1/lineage/impact": f"/api/v1/lineage/impact?nodeId={_q(node)}",
        "/api/v1/lineage/path": f"/api/v1/lineage/path?from={_q(node)}&to={_q(job_node)}",
        "/api/v1/lineage/runs": f"/api/v1/lineage/runs?runId={values['run_id']}&direction=both",
        "/api/v1/sync/info": "/api/v1/sync/info",
        "/api/v1/sync/events": "/api/v1/sync/events?limit=2",
        "/api/v1/sync/status": "/api/v1/sync/status",
        "/api/v1/namespaces": "/api/v1/namespaces",
        "/api/v1/namespaces/{namespace}": f"/api/v1/namespaces/{ns}",
        "/api/v1/sources": "/api/v1/sources",
        "/api/v1/sources/{source}": f"/api/v1/sources/{_q(values['source'])}",
        "/api/v1/namespaces/{namespace}/datasets": f"/api/v1/namespaces/{dns}/datasets",
        "/api/v1/namespaces/{namespace}/datasets/{dataset}": f"/api/v1/namespaces/{dns}/datasets/{ds}",
        "/api/v1/namespaces/{namespace}/datasets/{dataset}/versions": (
            f"/api/v1/namespaces/{dns}/datasets/{ds}/versions"
        ),
        "/api/v1/namespaces/{namespace}/datasets/{dataset}/versions/{version}": (
            f"/api/v1/namespaces/{dns}/datasets/{ds}/versions/{_q(values['dataset_version'])}"
        ),
        "/api/v1/jobs": "/api/v1/jobs",
        "/api/v1/namespaces/{namespace}/jobs": f"/api/v1/namespaces/{ns}/jobs",
        "/api/v1/namespaces/{namespace}/jobs/{job}": f"/api/v1/namespaces/{ns}/jobs/{job}",
        "/api/v1/namespaces/{namespace}/jobs/{job}/runs": f"/api/v1/namespaces/{ns}/jobs/{job}/runs",
        "/api/v1/namespaces/{namespace}/jobs/{job}/versions": f"/api/v1/namespaces/{ns}/jobs/{job}/versions",
        "/api/v1/namespaces/{namespace}/jobs/{job}/versions/{version}": (
            f"/api/v1/namespaces/{ns}/jobs/{job}/versions/{_q(values['job_version'])}"
        ),
        "/api/v1/jobs/runs/{run_id}": f"/api/v1/jobs/runs/{values['run_id']}",
        "/api/v1/jobs/runs/{run_id}/facets": f"/api/v1/jobs/runs/{values['run_id']}/facets",
        "/api/v1/tags": "/api/v1/tags",
        "/api/v1/search": f"/api/v1/search?q={_q(values['dataset'][:3])}",
        "/api/v1/ui/runs": "/api/v1/ui/runs",
        "/api/v1/ui/timespan": "/api/v1/ui/timespan",
        "/api/v1/ui/overview": "/api/v1/ui/overview",
        "/api/v1/ui/events": "/api/v1/ui/events",
        "/api/v1/ui/dataset-runs": f"/api/v1/ui/dataset-runs?nodeId={_q(node)}",
        "/api/v1/ui/columns": "/api/v1/ui/columns?q=a",
        "/api/v1/ui/lineage": f"/api/v1/ui/lineage?nodeId={_q(node)}&fields=true",
        "/api/v1/ui/pages/run": f"/api/v1/ui/pages/run?runId={values['run_id']}",
        "/api/v1/ui/pages/job": f"/api/v1/ui/pages/job?namespace={ns}&name={job}",
        "/api/v1/ui/pages/dataset": f"/api/v1/ui/pages/dataset?namespace={dns}&name={ds}",
        **_catalog_reads(),
        "/api/v1/pipelines": "/api/v1/pipelines",
        "/api/v1/pipelines/{name}/runs": f"/api/v1/pipelines/{job}/runs",
        "/api/v1/ui/dataset-quality": f"/api/v1/ui/dataset-quality?nodeId={_q(node)}",
    }
    # The example events hold no staged pipeline's run: tests/pipeline/test_pipeline_api.py checks
    # this route's answers against the document over real pipeline runs.
    elsewhere = {"/api/v1/pipeline-runs/{run_id}"}
    gets = (
        {path for method, path, _ in _operations(document) if method == "get"}
        - {p for _, p in RAW_ANSWERS}
        - elsewhere
    )
    assert gets == set(asked), gets ^ set(asked)
    for path, url in asked.items():
        answer = client.get(url)
        assert answer.status_code == 200, (url, answer.text[:300])
        schema = document["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        _validate(document, schema, answer.json())


def _catalog_reads() -> dict[str, str]:
    c, ml, clean = "/api/v1/catalog", "entryGroups/machine-learning-pipelines", "entryGroups/lake"
    entry = f"{c}/entryGroups/{{group_id}}/entries/{{entry_id}}"
    raw = _q(f"dataset:{LAKE}:raw/churn/customers.parquet")
    return {
        f"{c}/entryGroups": f"{c}/entryGroups?pageSize=1",
        f"{c}/entryGroups/{{group_id}}": f"{c}/{ml}",
        f"{c}/entryGroups/{{group_id}}/history": f"{c}/{ml}/history",
        f"{c}/entryGroups/{{group_id}}/entries": f"{c}/{clean}/entries",
        entry: f"{c}/{clean}/entries/clean-customers",
        f"{entry}/history": f"{c}/{ml}/entries/ml-pipeline/history",
        f"{entry}/tags": f"{c}/{clean}/entries/clean-customers/tags",
        f"{entry}/tags/{{tag_id}}/history": f"{c}/{ml}/entries/ml-pipeline/tags/lineage_notes/history",
        f"{c}/tagTemplates": f"{c}/tagTemplates",
        f"{c}/tagTemplates/{{template_id}}": f"{c}/tagTemplates/sensitivity",
        f"{c}/tagTemplates/{{template_id}}/history": f"{c}/tagTemplates/lineage_notes/history",
        f"{c}/entries:lookup": f"{c}/entries:lookup?linkedResource={raw}",
        f"{c}/catalog:suggest": f"{c}/catalog:suggest?q=tag%3Alin",
        f"{c}/catalog:export": f"{c}/catalog:export",
    }


def test_the_catalog_answers_are_the_full_ones(served: Any, document: dict[str, Any]) -> None:
    """The catalog's answers checked above hold what lineage adds, and its writes match their schemas."""
    _, client = served
    c = "/api/v1/catalog"
    clean = client.get(f"{c}/entryGroups/lake/entries/clean-customers").json()
    assert clean["threadline"]["propagatedTags"][0]["source"] == "PROPAGATED"
    assert [
        t["source"] for t in client.get(f"{c}/entryGroups/lake/entries/clean-customers/tags").json()["tags"]
    ]
    ml = client.get(f"{c}/entryGroups/machine-learning-pipelines/entries/ml-pipeline").json()
    assert "matchingDatasets" in ml["threadline"]
    assert client.get(f"{c}/entryGroups?pageSize=1").json()["nextPageToken"]
    history = client.get(f"{c}/tagTemplates/lineage_notes/history").json()
    assert history["changes"][0]["by"] == "contract"
    lookup = client.get(
        f"{c}/entries:lookup", params={"linkedResource": f"dataset:{LAKE}:raw/churn/customers.parquet"}
    )
    assert lookup.json()["name"] == "entryGroups/lake/entries/raw-customers"
    suggested = client.get(f"{c}/catalog:suggest", params={"q": "x tag:lin"}).json()["suggestions"]
    assert suggested[0]["query"] == "x tag:lineage_notes "
    writes = [
        ("post", f"{c}/catalog:search", {"query": "customers"}, None),
        ("post", f"{c}/catalog:apply", {"entryGroups": [{"id": "filed", "entries": []}]}, {"dryRun": "true"}),
        (
            "post",
            f"{c}/catalog:apply",
            {"entryGroups": [{"id": "filed", "displayName": "From a file"}]},
            None,
        ),
        ("post", f"{c}/entryGroups", {"displayName": "Scratch"}, {"entryGroupId": "scratch"}),
        ("patch", f"{c}/entryGroups/scratch", {"description": "for the contract"}, None),
        ("post", f"{c}/entryGroups/scratch/entries", {"type": "TABLE"}, {"entryId": "t"}),
        ("patch", f"{c}/entryGroups/scratch/entries/t", {"description": "a table"}, None),
        (
            "post",
            f"{c}/entryGroups/scratch/entries/t/tags",
            {"template": "sensitivity", "fields": {"level": {"enumValue": {"displayName": "PUBLIC"}}}},
            None,
        ),
        (
            "patch",
            f"{c}/entryGroups/scratch/entries/t/tags/sensitivity",
            {"fields": {"level": {"enumValue": {"displayName": "PII"}}}},
            None,
        ),
        (
            "post",
            f"{c}/tags:batch",
            {
                "tags": [
                    {
                        "entry": "entryGroups/scratch/entries/t",
                        "tag": {"template": "lineage_notes", "fields": {"usage": {"stringValue": "tests"}}},
                    }
                ]
            },
            None,
        ),
        (
            "post",
            f"{c}/tagTemplates",
            {"fields": {"n": {"type": {"primitiveType": "DOUBLE"}}}},
            {"tagTemplateId": "scratch"},
        ),
        ("patch", f"{c}/tagTemplates/scratch", {"displayName": "Scratch"}, None),
        (
            "post",
            f"{c}/tagTemplates/sensitivity/fields/level/enumValues/PUBLIC:rename",
            {"newEnumValueDisplayName": "OPEN"},
            None,
        ),
        ("delete", f"{c}/entryGroups/scratch/entries/t/tags/sensitivity", None, None),
        ("delete", f"{c}/entryGroups/scratch", None, {"force": "true"}),
        ("delete", f"{c}/tagTemplates/scratch", None, None),
    ]
    for method, url, body, params in writes:
        answer = client.request(method.upper(), url, json=body, params=params)
        assert answer.status_code == 200, (method, url, answer.text[:300])
        path = next(
            p
            for m, p, _ in _operations(document)
            if m == method and re.fullmatch(re.sub(r"{\w+}", "[^/]+", p), url)
        )
        schema = document["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]
        _validate(document, schema, answer.json())


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_every_reference_of_the_document_resolves(document: dict[str, Any]) -> None:
    """Bodies documented by hand (``openapi_extra``) refer only to schemas the document has."""
    schemas = document["components"]["schemas"]
    refs = set(_refs(document["paths"]))
    assert refs
    assert all(ref.startswith("#/components/schemas/") for ref in refs), refs
    assert {ref.rsplit("/", 1)[-1] for ref in refs} <= set(schemas)


# ---- one error shape -------------------------------------------------------------------------------------


def _check_shape(answer: Any, where: str) -> dict[str, Any]:
    assert 400 <= answer.status_code < 600, (where, answer.status_code, answer.text[:200])
    assert answer.headers["content-type"].startswith("application/json"), (where, answer.headers)
    body = answer.json()
    assert set(body) >= ERROR_KEYS, (where, body)
    assert body["status"] == answer.status_code, (where, body)
    assert re.fullmatch(r"[a-z][a-z_]*", body["code"]), (where, body)
    assert body["message"], (where, body)
    assert body["message"] == body["error"], (where, body)
    return body


def _bad_value(schema: dict[str, Any]) -> str | None:
    if schema.get("type") == "integer":
        return "not-a-number"
    if "enum" in schema:
        return "sideways"
    if schema.get("format") == "date-time":
        return "yesterday"
    if any("enum" in option for option in schema.get("anyOf", ())):  # depth: a number or "all"
        return "deep"
    return None


def _bad_requests(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any], bytes | None]]:
    """For each route, requests that must be refused: each bad parameter value on its own, the route
    without its required parameters, unknown names in its path, a body that is not JSON."""
    for method, path, operation in _operations(document):
        url = re.sub(r"{(\w+)}", lambda m: f"no-such-{m.group(1)}", path)
        parameters = [p for p in operation.get("parameters", []) if p["in"] == "query"]
        required = {p["name"]: "x" for p in parameters if p.get("required")}
        for parameter in parameters:
            bad = _bad_value(parameter.get("schema", {}))
            if bad is not None:
                yield method, url, {**_needed(parameters), parameter["name"]: bad}, None
        if required:
            yield method, url, {}, None  # the required ones missing
        if "{" in path:
            yield method, url, {**required, **_needed(parameters)}, b"{" if method != "get" else None
        if method in ("post", "put"):
            yield method, url, {}, b"{not json"


def _needed(parameters: list[dict[str, Any]]) -> dict[str, str]:
    """Valid values of the parameters a route needs, so that another one's bad value is the fault."""
    values = {
        "nodeId": "dataset:no-such:thing",
        "runId": "no-such-run",
        "from": "dataset:a:b",
        "to": "dataset:a:c",
    }
    values |= {"q": "x", "namespace": "no-such-ns", "name": "no-such-name"}
    names = {p["name"] for p in parameters}
    return {name: value for name, value in values.items() if name in names}


def test_every_route_answers_bad_input_in_the_one_shape(served: Any, document: dict[str, Any]) -> None:
    _, client = served
    seen: dict[str, int] = {}
    count = 0
    for method, url, params, body in _bad_requests(document):
        headers = {"Content-Type": "application/json"} if body is not None else {}
        answer = client.request(method.upper(), url, params=params, content=body, headers=headers)
        if answer.status_code < 400 and method != "get":
            continue  # a body some route takes (an empty tag description), not a fault
        shape = _check_shape(answer, f"{method.upper()} {url} {params}")
        seen[shape["code"]] = seen.get(shape["code"], 0) + 1
        count += 1
    assert count > 100
    assert {"invalid_parameter", "not_found", "invalid_event"} <= set(seen), seen


def test_refusals_outside_the_handlers_have_the_one_shape(served: Any) -> None:
    _, client = served
    assert _check_shape(client.get("/api/v1/no-such-endpoint"), "unknown")["code"] == "not_found"
    assert _check_shape(client.delete("/api/v1/health"), "405")["code"] == "method_not_allowed"
    too_large = client.post("/api/v1/lineage/batch", content=b"[" + b" " * BODY_LIMIT + b"]")
    assert _check_shape(too_large, "413")["code"] == "payload_too_large"
    encoded = client.post("/api/v1/lineage", content=b"{}", headers={"Content-Encoding": "br"})
    assert _check_shape(encoded, "415")["code"] == "unsupported_media_type"
    event = _check_shape(client.post("/api/v1/lineage", content=b"{}"), "event")
    assert event["code"] == "invalid_event"
    assert event["field"] == "eventTime"
    ambiguous = client.get("/api/v1/lineage/runs", params={"runId": "0"})
    assert ambiguous.status_code in (400, 404)
    _check_shape(ambiguous, "ambiguous run id")
    unknown_object = client.get("/api/v1/objects/blake3:" + "0" * 64)
    assert _check_shape(unknown_object, "object")["code"] == "object_not_found"


def test_without_a_key_every_route_is_refused_in_the_one_shape(
    tmp_path: Path, document: dict[str, Any]
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'keys.db'}")
    try:
        store.create_api_key("reader", "read")
        app = create_app(store, ServerConfig(auth="token", max_body_bytes=BODY_LIMIT, max_batch_events=10))
        with TestClient(asgi_app(app), raise_server_exceptions=False) as client:
            for method, path, _ in _operations(document):
                if path == "/api/v1/health":
                    continue  # answers anyone, with less
                url = re.sub(r"{(\w+)}", "x", path)
                answer = client.request(method.upper(), url)
                body = _check_shape(answer, f"{method.upper()} {url}")
                assert answer.status_code == 401, (url, body)
                assert body["code"] == "unauthorized"
                assert answer.headers["www-authenticate"] == "Bearer"
    finally:
        store.close()
