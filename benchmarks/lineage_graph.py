"""Lineage traversal at scale, against a plain in-memory BFS of the same graph in the same run.

For each backend (SQLite, PostgreSQL) this script

1. generates the synthetic lineage of ``graphgen.py`` (default: 100,000 jobs, ~290,000 datasets,
   ~1,040,000 run-dataset edges, 10 runs per job) and loads it through the real path (``parse_event``,
   ``SqlStore.append``, the projector), unless a store of that scale was loaded before (it is kept in
   ``benchmarks/out/``: a SQLite file, a PostgreSQL schema ``bench_graph_<scale>``);
2. builds threadline's in-memory lineage index from the projections (time, and the process's RSS);
3. builds a ``networkx.DiGraph`` of the same current edges (the baseline);
4. from 100 random nodes (half jobs, half datasets, seeded), walks upstream and downstream with no depth
   limit: threadline's index (``lineage(index, node, depth=None)``, the answer turned into Python
   objects: every node with its distance), and ``networkx.ancestors``/``descendants`` (sets of node
   keys); p50/p95/max and the ratio of medians;
5. the same walks through SQL, one round of queries per level (what as-of questions and one-off
   commands use), on 20 of the nodes;
6. column lineage 10 hops upstream from the end of the deep chains: p50 and max;
7. starts the real server on the store, waits until ``/api/v1/health`` says its lineage index is
   ready (built in the background at start; walks use SQL until then), reports the server's RSS, and
   asks ``GET /api/v1/lineage`` (upstream of the end of a deep chain, unbounded, as DOT) twice.

Usage::

    .venv/bin/python benchmarks/lineage_graph.py [--backend sqlite|postgresql|both] [--scale 1.0]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import networkx as nx  # noqa: E402

import graphgen  # noqa: E402
from ingest import PG_BASE, free_port  # noqa: E402
from threadline.graph.columns import column_lineage  # noqa: E402
from threadline.graph.index import SERVER_MARK_CHECK_SECONDS, LineageIndex  # noqa: E402
from threadline.graph.model import DATASET, JOB, Node  # noqa: E402
from threadline.graph.traverse import lineage  # noqa: E402
from threadline.openlineage.events import parse_event  # noqa: E402
from threadline.projection import project_all  # noqa: E402
from threadline.store.ids import dataset_id  # noqa: E402
from threadline.store.lineage_sql import lineage_reads  # noqa: E402
from threadline.store.sql import SqlStore, open_store  # noqa: E402

OUT = HERE / "out"
SAMPLE = 100
SQL_SAMPLE = 20
TARGET_P50_MS = 50.0
TARGET_P95_MS = 200.0
TARGET_RATIO = 3.0


def rss_mb(pid: int | None = None) -> float:
    """Resident memory of a process in MiB (Linux /proc)."""
    status = Path(f"/proc/{pid or os.getpid()}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def store_url(backend: str, scale: float) -> str:
    tag = f"{scale:g}".replace(".", "_")
    if backend == "sqlite":
        OUT.mkdir(exist_ok=True)
        return f"sqlite:///{OUT / f'graph-{tag}.db'}"
    import psycopg

    schema = f"bench_graph_{tag}"
    with psycopg.connect(PG_BASE, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    return f"{PG_BASE}?options=-csearch_path%3D{schema}"


def load(store: SqlStore, scale: float) -> dict[str, Any]:
    """Load the generated events unless the store already holds them."""
    expected = sum(1 for _ in graphgen.events(scale))
    have = store.count_events()
    if have == expected and store.projection_lag() == 0:
        return {"events": have, "loaded": False}
    if have not in (0, expected):
        msg = f"{store.url} holds {have} events, not the {expected} of scale {scale}: delete it first"
        raise SystemExit(msg)
    started = time.perf_counter()
    if not have:
        batch = []
        for raw in graphgen.events(scale):
            batch.append(parse_event(raw))
            if len(batch) == 5_000:
                store.append(batch)
                batch = []
        store.append(batch)
    appended = time.perf_counter()
    project_all(store, batch_size=5_000)
    projected = time.perf_counter()
    return {
        "events": expected,
        "loaded": True,
        "append_seconds": appended - started,
        "project_seconds": projected - appended,
        "project_events_per_second": expected / (projected - appended),
    }


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50": statistics.median(ordered),
        "p95": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
        "max": ordered[-1],
        "mean": statistics.fmean(ordered),
    }


def _timed(func: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    value = func()
    return (time.perf_counter() - started) * 1000, value


def bench_backend(backend: str, scale: float) -> dict[str, Any]:
    url = store_url(backend, scale)
    print(f"\n== {backend}: scale {scale:g}, store {url}", flush=True)
    store = open_store(url)
    try:
        loading = load(store, scale)
        if loading["loaded"]:
            print(
                f"   loaded {loading['events']:,} events: append {loading['append_seconds']:.0f} s, "
                f"projection {loading['project_seconds']:.0f} s "
                f"({loading['project_events_per_second']:,.0f} events/s)",
                flush=True,
            )
        rss_before = rss_mb()
        index = LineageIndex(store, mark_check_seconds=SERVER_MARK_CHECK_SECONDS)  # as a server has it
        build_ms, stats = _timed(index.stats)
        rss_index = rss_mb() - rss_before
        print(
            f"   index: {stats['nodes']:,} nodes, {stats['edges']:,} edges, "
            f"built in {build_ms / 1000:.1f} s, +{rss_index:.0f} MiB",
            flush=True,
        )
        with store.read() as connection:
            edges = lineage_reads(connection).all_current_edges()
        graph = nx.DiGraph()
        for job, job_edges in edges.items():
            for dataset, direction in job_edges:
                if direction == "in":
                    graph.add_edge(("d", dataset), ("j", job))
                else:
                    graph.add_edge(("j", job), ("d", dataset))
        rng = random.Random(42)
        jobs = sorted(edges)
        datasets = sorted({dataset for job_edges in edges.values() for dataset, _ in job_edges})
        starts = [Node(JOB, job) for job in rng.sample(jobs, SAMPLE // 2)]
        starts += [Node(DATASET, dataset) for dataset in rng.sample(datasets, SAMPLE // 2)]
        ours: dict[str, list[float]] = {"upstream": [], "downstream": []}
        walks: dict[str, list[float]] = {"upstream": [], "downstream": []}
        baseline: dict[str, list[float]] = {"upstream": [], "downstream": []}
        reached: dict[str, list[int]] = {"upstream": [], "downstream": []}
        for start in starts:
            key = ("j" if start.kind == JOB else "d", start.id)
            for direction in ("upstream", "downstream"):
                walk_ms, answer = _timed(
                    lambda s=start, d=direction: lineage(index, s, direction=d, depth=None)
                )
                total_ms, answer = _timed(
                    lambda s=start, d=direction: lineage(index, s, direction=d, depth=None).distances
                )
                nx_ms, nx_answer = _timed(
                    lambda d=direction, k=key: (nx.ancestors if d == "upstream" else nx.descendants)(graph, k)
                )
                assert len(answer) == len(nx_answer) + 1, (start, direction, len(answer), len(nx_answer))
                walks[direction].append(walk_ms)
                ours[direction].append(total_ms)
                baseline[direction].append(nx_ms)
                reached[direction].append(len(answer))
        sql_ms: dict[str, list[float]] = {"upstream": [], "downstream": []}
        with store.read() as connection:
            for start in starts[:: SAMPLE // SQL_SAMPLE]:
                for direction in ("upstream", "downstream"):
                    elapsed, _ = _timed(
                        lambda s=start, d=direction: lineage(connection, s, direction=d, depth=None)
                    )
                    sql_ms[direction].append(elapsed)
            chain_ends = [
                dataset_id(graphgen.NAMESPACE, graphgen.output_name(chain, graphgen.PIPELINE_JOBS - 1, index))
                for chain in range(graphgen.plan(scale).chains)
                for index in range(graphgen.OUTPUTS_PER_JOB)
            ]
            column_ms = []
            for _ in range(10):
                for end in chain_ends:
                    elapsed, graph_answer = _timed(
                        lambda e=end: column_lineage(connection, [(e, "v")], depth=10)
                    )
                    assert max(graph_answer.distances.values()) == 10
                    column_ms.append(elapsed)
        server = serve_and_measure(url)
    finally:
        store.close()
    result = {
        "backend": backend,
        "scale": scale,
        "loading": loading,
        "index": {**stats, "build_seconds": build_ms / 1000, "rss_mib": rss_index},
        "reached_nodes": {d: _percentiles([float(n) for n in v]) for d, v in reached.items()},
        "walk_ms": {d: _percentiles(v) for d, v in walks.items()},
        "traversal_ms": {d: _percentiles(v) for d, v in ours.items()},
        "networkx_ms": {d: _percentiles(v) for d, v in baseline.items()},
        "sql_walk_ms": {d: _percentiles(v) for d, v in sql_ms.items()},
        "column_10_hops_ms": _percentiles(column_ms),
        "server": server,
        "process_max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    OUT.mkdir(exist_ok=True)
    (OUT / f"lineage-graph-{backend}.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def serve_and_measure(url: str) -> dict[str, Any]:
    """Start the real server on ``url``, ask for one lineage (loading the index), report its RSS."""
    port = free_port()
    code = (
        "from threadline.server import run_server; from threadline.settings import ServerConfig; "
        f"run_server(ServerConfig(store={url!r}, host='127.0.0.1', port={port}, auth='none', "
        "max_body_bytes=1 << 24, max_batch_events=10000, log_level='warning'))"
    )
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen([sys.executable, "-c", code], stdout=log, stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(f"{base}/api/v1/health", timeout=1).read()
                    break
                except OSError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        log.seek(0)
                        raise RuntimeError(log.read().decode(errors="replace")) from None
                    time.sleep(0.2)
            started = time.monotonic()
            while not json.loads(urllib.request.urlopen(f"{base}/api/v1/health", timeout=5).read())[
                "lineageIndex"
            ]["ready"]:
                if time.monotonic() - started > 600:
                    raise RuntimeError("the server's lineage index was not ready after 600 s")
                time.sleep(0.1)
            index_ready_s = time.monotonic() - started
            idle = rss_mb(process.pid)
            node = f"dataset:{graphgen.NAMESPACE}:{graphgen.output_name(0, graphgen.PIPELINE_JOBS - 1, 0)}"
            query = f"{base}/api/v1/lineage?" + urllib.parse.urlencode(
                {"nodeId": node, "direction": "upstream", "depth": "all", "format": "dot"}
            )
            first_ms, _ = _timed(lambda: urllib.request.urlopen(query, timeout=600).read())
            second_ms, _ = _timed(lambda: urllib.request.urlopen(query, timeout=600).read())
            return {
                "index_ready_seconds": index_ready_s,
                "rss_idle_mib": idle,
                "rss_with_index_mib": rss_mb(process.pid),
                "first_request_ms": first_ms,
                "second_request_ms": second_ms,
            }
        finally:
            process.terminate()
            process.wait(30)


def report(results: list[dict[str, Any]]) -> None:
    for r in results:
        print(f"\n=== lineage traversal, {r['backend']}, scale {r['scale']:g}")
        idx = r["index"]
        print(
            f"graph: {idx['nodes']:,} nodes, {idx['edges']:,} edges; "
            f"index built in {idx['build_seconds']:.1f} s, +{idx['rss_mib']:.0f} MiB in-process"
        )
        print(
            f"{'unbounded walk from 100 nodes':<36}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'nodes p50':>11}"
        )
        for direction in ("upstream", "downstream"):
            for label, key in (
                ("threadline index", "traversal_ms"),
                ("  (walk only)", "walk_ms"),
                ("networkx", "networkx_ms"),
                ("threadline SQL (20)", "sql_walk_ms"),
            ):
                p = r[key][direction]
                nodes = r["reached_nodes"][direction]["p50"] if key == "traversal_ms" else None
                print(
                    f"{direction + ', ' + label:<36}{p['p50']:>9.2f}{p['p95']:>9.2f}{p['max']:>9.1f}"
                    + (f"{nodes:>11,.0f}" if nodes is not None else "")
                )
            ours, base = r["traversal_ms"][direction]["p50"], r["networkx_ms"][direction]["p50"]
            ok = (
                r["traversal_ms"][direction]["p50"] <= TARGET_P50_MS
                and r["traversal_ms"][direction]["p95"] <= TARGET_P95_MS
            )
            print(
                f"  {direction}: ratio to networkx (p50) {ours / base:.2f}x (aim <= {TARGET_RATIO:g}x); "
                f"p50 <= {TARGET_P50_MS:g} ms and p95 <= {TARGET_P95_MS:g} ms: {'ok' if ok else 'NO'}"
            )
        c = r["column_10_hops_ms"]
        print(
            f"column lineage, 10 hops upstream: p50 {c['p50']:.2f} ms, max {c['max']:.1f} ms (aim p50 <= 50)"
        )
        s = r["server"]
        print(
            f"server: lineage index ready {s['index_ready_seconds']:.1f} s after start; RSS "
            f"{s['rss_idle_mib']:.0f} MiB with the index, {s['rss_with_index_mib']:.0f} MiB after two "
            f"lineage requests (aim <= 1024); requests {s['first_request_ms']:.0f} ms, "
            f"then {s['second_request_ms']:.1f} ms"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    report([bench_backend(backend, args.scale) for backend in backends])
    return 0


if __name__ == "__main__":
    sys.exit(main())
