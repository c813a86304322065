"""The web UI in headless Chromium against the real server on the demo data (see conftest.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest
from examples.demo import SDK_NAMESPACE

from tests.conftest import ROOT
from tests.server.conftest import ServerProcess
from tests.test_vocabulary import DURATIONS
from tests.web.conftest import (
    HOSTILE_DATASET,
    HOSTILE_FIELD,
    HOSTILE_JOB,
    HOSTILE_NAMESPACE,
    LARGE_HUB,
    UUID7_JOB,
    UUID7_RUNS,
    VIEWPORT,
    PageRecord,
    check_record,
    graph_ready,
    listed_nodes,
    save_screenshot,
    watch,
)
from threadline.server.web import asset_digest

pytestmark = pytest.mark.slow

WAREHOUSE = "postgres://warehouse.internal:5432"
CUSTOMERS = f"dataset:{WAREHOUSE}:analytics.jaffle_shop.customers"
STG_CUSTOMERS = f"dataset:{WAREHOUSE}:analytics.jaffle_shop.stg_customers"
RAW_CUSTOMERS = f"dataset:{WAREHOUSE}:analytics.raw.raw_customers"
SEGMENTS_JOB = "job:acme-dbt:analytics.jaffle_shop.customer_segments"
CRM_CUSTOMERS = "dataset:postgres://crm-db.internal:5432:crm.public.customers"
LOAD_CUSTOMERS = "job:acme-airflow:jaffle_shop_daily.load_customers"
README_SCREENSHOT = ROOT / "docs" / "lineage-view.png"
#: The large views are not the demo data: their calls get a budget of their own (the figures for a
#: 2,000-node view are benchmarks/ui_layout.py's).
LARGE_BUDGET_MS = 1000.0


def lineage_url(node: str, **options: str) -> str:
    query = "&".join(f"{key}={quote(value, safe='')}" for key, value in {"node": node, **options}.items())
    return f"/lineage?{query}"


def open_lineage(page: Any, node: str, **options: str) -> None:
    page.goto(lineage_url(node, **options))
    graph_ready(page)


def select_in_list(page: Any, node_id: str) -> None:
    """Select a node through the list view (the canvas's accessible twin)."""
    page.locator("details.graph-list-box > summary").click()
    quoted = node_id.replace("\\", "\\\\").replace('"', '\\"')
    page.locator(f'#graph-list li[data-id="{quoted}"] button').click()


def wait_listed(page: Any, node_id: str, *, present: bool = True) -> None:
    """Wait until the graph shows (or no longer shows) ``node_id``. Predicates are functions: the
    page's Content-Security-Policy forbids evaluating strings, and the tests keep it on."""
    page.wait_for_function(
        "([id, present]) => [...document.querySelectorAll('#graph-list li')]"
        ".some(li => li.dataset.id === id) === present",
        arg=[node_id, present],
    )


def wait_suggestions(page: Any, query: str) -> None:
    """Wait until the search box's list answers `query` itself, not a prefix typed on the way to it."""
    page.locator("#search-results li.search-all, #search-results li.search-empty").filter(
        has_text=f"\u201c{query}\u201d"
    ).wait_for()


def query_of(page: Any) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def test_search_with_type_ahead_then_open_lineage(page: Any) -> None:
    page.goto("/")
    page.wait_for_selector(".stats")
    page.locator("#search").click()
    page.keyboard.type("customer", delay=40)
    wait_suggestions(page, "customer")  # not the answer to a prefix typed on the way
    assert page.locator("#search").get_attribute("aria-expanded") == "true"
    kinds = page.eval_on_selector_all(
        "#search-results li[role=option]", "items => items.map(li => li.dataset.kind)"
    )
    assert "dataset" in kinds
    assert "job" in kinds
    assert "column" in kinds  # customer_id & co.
    # The demo holds many customers (the shop's, the sales pipeline's): a longer query narrows it.
    page.locator("#search").fill("")
    page.keyboard.type("jaffle_shop.customers", delay=20)
    option = page.locator(
        "#search-results li[role=option]",
        has=page.locator(".search-title", has_text="analytics.jaffle_shop.customers"),
    )
    option.first.wait_for()
    option.filter(has=page.locator(".search-title", has_text="analytics.jaffle_shop.customers")).filter(
        has_text="dataset"
    ).first.click()
    page.wait_for_selector("h1:text-is('analytics.jaffle_shop.customers')")
    assert urlsplit(page.url).path == f"/datasets/{quote(WAREHOUSE, safe='')}/analytics.jaffle_shop.customers"
    page.locator("#open-lineage").click()
    graph_ready(page)
    assert query_of(page)["node"] == [CUSTOMERS]
    nodes = listed_nodes(page)
    assert CUSTOMERS in nodes
    assert "job:acme-dbt:analytics.jaffle_shop.customers" in nodes


def test_expand_upstream_in_place(page: Any) -> None:
    open_lineage(page, CUSTOMERS, depth="2", direction="upstream")
    before = listed_nodes(page)
    assert STG_CUSTOMERS in before
    assert RAW_CUSTOMERS not in before
    select_in_list(page, STG_CUSTOMERS)
    page.locator(".panel-title", has_text="analytics.jaffle_shop.stg_customers").wait_for()
    page.locator("[data-action=expand-up]").click()
    wait_listed(page, RAW_CUSTOMERS)
    graph_ready(page)
    after = listed_nodes(page)
    assert set(before) < set(after)
    assert "job:acme-dbt:analytics.jaffle_shop.stg_customers" in after
    assert query_of(page)["expand"] == [f"up~{STG_CUSTOMERS}"]
    # The expanded node keeps a "minus" handle to fold it again, and the panel offers to collapse.
    assert page.locator("[data-action=expand-up]").inner_text() == "Collapse upstream"


def test_switch_to_columns(page: Any) -> None:
    open_lineage(page, CUSTOMERS, depth="4")
    page.locator("button[data-view=columns]").click()
    graph_ready(page)
    assert query_of(page)["view"] == ["columns"]
    clv = f"datasetField:{WAREHOUSE}:analytics.jaffle_shop.customers:customer_lifetime_value"
    nodes = listed_nodes(page)
    assert clv in nodes
    assert f"datasetField:{WAREHOUSE}:analytics.jaffle_shop.stg_payments:amount" in nodes
    assert int(page.get_attribute("#graph", "data-edges")) > 10
    select_in_list(page, clv)
    panel = page.locator("#panel")
    panel.locator("text=Comes from").wait_for()
    assert "analytics.jaffle_shop.stg_payments.amount" in panel.inner_text()
    assert "DIRECT · AGGREGATION" in panel.inner_text()


def _sdk_train_runs(server: ServerProcess) -> list[dict[str, Any]]:
    with server.client() as client:
        runs = client.get("/api/v1/ui/runs", params={"job": "churn.train", "state": "COMPLETED"}).json()[
            "runs"
        ]
    return [run for run in runs if run["job"] == "churn.train"]


def test_run_page_shows_metrics_chart_and_io(page: Any, web_server: ServerProcess) -> None:
    runs = _sdk_train_runs(web_server)  # newest first: new data, then other parameters, then the first
    assert len(runs) == 3, runs
    page.goto(f"/runs/{runs[0]['id']}")
    chart = page.locator("#metric-charts figure[data-points]", has_text="train_loss")
    chart.wait_for()
    assert int(chart.get_attribute("data-points")) >= 40
    assert chart.locator("canvas").count() >= 1
    assert page.locator("table.grid", has_text="n_estimators").count() >= 1
    # Inputs and outputs with their exact versions, the code and environment.
    inputs = page.locator("section", has=page.locator("h2", has_text="Inputs")).inner_text()
    assert "customers.csv" in inputs
    assert "blake3:" in inputs
    code = page.locator("section", has=page.locator("h2", has_text="Code and environment")).inner_text()
    assert "Python" in code
    assert "Packages" in code
    chart.scroll_into_view_if_needed()


def _demo_folder(demo_store: str) -> Path:
    return Path(demo_store.removeprefix("sqlite:///")).parent.parent


def _changes(comparison: dict[str, Any]) -> list[tuple[str, str, str]]:
    sections = ("run", "inputs", "outputs", "params", "metrics", "code", "environment")
    return [(c["section"], c["key"], c["change"]) for name in sections for c in comparison[name]]


def test_compare_shows_what_threadline_diff_says(
    page: Any, web_server: ServerProcess, demo_store: str
) -> None:
    """The run page's comparison and `threadline diff --all` give the same answer for the same runs:
    equal values are "same" (61000 and 61000 are not a change), every difference is named."""
    with web_server.client() as client:
        pipeline = client.get("/api/v1/ui/runs", params={"job": "churn", "namespace": SDK_NAMESPACE}).json()
    first, second = [r for r in reversed(pipeline["runs"]) if r["job"] == "churn"][:2]  # same data
    page.goto(f"/runs/{second['shortId']}")
    page.locator("#compare").select_option(first["id"])
    table = page.locator("#run-diff")
    table.wait_for()
    assert query_of(page)["compare"] == [first["id"]]
    shown = table.locator("tbody tr[data-section]").evaluate_all(
        "rows => rows.map(r => [r.dataset.section, r.dataset.key, r.dataset.change, r.className])"
    )
    with web_server.client() as client:
        answer = client.get("/api/v1/ui/pages/run", params={"runId": second["id"], "compare": first["id"]})
    comparison = answer.json()["comparison"]
    assert [tuple(row[:3]) for row in shown] == _changes(comparison)
    assert all(row[3] == ("same" if row[2] == "same" else "changed") for row in shown)
    cli = subprocess.run(
        [sys.executable, "-m", "threadline", "diff", second["id"], first["id"], "--all", "--format", "json"],
        cwd=_demo_folder(demo_store),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    said = json.loads(cli.stdout)
    assert _changes(said) == _changes(comparison)
    assert [(c["a"], c["b"]) for c in said["metrics"]] == [(c["a"], c["b"]) for c in comparison["metrics"]]
    kinds = {(section, key): change for section, key, change in _changes(comparison)}
    # the same data, other parameters: the steps' data metrics are equal, the model's are not
    assert kinds[("metrics", "clean.rows_dropped")] == "same"
    assert kinds[("params", "train.n_estimators")] == "changed"
    assert kinds[("metrics", "auc")] == "changed"
    row = table.locator("tr[data-key='clean.rows_dropped']")
    assert row.get_attribute("class") == "same"
    assert "(+60)" in table.locator("tr[data-key='train.n_estimators']").inner_text()  # B - A
    heading = page.locator("section", has=table).locator("h2").inner_text()
    differing = sum(1 for *_, change, _ in shown if change != "same")
    assert heading == f"Compared with run {first['shortId']} ({differing} differences)"
    # only the differences at first, with how much of each section is the same; then everything
    assert table.locator("tr.same").first.is_hidden()
    assert "metric: 2 more the same" in table.locator("tr.same-count").all_inner_texts()
    page.locator("section", has=table).locator("input[type=checkbox]").uncheck()
    assert table.locator("tr.same").first.is_visible()
    assert table.locator("tr.same-count").first.is_hidden()


def test_short_run_ids_tell_runs_apart_and_open_them(page: Any) -> None:
    """UUIDv7 ids share their first digits: lists show the shortest prefix that is unique, and that
    prefix opens the run page."""
    page.goto(f"/runs?namespace={UUID7_JOB[0]}")
    rows = page.locator("table.runs tbody tr")
    rows.first.wait_for()
    shown = rows.locator("td:nth-child(3) code").all_inner_texts()
    assert sorted(shown) == ["01a248e6-1b2c-7d3e-8", "01a248e6-1b2c-7d3e-9", "01a248e6-1b2d"]
    page.goto(f"/runs/{shown[0]}")
    page.locator("h1", has_text=UUID7_JOB[1]).wait_for()
    full = next(run for run in UUID7_RUNS if run.startswith(shown[0]))
    assert full in page.locator(".page-header").inner_text()
    assert page.title() == f"run {shown[0]} · threadline"
    page.goto("/runs/01a248e6")
    error = page.locator(".notice-error")
    error.wait_for()
    assert "is ambiguous: it starts 3 runs" in error.inner_text()


def test_durations_are_spelled_as_the_cli_spells_them(page: Any) -> None:
    page.goto("/")
    page.wait_for_selector(".stats")
    module = f"/static/{asset_digest()}/app/dom.js"
    spelled = page.evaluate(
        "async ([module, cases]) => { const dom = await import(module);"
        " return cases.map((ms) => dom.formatDuration(ms)); }",
        [module, [ms for ms, _ in DURATIONS]],
    )
    assert spelled == [text for _, text in DURATIONS]


def test_runs_of_a_pipeline_and_its_steps(page: Any) -> None:
    page.goto("/jobs/acme-airflow/jaffle_shop_daily")
    steps = page.locator("#job-steps li")
    steps.first.wait_for()
    assert "jaffle_shop_daily.load_payments" in steps.all_inner_texts()
    page.locator("a", has_text="Runs of the pipeline and its steps").click()
    page.wait_for_url("**/runs?pipeline=jaffle_shop_daily")
    rows = page.locator("table.runs tbody tr")
    rows.first.wait_for()
    jobs = set(rows.locator("td:nth-child(2) a").all_inner_texts())
    assert "jaffle_shop_daily" in jobs
    assert "dbt-run-jaffle_shop" in jobs  # the dbt run a task of the DAG started
    assert page.locator("input[name=pipeline]").input_value() == "jaffle_shop_daily"


def test_a_failed_run_shows_its_error(page: Any, web_server: ServerProcess) -> None:
    with web_server.client() as client:
        failed = client.get("/api/v1/ui/runs", params={"job": "churn.features", "state": "FAILED"}).json()
    page.goto(f"/runs/{failed['runs'][0]['id']}")
    page.locator(".notice-error", has_text="KeyError").wait_for()
    assert "monthly_charges" in page.locator(".notice-error").first.inner_text()
    assert page.locator(".page-header .pill").first.inner_text() == "failed"
    page.locator("#run-graph[data-state=ready]").wait_for()  # its run-level lineage


def test_as_of_control_shows_the_graph_as_it_was(page: Any) -> None:
    open_lineage(page, CUSTOMERS, depth="2", direction="downstream")
    assert SEGMENTS_JOB in listed_nodes(page)  # customer_segments appeared on 2026-11-03
    page.wait_for_function("() => Number(document.querySelector('#asof').min) > 0")
    page.eval_on_selector(
        "#asof",
        """(input) => {
            input.value = String(Date.parse('2026-11-02T00:00:00Z'));
            input.dispatchEvent(new Event('input', {bubbles: true}));
            input.dispatchEvent(new Event('change', {bubbles: true}));
        }""",
    )
    wait_listed(page, SEGMENTS_JOB, present=False)
    graph_ready(page)
    assert query_of(page)["asOf"] == ["2026-11-02T00:00:00.000Z"]
    assert CUSTOMERS in listed_nodes(page)
    assert page.locator(".asof-label").inner_text() != "now"
    page.locator(".asof button", has_text="Now").click()
    wait_listed(page, SEGMENTS_JOB)
    assert "asOf" not in query_of(page)


def test_a_shared_link_restores_the_view(browser: Any, web_server: ServerProcess, request: Any) -> None:
    url = lineage_url(
        CUSTOMERS,
        depth="2",
        direction="upstream",
        expand=f"up~{STG_CUSTOMERS}",
        select=STG_CUSTOMERS,
        asOf="2026-11-03T12:00:00.000Z",
    )
    record = PageRecord()
    # A new browser context: no state shared with whoever made the link.
    context = browser.new_context(viewport=VIEWPORT, base_url=web_server.url)
    page = watch(context.new_page(), record, web_server.url)
    try:
        page.goto(url)
        graph_ready(page)
        wait_listed(page, RAW_CUSTOMERS)
        assert page.locator("select[name=direction]").input_value() == "upstream"
        assert page.locator("select[name=depth]").input_value() == "2"
        assert page.locator(".panel-title").inner_text() == "analytics.jaffle_shop.stg_customers"
        assert page.locator(".asof-label").inner_text() != "now"
        assert RAW_CUSTOMERS in listed_nodes(page)
        restored = query_of(page)
        assert restored["expand"] == [f"up~{STG_CUSTOMERS}"]
        assert restored["asOf"] == ["2026-11-03T12:00:00.000Z"]
        save_screenshot(page, "test_a_shared_link_restores_the_view")
    finally:
        context.close()
    check_record(record, request)


def test_hostile_names_are_shown_as_text(page: Any, record: PageRecord) -> None:
    page.goto("/")
    page.wait_for_selector(".stats")
    page.locator("#search").click()
    page.keyboard.type("onerror", delay=30)
    wait_suggestions(page, "onerror")  # a pause in typing may have shown the answer to "o" or "on" first
    option = page.locator("#search-results li[role=option]").first
    assert option.locator(".search-title").inner_text() == HOSTILE_DATASET
    option.click()
    heading = page.locator("h1")
    heading.filter(has_text="onerror").wait_for()
    assert heading.inner_text() == HOSTILE_DATASET
    assert page.locator("code", has_text=HOSTILE_FIELD).count() == 1
    assert "<b onmouseover=alert(2)>bold?</b>" in page.locator("dl.details").first.inner_text()
    page.locator("#open-lineage").click()
    graph_ready(page)
    hostile_id = f"dataset:{HOSTILE_NAMESPACE}:{HOSTILE_DATASET}"
    assert hostile_id in listed_nodes(page)
    select_in_list(page, f"job:evil:{HOSTILE_JOB}")
    assert page.locator(".panel-title").inner_text() == HOSTILE_JOB
    page.goto("/events?producer=example.com")
    page.wait_for_selector("table.events")
    assert "https://example.com/<b>producer</b>" in page.locator("table.events").inner_text()
    # None of it became markup: no injected element exists, and no dialog fired (checked after the test).
    for selector in ("img[src=x]", "svg[onload]", "b[onmouseover]", "iframe", "script:not([src])"):
        assert page.locator(selector).count() == 0, selector
    assert not record.dialogs


def test_runs_and_events_pages_filter(page: Any) -> None:
    page.goto("/runs?state=FAILED")
    page.wait_for_selector("table.runs")
    states = page.eval_on_selector_all("table.runs .pill", "pills => pills.map(p => p.textContent)")
    assert states
    assert set(states) == {"failed"}
    assert "jaffle_shop_daily.load_payments" in page.locator("table.runs").inner_text()
    page.goto("/events")
    page.wait_for_selector("table.events")
    page.locator("select[name=type]").select_option("FAIL")
    page.locator("input[name=job]").fill("load_payments")
    page.locator("form.filters button[type=submit]").click()
    page.wait_for_function("() => location.search.includes('type=FAIL')")
    page.wait_for_selector("table.events")
    rows = page.locator("table.events tbody tr:not(.event-body)")
    assert rows.count() == 1
    rows.first.locator("button", has_text="JSON").click()
    page.locator("tr.event-body .json-string", has_text="NoSuchKey").first.wait_for(state="attached")


def test_home_page(page: Any) -> None:
    page.goto("/")
    page.wait_for_selector(".stats")
    text = page.locator(".stats").inner_text()
    assert "datasets" in text
    assert "failed runs" in text
    assert page.locator("section", has_text="Recent failures").locator("tr[data-run]").count() >= 3


def test_lineage_view_screenshot(page: Any) -> None:
    """The README's picture: a source table feeding an Airflow DAG, dbt models and an ML pipeline."""
    page.set_viewport_size({"width": 1600, "height": 760})
    open_lineage(page, CRM_CUSTOMERS, depth="4", direction="downstream", select=LOAD_CUSTOMERS)
    nodes = listed_nodes(page)
    assert LOAD_CUSTOMERS in nodes
    assert "job:threadline-examples:churn_pipeline.extract" in nodes
    assert page.get_attribute("#graph", "data-engine") == "elk"
    page.locator(".node-details:not([aria-busy])").wait_for()
    path = save_screenshot(page, "lineage-view")
    if os.environ.get("THREADLINE_UPDATE_SCREENSHOTS") == "1":
        README_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, README_SCREENSHOT)


@pytest.fixture(scope="module")
def token_server(demo_store: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A second server on the demo store that requires API keys, and a read key for it."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "threadline",
            "token",
            "create",
            "--name",
            "ui-reader",
            "--scope",
            "read",
            "--store",
            demo_store,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    key = done.stdout.strip().splitlines()[-1].strip()
    from tests.server.conftest import free_port

    log = tmp_path_factory.mktemp("web-token-server") / "server.log"
    server = ServerProcess(demo_store, free_port(), log, {"auth": "token"}, favoured=True).start()
    yield server, key
    server.stop()


def test_auth_prompt_asks_for_a_key_and_uses_it(browser: Any, token_server: Any, request: Any) -> None:
    server, key = token_server
    with httpx.Client(base_url=server.url) as client:
        assert client.get("/api/v1/ui/overview").status_code == 401
    record = PageRecord()
    context = browser.new_context(viewport=VIEWPORT, base_url=server.url)
    page = watch(context.new_page(), record, server.url)
    try:
        page.goto("/")
        dialog = page.locator("#auth-dialog[open]")
        dialog.wait_for()
        assert "needs an API key" in dialog.inner_text()
        dialog.locator("input[name=key]").fill("tl_not-a-real-key")
        dialog.locator("button[type=submit]").click()
        page.locator(".notice-error", has_text="not accepted").wait_for()
        page.reload()
        dialog.wait_for()
        dialog.locator("input[name=key]").fill(key)
        dialog.locator("button[type=submit]").click()
        page.wait_for_selector(".stats")
        assert page.evaluate("sessionStorage.getItem('threadline.apiKey')") == key
        assert page.evaluate("localStorage.getItem('threadline.apiKey')") is None
        # The key goes with every call: lineage works too, with the read scope only.
        page.goto(lineage_url(CUSTOMERS))
        graph_ready(page)
        assert not page.locator("#auth-dialog[open]").count()
        save_screenshot(page, "test_auth_prompt_asks_for_a_key_and_uses_it")
    finally:
        context.close()
    statuses = {call.status for call in record.calls}
    assert 401 in statuses
    assert 200 in statuses
    check_record(record, request)


def test_docs_screenshot_exists() -> None:
    """The README shows the lineage view's screenshot (made by test_lineage_view_screenshot)."""
    assert README_SCREENSHOT.is_file()
    assert "docs/lineage-view.png" in (ROOT / "README.md").read_text()
    assert README_SCREENSHOT.stat().st_size > 20_000


def test_path_highlight_and_impact(page: Any) -> None:
    open_lineage(page, RAW_CUSTOMERS, depth="6", direction="downstream")
    select_in_list(page, RAW_CUSTOMERS)
    page.locator("[data-action=impact]").click()
    box = page.locator(".impact-box")
    box.wait_for()
    assert "analytics.jaffle_shop.customers" in box.inner_text()
    assert query_of(page)["impact"] == [RAW_CUSTOMERS]
    # A path: "Path to…" on the selected node, then the node where it should end.
    page.locator("[data-action=path]").click()
    page.locator("#panel", has_text="Now click the node where the path should end").wait_for()
    page.locator(f'#graph-list li[data-id="{CUSTOMERS}"] button').click()
    page.locator(".path-box").wait_for()
    assert query_of(page)["pathFrom"] == [RAW_CUSTOMERS]
    assert query_of(page)["pathTo"] == [CUSTOMERS]
    assert "impact" not in query_of(page)
    page.goto(
        lineage_url(
            RAW_CUSTOMERS, depth="6", direction="downstream", pathFrom=RAW_CUSTOMERS, pathTo=CUSTOMERS
        )
    )
    graph_ready(page)
    path_box = page.locator(".path-box")
    path_box.wait_for()
    assert "analytics.raw.raw_customers flows into analytics.jaffle_shop.customers" in path_box.inner_text()


def test_unknown_page_and_missing_dataset(page: Any) -> None:
    page.goto("/no/such/page")
    page.locator("h1", has_text="No such page").wait_for()
    page.goto(f"/datasets/{quote(WAREHOUSE, safe='')}/no_such_table")
    page.locator(".notice-error").wait_for()
    assert "no_such_table" in page.locator(".notice-error").inner_text()


def test_search_box_on_every_page_with_type_ahead(page: Any) -> None:
    for path in (
        "/",
        "/runs",
        "/events",
        lineage_url(CUSTOMERS),
        f"/jobs/acme-dbt/{quote('dbt-run-jaffle_shop')}",
    ):
        page.goto(path)
        page.locator("main h1").first.wait_for()
        assert page.locator("header input[type=search]#search").is_visible(), path
    # From the job page just visited: type part of a name, pick the job with the keyboard.
    page.locator("#search").click()
    page.keyboard.type("load_cust", delay=40)
    option = page.locator("#search-results li[role=option][data-kind=job]", has_text="load_customers")
    option.wait_for()
    selected = page.locator("#search-results li[aria-selected=true]")
    for _ in range(12):  # `_` is a wildcard, as in Marquez: daily_sales.load.customers matches too
        if selected.count() and "jaffle_shop_daily.load_customers" in selected.inner_text():
            break
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.locator("h1", has_text="jaffle_shop_daily.load_customers").wait_for()
    assert urlsplit(page.url).path == "/jobs/acme-airflow/jaffle_shop_daily.load_customers"
    # Runs are found by (the start of) their id.
    run_id = page.locator("table.runs tbody tr").first.get_attribute("data-run")
    page.locator("#search").fill(run_id[:8])
    option = page.locator("#search-results li[role=option][data-kind=run]")
    option.wait_for()
    option.click()
    page.wait_for_url(f"**/runs/{run_id}")


def test_job_page(page: Any) -> None:
    page.goto("/jobs/acme-airflow/jaffle_shop_daily.load_customers")
    page.locator("h1", has_text="load_customers").wait_for()
    about = page.locator("section", has=page.locator("h2", has_text="About")).inner_text()
    assert "data-eng (maintainer)" in about
    sql = page.locator("section", has=page.locator("h2", has_text="SQL")).inner_text()
    assert "FROM crm.public.customers" in sql
    runs = page.locator("section", has=page.locator("h2", has_text="Runs (")).locator("table.runs tbody tr")
    assert runs.count() >= 3
    assert runs.first.locator(".pill").inner_text() in {"completed", "failed", "running"}
    assert any(" s" in text or "min" in text for text in runs.locator("td:nth-child(4)").all_inner_texts())
    page.goto("/jobs/threadline-examples/churn_pipeline.train")
    page.locator("h1", has_text="churn_pipeline.train").wait_for()
    source = page.locator("section", has=page.locator("h2", has_text="About")).locator("dd a[href^=http]")
    assert "train.py" in source.inner_text()


def test_dataset_page(page: Any, web_server: ServerProcess) -> None:
    page.goto(f"/datasets/{quote(WAREHOUSE, safe='')}/analytics.jaffle_shop.stg_orders")
    page.locator("h1", has_text="analytics.jaffle_shop.stg_orders").wait_for()
    schema = page.locator("section", has=page.locator("h2", has_text="Schema"))
    assert schema.locator("code", has_text="order_id").count() == 1
    versions = page.locator("section", has=page.locator("h2", has_text="Versions ("))
    assert versions.locator("tbody tr").count() == 3
    written = page.locator("section", has=page.locator("h2", has_text="Written by ("))
    assert written.locator("tbody tr").count() == 3
    assert (
        page.locator("section", has=page.locator("h2", has_text="Read by (")).locator("tbody tr").count() >= 3
    )
    quality = page.locator("section", has=page.locator("h2", has_text="Quality and statistics"))
    quality.locator("figure[data-points]", has_text="Rows written").wait_for()
    assertions = quality.locator("table", has=page.locator("th", has_text="Assertion")).inner_text()
    assert "failed" in assertions
    assert "passed" in assertions
    assert (
        page.locator("section", has=page.locator("h2", has_text="Facets")).locator("details.facet").count()
        >= 1
    )
    # A dataset the SDK tracked: versions are content hashes.
    with web_server.client() as client:
        found = client.get("/api/v1/search", params={"q": "raw/customers.csv", "filter": "DATASET"}).json()
    raw = next(r for r in found["results"] if r["name"].endswith("data/raw/customers.csv"))
    page.goto(f"/datasets/{quote(raw['namespace'], safe='')}/{quote(raw['name'], safe='')}")
    versions = page.locator("section", has=page.locator("h2", has_text="Versions ("))
    versions.locator("tbody tr").first.wait_for()
    assert versions.locator("tbody tr").count() == 2  # make-data wrote it twice, with different data
    assert all(
        text.startswith("blake3:") for text in versions.locator("td:first-child .mono").all_inner_texts()
    )


def test_lineage_tells_kinds_producers_and_states_apart(page: Any) -> None:
    open_lineage(page, CRM_CUSTOMERS, depth="8", direction="downstream")
    items = page.eval_on_selector_all(
        "#graph-list li:not([data-kind=more])",
        "items => items.map(li => [li.dataset.kind, li.dataset.producer || '', li.dataset.state || ''])",
    )
    kinds = {kind for kind, _, _ in items}
    producers = {producer for kind, producer, _ in items if kind == "job"}
    assert kinds == {"dataset", "job", "model"}
    assert {"dbt", "airflow", "threadline"} <= producers
    assert all(state for kind, _, state in items if kind == "job")  # every job shows its latest run
    open_lineage(page, "job:churn-sdk:churn.train", depth="2", direction="upstream")
    states = dict(
        page.eval_on_selector_all(
            "#graph-list li[data-kind=job]", "items => items.map(li => [li.dataset.id, li.dataset.state])"
        )
    )
    assert states["job:churn-sdk:churn.features"] == "FAILED"
    assert (
        page.locator("#graph-list li[data-id='job:churn-sdk:churn.train']").get_attribute("data-producer")
        == "sdk"
    )
    page.locator(".legend > summary").click()  # closed at first: it would cover the graph
    assert page.locator(".legend").inner_text().count("threadline SDK") == 1


def test_depth_direction_pan_and_zoom(page: Any) -> None:
    open_lineage(page, CUSTOMERS, depth="2")
    both = set(listed_nodes(page))
    assert SEGMENTS_JOB in both
    assert STG_CUSTOMERS in both
    page.locator("select[name=depth]").select_option("1")
    page.wait_for_function("() => new URLSearchParams(location.search).get('depth') === '1'")
    # the depth-2 graph stays ready until the new answer is drawn: wait for the list to change
    page.wait_for_function(
        "n => document.querySelectorAll('#graph-list li:not([data-kind=more])').length < n",
        arg=len(both),
    )
    graph_ready(page)
    assert set(listed_nodes(page)) < both
    page.locator("select[name=direction]").select_option("upstream")
    page.wait_for_function("() => new URLSearchParams(location.search).get('direction') === 'upstream'")
    graph_ready(page)
    wait_listed(page, SEGMENTS_JOB, present=False)
    assert "job:acme-dbt:analytics.jaffle_shop.customers" in listed_nodes(page)
    graph = page.locator("#graph")
    zoom = float(graph.get_attribute("data-zoom"))
    page.locator("button[title='Zoom in']").click()
    page.wait_for_function("z => Number(document.querySelector('#graph').dataset.zoom) > z", arg=zoom)
    pan = graph.get_attribute("data-pan")
    box = graph.bounding_box()
    page.mouse.move(box["x"] + 60, box["y"] + 60)
    page.mouse.down()
    page.mouse.move(box["x"] + 200, box["y"] + 120, steps=8)
    page.mouse.up()
    page.wait_for_function("p => document.querySelector('#graph').dataset.pan !== p", arg=pan)
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    zoom = float(graph.get_attribute("data-zoom"))
    page.mouse.wheel(0, 400)
    page.wait_for_function("z => Number(document.querySelector('#graph').dataset.zoom) < z", arg=zoom)


def test_fan_out_collapses_into_more(browser: Any, large_server: ServerProcess, request: Any) -> None:
    record = PageRecord()
    context = browser.new_context(viewport=VIEWPORT, base_url=large_server.url)
    page = watch(context.new_page(), record, large_server.url)
    try:
        page.goto(lineage_url(LARGE_HUB, depth="2", direction="downstream"))
        graph_ready(page)
        more = page.locator("#graph-list li[data-kind=more]")
        assert more.count() == 1
        assert "+17 more (downstream of dim.calendar)" in more.text_content()
        readers = [n for n in listed_nodes(page) if n.startswith("job:big:l00.")]
        assert len(readers) == 8
        save_screenshot(page, "test_fan_out_collapses_into_more")
        page.locator("details.graph-list-box > summary").click()
        more.locator("button").click()
        page.wait_for_function("() => new URLSearchParams(location.search).getAll('more').length === 1")
        graph_ready(page)
        page.wait_for_function("() => !document.querySelector('#graph-list li[data-kind=more]')")
        assert len([n for n in listed_nodes(page) if n.startswith("job:big:l00.")]) == 25
        assert query_of(page)["more"] == [f"{LARGE_HUB}~down"]
    finally:
        context.close()
    check_record(record, request, budget_ms=LARGE_BUDGET_MS)


def test_a_large_view_is_drawn_on_a_canvas(browser: Any, large_server: ServerProcess, request: Any) -> None:
    record = PageRecord()
    context = browser.new_context(viewport=VIEWPORT, base_url=large_server.url)
    page = watch(context.new_page(), record, large_server.url)
    try:
        page.goto(lineage_url(LARGE_HUB, depth="all", direction="downstream", fanout="0"))
        graph_ready(page)
        graph = page.locator("#graph")
        assert graph.get_attribute("data-renderer") == "canvas"
        assert graph.get_attribute("data-engine") == "layered"
        assert int(graph.get_attribute("data-nodes")) == len(listed_nodes(page)) == 601
        save_screenshot(page, "test_a_large_view_is_drawn_on_a_canvas")
        # Choosing a node in the list centres it; zooming keeps the centre. A click in the gap between
        # two layers (the layout puts them 90 px apart) selects nothing, a click on the node selects
        # it, a drag pans, a double-click opens the node's page.
        target = "dataset:warehouse://big:l06.d012"
        select_in_list(page, target)
        page.locator(".panel-title", has_text="l06.d012").wait_for()
        zoom = float(graph.get_attribute("data-zoom"))
        for _ in range(6):
            page.locator("button[title='Zoom in']").click()
        page.wait_for_function(
            "z => Number(document.querySelector('#graph').dataset.zoom) > z * 3.5", arg=zoom
        )
        zoom = float(graph.get_attribute("data-zoom"))
        box = graph.bounding_box()
        center = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        save_screenshot(page, "test_a_large_view_is_drawn_on_a_canvas-zoomed")
        page.mouse.click(center[0] + (120 + 45) * zoom, center[1])
        page.locator("#panel").wait_for(state="hidden")  # nothing selected: no panel, the graph has the width
        assert "select" not in query_of(page)
        page.mouse.click(*center)
        page.locator(".panel-title", has_text="l06.d012").wait_for()
        assert query_of(page)["select"] == [target]
        pan = graph.get_attribute("data-pan")
        page.mouse.move(center[0] + 100, center[1] + 100)
        page.mouse.down()
        page.mouse.move(center[0] + 300, center[1] + 150, steps=10)
        page.mouse.up()
        page.wait_for_function("p => document.querySelector('#graph').dataset.pan !== p", arg=pan)
        assert query_of(page)["select"] == [target]  # a drag pans, it does not select
        page.mouse.dblclick(center[0] + 200, center[1] + 50)
        page.locator("h1", has_text="l06.d012").wait_for()
        assert urlsplit(page.url).path == f"/datasets/{quote('warehouse://big', safe='')}/l06.d012"
    finally:
        context.close()
    check_record(record, request, budget_ms=LARGE_BUDGET_MS)
