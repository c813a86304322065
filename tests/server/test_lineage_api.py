"""The lineage endpoints over HTTP on the real server: Marquez's shape and threadline's extensions."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from tests.server.helpers import JSON, make_event

NS = "postgres://Lineage-DB:5432/"  # spelled as a producer might; found under any spelling


def _dataset(name: str, **facets: object) -> dict:
    out: dict = {"namespace": NS, "name": name}
    if facets:
        out["facets"] = {
            key: {"_producer": "p", "_schemaURL": "https://openlineage.io/spec/facets/x.json", **value}
            for key, value in facets.items()
        }
    return out


def _post_pipeline(client: httpx.Client, prefix: str) -> None:
    """raw -> load -> staged -> transform -> mart, and staged -> audit -> report, in its own namespace."""
    steps = [
        ("load", "00", ["raw"], ["staged"]),
        ("transform", "01", ["staged"], ["mart"]),
        ("audit", "02", ["staged"], ["report"]),
    ]
    events = [
        make_event(
            job=f"{prefix}.{job}",
            namespace=f"lineage-{prefix}",
            event_time=f"2024-05-01T12:{minute}:00Z",
            inputs=[_dataset(f"{prefix}.{name}") for name in inputs],
            outputs=[
                _dataset(
                    f"{prefix}.{name}",
                    columnLineage={
                        "fields": {
                            "v": {
                                "inputFields": [
                                    {
                                        "namespace": NS,
                                        "name": f"{prefix}.{inputs[0]}",
                                        "field": "v",
                                        "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}],
                                    }
                                ]
                            }
                        }
                    },
                )
                for name in outputs
            ],
        )
        for job, minute, inputs, outputs in steps
    ]
    body = b"[" + b",".join(events) + b"]"
    assert client.post("/api/v1/lineage/batch", content=body, headers=JSON).status_code == 200
    deadline = time.monotonic() + 20
    while client.get("/api/v1/health").json()["projectionLag"] and time.monotonic() < deadline:
        time.sleep(0.05)


def _lineage(client: httpx.Client, node: str, **params: object) -> httpx.Response:
    for _ in range(50):  # the server's index catches up within a fraction of a second
        answer = client.get("/api/v1/lineage", params={"nodeId": node, **params})
        if answer.status_code != 404:
            return answer
        time.sleep(0.05)
    return answer


@pytest.fixture
def prefix(client: httpx.Client) -> str:
    name = f"p{uuid.uuid4().hex[:8]}"
    _post_pipeline(client, name)
    return name


def test_marquez_shape_and_undirected_default(client: httpx.Client, prefix: str) -> None:
    answer = _lineage(client, f"dataset:postgres://lineage-db:{prefix}.mart", depth=10)
    assert answer.status_code == 200, answer.text
    graph = answer.json()["graph"]
    by_id = {node["id"]: node for node in graph}
    mart = by_id[f"dataset:{NS}:{prefix}.mart"]  # shown as first spelled
    assert mart["type"] == "DATASET"
    assert mart["data"]["name"] == f"{prefix}.mart"
    assert mart["inEdges"] == [
        {"origin": f"job:lineage-{prefix}:{prefix}.transform", "destination": mart["id"]}
    ]
    assert by_id[f"job:lineage-{prefix}:{prefix}.transform"]["data"]["inputs"] == [
        {"namespace": NS, "name": f"{prefix}.staged"}
    ]
    # Marquez's neighbourhood reaches the sibling branch too.
    assert f"dataset:{NS}:{prefix}.report" in by_id
    assert {node["distance"] for node in graph} == {0, 1, 2, 3, 4}


def test_direction_depth_and_formats(client: httpx.Client, prefix: str) -> None:
    node = f"dataset:{NS}:{prefix}.mart"
    up = _lineage(client, node, direction="upstream", depth="all").json()["graph"]
    assert {n["id"].rsplit(".", 1)[-1] for n in up} == {"mart", "transform", "staged", "load", "raw"}
    down = _lineage(client, f"dataset:{NS}:{prefix}.staged", direction="downstream", depth=1).json()["graph"]
    assert {n["id"].rsplit(".", 1)[-1] for n in down} == {"staged", "transform", "audit"}
    dot = _lineage(client, node, direction="upstream", format="dot")
    assert dot.headers["content-type"].startswith("text/vnd.graphviz")
    assert dot.text.startswith("digraph lineage {")
    mermaid = _lineage(client, node, direction="upstream", format="mermaid")
    assert mermaid.text.startswith("flowchart LR")


def test_as_of_before_the_pipeline_ran(client: httpx.Client, prefix: str) -> None:
    node = f"dataset:{NS}:{prefix}.mart"
    before = _lineage(client, node, direction="upstream", asOf="2024-05-01T12:00:30Z").json()["graph"]
    assert [n["id"] for n in before] == [node]
    after = _lineage(client, node, direction="upstream", asOf="2024-05-01T12:01:00Z").json()["graph"]
    assert len(after) == 5


def test_column_lineage(client: httpx.Client, prefix: str) -> None:
    answer = client.get(
        "/api/v1/column-lineage", params={"nodeId": f"datasetField:{NS}:{prefix}.mart:v", "depth": 5}
    )
    assert answer.status_code == 200, answer.text
    graph = {node["id"]: node for node in answer.json()["graph"]}
    mart = graph[f"datasetField:{NS}:{prefix}.mart:v"]
    assert mart["type"] == "DATASET_FIELD"
    assert mart["data"]["inputFields"][0]["dataset"] == f"{prefix}.staged"
    assert mart["data"]["inputFields"][0]["transformations"][0]["subtype"] == "IDENTITY"
    assert f"datasetField:{NS}:{prefix}.raw:v" in graph
    both = client.get(
        "/api/v1/column-lineage",
        params={"nodeId": f"datasetField:{NS}:{prefix}.staged:v", "withDownstream": "true"},
    ).json()["graph"]
    assert {n["id"].rsplit(":", 1)[0].rsplit(".", 1)[-1] for n in both} == {"raw", "staged", "mart", "report"}


def test_impact_path_and_runs(client: httpx.Client, prefix: str) -> None:
    impact = client.get("/api/v1/lineage/impact", params={"nodeId": f"dataset:{NS}:{prefix}.raw"}).json()
    assert impact["totalCount"] == 6  # load, staged, transform, mart, audit, report
    assert impact["impacted"][0]["distance"] == 1
    # Marquez's word for a state, as in the Marquez API's runs
    assert {i["latestRunState"] for i in impact["impacted"] if i["type"] == "job"} == {"COMPLETED"}
    route = client.get(
        "/api/v1/lineage/path",
        params={"from": f"dataset:{NS}:{prefix}.raw", "to": f"dataset:{NS}:{prefix}.mart"},
    ).json()
    assert route["relation"] == "downstream"
    assert len(route["nodes"]) == 5
    runs = client.get("/api/v1/namespaces/lineage-" + prefix + "/jobs/" + prefix + ".transform/runs").json()
    run_id = runs["runs"][0]["id"]
    upstream = client.get("/api/v1/lineage/runs", params={"runId": run_id[:12]}).json()
    labels = {node["label"] for node in upstream["graph"]["nodes"]}
    assert any(label.startswith(f"{prefix}.load ") for label in labels)
    short = client.get("/api/v1/ui/runs", params={"job": f"{prefix}.transform"}).json()["runs"][0]["shortId"]
    assert f"{prefix}.transform {short}" in labels  # a run's label carries its short id


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({}, 400, "nodeId is required"),
        ({"nodeId": "table:x"}, 400, "expected dataset:"),
        ({"nodeId": "dataset:nowhere:nothing"}, 404, "no dataset"),
        ({"nodeId": "dataset:a:b", "depth": "deep"}, 400, "depth"),
        ({"nodeId": "dataset:a:b", "direction": "sideways"}, 400, "direction"),
        ({"nodeId": "dataset:a:b", "asOf": "yesterday"}, 400, "asOf"),
        ({"nodeId": "dataset:a:b", "format": "png"}, 400, "format"),
    ],
)
def test_bad_input_is_a_clear_4xx(client: httpx.Client, params: dict, status: int, words: str) -> None:
    answer = client.get("/api/v1/lineage", params=params)
    assert answer.status_code == status
    assert words in answer.json()["error"]


def test_new_events_show_up_in_the_served_graph(client: httpx.Client, prefix: str) -> None:
    node = f"dataset:{NS}:{prefix}.mart"
    before = _lineage(client, node, direction="downstream", depth="all").json()["graph"]
    assert len(before) == 1
    extra = make_event(
        job=f"{prefix}.publish",
        namespace=f"lineage-{prefix}",
        event_time="2024-05-01T12:05:00Z",
        inputs=[_dataset(f"{prefix}.mart")],
        outputs=[_dataset(f"{prefix}.dashboard")],
    )
    assert client.post("/api/v1/lineage", content=extra, headers=JSON).status_code == 201
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        after = _lineage(client, node, direction="downstream", depth="all").json()["graph"]
        if len(after) == 3:
            break
        time.sleep(0.1)
    assert {n["id"].rsplit(".", 1)[-1] for n in after} == {"mart", "publish", "dashboard"}
