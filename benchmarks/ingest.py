"""Ingest throughput of the real threadline server, against the raw insert rate of the same store.

For each backend (SQLite, PostgreSQL) this script

1. measures the **raw insert rate**: the same event bytes inserted with plain SQL into the same kind of
   database (``sqlite3`` with threadline's pragmas, WAL and ``synchronous=NORMAL``; ``psycopg`` for
   PostgreSQL) into ``raw_events(seq integer pk, id text unique, raw blob)``, 100 rows per transaction
   with ``executemany``: the physical limit of the store;
2. starts the real server (``threadline.server.run_server``) in a subprocess on a fresh store (a temp
   SQLite file, or a fresh PostgreSQL schema), auth none, on a free loopback port;
3. posts single events (``POST /api/v1/lineage``) from 8 concurrent keep-alive connections;
4. posts batches of 100 events (``POST /api/v1/lineage/batch``) from 8 concurrent connections;
5. after each phase, waits until the projection has caught up (``projectionLag == 0`` in
   ``GET /api/v1/health``) and reports the projection rate;
6. checks that the server stores exactly as many events as were acknowledged (nothing lost).

The load comes from ``loadgen.py`` in a separate process (one thread, non-blocking sockets, requests
pre-built as bytes) so that the client takes as little of the 2 cores as possible. All events are
unique (``eventgen.py``) and pre-encoded before any clock starts.

Usage::

    .venv/bin/python benchmarks/ingest.py [--backend sqlite|postgresql|both] [--events N] [--quick]

``--events N`` is the number of single-event POSTs; the batch phase sends 10 x N events (defaults
20,000 and 200,000; ``--quick``: 3,000 and 30,000). Each phase stops issuing requests after
``--max-seconds`` (default 30) so that a slow server still gives figures in bounded time; the rate is
events acknowledged / time. Results go to ``benchmarks/out/ingest-<backend>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import blake3

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import eventgen  # noqa: E402

OUT = HERE / "out"
PG_BASE = os.environ.get("THREADLINE_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
TARGET_SINGLE = 2_000
TARGET_BATCH = 20_000
TARGET_RATIO = 0.25
RAW_ROWS_PER_TX = 100
BATCH_SIZE = 100
SINGLE_CLIENTS = 8
BATCH_CLIENTS = 8


# ---- raw insert baseline ---------------------------------------------------------------------------


def _raw_rows(events: list[bytes]) -> list[tuple[str, bytes]]:
    return [(blake3.blake3(event).hexdigest(), event) for event in events]


def raw_sqlite(events: list[bytes], directory: Path) -> dict[str, Any]:
    """Insert ``events`` into a fresh SQLite file with threadline's pragmas, 100 rows per transaction."""
    rows = _raw_rows(events)
    path = directory / "raw.db"
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(
        "CREATE TABLE raw_events (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, raw BLOB NOT NULL)"
    )
    start = time.perf_counter()
    for offset in range(0, len(rows), RAW_ROWS_PER_TX):
        connection.execute("BEGIN")
        connection.executemany(
            "INSERT INTO raw_events (id, raw) VALUES (?, ?)", rows[offset : offset + RAW_ROWS_PER_TX]
        )
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - start
    count = connection.execute("SELECT count(*) FROM raw_events").fetchone()[0]
    connection.close()
    assert count == len(rows), (count, len(rows))
    return {"rows": count, "seconds": elapsed, "rows_per_second": count / elapsed}


def raw_postgresql(events: list[bytes]) -> dict[str, Any]:
    """Insert ``events`` into a fresh PostgreSQL schema with psycopg, 100 rows per transaction."""
    import psycopg

    rows = _raw_rows(events)
    schema = f"bench_raw_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_BASE) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
        connection.execute(
            f"CREATE TABLE {schema}.raw_events (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
            "id text NOT NULL UNIQUE, raw bytea NOT NULL)"
        )
        connection.commit()
        try:
            start = time.perf_counter()
            with connection.cursor() as cursor:
                for offset in range(0, len(rows), RAW_ROWS_PER_TX):
                    cursor.executemany(
                        f"INSERT INTO {schema}.raw_events (id, raw) VALUES (%s, %s)",
                        rows[offset : offset + RAW_ROWS_PER_TX],
                    )
                    connection.commit()
            elapsed = time.perf_counter() - start
            count = connection.execute(f"SELECT count(*) FROM {schema}.raw_events").fetchone()[0]
        finally:
            connection.rollback()
            connection.execute(f"DROP SCHEMA {schema} CASCADE")
            connection.commit()
    assert count == len(rows), (count, len(rows))
    return {"rows": count, "seconds": elapsed, "rows_per_second": count / elapsed}


# ---- the server ------------------------------------------------------------------------------------


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fresh_store_url(backend: str, sqlite_file: Path, schema_prefix: str) -> tuple[str, str | None]:
    """A store URL on a fresh store: ``sqlite_file``, or a new PostgreSQL schema (its name returned)."""
    if backend == "sqlite":
        return f"sqlite:///{sqlite_file}", None
    import psycopg

    schema = f"{schema_prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_BASE, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    return f"{PG_BASE}?options=-csearch_path%3D{schema}", schema


def stop_server(process: subprocess.Popen[bytes], log: IO[bytes], schema: str | None, timeout: float) -> None:
    """Stop a server process (SIGINT, as Ctrl-C; killed after ``timeout`` s), close its log, drop its
    PostgreSQL schema."""
    if process.poll() is None:
        process.send_signal(2)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    log.close()
    if schema is not None:
        import psycopg

        with psycopg.connect(PG_BASE, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


def _get_json(url: str, timeout: float = 10.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (Linux /proc), 0.0 elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    """The real threadline server in a subprocess, on a fresh store."""

    def __init__(
        self,
        backend: str,
        directory: Path,
        log_path: Path,
        profile: Path | None = None,
        *,
        projection: bool = True,
    ) -> None:
        self.backend = backend
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.store_url, self.schema = fresh_store_url(backend, directory / "threadline.db", "tl_bench")
        code = (
            "from threadline.server import run_server; from threadline.settings import ServerConfig; "
            f"run_server(ServerConfig(store={self.store_url!r}, host='127.0.0.1', port={self.port}, "
            "auth='none', max_body_bytes=64 * 1024 * 1024, max_batch_events=10_000, log_level='warning'))"
        )
        if not projection:
            # Diagnostic only: the same app and uvicorn settings with the writer's idle work (the
            # projector) switched off, to measure the ingest path alone.
            code = (
                "import uvicorn; from threadline.server.app import asgi_app, create_app; "
                "from threadline.store.sql import open_store; from threadline.settings import ServerConfig; "
                f"app = create_app(open_store({self.store_url!r}), ServerConfig(auth='none', "
                "max_body_bytes=64 * 1024 * 1024, max_batch_events=10_000)); "
                "app.state.threadline.writer.idle_work = None; "
                f"uvicorn.run(asgi_app(app), host='127.0.0.1', port={self.port}, log_level='warning', "
                "access_log=False, loop='uvloop', http='httptools', server_header=False)"
            )
        command = [sys.executable, "-c", code]
        if profile is not None:
            spy = Path(sys.executable).with_name("py-spy")
            command = [str(spy), "record", "--format", "raw", "-r", "200", "-o", str(profile), "--", *command]
        self.log = log_path.open("wb")
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, cwd=directory)
        self.pid = self.process.pid
        self._wait_ready()
        if profile is not None:
            self.pid = self._child_pid()

    def _child_pid(self) -> int:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return int(children.read_text().split()[0])
        except (OSError, IndexError, ValueError):
            return self.process.pid

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                msg = f"the server exited with {self.process.returncode}; see {self.log.name}"
                raise RuntimeError(msg)
            try:
                _get_json(f"{self.base}/api/v1/health", timeout=1.0)
                return
            except OSError:
                time.sleep(0.1)
        self.process.kill()  # not left running behind the benchmark
        self.process.wait()
        msg = f"the server did not answer /api/v1/health within {timeout:.0f} s; see {self.log.name}"
        raise RuntimeError(msg)

    def health(self) -> dict[str, Any]:
        """The server's health document."""
        return _get_json(f"{self.base}/api/v1/health", timeout=60.0)

    def total_count(self) -> int:
        """``totalCount`` of ``GET /api/v1/events/lineage``."""
        return int(_get_json(f"{self.base}/api/v1/events/lineage?limit=1", timeout=60.0)["totalCount"])

    def cpu_seconds(self) -> float:
        """CPU seconds the server process has used so far."""
        return _cpu_seconds(self.pid)

    def wait_projected(self, timeout: float) -> dict[str, Any]:
        """Poll health until ``projectionLag`` is 0 (or ``timeout``); the lag found first, the rate."""
        start = time.perf_counter()
        first = self.health()
        lag = first_lag = int(first["projectionLag"])
        cpu0 = self.cpu_seconds()
        while lag > 0 and time.perf_counter() - start < timeout:
            time.sleep(0.2)
            lag = int(self.health()["projectionLag"])
        elapsed = time.perf_counter() - start
        projected = first_lag - lag
        return {
            "lag_after_ingest": first_lag,
            "lag_left": lag,
            "caught_up": lag == 0,
            "catch_up_seconds": elapsed,
            "events_per_second": projected / elapsed if projected else None,
            "server_cpu_seconds": self.cpu_seconds() - cpu0,
        }

    def stop(self) -> None:
        """Stop the server (SIGINT, as Ctrl-C), drop the PostgreSQL schema."""
        stop_server(self.process, self.log, self.schema, 30)


def load(
    server: Server, path: str, events_file: Path, *, per_request: int, concurrency: int, max_seconds: float
) -> dict[str, Any]:
    """Run ``loadgen.py`` against ``server``; its figures plus the server's CPU time."""
    command = [
        sys.executable,
        str(HERE / "loadgen.py"),
        "--port",
        str(server.port),
        "--path",
        path,
        "--bodies",
        str(events_file),
        "--per-request",
        str(per_request),
        "--concurrency",
        str(concurrency),
        "--max-seconds",
        str(max_seconds),
    ]
    cpu0 = server.cpu_seconds()
    done = subprocess.run(command, capture_output=True, check=False)
    cpu = server.cpu_seconds() - cpu0
    if done.returncode != 0:
        msg = f"the load generator failed:\n{done.stderr.decode(errors='replace')}"
        raise RuntimeError(msg)
    result = json.loads(done.stdout)
    result["server_cpu_seconds"] = cpu
    acknowledged = result["events_acknowledged"]
    result["server_cpu_us_per_event"] = cpu / acknowledged * 1e6 if acknowledged else None
    return result


# ---- one backend -----------------------------------------------------------------------------------


def run_backend(
    backend: str,
    single_events: int,
    batch_events: int,
    *,
    max_seconds: float,
    catch_up_seconds: float,
    profile: bool = False,
    projection: bool = True,
    batch_clients: int = BATCH_CLIENTS,
) -> dict[str, Any]:
    """All measurements for one backend."""
    print(f"\n== {backend}: generating {single_events:,} + {batch_events:,} events", flush=True)
    single = eventgen.generate(single_events, start=0)
    batch = eventgen.generate(batch_events, start=single_events)
    everything = single + batch
    size = eventgen.mean_size(everything)
    print(f"   mean event size {size:.0f} bytes", flush=True)
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"tl-bench-{backend}-") as tmp:
        directory = Path(tmp)
        print(
            f"   raw insert baseline ({len(everything):,} rows, {RAW_ROWS_PER_TX} per transaction)",
            flush=True,
        )
        raw = raw_sqlite(everything, directory) if backend == "sqlite" else raw_postgresql(everything)
        print(f"   raw: {raw['rows_per_second']:,.0f} rows/s", flush=True)
        single_file = directory / "single.jsonl"
        batch_file = directory / "batch.jsonl"
        single_file.write_bytes(b"\n".join(single) + b"\n")
        batch_file.write_bytes(b"\n".join(batch) + b"\n")
        del single, batch, everything
        profile_path = OUT / f"profile-{backend}.txt" if profile else None
        server = Server(
            backend, directory, OUT / f"server-{backend}.log", profile_path, projection=projection
        )
        try:
            print(f"   server up on port {server.port}; single-event POSTs x{SINGLE_CLIENTS}", flush=True)
            single_result = load(
                server,
                "/api/v1/lineage",
                single_file,
                per_request=1,
                concurrency=SINGLE_CLIENTS,
                max_seconds=max_seconds,
            )
            print(f"   single: {single_result['events_per_second']:,.0f} events/s", flush=True)
            single_projection = server.wait_projected(catch_up_seconds if projection else 0)
            print(f"   batch POSTs ({BATCH_SIZE} events) x{batch_clients}", flush=True)
            writer_before = server.health().get("writer", {})
            batch_result = load(
                server,
                "/api/v1/lineage/batch",
                batch_file,
                per_request=BATCH_SIZE,
                concurrency=batch_clients,
                max_seconds=max_seconds,
            )
            print(f"   batch: {batch_result['events_per_second']:,.0f} events/s", flush=True)
            writer_after = server.health().get("writer", {})
            batch_result["writer"] = {
                key: round(writer_after[key] - writer_before.get(key, 0), 3)
                for key in writer_after
                if key != "largestGroup"
            }
            batch_result["writer"]["largestGroup"] = writer_after.get("largestGroup")
            batch_projection = server.wait_projected(catch_up_seconds if projection else 0)
            health = server.health()
            listed = server.total_count()
            print(f"   server log: {server.log.name}", flush=True)
        finally:
            server.stop()
    acknowledged = single_result["events_acknowledged"] + batch_result["events_acknowledged"]
    sent = single_result["events_sent"] + batch_result["events_sent"]
    raw_rate = raw["rows_per_second"]
    return {
        "backend": backend,
        "projection_running": projection,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "event_mean_bytes": size,
        "raw_insert": raw,
        "single": {
            **single_result,
            "clients": SINGLE_CLIENTS,
            "ratio_to_raw": single_result["events_per_second"] / raw_rate,
        },
        "batch": {
            **batch_result,
            "clients": batch_clients,
            "events_per_request": BATCH_SIZE,
            "ratio_to_raw": batch_result["events_per_second"] / raw_rate,
        },
        "projection": {"after_single": single_projection, "after_batch": batch_projection},
        "verification": {
            "events_sent": sent,
            "events_acknowledged": acknowledged,
            "server_events_health": health["events"],
            "server_events_listed": listed,
            "nothing_lost": health["events"] == acknowledged == sent and listed == acknowledged,
        },
        "targets": {
            "single_events_per_second": TARGET_SINGLE,
            "batch_events_per_second": TARGET_BATCH,
            "ratio_to_raw": TARGET_RATIO,
        },
    }


# ---- report ----------------------------------------------------------------------------------------


def _mark(ok: bool) -> str:
    return "ok" if ok else "BELOW"


def print_report(results: list[dict[str, Any]]) -> None:
    """A table of every figure, ratio and target."""
    print()
    for r in results:
        raw = r["raw_insert"]["rows_per_second"]
        s, b = r["single"], r["batch"]
        cpus, size = r["machine"]["cpus"], r["event_mean_bytes"]
        note = "" if r["projection_running"] else ", DIAGNOSTIC: projector off"
        print(f"=== ingest, {r['backend']} ({cpus} CPUs, mean event {size:.0f} B{note})")
        print(f"{'measure':<44}{'events/s':>12}{'ratio':>8}{'target':>14}  ")
        print(f"{'raw insert (plain SQL, 100 rows/tx)':<44}{raw:>12,.0f}{1.0:>8.2f}{'':>14}")
        print(
            f"{'single POST, 8 keep-alive clients':<44}"
            f"{s['events_per_second']:>12,.0f}{s['ratio_to_raw']:>8.2f}"
            f"{'>= 2,000':>14}  {_mark(s['events_per_second'] >= TARGET_SINGLE)}"
            f"{'' if s['ratio_to_raw'] >= TARGET_RATIO else ' (ratio < 0.25)'}"
        )
        print(
            f"{'batch POST (100/request), ' + str(b['clients']) + ' clients':<44}"
            f"{b['events_per_second']:>12,.0f}{b['ratio_to_raw']:>8.2f}"
            f"{'>= 20,000':>14}  {_mark(b['events_per_second'] >= TARGET_BATCH)}"
            f"{'' if b['ratio_to_raw'] >= TARGET_RATIO else ' (ratio < 0.25)'}"
        )
        lat = s["latency_ms"]
        blat = b["latency_ms"]
        print(
            f"  single latency ms: p50 {lat['p50']:.2f}  p90 {lat['p90']:.2f}  p99 {lat['p99']:.2f}  "
            f"max {lat['max']:.1f}; statuses {s['statuses']}"
        )
        print(
            f"  batch latency ms (per request): p50 {blat['p50']:.1f}  p99 {blat['p99']:.1f}; "
            f"statuses {b['statuses']}"
        )
        print(
            f"  server CPU per event: single {s['server_cpu_us_per_event']:.0f} us, "
            f"batch {b['server_cpu_us_per_event']:.0f} us; load generator CPU: "
            f"single {s['client_cpu_seconds']:.1f} s / {s['seconds']:.1f} s, "
            f"batch {b['client_cpu_seconds']:.1f} s / {b['seconds']:.1f} s"
        )
        if b.get("writer"):
            w = b["writer"]
            print(
                f"  writer during batch: {w['appends']:,} appends of {w['appendedEvents']:,} events in "
                f"{w['appendSeconds']:.1f} s (largest group {w['largestGroup']}), "
                f"{w['projectionSteps']} projection steps of {w['projectedEvents']:,} events in "
                f"{w['projectionSeconds']:.1f} s"
            )
        for phase, p in r["projection"].items():
            rate = p["events_per_second"]
            state = "caught up" if p["caught_up"] else f"NOT caught up (lag {p['lag_left']:,} left)"
            print(
                f"  projection {phase.replace('_', ' ')}: lag {p['lag_after_ingest']:,}, {state} after "
                f"{p['catch_up_seconds']:.1f} s" + (f" ({rate:,.0f} events/s)" if rate else "")
            )
        v = r["verification"]
        print(
            f"  verification: sent {v['events_sent']:,}, acknowledged {v['events_acknowledged']:,}, "
            f"stored {v['server_events_health']:,} (listed {v['server_events_listed']:,}): "
            + ("nothing lost" if v["nothing_lost"] else "MISMATCH")
        )
        print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--events", type=int, help="single-event POSTs (the batch phase sends 10x)")
    parser.add_argument("--quick", action="store_true", help="3,000 single and 30,000 batch events")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=30.0,
        help="stop issuing requests in a phase after this many seconds (0: no limit; default 30)",
    )
    parser.add_argument(
        "--catch-up-seconds",
        type=float,
        default=120.0,
        help="how long to wait for the projection to catch up after each phase (default 120)",
    )
    parser.add_argument(
        "--no-projection",
        action="store_true",
        help="diagnostic: serve the same app with the projector switched off (ingest path alone)",
    )
    parser.add_argument(
        "--batch-clients",
        type=int,
        default=BATCH_CLIENTS,
        help=f"concurrent connections of the batch phase (default {BATCH_CLIENTS})",
    )
    parser.add_argument(
        "--profile", action="store_true", help="run the server under py-spy (benchmarks/out/profile-*.txt)"
    )
    args = parser.parse_args(argv)
    if args.profile and not Path(sys.executable).with_name("py-spy").exists():
        parser.error(
            "--profile runs the server under py-spy, which is not installed in this environment; "
            f"install it with: {sys.executable} -m pip install py-spy"
        )
    single = args.events or (3_000 if args.quick else 20_000)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = []
    for backend in backends:
        result = run_backend(
            backend,
            single,
            single * 10,
            max_seconds=args.max_seconds,
            catch_up_seconds=args.catch_up_seconds,
            profile=args.profile,
            projection=not args.no_projection,
            batch_clients=args.batch_clients,
        )
        suffix = "-no-projection" if args.no_projection else ""
        (OUT / f"ingest-{backend}{suffix}.json").write_text(json.dumps(result, indent=2) + "\n")
        results.append(result)
    print_report(results)
    ok = all(r["verification"]["nothing_lost"] for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
