"""The approval gate, notifications and CI mode, on real runs of the example pipeline: a run stops at
awaiting approval (production untouched), `threadline pipeline approve` (a short prefix) or the API's
POST promotes it, a second approval is refused with a clear error (409 in the one shape), a run a newer
one superseded cannot be approved; the webhook (a real local HTTP server) hears of a failure, of a run
awaiting approval and of the promotion, and a webhook that is down fails nothing; `--env ci --sample N`
runs every stage on a sample in a throwaway environment and exits 1 on a failed check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.pipeline.conftest import open_project_store
from threadline.cli.main import app as cli
from threadline.pipeline import notify
from threadline.pipeline.history import _delivery
from threadline.server.app import asgi_app, create_app
from threadline.settings import ServerConfig

BAD_ORDER = "1011,2,-1.00,shipped,2026-12-05T09:00:00\n"
NEW_ORDER = "1012,2,15.00,placed,2026-12-05T10:00:00\n"


def _gate(example: Path, *, webhook: str | None = None) -> None:
    """Make the example's staging environment wait for an approval (and notify ``webhook``)."""
    source = (example / "shop.py").read_text()
    extra = "    approval=['staging'],\n" + (f"    webhook={webhook!r},\n" if webhook else "")
    source = source.replace(
        '    description="Orders and customers', extra + '    description="Orders and customers'
    )
    (example / "shop.py").write_text(source)


def _cli(*args: str) -> Any:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output, result.output
    return result


def _run(example: Path, *more: str) -> Any:
    return _cli("pipeline", "run", str(example / "shop.py"), "--format", "json", *more)


def _json(result: Any) -> dict[str, Any]:
    return json.loads(result.stdout[result.stdout.index("{") :])


def _production(example: Path) -> dict[str, int]:
    path = example / "build/staging/warehouse.duckdb"
    with duckdb.connect(str(path), read_only=True) as connection:
        names = [
            r[0]
            for r in connection.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'analytics'"
            ).fetchall()
        ]
        return {n: connection.execute(f"SELECT count(*) FROM analytics.{n}").fetchone()[0] for n in names}


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A real HTTP server on a free local port, collecting the JSON bodies POSTed to it."""
    received: list[dict[str, Any]] = []
    handler = type("Hook", (_Hook,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/pipeline", received
    server.shutdown()
    server.server_close()


def test_a_gated_run_awaits_approval_and_approve_promotes_it_once(
    example: Path, project: Path, hook: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = hook
    _gate(example, webhook=url)
    result = _run(example)
    assert result.exit_code == 0, result.output
    answer = _json(result)
    assert answer["awaitingApproval"] is True
    assert answer["promoted"] is False
    assert answer["stages"][-2]["status"] == "awaiting approval"
    assert "awaiting approval" in result.stderr
    assert _production(example) == {}  # nothing promoted yet
    run_id = answer["runId"]
    assert [b["event"] for b in received] == ["awaiting_approval"]
    assert received[0]["runId"] == run_id
    assert received[0]["approve"].endswith(run_id)

    status = _cli("pipeline", "status", run_id[:8], "--format", "json")
    assert status.exit_code == 0, status.output
    detail = _json(status)
    assert detail["state"] == "RUNNING"
    assert detail["approval"]["status"] == "awaiting"
    assert detail["approval"]["tables"] == ["customers", "orders", "revenue_by_country"]
    assert "awaiting approval" in _cli("pipeline", "list").output

    approved = _cli("pipeline", "approve", run_id[:8])
    assert approved.exit_code == 0, approved.output
    assert _production(example) == {"customers": 4, "orders": 6, "revenue_by_country": 3}
    assert [b["event"] for b in received] == ["awaiting_approval", "promoted"]
    detail = _json(_cli("pipeline", "status", run_id, "--format", "json"))
    assert detail["state"] == "COMPLETED"
    # both deliveries are recorded under the run: the run's and the approval's
    assert [(n["event"], n["status"]) for n in detail["notifications"]] == [
        ("awaiting_approval", "delivered"),
        ("promoted", "delivered"),
    ]
    assert {(n["url"], n["problem"]) for n in detail["notifications"]} == {(url, None)}
    text = _cli("pipeline", "status", run_id).output
    assert f"notification awaiting approval to {url}: delivered\n" in text
    assert f"notification promoted to {url}: delivered\n" in text
    assert detail["approval"]["status"] == "approved"
    assert detail["approval"]["approvedAt"]
    promote = next(s for s in detail["stages"] if s["stage"] == "promote")
    assert promote["state"] == "COMPLETED"
    assert {v["name"].rsplit(".", 1)[-1] for v in detail["versions"]["production"]} == {
        "customers",
        "orders",
        "revenue_by_country",
    }

    again = _cli("pipeline", "approve", run_id[:8])
    assert again.exit_code == 1
    assert "is not awaiting approval: it was approved" in again.output

    # The approval's promotion moved the cursor: the next run extracts only what is new.
    with (example / "data/orders.csv").open("a") as handle:
        handle.write(NEW_ORDER)
    second = _json(_run(example))
    extract = next(s for s in second["stages"] if s["stage"] == "extract.orders")
    assert extract["rows"] == 1


def test_a_failed_run_notifies_and_a_webhook_that_is_down_fails_nothing(
    example: Path, hook: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    url, received = hook
    _gate(example, webhook=url)
    with (example / "data/orders.csv").open("a") as handle:
        handle.write(BAD_ORDER)
    result = _run(example)
    assert result.exit_code == 1
    (body,) = received
    assert body["event"] == "failed"
    assert body["pipeline"] == "shop"
    assert body["env"] == "staging"
    assert any("between(amount)" in check for check in body["failedChecks"])

    # A webhook nobody listens on: tried a few times, logged, and the run still awaits its approval.
    monkeypatch.setattr(notify, "BACKOFF_SECONDS", 0.01)
    source = (example / "shop.py").read_text().replace(url, "http://127.0.0.1:9/nobody")
    (example / "shop.py").write_text(source)
    lines = (example / "data/orders.csv").read_text().splitlines(keepends=True)
    (example / "data/orders.csv").write_text("".join(lines[:-1]))
    with caplog.at_level("WARNING", logger="threadline.pipeline.notify"):
        result = _run(example)
    assert result.exit_code == 0, result.output
    assert _json(result)["awaitingApproval"] is True
    assert "did not take the awaiting_approval notification" in caplog.text


def test_approving_over_http_and_the_refusals(example: Path, project: Path) -> None:
    _gate(example)
    first = _json(_run(example))["runId"]
    second = _json(_run(example))["runId"]
    with (example / "data/orders.csv").open("a") as handle:
        handle.write(BAD_ORDER)
    assert _run(example).exit_code == 1  # a blocked run
    store = open_project_store(project)
    try:
        with TestClient(
            asgi_app(create_app(store, ServerConfig(auth="none"))), raise_server_exceptions=False
        ) as http:
            listed = http.get("/api/v1/pipelines").json()["pipelines"][0]["lastRun"]
            assert listed["state"] == "FAILED"
            refused = http.post(f"/api/v1/pipeline-runs/{listed['id']}/approve")
            assert refused.status_code == 409
            assert "is not awaiting approval: it failed" in refused.json()["message"]
            awaiting = http.get(f"/api/v1/pipeline-runs/{second}").json()
            assert awaiting["approval"]["status"] == "awaiting"
            assert awaiting["state"] == "RUNNING"

            # The older run's staging tables were replaced by the newer run: refused.
            older = http.post(f"/api/v1/pipeline-runs/{first[:8]}/approve")
            assert older.status_code == 409
            assert older.json()["code"]
            assert "replaced its staging tables" in older.json()["message"]

            # The newest run is the blocked one: so the second cannot be approved either.
            blocked = http.post(f"/api/v1/pipeline-runs/{second}/approve")
            assert blocked.status_code == 409

            missing = http.post("/api/v1/pipeline-runs/ffffffff-0000-0000-0000-000000000000/approve")
            assert missing.status_code == 404
            assert set(missing.json()) >= {"status", "code", "message", "error"}
    finally:
        store.close()


def test_approving_over_http_promotes_and_a_second_click_is_a_409(
    example: Path, project: Path, hook: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = hook
    _gate(example, webhook=url)
    # In a process of its own: its exit must leave the run open, awaiting approval.
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_")}
    done = subprocess.run(
        [sys.executable, "-m", "threadline", "pipeline", "run", str(example / "shop.py"), "--format", "json"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    run_id = json.loads(done.stdout[done.stdout.index("{") :])["runId"]
    store = open_project_store(project)
    try:
        with TestClient(
            asgi_app(create_app(store, ServerConfig(auth="none"))), raise_server_exceptions=False
        ) as http:
            before = http.get(f"/api/v1/pipeline-runs/{run_id}").json()
            assert before["state"] == "RUNNING"
            assert before["approval"]["status"] == "awaiting"
            answer = http.post(f"/api/v1/pipeline-runs/{run_id[:8]}/approve")
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body["approval"]["status"] == "approved"
            assert body["state"] == "COMPLETED"
            assert len(body["versions"]["production"]) == 3
            assert [b["event"] for b in received] == ["awaiting_approval", "promoted"]
            assert [n["event"] for n in body["notifications"]] == ["awaiting_approval", "promoted"]
            document = http.get("/api/openapi.json").json()
            assert "/api/v1/pipeline-runs/{run_id}/approve" in document["paths"]
            again = http.post(f"/api/v1/pipeline-runs/{run_id}/approve")
            assert again.status_code == 409
            assert "is not awaiting approval" in again.json()["message"]
    finally:
        store.close()
    assert _production(example)["orders"] == 6


def test_ci_mode_runs_a_sample_in_a_throwaway_environment(example: Path) -> None:
    result = _run(example, "--env", "ci", "--sample", "2")
    assert result.exit_code == 0, result.output
    answer = _json(result)
    assert answer["env"] == "ci"
    assert answer["sample"] == 2
    assert answer["promoted"]
    assert {s["rows"] for s in answer["stages"] if s["stage"].startswith("load.")} == {2}
    assert not (example / "build").exists()  # nothing in the declared environments

    # A failing check inside the sample: exit status 1, naming it.
    lines = (example / "data/orders.csv").read_text().splitlines(keepends=True)
    (example / "data/orders.csv").write_text(lines[0] + BAD_ORDER + "".join(lines[1:]))
    failed = _run(example, "--env", "ci", "--sample", "3")
    assert failed.exit_code == 1
    assert "between(amount)" in failed.output

    refused = _cli("pipeline", "run", str(example / "shop.py"), "--sample", "2")
    assert refused.exit_code == 2
    assert "--sample runs only with --env ci" in refused.output


def test_an_approval_publishes_the_lake_version_too(example: Path, project: Path) -> None:
    """With ``lake_production``, approving writes the promoted tables under a new lake version and
    switches the pointer, as a promotion without the gate does."""
    _gate(example)
    source = (example / "shop.py").read_text()
    source = source.replace(
        '"warehouse": "duckdb:///build/staging/warehouse.duckdb"}',
        '"warehouse": "duckdb:///build/staging/warehouse.duckdb", "lake_production": True}',
    )
    (example / "shop.py").write_text(source)
    answer = _json(_run(example))
    assert answer["awaitingApproval"] is True
    pointer = example / "build/staging/lake/production/CURRENT.json"
    assert not pointer.exists()  # nothing published before the approval
    approved = _cli("pipeline", "approve", answer["runId"][:8])
    assert approved.exit_code == 0, approved.output
    current = json.loads(pointer.read_text())
    version_dir = pointer.parent / f"v={current['version']}"
    assert sorted(p.name for p in version_dir.iterdir()) == [
        "customers.parquet",
        "orders.parquet",
        "revenue_by_country.parquet",
    ]


def test_a_delivery_recorded_before_unknowns_were_left_out_reads_null() -> None:
    """Deliveries recorded by an earlier version kept an unknown URL or problem as the text "None"
    (a run parameter's ``str(None)``); readers see null, never the word."""
    old = {"event": "failed", "url": "None", "status": "not sent", "attempts": 0, "problem": "None"}
    assert _delivery(old) == {**old, "url": None, "problem": None}
    assert _delivery({"event": "failed", "status": "not sent", "attempts": 0})["url"] is None
