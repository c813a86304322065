"""The projection's fold rate against the append rate, in-process, on the ingest benchmark's events.

For each backend, on a fresh store, with ``N`` events of ``eventgen.py`` parsed beforehand (the parse
workers' part of ingest, not timed here):

1. **append**: ``SqlStore.append``, 100 events per transaction (the writer's groups under batch load),
   as the server's writer does it: with this checkout, the fold the parse workers made of each batch
   is merged and kept (``FoldAhead.appended``), inside the timed section;
2. **fold**: the projector until nothing is left, 5,000 events per step: with this checkout
   ``FoldAhead.step`` (the kept folds applied, no read-back), with an older one (``PYTHONPATH=
   <checkout>/src``) ``project_all`` from the log, as its server did;
3. **fold from the log** (reindex, the graph load, events another server appended): ``reindex``, in
   this process only (``workers=0``), and again with worker processes folding the steps while this
   process merges them (``projection.catch_up``; a checkout without it prints only the first).

It prints events/s of each and **fold / append** (target >= 1.0), and what folding costs the parse
workers per event (CPU, beside their parsing). Timings are wall-clock: run it for two checkouts one
after the other and compare the ratios; the load average is printed.

Usage::

    .venv/bin/python benchmarks/fold_rate.py [--backend sqlite|postgresql|both] [--events 20000]
        [--graph SCALE]    # graphgen.py's lineage instead (1.0: the 1M-event graph of lineage_graph.py)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import eventgen  # noqa: E402
from ingest import PG_BASE  # noqa: E402
from threadline.openlineage.events import parse_event  # noqa: E402
from threadline.projection import projector  # noqa: E402
from threadline.server import parsing  # noqa: E402
from threadline.store.sql import open_store  # noqa: E402

try:  # older checkouts (``PYTHONPATH=<checkout>/src``) fold the log in one process only
    from threadline.projection import catch_up
except ImportError:
    catch_up = None  # type: ignore[assignment]

GROUP = 100
CHUNK = 50  # a batch of 100 split between the two parse workers
STEP = 5_000


def _store_url(backend: str, directory: Path) -> tuple[str, Callable[[], None]]:
    if backend == "sqlite":
        return f"sqlite:///{directory / 'fold.db'}", lambda: None
    import psycopg

    schema = f"tl_fold_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_BASE, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")

    def drop() -> None:
        with psycopg.connect(PG_BASE, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")

    return f"{PG_BASE}?options=-csearch_path%3D{schema}", drop


def _worker_folds(raws: list[bytes]) -> tuple[list[Any], float]:
    """Each group's fold as the parse workers make it, and their extra CPU seconds for it."""
    parse_only = time.process_time()
    for start in range(0, len(raws), CHUNK):
        parsing._parse_in_worker(raws[start : start + CHUNK], None)
    parse_only = time.process_time() - parse_only
    started = time.process_time()
    chunks = [
        parsing._parse_in_worker(raws[start : start + CHUNK], None, True)[1]
        for start in range(0, len(raws), CHUNK)
    ]
    extra = time.process_time() - started - parse_only
    per_group = GROUP // CHUNK
    groups = []
    for start in range(0, len(chunks), per_group):
        packed = chunks[start]
        for other in chunks[start + 1 : start + per_group]:
            packed.merge(other)
        groups.append(packed)
    return groups, extra


def run_backend(backend: str, count: int, graph: float | None = None) -> dict[str, Any]:
    """Append, fold, reindex on one backend; the rates. ``graph``: the events of ``graphgen.py`` at
    this scale instead of ``count`` of ``eventgen.py``'s."""
    if graph is not None:
        import graphgen

        raws = list(graphgen.events(graph))
        count = len(raws)
    else:
        raws = eventgen.generate(count)
    events = [parse_event(raw) for raw in raws]
    ahead_cls = getattr(projector, "FoldAhead", None)
    folds, worker_cpu = _worker_folds(raws) if ahead_cls is not None else (None, 0.0)
    parsing.tune_gc()  # as the server does
    with tempfile.TemporaryDirectory(prefix="tl-fold-") as tmp:
        url, drop = _store_url(backend, Path(tmp))
        store = open_store(url)
        try:
            ahead = ahead_cls(step_events=STEP, limit_events=count) if ahead_cls is not None else None
            started = time.perf_counter()
            for index, start in enumerate(range(0, count, GROUP)):
                result = store.append(events[start : start + GROUP])
                if ahead is not None and folds is not None:
                    ahead.appended(result.before, result.head, len(result.inserted), folds[index])
            append = time.perf_counter() - started
            started = time.perf_counter()
            if ahead is not None:
                while ahead.step(store, batch_size=STEP)[0]:
                    pass
            else:
                projector.project_all(store, batch_size=STEP)
            fold = time.perf_counter() - started
            assert store.projection_lag() == 0
            started = time.perf_counter()
            if catch_up is not None:
                projector.reindex(store, batch_size=STEP, workers=0)  # serial, as before the workers
            else:
                projector.reindex(store, batch_size=STEP)
            from_log = time.perf_counter() - started
            from_log_workers = None
            if catch_up is not None:  # the same with the worker processes (any backlog size here)
                with store.write() as connection:
                    store.requeue_all(connection)
                started = time.perf_counter()
                catch_up.fold_backlog(store, batch_size=STEP, min_events=0)
                projector.project_all(store, batch_size=STEP, workers=0)
                from_log_workers = time.perf_counter() - started
        finally:
            store.close()
            drop()
    return {
        "backend": backend,
        "fold_ahead": ahead_cls is not None,
        "append": count / append,
        "fold": count / fold,
        "fold_to_append": append / fold,
        "reindex": count / from_log,
        "reindex_to_append": append / from_log,
        "reindex_workers": count / from_log_workers if from_log_workers else None,
        "reindex_workers_to_append": append / from_log_workers if from_log_workers else None,
        "workers": catch_up.default_workers() if catch_up is not None else 0,
        "worker_fold_us": worker_cpu / count * 1e6,
    }


def main(argv: list[str] | None = None) -> int:
    """Measure and print."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument(
        "--graph",
        type=float,
        metavar="SCALE",
        help="the events of graphgen.py at this scale (1.0: the 1M-event lineage graph) instead",
    )
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    what = f"graphgen.py at scale {args.graph}" if args.graph else f"{args.events:,} events of eventgen.py"
    print(f"{what}; threadline from {Path(projector.__file__).parents[2]}")
    for backend in backends:
        load = os.getloadavg()[0]
        r = run_backend(backend, args.events, args.graph)
        print(
            f"{backend:<11} append {r['append']:>8,.0f}/s  fold {r['fold']:>8,.0f}/s  "
            f"fold/append {r['fold_to_append']:.2f}  reindex {r['reindex']:>7,.0f}/s "
            f"({r['reindex_to_append']:.2f})  "
            + (
                f"reindex with {r['workers']} workers {r['reindex_workers']:>7,.0f}/s "
                f"({r['reindex_workers_to_append']:.2f}, {r['reindex_workers'] / r['reindex']:.2f}x)  "
                if r["reindex_workers"]
                else ""
            )
            + f"worker fold {r['worker_fold_us']:.0f} us/event  "
            f"load {load:.1f}-{os.getloadavg()[0]:.1f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
