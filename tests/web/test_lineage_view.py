"""The lineage views at first sight, on the demo data, at 1400x900 and 1024x768 (issue 12, item 17).

Each view opens readable: every node in view at a zoom of 0.7 or more (12 px labels at 8.4 px or
more), or, when the graph cannot be shown whole that large, its centre node and a chip saying how
many nodes are out of view. Names are cut in the middle to what their node has room for, keeping the
part that tells them apart (a dbt model's name). The run page's lineage says when there is more
beyond its depth and goes further on request; a parent run shows the lineage of the runs below it.
Headless Chromium's own ``--screenshot`` draws the graph. The screenshots are saved under
``test-output/web/first-sight-*.png``.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.server.conftest import ServerProcess, free_port
from tests.web.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    OUTPUT,
    PageRecord,
    _ingest,
    check_record,
    graph_ready,
    save_screenshot,
    watch,
)

pytestmark = pytest.mark.slow

SIZES = [(1400, 900), (1024, 768)]
DBT_MODEL = "job:acme-dbt:analytics.jaffle_shop.customers"
ML_STEP = "job:threadline-examples:churn_pipeline.train"
READABLE = 0.7
#: What a node's badge and margins take of its width (cy-graph.js wraps a label wider than the
#: rest), and the font the graph draws with.
LABEL_INSET = 64
LABEL_FONT = "12px system-ui, -apple-system, Segoe UI, Roboto, sans-serif"

DBT = "https://github.com/OpenLineage/OpenLineage/tree/1.24.2/integration/dbt"
JOB_TYPE = "https://openlineage.io/spec/facets/2-0-3/JobTypeJobFacet.json"
BUILD_NAMESPACE = "dbt-build"
BUILD_WAREHOUSE = "postgres://build-warehouse:5432"
#: Models of a `dbt build` with long names, and what each reads.
BUILD_MODELS = {
    "stg_customer_orders": ["raw.raw_orders"],
    "customer_lifetime_value": ["analytics.stg_customer_orders"],
    "customer_churn_risk_scores": ["analytics.customer_lifetime_value"],
    "monthly_revenue_by_segment": ["analytics.customer_lifetime_value"],
}


def build_job(model: str, step: str) -> str:
    """dbt-ol's name for a step of `dbt build`: <database>.<schema>.<project>.<model>.build.<step>."""
    return f"warehouse.analytics.jaffle_shop.{model}.build.{step}"


def dbt_build_events() -> list[dict[str, Any]]:
    """A `dbt build` as dbt-ol reports it: each model's run step writes its table, its test step reads it."""
    events = []
    for index, (model, inputs) in enumerate(BUILD_MODELS.items()):
        for step, kind in (("run", "MODEL"), ("test", "TEST")):
            facet = {
                "_producer": DBT,
                "_schemaURL": JOB_TYPE,
                "processingType": "BATCH",
                "integration": "DBT",
            }
            events.append(
                {
                    "eventType": "COMPLETE",
                    "eventTime": f"2026-11-05T06:{index:02d}:{10 if step == 'run' else 40}Z",
                    "producer": DBT,
                    "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
                    "run": {"runId": f"00000000-0000-4000-9000-{index:06d}{0 if step == 'run' else 1:06d}"},
                    "job": {
                        "namespace": BUILD_NAMESPACE,
                        "name": build_job(model, step),
                        "facets": {"jobType": {**facet, "jobType": kind}},
                    },
                    "inputs": [
                        {"namespace": BUILD_WAREHOUSE, "name": name}
                        for name in (inputs if step == "run" else [f"analytics.{model}"])
                    ],
                    "outputs": [{"namespace": BUILD_WAREHOUSE, "name": f"analytics.{model}"}]
                    if step == "run"
                    else [],
                }
            )
    return events


@pytest.fixture(scope="module")
def build_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server on a store of :func:`dbt_build_events` only."""
    work = tmp_path_factory.mktemp("web-dbt-build")
    source = work / "events.jsonl"
    source.write_text("".join(json.dumps(e) + "\n" for e in dbt_build_events()))
    url = f"sqlite:///{work / 'build.db'}"
    _ingest(url, source)
    server = ServerProcess(url, free_port(), work / "server.log", {"auth": "none"}, favoured=True).start()
    yield server
    server.stop()


def lineage_path(node: str, **options: str) -> str:
    query = "&".join(f"{key}={quote(value, safe='')}" for key, value in {"node": node, **options}.items())
    return f"/lineage?{query}"


def graph_state(page: Any, selector: str = "#graph") -> dict[str, str]:
    return page.eval_on_selector(selector, "el => ({...el.dataset})")


def labels_too_wide(page: Any, items: str, graph: str = "#graph") -> list[Any]:
    """The labels (as drawn, from the list's data-label) wider than a node has room for, measured in
    the graph's font; and the items without one."""
    room = int(graph_state(page, graph)["nodeWidth"]) - LABEL_INSET
    return page.evaluate(
        """([selector, font, room]) => {
            const ctx = document.createElement("canvas").getContext("2d");
            ctx.font = font;
            return [...document.querySelectorAll(selector)]
                .map((li) => [li.dataset.id, li.dataset.label ?? null,
                    li.dataset.label ? ctx.measureText(li.dataset.label).width : -1])
                .filter(([, label, width]) => label === null || width > room);
        }""",
        [items, LABEL_FONT, room],
    )


def assert_readable_and_whole(state: dict[str, str]) -> None:
    assert float(state["zoom"]) >= READABLE, state
    assert state["inView"] == state["nodes"], (
        f"only {state.get('inView')} of {state['nodes']} nodes in view: {state}"
    )


def run_of(server: ServerProcess, namespace: str, job: str) -> str:
    """The latest run of the job ``namespace``/``job`` (the filter also matches the jobs below it)."""
    with server.client() as client:
        answer = client.get(
            "/api/v1/ui/runs", params={"namespace": namespace, "job": job, "limit": 50}
        ).json()
    runs = [run for run in answer["runs"] if run["job"] == job]
    assert runs, f"no run of {namespace}/{job}"
    return runs[0]["id"]


# ---- the lineage page ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize(("view", "node"), [("dbt-model", DBT_MODEL), ("ml-pipeline", ML_STEP)])
def test_the_lineage_view_opens_readable_and_whole(
    page: Any, view: str, node: str, width: int, height: int
) -> None:
    page.set_viewport_size({"width": width, "height": height})
    page.goto(lineage_path(node))
    graph_ready(page)
    state = graph_state(page)
    assert_readable_and_whole(state)
    assert page.locator(".graph-hint").is_hidden()
    # Nothing is selected: the side panel is closed and the graph has the page's width.
    assert page.locator("#panel").is_hidden()
    box = page.locator("#graph").bounding_box()
    assert box["width"] >= width - 2, box
    assert not labels_too_wide(page, "#graph-list li[data-kind]:not([data-kind=more])")
    # The centre node is drawn with the name it has, the others with what tells them apart.
    labels = dict(
        page.eval_on_selector_all(
            "#graph-list li[data-label]", "items => items.map(li => [li.dataset.id, li.dataset.label])"
        )
    )
    if view == "dbt-model":
        assert labels[DBT_MODEL].endswith("jaffle_shop.customers"), labels
        assert labels["job:acme-dbt:analytics.jaffle_shop.customer_segments"].endswith("customer_segments"), (
            labels
        )
    save_screenshot(page, f"first-sight-{view}-{width}x{height}")
    # Fit shows the whole graph with margins all round: still about as large (it was a strip at a
    # third of the size, left to right).
    page.locator("button[title='Fit the graph']").click()
    assert float(graph_state(page)["zoom"]) >= 0.6


def test_dbt_build_steps_keep_their_model_name(
    browser: Any, build_server: ServerProcess, request: Any
) -> None:
    """dbt-ol names the steps of `dbt build` <db>.<schema>.<project>.<model>.build.run (and .test):
    the label keeps the model and the step, not "…build.run" for every one."""
    record = PageRecord()
    context = browser.new_context(viewport={"width": 1400, "height": 900}, base_url=build_server.url)
    page = watch(context.new_page(), record, build_server.url)
    try:
        page.goto(lineage_path(f"job:{BUILD_NAMESPACE}:{build_job('customer_lifetime_value', 'run')}"))
        graph_ready(page)
        labels = dict(
            page.eval_on_selector_all(
                "#graph-list li[data-kind=job]", "items => items.map(li => [li.dataset.id, li.dataset.label])"
            )
        )
        # All but the staging model's test (a sibling, neither up- nor downstream).
        assert len(labels) == 2 * len(BUILD_MODELS) - 1, labels
        for model in BUILD_MODELS:
            for step in ("run", "test"):
                label = labels.get(f"job:{BUILD_NAMESPACE}:{build_job(model, step)}", f"{model}.{step}")
                assert model in label, f"{label!r} lost the model {model}"
                assert label.endswith(step), label
        assert len(set(labels.values())) == len(labels), labels
        assert not labels_too_wide(page, "#graph-list li[data-kind]:not([data-kind=more])")
        assert_readable_and_whole(graph_state(page))
        save_screenshot(page, "first-sight-dbt-build-1400x900")
    finally:
        context.close()
    check_record(record, request)


def test_a_view_too_large_to_show_readable_opens_on_its_centre_and_says_so(page: Any) -> None:
    """The demo's whole downstream of the CRM table does not fit a laptop's screen readable."""
    page.set_viewport_size({"width": 1024, "height": 768})
    center = "dataset:postgres://crm-db.internal:5432:crm.public.customers"
    page.goto(lineage_path(center, depth="all", direction="downstream"))
    graph_ready(page)
    state = graph_state(page)
    assert float(state["zoom"]) >= READABLE
    shown, total = int(state["inView"]), int(state["nodes"])
    if shown == total:
        pytest.skip(f"all {total} nodes fit on this screen: nothing to check")
    hint = page.locator(".graph-hint")
    assert hint.inner_text().startswith(f"{shown} of {total} nodes in view")
    save_screenshot(page, "first-sight-crm-downstream-1024x768")
    page.locator("button[title='Fit the graph']").click()
    page.wait_for_function(
        "() => { const g = document.querySelector('#graph'); return g.dataset.inView === g.dataset.nodes; }"
    )
    assert hint.is_hidden()


def test_the_side_panel_opens_with_a_selection_and_keeps_the_node_in_view(page: Any) -> None:
    page.set_viewport_size({"width": 1024, "height": 768})
    page.goto(lineage_path(DBT_MODEL))
    graph_ready(page)
    page.locator("details.graph-list-box > summary").click()
    page.locator(
        "#graph-list li[data-id='job:acme-dbt:analytics.jaffle_shop.customer_segments'] button"
    ).click()
    page.locator("#panel .panel-title", has_text="customer_segments").wait_for()
    assert page.locator("#panel").is_visible()
    save_screenshot(page, "first-sight-dbt-model-selected-1024x768")


# ---- the run page ----------------------------------------------------------------------------------------


def open_run(page: Any, run_id: str, width: int, height: int) -> dict[str, str]:
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"/runs/{run_id}")
    page.locator("#run-graph[data-state=ready]").wait_for(timeout=15_000)
    page.locator("#run-graph").scroll_into_view_if_needed()
    return graph_state(page, "#run-graph")


@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_a_run_page_lineage_is_readable_and_its_names_fit(
    page: Any, web_server: ServerProcess, width: int, height: int
) -> None:
    run = run_of(web_server, "acme-dbt", "analytics.jaffle_shop.customers")
    state = open_run(page, run, width, height)
    assert_readable_and_whole(state)
    assert not labels_too_wide(page, "#run-graph-list li", "#run-graph")
    items = page.eval_on_selector_all("#run-graph-list li", "items => items.map(li => li.dataset.label)")
    assert any(label.endswith("stg_customers") for label in items), items
    # As tall as the graph needs (18 nodes, 9 layers), not a fixed box with the graph cut or lost in it.
    assert 400 <= page.locator("#run-graph").bounding_box()["height"] <= 620
    save_screenshot(page, f"first-sight-run-{width}x{height}")


@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_a_parent_run_shows_the_lineage_of_the_runs_below_it(
    page: Any, web_server: ServerProcess, width: int, height: int
) -> None:
    run = run_of(web_server, "acme-dbt", "dbt-run-jaffle_shop")
    state = open_run(page, run, width, height)
    assert int(state["nodes"]) > 12, state  # its 12 model and test runs, what they read and wrote
    assert float(state["zoom"]) >= READABLE
    section = page.locator("section", has=page.locator("h2", has_text="Run lineage"))
    assert "runs below it" in section.inner_text()
    ids = page.eval_on_selector_all("#run-graph-list li", "items => items.map(li => li.dataset.id)")
    assert f"run:{run}" not in ids  # it read and wrote nothing: not a lone box
    assert not labels_too_wide(page, "#run-graph-list li", "#run-graph")
    save_screenshot(page, f"first-sight-parent-run-{width}x{height}")


def test_a_run_page_says_when_there_is_more_and_shows_it(page: Any, web_server: ServerProcess) -> None:
    """The ML pipeline's train step is four runs from its extract step: two are shown at first."""
    run = run_of(web_server, "threadline-examples", "churn_pipeline.train")
    open_run(page, run, 1400, 900)
    jobs = lambda: page.eval_on_selector_all(  # noqa: E731
        "#run-graph-list li[data-kind=run]", "items => items.map(li => li.textContent)"
    )
    assert not any("churn_pipeline.extract" in text for text in jobs())
    note = page.locator(".graph-note")
    assert "more beyond" in note.inner_text()
    save_screenshot(page, "first-sight-run-more-1400x900")
    note.locator("button", has_text="Show more").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#run-graph-list li')]"
        ".some(li => li.textContent.includes('churn_pipeline.extract'))"
    )
    page.locator("#run-graph[data-state=ready]").wait_for()
    assert "no more runs" in note.inner_text() or "more beyond" in note.inner_text()


# ---- headless Chromium's own screenshot ------------------------------------------------------------------


def test_headless_chromium_screenshot_draws_the_graph(browser: Any, web_server: ServerProcess) -> None:
    """``chromium --headless --screenshot --virtual-time-budget=…`` runs the page on virtual time and
    takes the picture when the budget is spent. The page must draw without a real clock: with ELK in
    a Web Worker it never did (virtual time does not wait for a worker), and stayed "Loading lineage…"."""
    url = f"{web_server.url}{lineage_path(DBT_MODEL)}"
    common = [str(CHROMIUM), *CHROMIUM_ARGS, "--window-size=1400,900", "--virtual-time-budget=20000"]
    dom = subprocess.run(
        [*common, "--dump-dom", url], capture_output=True, text=True, timeout=180, check=False
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    graph = next((line for line in dom.stdout.split(">") if 'id="graph"' in line), "")
    assert 'data-state="ready"' in graph, graph or dom.stdout[-2000:]
    assert 'data-nodes="18"' in graph, graph
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path: Path = OUTPUT / "first-sight-chromium-screenshot-1400x900.png"
    path.unlink(missing_ok=True)
    shot = subprocess.run(
        [*common, f"--screenshot={path}", url], capture_output=True, text=True, timeout=180, check=False
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert path.exists(), shot.stderr[-2000:]


def test_the_run_lineage_api_answers_for_a_parent_run_with_its_children(web_server: ServerProcess) -> None:
    """withChildren=true: the walk starts from the run and the runs below it, which are marked."""
    run = run_of(web_server, "acme-dbt", "dbt-run-jaffle_shop")
    with httpx.Client(base_url=web_server.url, timeout=30) as client:
        answer = client.get(
            "/api/v1/lineage/runs",
            params={"runId": run, "direction": "both", "depth": 1, "withChildren": "true"},
        ).json()
    assert answer["children"] == 12
    children = [n for n in answer["graph"]["nodes"] if n.get("child")]
    assert len(children) == 12
    assert all(n["job"].startswith("analytics.jaffle_shop.") for n in children)
