"""The pipeline pages in headless Chromium over real runs of the example pipeline: the list, a blocked
run as a chain of stages with its failed check and failing rows, a promoted run with its staging and
production versions, a dataset's quality history, and a run awaiting approval approved with its
button (see conftest.py for the browser)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT
from tests.server.conftest import ServerProcess, free_port
from tests.web.conftest import VIEWPORT, PageRecord, check_record, save_screenshot, watch

pytestmark = pytest.mark.slow

BAD_ORDER = "1011,2,-1.00,shipped,2026-12-05T09:00:00\n"


def _threadline(work: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("THREADLINE_", "OPENLINEAGE_"))}
    env["HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "threadline", *args],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def pipeline_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The server on a project's store after two runs of examples/pipelines/shop.py, as a user types
    them: the first promoted, the second blocked by an order with a negative amount; the pipeline's
    webhook takes the first run's notification and is down for the second's."""
    root = tmp_path_factory.mktemp("pipeline-web")
    work, home = root / "work", root / "home"
    (work / ".threadline").mkdir(parents=True)
    home.mkdir()
    shop = work / "shop"
    shutil.copytree(ROOT / "examples/pipelines", shop, ignore=shutil.ignore_patterns("build", "__pycache__"))
    # a webhook that takes the first run's notification and is down for the second's
    hook = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    source = (shop / "shop.py").read_text()
    url = f"http://127.0.0.1:{hook.server_address[1]}/hook?token=secret"
    (shop / "shop.py").write_text(
        source.replace('    description="Orders', f'    webhook={url!r},\n    description="Orders')
    )
    first = _threadline(work, home, "pipeline", "run", "shop/shop.py")
    assert first.returncode == 0, first.stderr
    hook.shutdown()
    hook.server_close()
    with (shop / "data/orders.csv").open("a") as handle:
        handle.write(BAD_ORDER)
    second = _threadline(work, home, "pipeline", "run", "shop/shop.py")
    assert second.returncode == 1, second.stderr
    store = f"sqlite:///{work / '.threadline' / 'threadline.db'}"
    server = ServerProcess(store, free_port(), root / "server.log", {"auth": "none"}).start()
    yield server
    server.stop()
    assert "Traceback" not in server.log(), server.log()


@pytest.fixture
def browse(
    browser: Any, pipeline_server: ServerProcess, request: pytest.FixtureRequest
) -> Iterator[tuple[Any, PageRecord]]:
    record = PageRecord()
    context = browser.new_context(viewport=VIEWPORT, base_url=pipeline_server.url)
    page = watch(context.new_page(), record, pipeline_server.url)
    yield page, record
    context.close()
    check_record(record, request, budget_ms=2000.0)


def test_a_blocked_run_shows_the_chain_the_failed_check_and_its_rows(
    browse: tuple[Any, PageRecord], pipeline_server: ServerProcess
) -> None:
    page, _ = browse
    page.goto("/pipelines")
    row = page.locator("table.grid tbody tr").first
    row.wait_for()
    assert "shop" in row.inner_text()
    assert "failed" in row.inner_text()
    row.locator("a").first.click()
    page.locator("ol.stage-chain").wait_for()
    stages = page.locator("ol.stage-chain li.stage")
    names = [stages.nth(i).get_attribute("data-stage") for i in range(stages.count())]
    assert names[:4] == ["extract.customers", "load.customers", "extract.orders", "load.orders"]
    assert "validate.orders" in names
    assert names[-1] == "promote"  # the promotion did not run: the chain ends blocked
    blocked = page.locator('li.stage[data-stage="promote"]')
    assert "stage-blocked" in (blocked.get_attribute("class") or "")
    assert "production unchanged" in blocked.inner_text()
    failed = page.locator('li.stage[data-stage="validate.orders"]')
    assert "failed" in failed.inner_text()
    assert "1 failed" in failed.inner_text()
    assert "Not promoted: production is unchanged." in page.inner_text("main")
    checks = page.locator("table.checks tr", has_text="between(amount)")
    assert "failed" in checks.inner_text()
    rows = checks.locator("details table.failing-sample")
    assert rows.is_visible()  # a few failing rows are shown open
    assert "1011" in rows.locator("tbody").inner_text()
    assert rows.locator("th.checked").inner_text() == "amount"
    assert rows.locator("td.checked").inner_text() == "-1"
    save_screenshot(page, "pipeline-run-blocked")


def test_a_promoted_run_shows_staging_and_production_versions(
    browse: tuple[Any, PageRecord], pipeline_server: ServerProcess
) -> None:
    page, _ = browse
    with httpx.Client(base_url=pipeline_server.url, timeout=30) as client:
        runs = client.get("/api/v1/pipelines/shop/runs").json()["runs"]
    promoted = runs[1]
    page.goto(f"/runs/{promoted['id']}")
    page.locator("#pipeline-view").click()
    page.locator("ol.stage-chain").wait_for()
    names = page.locator("ol.stage-chain li.stage").all_inner_texts()
    assert names[-1].startswith("promote")
    production = page.locator("section.card", has_text="Production versions")
    for table in ("customers", "orders", "revenue_by_country"):
        assert table in production.inner_text()
    version = next(v for v in promoted["versions"]["production"] if v["name"].endswith("orders"))
    assert version["version"][:13] in production.inner_text()
    save_screenshot(page, "pipeline-run-promoted")


def test_the_dataset_page_shows_its_quality_history(
    browse: tuple[Any, PageRecord], pipeline_server: ServerProcess
) -> None:
    page, _ = browse
    with httpx.Client(base_url=pipeline_server.url, timeout=30) as client:
        runs = client.get("/api/v1/pipelines/shop/runs").json()["runs"]
    orders = next(v for v in runs[1]["versions"]["staging"] if v["name"].endswith("orders"))
    from urllib.parse import quote

    page.goto(f"/datasets/{quote(orders['namespace'], safe='')}/{quote(orders['name'], safe='')}")
    history = page.locator("#quality-history")
    history.locator("table").wait_for()
    rows = history.locator("tbody tr")
    assert rows.count() == 2
    assert "between(amount)" in rows.nth(0).inner_text()
    assert rows.nth(0).locator(".pill.state-failed").count() >= 1
    assert rows.nth(1).locator(".pill.state-failed").count() == 0
    history.scroll_into_view_if_needed()
    save_screenshot(page, "dataset-quality-history")


@pytest.fixture(scope="module")
def approval_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    """The server on a project whose example pipeline needs an approval, after one run that awaits it."""
    root = tmp_path_factory.mktemp("pipeline-approval")
    work, home = root / "work", root / "home"
    (work / ".threadline").mkdir(parents=True)
    home.mkdir()
    shop = work / "shop"
    shutil.copytree(ROOT / "examples/pipelines", shop, ignore=shutil.ignore_patterns("build", "__pycache__"))
    source = (
        (shop / "shop.py").read_text().replace("    description=", "    approval=True,\n    description=", 1)
    )
    (shop / "shop.py").write_text(source)
    ran = _threadline(work, home, "pipeline", "run", "shop/shop.py", "--format", "json")
    assert ran.returncode == 0, ran.stderr
    run_id = ran.stdout[ran.stdout.index('"runId": "') + 10 :].split('"', 1)[0]
    store = f"sqlite:///{work / '.threadline' / 'threadline.db'}"
    server = ServerProcess(store, free_port(), root / "server.log", {"auth": "none"}).start()
    yield server, run_id
    server.stop()
    assert "Traceback" not in server.log(), server.log()


def test_a_run_awaiting_approval_is_approved_with_its_button(
    browser: Any, approval_server: tuple[ServerProcess, str], request: pytest.FixtureRequest
) -> None:
    server, run_id = approval_server
    record = PageRecord()
    context = browser.new_context(viewport=VIEWPORT, base_url=server.url)
    page = watch(context.new_page(), record, server.url)
    page.goto("/pipelines")
    row = page.locator("table.grid tbody tr").first
    row.wait_for()
    assert "awaiting approval" in row.inner_text()
    page.goto(f"/pipeline-runs/{run_id[:8]}")
    approval = page.locator("#approval")
    approval.wait_for()
    assert "customers, orders, revenue_by_country" in approval.inner_text()
    waiting = page.locator('li.stage[data-stage="promote"]')
    assert "awaiting approval" in waiting.inner_text()
    assert "Not promoted" in page.locator("section.card", has_text="Production versions").inner_text()
    save_screenshot(page, "pipeline-run-awaiting-approval")
    approval.locator("button[data-approve]").click()
    page.locator("ol.stage-chain li.stage.stage-completed[data-stage='promote']").wait_for()
    assert page.locator("#approval").count() == 0
    production = page.locator("section.card", has_text="Production versions")
    for table in ("customers", "orders", "revenue_by_country"):
        assert table in production.inner_text()
    assert "approved" in page.locator("section.card", has_text="Environment").inner_text()
    save_screenshot(page, "pipeline-run-approved")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        again = client.post(f"/api/v1/pipeline-runs/{run_id}/approve")
    assert again.status_code == 409
    context.close()
    check_record(record, request, budget_ms=5000.0)


def test_a_run_lists_its_webhook_deliveries(
    browse: tuple[Any, PageRecord], pipeline_server: ServerProcess
) -> None:
    page, _ = browse
    with httpx.Client(base_url=pipeline_server.url, timeout=30) as client:
        blocked, promoted = client.get("/api/v1/pipelines/shop/runs").json()["runs"][:2]
    page.goto(f"/pipeline-runs/{promoted['id']}")
    rows = page.locator("#notifications table.notifications tbody tr")
    rows.first.wait_for()
    assert rows.count() == 1
    text = rows.first.inner_text()
    assert "promoted" in text
    assert "delivered" in text
    assert "/hook" in text
    assert "secret" not in page.inner_text("main")  # the query (a token) is not shown
    page.goto(f"/pipeline-runs/{blocked['id']}")
    rows = page.locator("#notifications table.notifications tbody tr")
    rows.first.wait_for()
    text = rows.first.inner_text()
    assert "failed" in text
    assert "3" in text  # tried three times
    assert "refused" in text.lower()
    stages = page.locator("ol.stage-chain li.stage")
    names = [stages.nth(i).get_attribute("data-stage") for i in range(stages.count())]
    assert "notify" not in names  # a delivery is not a stage
    save_screenshot(page, "pipeline-run-notifications")
