"""What one reader of a run's versions and short run ids cost the read API, side by side in one process.

Since issue 12, every Marquez answer with runs (a job's runs, the jobs list with each job's 10 latest
runs, one run) gives an input read without a ``version`` facet the dataset version current when the run
began (``projection.readers.runs.io_version``: a correlated subquery on ``ix_dataset_versions_created``);
lists used to leave it ``null``. And the UI's run lists carry each run's short id
(``store.run_ids.short_run_ids``: one statement per 100 runs). This builds a store of ``--jobs`` jobs with
``--runs`` runs each, every run reading ``--inputs`` datasets without a version facet (each dataset
written ``--writes`` times before), then times each read with the version lookup and without it (the old
lists), and the UI's run list with short ids and without, alternating, best of ``--repeat``. Figures are
milliseconds per call and the ratio new / old.

    .venv/bin/python benchmarks/run_reads.py [--jobs 100] [--runs 30] [--inputs 5] [--writes 20]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from threadline.openlineage.events import parse_event
from threadline.projection import project_all
from threadline.projection.readers import jobs as job_catalog
from threadline.projection.readers import runs as run_catalog
from threadline.server.api import insights
from threadline.store import open_store

PRODUCER = "https://example.com/bench"
SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"


def _event(run_id: str, job: str, second: int, inputs: list[str], outputs: list[str]) -> bytes:
    minutes, seconds = divmod(second, 60)
    hours, minutes = divmod(minutes, 60)
    doc = {
        "eventType": "COMPLETE",
        "eventTime": f"2026-11-0{1 + hours // 24}T{hours % 24:02d}:{minutes:02d}:{seconds:02d}Z",
        "producer": PRODUCER,
        "schemaURL": SCHEMA,
        "run": {"runId": run_id},
        "job": {"namespace": "bench", "name": job},
        "inputs": [{"namespace": "db", "name": name} for name in inputs],
        "outputs": [{"namespace": "db", "name": name} for name in outputs],
    }
    return json.dumps(doc).encode()


def build(url: str, jobs: int, runs: int, inputs: int, writes: int) -> None:
    """The store: writers make versions of the source tables, then each job's runs read them."""
    store = open_store(url)
    sources = [f"source_{i}" for i in range(inputs * 4)]
    events, second = [], 0
    for _ in range(writes):
        for name in sources:
            second += 1
            events.append(_event(str(uuid.uuid4()), f"write_{name}", second, [], [name]))
    for job in range(jobs):
        for run in range(runs):
            second += 1
            read = [sources[(job + run + i) % len(sources)] for i in range(inputs)]
            events.append(_event(str(uuid.uuid4()), f"job_{job:03d}", second, read, [f"out_{job}"]))
    for start in range(0, len(events), 2000):
        store.append([parse_event(raw) for raw in events[start : start + 2000]])
    project_all(store)
    store.close()


def side_by_side(old: Callable[[], Any], new: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """The fastest of ``repeat`` calls of each, alternating (the machine's noise hits both), in ms."""
    fastest = [float("inf"), float("inf")]
    for _ in range(repeat):
        for index, call in enumerate((old, new)):
            started = time.perf_counter()
            call()
            fastest[index] = min(fastest[index], time.perf_counter() - started)
    return fastest[0] * 1000, fastest[1] * 1000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--inputs", type=int, default=5)
    parser.add_argument("--writes", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        started = time.perf_counter()
        build(url, args.jobs, args.runs, args.inputs, args.writes)
        print(
            f"store: {args.jobs} jobs x {args.runs} runs x {args.inputs} inputs without a version facet, "
            f"each input written {args.writes} times (built in {time.perf_counter() - started:.1f} s)"
        )
        store = open_store(url)
        with store.read() as connection:
            run_id = job_catalog.list_job_runs(connection, "bench", "job_000", limit=1).items[0].id
            reads: dict[str, Callable[[], Any]] = {
                "GET /namespaces/bench/jobs (100 jobs x 10 latest runs)": lambda: job_catalog.list_jobs(
                    connection, "bench", limit=100
                ),
                "GET /namespaces/bench/jobs/job_000/runs (30 runs)": lambda: job_catalog.list_job_runs(
                    connection, "bench", "job_000", limit=100
                ),
                "GET /jobs/runs/{id} (one run)": lambda: run_catalog.get_run(connection, run_id),
            }
            without = lambda io, _created: io.c.version  # noqa: E731 - what the lists read before

            def patched(module: Any, name: str, value: Any, call: Callable[[], Any]) -> Callable[[], Any]:
                def run() -> Any:
                    saved = getattr(module, name)
                    setattr(module, name, value)
                    try:
                        return call()
                    finally:
                        setattr(module, name, saved)

                return run

            print(f"{'read':<58} {'old ms':>8} {'new ms':>8} {'new/old':>8}")
            for name, call in reads.items():
                old, new = side_by_side(patched(run_catalog, "io_version", without, call), call, args.repeat)
                print(f"{name:<58} {old:8.2f} {new:8.2f} {new / old:8.2f}")
            listing = lambda: insights.list_runs(connection, insights.RunFilter(), 50, 0)  # noqa: E731
            eight = lambda _connection, ids: {i: i[:8] for i in ids}  # noqa: E731 - the old short ids
            old, new = side_by_side(patched(insights, "short_run_ids", eight, listing), listing, args.repeat)
            print(f"{'GET /ui/runs (50 runs), short ids':<58} {old:8.2f} {new:8.2f} {new / old:8.2f}")
        store.close()


if __name__ == "__main__":
    main()
