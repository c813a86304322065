"""The HTTP JSON API source against a real local HTTP server: paging by next link and by page
number, a retry after a 503, the auth header from the environment, incremental extraction, and a
source that is down."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import duckdb
import pytest

from threadline.errors import PipelineError
from threadline.pipeline import Pipeline, api, run_pipeline
from threadline.pipeline.checks import not_null, unique

RECORDS = [
    {"id": 1, "sku": "A", "price": 3.5, "updated_at": "2026-12-01T00:00:00"},
    {"id": 2, "sku": "B", "price": 4.0, "updated_at": "2026-12-01T00:00:00"},
    {"id": 3, "sku": "C", "price": 9.0, "updated_at": "2026-12-02T00:00:00"},
]


class Api:
    """A small JSON API: /products?page=N (2 per page) and /linked (a next link), behind a token."""

    def __init__(self) -> None:
        self.records = list(RECORDS)
        self.requests: list[str] = []
        self.fail_next = 0
        api_state = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                api_state.requests.append(self.path)
                if api_state.fail_next:
                    api_state.fail_next -= 1
                    self.send_response(503)
                    self.send_header("Retry-After", "0")
                    self.end_headers()
                    return
                if self.headers.get("Authorization") != "Bearer s3cret":
                    self._json(401, {"error": "unauthorized"})
                    return
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                rows = [r for r in api_state.records if r["updated_at"] > query.get("since", "")]
                page = int(query.get("page", "1"))
                chunk = rows[(page - 1) * 2 : page * 2]
                if parts.path == "/products":
                    self._json(200, {"data": chunk})
                elif parts.path == "/linked":
                    more = len(rows) > page * 2
                    self._json(200, {"data": chunk, "next": f"/linked?page={page + 1}" if more else None})
                else:
                    self._json(404, {"error": "no such path"})

            def _json(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def server() -> Iterator[Api]:
    state = Api()
    thread = threading.Thread(target=state.server.serve_forever, daemon=True)
    thread.start()
    yield state
    state.server.shutdown()
    state.server.server_close()


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_API_TOKEN", "Bearer s3cret")


def pipeline_for(project: Path, source: Any) -> Pipeline:
    pipeline = Pipeline(
        "products",
        environments={
            "staging": {"lake": str(project / "lake"), "warehouse": f"duckdb:///{project / 'wh.duckdb'}"}
        },
    )
    pipeline.extract("products", source, primary_key="id", cursor="updated_at")
    pipeline.validate("products", not_null("id"), unique("id"))
    return pipeline


def products(project: Path) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(project / "wh.duckdb"), read_only=True) as c:
        return c.execute("SELECT id, price FROM analytics.products ORDER BY id").fetchall()


def test_page_numbers_retry_auth_and_incremental(server: Api, project: Path) -> None:
    source = api(
        f"{server.url}/products",
        records="data",
        page_param="page",
        headers_from_env={"Authorization": "SHOP_API_TOKEN"},
        cursor_param="since",
        backoff=0.01,
    )
    server.fail_next = 1
    result = run_pipeline(pipeline_for(project, source), "staging")
    assert result.promoted
    assert products(project) == [(1, 3.5), (2, 4.0), (3, 9.0)]
    assert [p.split("?")[1] for p in server.requests] == ["page=1", "page=1", "page=2", "page=3"]
    # the next run sends the cursor and gets only the changed row
    server.records[0] = {"id": 1, "sku": "A", "price": 3.75, "updated_at": "2026-12-03T00:00:00"}
    server.requests.clear()
    again = run_pipeline(pipeline_for(project, source), "staging")
    assert {s.name: s.rows for s in again.stages}["extract.products"] == 1
    assert "since=2026-12-02T00%3A00%3A00" in server.requests[0]
    assert products(project) == [(1, 3.75), (2, 4.0), (3, 9.0)]


def test_next_links(server: Api, project: Path) -> None:
    source = api(
        f"{server.url}/linked",
        records="data",
        next_key="next",
        headers_from_env={"Authorization": "SHOP_API_TOKEN"},
    )
    assert run_pipeline(pipeline_for(project, source), "staging").promoted
    assert len(products(project)) == 3
    assert server.requests == ["/linked", "/linked?page=2"]


def test_a_missing_token_and_a_refusal(server: Api, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = api(
        f"{server.url}/products", records="data", headers_from_env={"Authorization": "SHOP_API_TOKEN"}
    )
    monkeypatch.delenv("SHOP_API_TOKEN")
    with pytest.raises(PipelineError, match="needs the environment variable SHOP_API_TOKEN"):
        run_pipeline(pipeline_for(project, source), "staging")
    monkeypatch.setenv("SHOP_API_TOKEN", "Bearer wrong")
    with pytest.raises(PipelineError, match=r"answered 401: \{\"error\": \"unauthorized\"\}"):
        run_pipeline(pipeline_for(project, source), "staging")


def test_a_source_that_is_down(project: Path) -> None:
    source = api("http://127.0.0.1:9/products", retries=2, backoff=0.01)
    with pytest.raises(
        PipelineError, match=r"cannot reach the API source http://127.0.0.1:9/products after 3 tries"
    ):
        run_pipeline(pipeline_for(project, source), "staging")
    assert not (project / "wh.duckdb").exists() or not products_exist(project)


def products_exist(project: Path) -> bool:
    with duckdb.connect(str(project / "wh.duckdb"), read_only=True) as c:
        return bool(
            c.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'analytics'"
            ).fetchall()[0][0]
        )
