"""Names with ``#``, ``:``, ``%`` or only spaces: the UI writes and reads node ids as the server does,
and every such dataset and job can be reached: its lineage, its page."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.server.conftest import ServerProcess, free_port
from tests.web.conftest import VIEWPORT, PageRecord, check_record, graph_ready, listed_nodes, watch
from threadline.graph.nodes import NodeId, format_node_id

pytestmark = pytest.mark.slow

#: (job namespace, job name, dataset namespace, dataset name): each a node the old ids lost.
ODD = [
    ("ns:with:colons", "job#1", "ns:with:colons", "table#2"),
    ("x#y", "#", "kafka://broker:9092", "123topic"),
    (" ", " ", " ", "  "),
    ("a:5", "5:x", "s3://bucket", "a%23b"),
]


@pytest.fixture(scope="module")
def odd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server whose store holds one job writing one dataset for each of :data:`ODD`."""
    folder = tmp_path_factory.mktemp("odd-names")
    server = ServerProcess(
        f"sqlite:///{folder / 'odd.db'}", free_port(), folder / "server.log", {"auth": "none"}
    )
    server.start()
    with server.client() as client:
        for job_ns, job, ds_ns, dataset in ODD:
            event = {
                "eventType": "COMPLETE",
                "eventTime": "2024-05-01T12:00:00Z",
                "producer": "https://example.com/odd",
                "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
                "run": {"runId": str(uuid.uuid4())},
                "job": {"namespace": job_ns, "name": job},
                "inputs": [],
                "outputs": [{"namespace": ds_ns, "name": dataset}],
            }
            assert client.post("/api/v1/lineage", content=json.dumps(event)).status_code == 201
        for _ in range(300):
            if not client.get("/api/v1/health").json()["projectionLag"]:
                break
    yield server
    server.stop()
    assert "Traceback" not in server.log(), server.log()


@pytest.fixture
def odd_page(browser: Any, odd_server: ServerProcess, request: pytest.FixtureRequest) -> Iterator[Any]:
    record = PageRecord()
    context = browser.new_context(viewport=VIEWPORT, base_url=odd_server.url)
    page = watch(context.new_page(), record, odd_server.url)
    yield page
    context.close()
    check_record(record, request)


def _random_nodes(count: int) -> list[NodeId]:
    pick = random.Random(13)
    alphabet = ["a", "5", ":", "#", "%", "2", "3", "A", "/", " ", "é", "x"]

    def part() -> str:
        return "".join(pick.choice(alphabet) for _ in range(pick.randint(1, 7)))

    nodes = []
    for _ in range(count):
        kind = pick.choice(["dataset", "job", "datasetField"])
        field = part() if kind == "datasetField" else None
        version = part() if pick.random() < 0.3 else None
        nodes.append(NodeId(kind, part(), part(), field, version=version))  # type: ignore[arg-type]
    return nodes


def test_the_ui_writes_and_reads_node_ids_as_the_server_does(odd_page: Any) -> None:
    odd_page.goto("/")
    odd_page.wait_for_selector("main")
    nodes = _random_nodes(600)
    cases = [
        {"kind": n.kind, "namespace": n.namespace, "name": n.name, "field": n.field, "version": n.version}
        for n in nodes
    ]
    answers = odd_page.evaluate(
        """async (cases) => {
            const main = document.querySelector('script[type=module]').src;
            const nodes = await import(main.replace(/main\\.js$/, 'nodes.js'));
            return cases.map((c) => {
              const node = { kind: c.kind, namespace: c.namespace, name: c.name, version: c.version };
              if (c.kind === 'datasetField') node.field = c.field;
              const id = nodes.formatNodeId(node);
              const back = nodes.parseNodeId(id);
              const f = (x) => x ?? null;
              const parts = back && [back.kind, back.namespace, back.name, f(back.field), f(back.version)];
              return [id, parts];
            });
        }""",
        cases,
    )
    for node, (text, back) in zip(nodes, answers, strict=True):
        assert text == format_node_id(node), node
        assert back == [node.kind, node.namespace, node.name, node.field, node.version], text


@pytest.mark.parametrize(("job_ns", "job", "ds_ns", "dataset"), ODD, ids=repr)
def test_odd_names_are_reachable_in_the_ui(
    odd_page: Any, job_ns: str, job: str, ds_ns: str, dataset: str
) -> None:
    job_id, dataset_id = str(NodeId.job(job_ns, job)), str(NodeId.dataset(ds_ns, dataset))
    odd_page.goto(f"/lineage?node={quote(job_id, safe='')}")
    graph_ready(odd_page)
    assert {job_id, dataset_id} <= set(listed_nodes(odd_page))
    odd_page.goto(f"/datasets/{quote(ds_ns, safe='')}/{quote(dataset, safe='')}")
    # (a name of spaces takes no room on the page, so wait for the text, not for a visible heading)
    odd_page.wait_for_function("(name) => document.querySelector('h1')?.textContent === name", arg=dataset)
    odd_page.goto(f"/jobs/{quote(job_ns, safe='')}/{quote(job, safe='')}")
    odd_page.wait_for_function("(name) => document.querySelector('h1')?.textContent === name", arg=job)


def test_odd_names_read_back_through_the_api(odd_server: ServerProcess) -> None:
    with httpx.Client(base_url=odd_server.url) as client:
        for job_ns, job, ds_ns, dataset in ODD:
            job_id, dataset_id = str(NodeId.job(job_ns, job)), str(NodeId.dataset(ds_ns, dataset))
            graph = client.get("/api/v1/ui/lineage", params={"nodeId": job_id}).json()["graph"]
            assert {job_id, dataset_id} <= {node["id"] for node in graph}
            page = client.get("/api/v1/ui/pages/dataset", params={"namespace": ds_ns, "name": dataset})
            assert page.status_code == 200, page.text
            assert page.json()["dataset"]["name"] == dataset
