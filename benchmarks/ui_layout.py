"""How fast the web UI lays out and paints a 2,000-node lineage view, and how smoothly it pans.

1. Generates a layered lineage (default 30 layers of 50 jobs, each writing one dataset and reading
   two or three of the previous layer's; jobs from dbt, Airflow and Spark), as OpenLineage events,
   loads them into a fresh SQLite store and starts the real server on it.
2. Picks a dataset of the last layer whose upstream lineage (``depth=all``) holds about 2,000
   nodes, and opens ``/lineage?node=…&direction=upstream&depth=all&fanout=0`` (no fan-out grouping,
   so every node is drawn) in headless Chromium (Debian's, via Playwright), ``--runs`` times, each in a
   fresh browser context (nothing cached).
3. Reports, from the page's own performance marks: the lineage API call (``/api/v1/ui/lineage``,
   from the Resource Timing API), ``threadline:layout-done`` and ``threadline:graph-painted`` (the
   frame after the elements were added), all in milliseconds since navigation started; the layout
   engine and the renderer used; the node and edge counts.
4. Pans the graph with the mouse (60 moves over about a second, twice) while recording the interval
   between animation frames: p50, p95 and max frame interval, and frames per second; then zooms in
   (the toolbar's zoom button, 10 times) until labels are drawn, and pans again.

Usage::

    .venv/bin/python benchmarks/ui_layout.py [--layers 20] [--width 50] [--runs 3]

Results are printed and written to ``benchmarks/out/ui_layout.json``. The goal: first paint of a
2,000-node view in under 2 s, and panning at 30 frames per second or better.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from tests.server.conftest import ServerProcess, free_port  # noqa: E402

OUT = HERE / "out"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]
NAMESPACE = "warehouse://bench"
BASE_TIME = datetime(2026, 11, 1, tzinfo=UTC)
PRODUCERS = {
    "DBT": "https://github.com/OpenLineage/OpenLineage/tree/1.24.2/integration/dbt",
    "AIRFLOW": "https://github.com/apache/airflow/tree/providers-openlineage/1.14.0",
    "SPARK": "https://github.com/OpenLineage/OpenLineage/tree/1.24.2/integration/spark",
}


def events(layers: int, width: int, seed: int = 7) -> list[dict[str, Any]]:
    """One COMPLETE event per job of a layered lineage (see the module docstring)."""
    rng = random.Random(seed)
    out = []
    for layer in range(layers):
        for index in range(width):
            integration = ("DBT", "AIRFLOW", "SPARK")[(layer + index) % 3]
            producer = PRODUCERS[integration]
            sources = (
                [f"l{layer - 1:02d}.d{i:03d}" for i in rng.sample(range(width), rng.choice((2, 2, 3)))]
                if layer
                else [f"source.s{index:03d}"]
            )
            schema = {
                "_producer": producer,
                "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json",
                "fields": [{"name": f"c{n}", "type": "string"} for n in range(4)],
            }
            out.append(
                {
                    "eventType": "COMPLETE",
                    "eventTime": (BASE_TIME + timedelta(minutes=layer, seconds=index)).isoformat(),
                    "producer": producer,
                    "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
                    "run": {"runId": f"00000000-0000-4000-8000-{layer:04d}{index:08d}"},
                    "job": {
                        "namespace": "bench",
                        "name": f"l{layer:02d}.job{index:03d}",
                        "facets": {
                            "jobType": {
                                "_producer": producer,
                                "_schemaURL": "https://openlineage.io/spec/facets/2-0-2/JobTypeJobFacet.json",
                                "processingType": "BATCH",
                                "integration": integration,
                                "jobType": "TASK",
                            }
                        },
                    },
                    "inputs": [{"namespace": NAMESPACE, "name": name} for name in sources],
                    "outputs": [
                        {
                            "namespace": NAMESPACE,
                            "name": f"l{layer:02d}.d{index:03d}",
                            "facets": {"schema": schema},
                        }
                    ],
                }
            )
    return out


def pick_center(client: httpx.Client, layers: int, width: int, target: int) -> tuple[str, int]:
    """The last-layer dataset whose upstream lineage size is closest to ``target`` nodes."""
    best: tuple[int, str] | None = None
    for index in range(0, width, max(1, width // 10)):
        node = f"dataset:{NAMESPACE}:l{layers - 1:02d}.d{index:03d}"
        params = {"nodeId": node, "depth": "all", "direction": "upstream"}
        size = len(client.get("/api/v1/ui/lineage", params=params, timeout=120).json()["graph"])
        if best is None or abs(size - target) < abs(best[0] - target):
            best = (size, node)
    assert best is not None
    return best[1], best[0]


PAN_SCRIPT = """async () => {
    const frames = [];
    let last = performance.now();
    let running = true;
    const tick = (now) => { frames.push(now - last); last = now; if (running) requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
    window.__stopFrames = () => { running = false; return frames; };
}"""


def measure(browser: Any, base_url: str, url: str) -> dict[str, Any]:
    """One cold load of ``url`` and a scripted pan; the figures."""
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, base_url=base_url)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_selector("#graph[data-state=ready]", timeout=120_000)
    wall = (time.perf_counter() - started) * 1000
    marks = page.evaluate(
        """() => {
        const mark = (name) => performance.getEntriesByName(name).map(e => e.startTime).pop() ?? null;
        const api = performance.getEntriesByType('resource')
            .filter(e => e.name.includes('/api/v1/ui/lineage?'))
            .map(e => ({start: e.startTime, end: e.responseEnd, bytes: e.encodedBodySize}));
        const graph = document.querySelector('#graph');
        return {layout: mark('threadline:layout-done'), added: mark('threadline:elements-added'),
                viewport: mark('threadline:viewport-set'), painted: mark('threadline:graph-painted'), api,
                nodes: Number(graph.dataset.nodes), edges: Number(graph.dataset.edges),
                engine: graph.dataset.engine, renderer: graph.dataset.renderer};
    }"""
    )
    # The view opens readable around its centre node; Fit shows the whole graph, panned first.
    page.locator("button[title='Fit the graph']").click()
    frames = pan(page)
    # Zoomed in until the labels show (10 x 1.25: from the whole graph to a readable part of it).
    for _ in range(10):
        page.locator("button[title='Zoom in']").click()
    zoomed = pan(page)
    zoom = float(page.locator("#graph").get_attribute("data-zoom"))
    context.close()
    return {
        "wall_ms": round(wall),
        "api_ms": round(marks["api"][0]["end"] - marks["api"][0]["start"]) if marks["api"] else None,
        "api_bytes": marks["api"][0]["bytes"] if marks["api"] else None,
        "layout_done_ms": round(marks["layout"]),
        "elements_added_ms": round(marks["added"]),
        "viewport_set_ms": round(marks["viewport"]),
        "painted_ms": round(marks["painted"]),
        "engine": marks["engine"],
        "renderer": marks["renderer"],
        "nodes": marks["nodes"],
        "edges": marks["edges"],
        "frame_p50_ms": round(statistics.median(frames), 1),
        "frame_p95_ms": round(frames[int(len(frames) * 0.95) - 1], 1),
        "frame_max_ms": round(frames[-1], 1),
        "fps": round(1000 / statistics.mean(frames), 1),
        "zoomed_zoom": round(zoom, 3),
        "zoomed_frame_p50_ms": round(statistics.median(zoomed), 1),
        "zoomed_frame_p95_ms": round(zoomed[int(len(zoomed) * 0.95) - 1], 1),
        "zoomed_frame_max_ms": round(zoomed[-1], 1),
        "errors": errors,
    }


def pan(page: Any) -> list[float]:
    """Press in the middle of the graph and drag 600 px in 60 steps, twice; the intervals between
    animation frames meanwhile, sorted, in milliseconds."""
    box = page.locator("#graph").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.evaluate(PAN_SCRIPT)
    for direction in (1, -1):
        page.mouse.move(x, y)
        page.mouse.down()
        for step in range(1, 61):
            page.mouse.move(x + direction * step * 10, y + direction * step * 4)
            page.wait_for_timeout(16)
        page.mouse.up()
    frames = page.evaluate("() => window.__stopFrames()")[2:]  # the first two frames predate the pan
    return sorted(frames)


def main() -> int:
    """Run the benchmark (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=30)
    parser.add_argument("--width", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--target", type=int, default=2000, help="lineage size to look for, in nodes")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        source = work / "events.jsonl"
        source.write_text("".join(json.dumps(e) + "\n" for e in events(args.layers, args.width)))
        store = f"sqlite:///{work / 'bench.db'}"
        subprocess.run(
            [sys.executable, "-m", "threadline", "ingest", str(source), "--store", store],
            check=True,
            capture_output=True,
        )
        server = ServerProcess(
            store, free_port(), work / "server.log", {"auth": "none", "log_level": "warning"}
        )
        server.start()
        try:
            with server.client() as client:
                center, size = pick_center(client, args.layers, args.width, args.target)
            print(f"centre {center}: {size} nodes upstream (depth all)")
            url = f"/lineage?node={quote(center, safe='')}&direction=upstream&depth=all&fanout=0"
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                results = [measure(browser, server.url, url) for _ in range(args.runs)]
                browser.close()
        finally:
            server.stop()
    header = f"{'run':>3} {'nodes':>6} {'edges':>6} {'engine':>8} {'renderer':>9} {'API ms':>7} {'KB':>6}"
    print(header + f" {'layout':>7} {'painted':>8} {'frame p50':>9} {'p95':>6} {'max':>6} {'fps':>5}")
    for i, r in enumerate(results, 1):
        print(
            f"{i:>3} {r['nodes']:>6} {r['edges']:>6} {r['engine']:>8} {r['renderer']:>9} {r['api_ms']:>7} "
            f"{(r['api_bytes'] or 0) // 1024:>6} "
            f"{r['layout_done_ms']:>7} {r['painted_ms']:>8} {r['frame_p50_ms']:>9} {r['frame_p95_ms']:>6} "
            f"{r['frame_max_ms']:>6} {r['fps']:>5}"
        )
        if r["errors"]:
            print("    page errors:", r["errors"])
    painted = statistics.median(r["painted_ms"] for r in results)
    p95 = statistics.median(r["frame_p95_ms"] for r in results)
    zoomed = statistics.median(r["zoomed_frame_p95_ms"] for r in results)
    print(
        f"median first paint {painted:.0f} ms (goal < 2000), median p95 frame interval while panning "
        f"{p95} ms (whole graph), {zoomed} ms (zoomed to zoom {results[0]['zoomed_zoom']}, labels drawn)"
    )
    OUT.mkdir(exist_ok=True)
    (OUT / "ui_layout.json").write_text(
        json.dumps({"center": center, "size": size, "runs": results}, indent=2)
    )
    return 0 if painted < 2000 else 1


if __name__ == "__main__":
    sys.exit(main())
