"""Where ingest time goes: each stage of the ingest path timed and profiled in-process.

Stages, each timed separately on the same pre-encoded events (``eventgen.py``):

- ``parse``: ``parse_event`` (JSON decode, core validation, facet validation, canonical JSON, id);
  its parts are timed on their own too (decode, canonical JSON + BLAKE3, facet checks);
- ``append``: ``SqlStore.append`` in groups (1 event per call, and 100 per call);
- ``project``: ``project_pending`` over the appended events (500 per transaction, as the server does);
- ``http``: the ASGI app driven in-process by ``httpx`` (no sockets): single POSTs and batch POSTs, with
  the store and projector running as in the server.

With ``--cprofile`` each stage is also run under cProfile and its top functions are printed.

Usage::

    .venv/bin/python benchmarks/profile_ingest.py [--backend sqlite|postgresql] [--events N] [--cprofile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import eventgen  # noqa: E402
from ingest import PG_BASE  # noqa: E402
from threadline.openlineage.canonical import canonical_json, event_id  # noqa: E402
from threadline.openlineage.events import parse_event  # noqa: E402
from threadline.projection import project_pending  # noqa: E402
from threadline.store.sql import open_store  # noqa: E402


def _timed(label: str, count: int, func: Callable[[], Any], profile: bool) -> float:
    profiler = cProfile.Profile() if profile else None
    start = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    func()
    if profiler is not None:
        profiler.disable()
    elapsed = time.perf_counter() - start
    print(f"{label:<48}{elapsed / count * 1e6:>10.1f} us/event{count / elapsed:>12,.0f} events/s")
    if profiler is not None:
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats("tottime").print_stats(14)
        lines = [line for line in stream.getvalue().splitlines() if line.strip()]
        start_at = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
        print("\n".join("      " + line for line in lines[start_at : start_at + 15]))
    return elapsed


def _store_url(backend: str, directory: Path) -> tuple[str, Callable[[], None]]:
    if backend == "sqlite":
        return f"sqlite:///{directory / 'profile.db'}", lambda: None
    import psycopg

    schema = f"tl_prof_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_BASE, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")

    def drop() -> None:
        with psycopg.connect(PG_BASE, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")

    return f"{PG_BASE}?options=-csearch_path%3D{schema}", drop


def stage_parse(events: list[bytes], profile: bool) -> None:
    """parse_event and its parts."""
    n = len(events)
    _timed("parse_event (all of it)", n, lambda: [parse_event(e) for e in events], profile)
    decoder = msgspec.json.Decoder()
    docs = [decoder.decode(e) for e in events]
    _timed("  msgspec JSON decode", n, lambda: [decoder.decode(e) for e in events], False)
    _timed("  canonical JSON + BLAKE3 id", n, lambda: [event_id(canonical_json(d)) for d in docs], False)


def stage_store(backend: str, events: list[bytes], profile: bool) -> None:
    """append (1 and 100 per call) and projection."""
    n = len(events)
    parsed = [parse_event(e) for e in events]
    half = n // 2
    with tempfile.TemporaryDirectory(prefix="tl-prof-") as tmp:
        url, drop = _store_url(backend, Path(tmp))
        store = open_store(url)
        try:

            def append_single() -> None:
                for event in parsed[:half]:
                    store.append([event])

            def append_batches() -> None:
                for start in range(half, n, 100):
                    store.append(parsed[start : start + 100])

            _timed(f"append, 1 event per transaction ({backend})", half, append_single, profile)
            _timed(f"append, 100 events per transaction ({backend})", n - half, append_batches, profile)

            def project() -> None:
                while project_pending(store, batch_size=500):
                    pass

            _timed(f"project_pending, 500 per transaction ({backend})", n, project, profile)
        finally:
            store.close()
            drop()


def stage_http(backend: str, events: list[bytes], profile: bool) -> None:
    """The ASGI app in-process (httpx ASGITransport): POST single events and batches."""
    import httpx

    from threadline.server.app import asgi_app, create_app
    from threadline.settings import ServerConfig

    n = len(events)
    half = n // 2
    batches = [b"[" + b",".join(events[i : i + 100]) + b"]" for i in range(half, n, 100)]
    with tempfile.TemporaryDirectory(prefix="tl-prof-") as tmp:
        url, drop = _store_url(backend, Path(tmp))
        store = open_store(url)
        app = create_app(store, ServerConfig(auth="none", max_body_bytes=64 << 20, max_batch_events=10_000))
        # Projection off here (the writer's idle work): this measures the request path alone.
        app.state.threadline.writer.idle_work = None
        headers = {"content-type": "application/json"}

        async def drive(path: str, bodies: list[bytes], clients: int) -> None:
            transport = httpx.ASGITransport(app=asgi_app(app))
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                queue = list(reversed(bodies))

                async def worker() -> None:
                    while queue:
                        response = await client.post(path, content=queue.pop(), headers=headers)
                        assert response.status_code in (200, 201), response.text

                await asyncio.gather(*(worker() for _ in range(clients)))

        writer = app.state.threadline.writer
        writer.start()
        try:
            _timed(
                f"HTTP in-process, single POSTs x8 ({backend})",
                half,
                lambda: asyncio.run(drive("/api/v1/lineage", events[:half], 8)),
                profile,
            )
            _timed(
                f"HTTP in-process, batch POSTs x3 ({backend})",
                n - half,
                lambda: asyncio.run(drive("/api/v1/lineage/batch", batches, 3)),
                profile,
            )
        finally:
            writer.stop()
            store.close()
            drop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--events", type=int, default=4_000)
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--stages", default="parse,store,http")
    args = parser.parse_args()
    events = eventgen.generate(args.events)
    print(f"{args.events:,} events, mean {eventgen.mean_size(events):.0f} bytes, backend {args.backend}")
    stages = args.stages.split(",")
    if "parse" in stages:
        stage_parse(events, args.cprofile)
    if "store" in stages:
        stage_store(args.backend, events, args.cprofile)
    if "http" in stages:
        stage_http(args.backend, eventgen.generate(args.events, start=args.events), args.cprofile)


if __name__ == "__main__":
    main()
