"""Bad query values get a 400 on every list endpoint, never a 500; a 500 closes its connection cleanly.

Issue 13, item 12: ``offset=9223372036854775808`` answered 500 (an OverflowError in the database
driver) on seven list endpoints, ``/api/v1/lineage/path`` between unconnected nodes answered 500, and
``asOf`` at the very end of year 9999 answered 500; after each, the keep-alive connection was reset
without ``Connection: close``, so the client's next request failed too.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from tests.server.conftest import ServerProcess, free_port
from tests.server.helpers import JSON, make_event
from threadline.projection.readers.common import MAX_LIMIT, MAX_OFFSET
from threadline.server.app import asgi_app, create_app
from threadline.settings import ServerConfig
from threadline.store import open_store

pytestmark = pytest.mark.slow

#: Every endpoint that takes ``limit`` and ``offset`` (with what else it needs to answer at all).
LIST_ENDPOINTS = [
    "/api/v1/namespaces",
    "/api/v1/sources",
    "/api/v1/tags",
    "/api/v1/jobs",
    "/api/v1/namespaces/tests/jobs",
    "/api/v1/namespaces/tests/datasets",
    "/api/v1/namespaces/tests/jobs/queries-job/runs",
    "/api/v1/namespaces/tests/jobs/queries-job/versions",
    "/api/v1/namespaces/tests/datasets/queries-out/versions",
    "/api/v1/search?q=queries",
    "/api/v1/events/lineage",
    "/api/v1/events/problems",
    "/api/v1/ui/runs",
    "/api/v1/ui/events",
]
#: Endpoints that take only ``limit``.
LIMIT_ONLY_ENDPOINTS = [
    "/api/v1/ui/columns?q=a",
    "/api/v1/ui/dataset-runs?nodeId=dataset:tests:queries-out",
    "/api/v1/sync/events",
]

BAD_OFFSETS = [
    "9223372036854775808",  # 2**63: the value of the report
    "9223372036854775807",
    str(2**64),
    "1" + "0" * 40,
    str(MAX_OFFSET + 1),
    "-1",
    "-9223372036854775809",
    "abc",
    "1.5",
    "1e3",
    "0x10",
]
BAD_LIMITS = ["-1", str(MAX_LIMIT + 1), "9223372036854775808", "1" + "0" * 40, "ten", "2.0"]


@pytest.fixture(scope="module", autouse=True)
def _some_lineage(open_server: ServerProcess) -> None:
    """A job with a run, an input and an output, so the endpoints have something to page over."""
    with open_server.client() as client:
        event = make_event(
            job="queries-job",
            inputs=[{"namespace": "tests", "name": "queries-in"}],
            outputs=[{"namespace": "tests", "name": "queries-out"}],
        )
        assert client.post("/api/v1/lineage", content=event, headers=JSON).status_code == 201
        lonely = make_event(
            job="queries-lonely",
            inputs=[{"namespace": "tests", "name": "queries-elsewhere-in"}],
            outputs=[{"namespace": "tests", "name": "queries-elsewhere-out"}],
        )
        assert client.post("/api/v1/lineage", content=lonely, headers=JSON).status_code == 201
        deadline = time.monotonic() + 30
        while client.get("/api/v1/health").json()["projectionLag"] and time.monotonic() < deadline:
            time.sleep(0.05)


def _with(endpoint: str, **params: str) -> str:
    separator = "&" if "?" in endpoint else "?"
    return endpoint + separator + "&".join(f"{name}={value}" for name, value in params.items())


def _bad(response: httpx.Response, name: str) -> None:
    assert response.status_code == 400, (response.request.url, response.status_code, response.text)
    assert name in response.json()["error"], response.text


@pytest.mark.parametrize("endpoint", LIST_ENDPOINTS)
@pytest.mark.parametrize("offset", BAD_OFFSETS)
def test_a_bad_offset_is_400_naming_it(client: httpx.Client, endpoint: str, offset: str) -> None:
    _bad(client.get(_with(endpoint, offset=offset)), "offset")


@pytest.mark.parametrize("endpoint", LIST_ENDPOINTS + LIMIT_ONLY_ENDPOINTS)
@pytest.mark.parametrize("limit", BAD_LIMITS)
def test_a_bad_limit_is_400_naming_it(client: httpx.Client, endpoint: str, limit: str) -> None:
    if endpoint == "/api/v1/sync/events" and limit == str(MAX_LIMIT + 1):
        limit = "20001"  # the sync pull's own bound is larger
    _bad(client.get(_with(endpoint, limit=limit)), "limit")


@pytest.mark.parametrize("endpoint", LIST_ENDPOINTS)
def test_the_largest_offset_is_an_empty_page(client: httpx.Client, endpoint: str) -> None:
    response = client.get(_with(endpoint, offset=str(MAX_OFFSET), limit="5"))
    assert response.status_code == 200, response.text


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    endpoint=st.sampled_from(LIST_ENDPOINTS),
    name=st.sampled_from(["offset", "limit"]),
    value=st.one_of(
        st.integers(),
        st.integers(min_value=2**52, max_value=2**70),
        st.text(max_size=12),
        st.floats(allow_nan=True).map(str),
    ),
)
def test_any_paging_value_is_answered_200_or_400(
    client: httpx.Client, endpoint: str, name: str, value: object
) -> None:
    response = client.get(endpoint, params={**dict(httpx.URL(endpoint).params), name: str(value)})
    assert response.status_code in (200, 400), (response.request.url, response.text)


def test_path_between_unconnected_nodes_says_none(client: httpx.Client) -> None:
    params = {"from": "dataset:tests:queries-in", "to": "dataset:tests:queries-elsewhere-out"}
    response = client.get("/api/v1/lineage/path", params=params)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "from": "dataset:tests:queries-in",
        "to": "dataset:tests:queries-elsewhere-out",
        "relation": "none",
        "nodes": [],
        "edges": [],
    }


TIME_ENDPOINTS = [
    ("/api/v1/lineage?nodeId=dataset:tests:queries-in", "asOf"),
    ("/api/v1/lineage/impact?nodeId=dataset:tests:queries-in", "asOf"),
    ("/api/v1/column-lineage?nodeId=dataset:tests:queries-out", "asOf"),
    ("/api/v1/ui/lineage?nodeId=dataset:tests:queries-in", "asOf"),
    ("/api/v1/events/lineage", "before"),
    ("/api/v1/events/lineage", "after"),
    ("/api/v1/ui/runs", "since"),
    ("/api/v1/ui/runs", "until"),
]

CALENDAR_ENDS = ["9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"]
BEYOND_THE_CALENDAR = ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "10000-01-01T00:00:00Z"]


@pytest.mark.parametrize(("endpoint", "name"), TIME_ENDPOINTS)
@pytest.mark.parametrize("when", CALENDAR_ENDS)
def test_times_at_the_ends_of_the_calendar_are_answered(
    client: httpx.Client, endpoint: str, name: str, when: str
) -> None:
    response = client.get(endpoint, params={**dict(httpx.URL(endpoint).params), name: when})
    assert response.status_code == 200, (endpoint, name, when, response.text)


@pytest.mark.parametrize(("endpoint", "name"), TIME_ENDPOINTS)
@pytest.mark.parametrize("when", BEYOND_THE_CALENDAR)
def test_times_beyond_the_calendar_are_400(client: httpx.Client, endpoint: str, name: str, when: str) -> None:
    response = client.get(endpoint, params={**dict(httpx.URL(endpoint).params), name: when})
    _bad(response, name)


# ---- a 500 closes its connection cleanly -----------------------------------------------------------------


@pytest.fixture
def failing_server(tmp_path: Path) -> Iterator[str]:
    """The real app served by uvicorn over a real socket, with one extra route that always fails."""
    store = open_store(f"sqlite:///{tmp_path / 'threadline.db'}")
    app = create_app(store, ServerConfig(auth="none", max_body_bytes=1 << 20, max_batch_events=10))

    @app.get("/api/v1/boom")
    async def boom(_request: Request) -> None:
        msg = "a bug"
        raise RuntimeError(msg)

    port = free_port()
    config = uvicorn.Config(asgi_app(app), host="127.0.0.1", port=port, log_level="critical", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(15)
    store.close()


def test_a_500_says_connection_close_and_the_next_request_works(failing_server: str) -> None:
    with httpx.Client(base_url=failing_server, timeout=10) as client:
        for _ in range(3):
            failed = client.get("/api/v1/boom")
            assert failed.status_code == 500
            assert failed.headers.get("connection") == "close"
            assert "internal server error" in failed.json()["error"]
            assert client.get("/api/v1/health").status_code == 200  # on a new connection


def test_a_500_is_a_clean_end_of_the_connection(failing_server: str) -> None:
    """On a raw keep-alive socket: the whole answer arrives, then an orderly close (no reset)."""
    port = int(failing_server.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /api/v1/boom HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n")
        received = b""
        while chunk := sock.recv(65536):  # a reset would raise ConnectionResetError here
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 500")
    assert b"connection: close" in head.lower()
    assert json.loads(body)["error"].startswith("internal server error")
