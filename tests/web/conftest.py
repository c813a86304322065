"""Browser tests of the web UI: the real server on the demo data, driven by headless Chromium.

The demo store is what ``make demo`` builds (``examples/demo.py``: four runs of the SDK example
``examples/churn_sdk``, one of them failing, and the ``ml_pipeline``, ``dbt_jaffle_shop`` and
``airflow_etl`` event sets), plus a dataset and job with hostile names and three runs whose ids are
UUIDv7. Chromium is Debian's
(``/usr/bin/chromium``), driven by Playwright; without it the browser tests are skipped, except under
``CI=true`` where they fail. Each test saves a screenshot to ``test-output/web/<test>.png``, and every
API call a page makes is recorded (URL, status, time) and must answer within ``API_LIMIT_MS`` (a
sanity bound); the figures are written to ``test-output/web/api-calls.json``, their summary (against
the 100 ms of ``API_BUDGET_MS``) to ``api-summary.json``.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from examples.demo import store_url

from tests.conftest import IN_CI, ROOT
from tests.server.conftest import ServerProcess, free_port

CHROMIUM = Path(os.environ.get("THREADLINE_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]
OUTPUT = ROOT / "test-output" / "web"
#: Rows of the demo pipeline's CSV: fewer than ``make demo``'s, to build the demo faster.
DEMO_ROWS = 1200
#: What an API call on the demo data should take: the figure `api-summary.json` counts the calls
#: over (see the benchmark report). Not what fails a test: see :data:`API_LIMIT_MS`.
API_BUDGET_MS = 100.0
#: A test fails on a call slower than this (or than its own budget, when larger) both in the browser
#: and asked again: a sanity bound that catches a call gone wrong (a missing index, a loop of queries),
#: not a benchmark; the tests run beside other work (``make test`` runs two workers on two cores).
API_LIMIT_MS = 1000.0
VIEWPORT = {"width": 1440, "height": 900}

LARGE_NAMESPACE = "warehouse://big"
LARGE_HUB = f"dataset:{LARGE_NAMESPACE}:dim.calendar"
JOB_TYPE_SCHEMA = "https://openlineage.io/spec/facets/2-0-3/JobTypeJobFacet.json"

HOSTILE_DATASET = "<img src=x onerror=alert(1)>"
HOSTILE_JOB = '<script>alert("job")</script>'
HOSTILE_FIELD = "<svg onload=alert(3)>"
HOSTILE_NAMESPACE = "s3://evil-bucket"


def _browser_problem() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    if not CHROMIUM.exists():
        return f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    return None


def hostile_events() -> list[dict[str, Any]]:
    """A job with a hostile name writing a dataset with a hostile name, description and field."""
    producer = "https://example.com/<b>producer</b>"
    facet = {
        "_producer": producer,
        "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json",
    }
    docs = {
        "_producer": producer,
        "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/DocumentationDatasetFacet.json",
        "description": "<b onmouseover=alert(2)>bold?</b> <iframe src=javascript:alert(4)>",
    }
    output = {
        "namespace": HOSTILE_NAMESPACE,
        "name": HOSTILE_DATASET,
        "facets": {
            "schema": {**facet, "fields": [{"name": HOSTILE_FIELD, "type": "<i>string</i>"}]},
            "documentation": docs,
        },
    }
    base = {
        "producer": producer,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": "7d0c6ef4-2a43-4b1e-9d6f-0c2b7f1e5a10"},
        "job": {"namespace": "evil", "name": HOSTILE_JOB},
        "inputs": [
            {"namespace": "postgres://warehouse.internal:5432", "name": "analytics.jaffle_shop.orders"}
        ],
    }
    return [
        {**base, "eventType": "START", "eventTime": "2026-11-04T09:00:00Z", "outputs": [output]},
        {**base, "eventType": "COMPLETE", "eventTime": "2026-11-04T09:00:05Z", "outputs": [output]},
    ]


#: Runs whose ids are UUIDv7, as the OpenLineage client (1.x) makes them: made within a second, they
#: share their first 14 characters.
UUID7_JOB = ("acme-dbt-v7", "analytics.orders_daily")
UUID7_RUNS = [
    "01a248e6-1b2c-7d3e-8f00-00000000a001",
    "01a248e6-1b2c-7d3e-9f00-00000000a002",
    "01a248e6-1b2d-7000-8000-00000000a003",
]


def uuid7_events() -> list[dict[str, Any]]:
    """A START and a COMPLETE of each run of :data:`UUID7_RUNS`."""
    producer = "https://github.com/OpenLineage/OpenLineage/tree/1.24.2/integration/dbt"
    events = []
    for index, run_id in enumerate(UUID7_RUNS):
        base = {
            "producer": producer,
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
            "run": {"runId": run_id},
            "job": {"namespace": UUID7_JOB[0], "name": UUID7_JOB[1]},
        }
        events.append({**base, "eventType": "START", "eventTime": f"2026-11-05T06:0{index}:00Z"})
        events.append({**base, "eventType": "COMPLETE", "eventTime": f"2026-11-05T06:0{index}:42Z"})
    return events


def _demo(folder: Path) -> str:
    """The demo project (``examples/demo.py``, as ``make demo`` builds it, with a smaller CSV) in
    ``folder``; its store URL."""
    command = ["--folder", str(folder), "--rows", str(DEMO_ROWS), "--no-serve"]
    done = subprocess.run(
        [sys.executable, "-m", "examples.demo", *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"the demo could not be built:\n{done.stdout}\n{done.stderr}")
    return store_url(folder)


def _ingest(store_url: str, *paths: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "threadline", "ingest", *map(str, paths), "--store", store_url],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0 or " 0 rejected" not in done.stdout + done.stderr:
        pytest.fail(f"ingest failed or rejected events:\n{done.stdout}\n{done.stderr}")


@pytest.fixture(scope="package")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The demo's store (see the module docstring), with the hostile events and runs with UUIDv7 ids
    added."""
    work = tmp_path_factory.mktemp("web-demo")
    url = _demo(work / "demo")
    hostile = work / "hostile.jsonl"
    hostile.write_text("".join(json.dumps(e) + "\n" for e in [*hostile_events(), *uuid7_events()]))
    _ingest(url, hostile)
    return url


def layered_events(layers: int = 12, width: int = 25, seed: int = 5) -> list[dict[str, Any]]:
    """A large lineage: ``layers`` x ``width`` jobs (dbt, Airflow and Spark), each writing a dataset
    and reading two of the layer before; every job of the first layer also reads one calendar table
    (a fan-out of ``width``). About 2 x layers x width + 1 nodes downstream of the calendar."""
    rng = random.Random(seed)
    integrations = {
        "DBT": "https://github.com/OpenLineage/OpenLineage/tree/1.24.2/integration/dbt",
        "AIRFLOW": "https://github.com/apache/airflow/tree/providers-openlineage/1.14.0",
        "SPARK": "https://github.com/OpenLineage/OpenLineage/tree/1.24.2/integration/spark",
    }
    events = []
    for layer in range(layers):
        for index in range(width):
            integration = ("DBT", "AIRFLOW", "SPARK")[(layer + index) % 3]
            producer = integrations[integration]
            if layer:
                inputs = [f"l{layer - 1:02d}.d{i:03d}" for i in rng.sample(range(width), 2)]
            else:
                inputs = [LARGE_HUB.rsplit(":", 1)[1], f"source.s{index:03d}"]
            job_type = {"_producer": producer, "_schemaURL": JOB_TYPE_SCHEMA, "processingType": "BATCH"}
            events.append(
                {
                    "eventType": "COMPLETE",
                    "eventTime": f"2026-11-06T{layer:02d}:{index:02d}:00Z",
                    "producer": producer,
                    "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
                    "run": {"runId": f"00000000-0000-4000-8000-{layer:04d}{index:08d}"},
                    "job": {
                        "namespace": "big",
                        "name": f"l{layer:02d}.job{index:03d}",
                        "facets": {"jobType": {**job_type, "integration": integration, "jobType": "TASK"}},
                    },
                    "inputs": [{"namespace": LARGE_NAMESPACE, "name": name} for name in inputs],
                    "outputs": [{"namespace": LARGE_NAMESPACE, "name": f"l{layer:02d}.d{index:03d}"}],
                }
            )
    return events


@pytest.fixture(scope="package")
def large_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server on a store of :func:`layered_events` only (a view of 600 nodes, a fan-out of 25)."""
    work = tmp_path_factory.mktemp("web-large")
    source = work / "events.jsonl"
    source.write_text("".join(json.dumps(e) + "\n" for e in layered_events()))
    url = f"sqlite:///{work / 'large.db'}"
    _ingest(url, source)
    server = ServerProcess(url, free_port(), work / "server.log", {"auth": "none"}, favoured=True).start()
    with httpx.Client(base_url=server.url, timeout=30) as client:
        client.get("/api/v1/ui/lineage", params={"nodeId": LARGE_HUB, "depth": 1})
    yield server
    server.stop()


@pytest.fixture(scope="package")
def web_server(demo_store: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The real server on the demo store, without authentication."""
    log = tmp_path_factory.mktemp("web-server") / "server.log"
    server = ServerProcess(demo_store, free_port(), log, {"auth": "none"}, favoured=True).start()
    with httpx.Client(base_url=server.url, timeout=30) as client:
        # The lineage index is built in the background at start-up; let it finish, so that the
        # figures measure answers, not the start-up.
        client.get("/api/v1/lineage", params={"nodeId": "job:acme-dbt:dbt-run-jaffle_shop", "depth": 1})
    SERVER_FAVOURED.append(server.favour_applied)
    yield server
    server.stop()
    assert "Traceback" not in server.log(), server.log()


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's), or a skip (a failure under CI=true) when it is missing.

    Scoped to this package, not the session: Playwright's sync API keeps an event loop marked as
    running in this thread while it is open, so ``asyncio.run`` would fail in every test run after
    these in the same process (under ``-n``, a worker runs other files after tests/web/)."""
    problem = _browser_problem()
    if problem is not None:
        if IN_CI:
            pytest.fail(f"CI=true but the browser tests cannot run: {problem}")
        pytest.skip(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class ApiCall:
    """One API request of the page: method, path and query, status, milliseconds to the last byte
    as the browser measured them, and as the test process measured them asking again (best of two)."""

    method: str
    url: str
    status: int | None
    ms: float
    base_url: str = ""
    authorization: str | None = None
    replay_ms: float | None = None
    #: From the request's sending to the response's end, as the browser saw it: ``ms`` without the
    #: time the request queued in the browser (behind other requests on its six connections) and
    #: connected.
    sent_ms: float | None = None
    #: The server's own time, from its ``Server-Timing`` header.
    server_ms: float | None = None

    def replay(self, tries: int = 2) -> float:
        """Ask the server again from the test process; the fastest of ``tries``, in milliseconds."""
        headers = {"Authorization": self.authorization} if self.authorization else {}
        best = float("inf")
        with httpx.Client(base_url=self.base_url, headers=headers, timeout=30) as client:
            for _ in range(tries):
                started = time.perf_counter()
                client.request(self.method, self.url)
                best = min(best, (time.perf_counter() - started) * 1000)
        self.replay_ms = round(best, 1)
        return best


@dataclass
class PageRecord:
    """What a page did during a test."""

    calls: list[ApiCall] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


ALL_CALLS: list[dict[str, Any]] = []
#: Whether the demo server's session got a raised CPU weight (``ServerProcess.favoured``).
SERVER_FAVOURED: list[bool] = []


def _test_name(request: pytest.FixtureRequest) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)


@pytest.fixture
def record() -> PageRecord:
    """The API calls, console errors and dialogs of the test's pages."""
    return PageRecord()


def watch(page: Any, record: PageRecord, base_url: str) -> Any:
    """Record what ``page`` does into ``record``; dialogs are dismissed (and must never happen)."""

    def finished(req: Any) -> None:
        if "/api/" not in req.url:
            return
        response = req.response()
        timing = req.timing
        ms = timing["responseEnd"] if timing["responseEnd"] >= 0 else -1.0
        path = req.url.removeprefix(base_url)
        call = ApiCall(req.method, path, response.status if response else None, ms, base_url)
        if timing["responseEnd"] >= 0 and timing["requestStart"] >= 0:
            call.sent_ms = round(timing["responseEnd"] - timing["requestStart"], 1)
        if response is not None and (
            match := re.search(r"dur=([0-9.]+)", response.headers.get("server-timing", ""))
        ):
            call.server_ms = float(match.group(1))
        call.authorization = req.headers.get("authorization")
        record.calls.append(call)

    def dialog(d: Any) -> None:
        record.dialogs.append(f"{d.type}: {d.message}")
        d.dismiss()

    page.on("requestfinished", finished)
    page.on("console", lambda m: record.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: record.console_errors.append(f"page error: {e}"))
    page.on("dialog", dialog)
    return page


@pytest.fixture
def page(
    browser: Any, web_server: ServerProcess, record: PageRecord, request: pytest.FixtureRequest
) -> Iterator[Any]:
    """A fresh browser page on the demo server; afterwards a screenshot, and the checks that no
    dialog fired, nothing failed in the console and every API call answered within budget."""
    context = browser.new_context(viewport=VIEWPORT, base_url=web_server.url)
    opened = watch(context.new_page(), record, web_server.url)
    yield opened
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for candidate in context.pages:
        if not candidate.is_closed():
            candidate.screenshot(path=str(OUTPUT / f"{_test_name(request)}.png"))
            break
    context.close()
    check_record(record, request)


def check_record(
    record: PageRecord, request: pytest.FixtureRequest, budget_ms: float = API_BUDGET_MS
) -> None:
    """Fail on dialogs, console errors, or API calls over ``budget_ms`` or :data:`API_LIMIT_MS`,
    whichever is larger; keep the figures (with ``budget_ms``, which the summary counts against)."""
    name = _test_name(request)
    # Every call is asked again from the test process once the page is done: this machine's two
    # cores are shared by the server, Chromium (laying out graphs, compiling ELK) and other work, so
    # a call can wait for a core while the page loads. A call fails the test only when it is over
    # budget both times; both figures are kept.
    for call in record.calls:
        call.replay()
    hidden = ("base_url", "authorization")
    ALL_CALLS.extend(
        {"test": name, "budget_ms": budget_ms, **{k: v for k, v in call.__dict__.items() if k not in hidden}}
        for call in record.calls
    )
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / "api-calls.json").write_text(json.dumps(ALL_CALLS, indent=1))
    (OUTPUT / "api-summary.json").write_text(json.dumps(summary(ALL_CALLS), indent=1))
    assert not record.dialogs, f"a dialog fired: {record.dialogs}"
    # The browser logs every HTTP error status ("Failed to load resource"): the calls are checked
    # by status where a test expects one; anything else in the console is a bug.
    expected = [e for e in record.console_errors if not e.startswith("Failed to load resource")]
    assert not expected, f"console errors: {expected}"
    limit = max(budget_ms, API_LIMIT_MS)
    slow = [c for c in record.calls if c.ms > limit and (c.replay_ms or 0) > limit]
    assert not slow, f"API calls slower than {limit} ms, twice: {slow}"


def summary(calls: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures of the calls on the demo data (the ones with the standard budget): how many, and
    the median, 95th percentile and largest time, as the browser saw them (from the call, and from the
    request's sending), as the server timed itself during the test (``Server-Timing``), and as asked
    again; and whether the server's CPU weight was raised over the browser's."""

    def figures(values: list[float]) -> dict[str, float]:
        ordered = sorted(values)
        return {
            "p50": round(statistics.median(ordered), 1),
            "p95": round(ordered[max(0, math.ceil(len(ordered) * 0.95) - 1)], 1),
            "max": round(ordered[-1], 1),
        }

    demo = [call for call in calls if call["budget_ms"] == API_BUDGET_MS]
    if not demo:
        return {"calls": 0}
    return {
        "calls": len(demo),
        "budget_ms": API_BUDGET_MS,
        # The server's session had a raised CPU weight over the browser's (ServerProcess.favoured).
        "server_favoured": bool(SERVER_FAVOURED) and all(SERVER_FAVOURED),
        "browser_ms": figures([call["ms"] for call in demo]),
        "browser_from_sending_ms": figures([call["sent_ms"] for call in demo if call["sent_ms"] is not None]),
        "server_ms": figures([call["server_ms"] for call in demo if call["server_ms"] is not None]),
        "replay_ms": figures([call["replay_ms"] for call in demo]),
        "over_budget_in_browser": sum(call["ms"] > API_BUDGET_MS for call in demo),
        "over_budget_from_sending": sum((call["sent_ms"] or 0) > API_BUDGET_MS for call in demo),
        "over_budget_on_the_server": sum((call["server_ms"] or 0) > API_BUDGET_MS for call in demo),
        "over_budget_replayed": sum(call["replay_ms"] > API_BUDGET_MS for call in demo),
    }


def graph_ready(page: Any, timeout: float = 15_000) -> None:
    """Wait until the lineage graph has been laid out and painted, and the page's list of its nodes,
    its highlight and its panel are in the page too (``ready`` alone comes before the list: a test
    that read the list of a view just switched to once found it empty)."""
    page.wait_for_selector("#graph[data-state=ready][data-complete=true]", timeout=timeout)


def listed_nodes(page: Any) -> list[str]:
    """The node ids of the graph's list view (what the canvas shows), without "+N more" groups."""
    return page.eval_on_selector_all(
        "#graph-list li:not([data-kind=more])", "items => items.map(li => li.dataset.id)"
    )


def save_screenshot(page: Any, name: str) -> Path:
    """A screenshot under test-output/web/ (beside the one taken at the end of the test)."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path = OUTPUT / f"{name}.png"
    page.screenshot(path=str(path))
    return path
