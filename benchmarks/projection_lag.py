"""Does the read side keep up with ingest? Fold rate against batch ingest, lag under sustained load,
read-your-writes throughput, and three servers on one PostgreSQL store.

For each backend (SQLite, PostgreSQL), on the real server in a subprocess (``threadline.server.
run_server``, fresh store, auth none), with the load from ``loadgen.py`` in its own process:

1. **batch**: batches of 100 events from 8 connections for ``--seconds`` (the projector runs as it
   does in production): the batch ingest rate;
2. **fold**: then how fast the projector folds what is left (the lag after the load, divided by the
   time until ``projectionLag`` is 0): the fold rate, and **fold / ingest**; and, measurable even when
   the projector kept up during the load (nothing left), the events the writer folded per second of
   its projection steps (health's ``writer`` figures) over the batch ingest rate;
3. **sustained**: batches offered at ``--load`` (80 %) of the batch rate of step 1 for
   ``--sustain-seconds``, while a probe times a read every 0.25 s: a read waits for the projections
   to hold everything acknowledged before it (read-your-writes; ``read_wait`` set to 60 s here), so
   its wait *is* the projection lag at that moment. p50/p99/max of the probe, and the lag at the end;
4. **read-your-writes**: single-event POSTs from 8 connections, each followed on the same connection
   by ``GET /api/v1/jobs/runs/{runId}`` of the event it posted: events/s and how many reads missed;
   then the same from one connection alone, whose rate is the latency of a POST and its read;
5. (PostgreSQL) **three servers** on one store, batches through each of them at once: the aggregate
   batch rate against step 1's single server.

Usage::

    .venv/bin/python benchmarks/projection_lag.py [--backend sqlite|postgresql|both] [--seconds 10]
        [--sustain-seconds 20] [--load 0.8] [--no-three]

Results go to ``benchmarks/out/projection-lag.json``. The machine is shared: compare the ratios, which
are taken side by side in one run, and note the load (printed).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import eventgen  # noqa: E402
from ingest import OUT, _get_json, free_port, fresh_store_url, stop_server  # noqa: E402

BATCH = 100
CLIENTS = 8
PROBE_SECONDS = 0.25
TARGET_RATIO = 1.0
TARGET_LAG_P99 = 2.0
TARGET_RYW = 1_500


class Server:
    """One ``run_server`` in a subprocess on ``store_url``."""

    def __init__(self, store_url: str, log_path: Path, *, read_wait: float) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        # A server from before read-your-writes (no read_wait) and from before ServerConfig runs too
        # (``PYTHONPATH=<older checkout>/src``, for before/after figures): it is started the way it
        # takes its settings.
        settings = (
            f"host='127.0.0.1', port={self.port}, auth='none', max_body_bytes=64 * 1024 * 1024, "
            "max_batch_events=10_000, log_level='warning'"
        )
        code = (
            "from threadline import settings; from threadline.server import run_server\n"
            "if hasattr(settings, 'ServerConfig'):\n"
            "    import dataclasses\n"
            f"    config = settings.ServerConfig(store={store_url!r}, {settings})\n"
            "    if any(f.name == 'read_wait' for f in dataclasses.fields(config)):\n"
            f"        config = dataclasses.replace(config, read_wait={read_wait!r})\n"
            "    run_server(config)\n"
            "else:\n"
            f"    run_server({store_url!r}, {settings})\n"
        )
        self.log: IO[bytes] = log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-c", code], stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 180  # a crowded machine starts a server slowly
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                msg = f"the server exited with {self.process.returncode}; see {log_path}"
                raise RuntimeError(msg)
            try:
                _get_json(f"{self.base}/api/v1/health", timeout=1.0)
                return
            except OSError:
                time.sleep(0.1)
        self.process.kill()  # not left running behind the benchmark
        self.process.wait()
        msg = f"the server did not start; see {log_path}"
        raise RuntimeError(msg)

    def health(self) -> dict[str, Any]:
        """The health document."""
        return _get_json(f"{self.base}/api/v1/health", timeout=120.0)

    def stop(self, schema: str | None = None) -> None:
        """Stop it (SIGINT) and drop ``schema`` if given."""
        stop_server(self.process, self.log, schema, 30)


def _loadgen(
    server: Server,
    path: str,
    bodies: Path,
    *,
    per_request: int,
    seconds: float,
    rate: float = 0.0,
    read_back: bool = False,
    clients: int = CLIENTS,
) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        str(HERE / "loadgen.py"),
        "--port",
        str(server.port),
        "--path",
        path,
        "--bodies",
        str(bodies),
        "--per-request",
        str(per_request),
        "--concurrency",
        str(clients),
        "--max-seconds",
        str(seconds),
        "--rate",
        str(rate),
    ]
    if read_back:
        command.append("--read-back")
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _result(process: subprocess.Popen[bytes]) -> dict[str, Any]:
    out, err = process.communicate()
    if process.returncode != 0:
        msg = f"the load generator failed:\n{err.decode(errors='replace')}"
        raise RuntimeError(msg)
    return json.loads(out)


def _write(events: list[bytes], path: Path) -> Path:
    path.write_bytes(b"\n".join(events) + b"\n")
    return path


def _catch_up(server: Server, timeout: float = 600.0) -> dict[str, Any]:
    start = time.perf_counter()
    first = lag = int(server.health()["projectionLag"])
    while lag > 0 and time.perf_counter() - start < timeout:
        time.sleep(0.1)
        lag = int(server.health()["projectionLag"])
    elapsed = time.perf_counter() - start
    return {
        "lag_after_load": first,
        "seconds": elapsed,
        "caught_up": lag == 0,
        "events_per_second": (first - lag) / elapsed if first else None,
    }


def _probe(server: Server, stop: threading.Event, waits: list[float], lags: list[int]) -> None:
    """Every ``PROBE_SECONDS``: time a read (how long the server waits for its projections) and note
    ``projectionLag`` (events acknowledged, not folded)."""
    url = f"{server.base}/api/v1/namespaces"
    while not stop.wait(PROBE_SECONDS):
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(url, timeout=120) as response:
                response.read()
            waits.append(time.perf_counter() - started)
            lags.append(int(server.health()["projectionLag"]))
        except OSError:  # the server is gone (the phase failed): the phase says why
            return


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def run_backend(backend: str, args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    """Every measurement on one backend."""
    result: dict[str, Any] = {"backend": backend}
    batch_events = int(args.seconds * 25_000)  # more than a server takes in that time
    ryw_events = int(args.seconds * 3_000)
    alone_events = ryw_events // 4
    print(f"\n== {backend}: generating events", flush=True)
    batch_file = _write(eventgen.generate(batch_events, start=0), directory / "batch.jsonl")
    ryw_file = _write(eventgen.generate(ryw_events, start=batch_events), directory / "ryw.jsonl")
    # one client alone: its round trips (a POST, then the GET that waits for its fold) one after the other
    alone_file = _write(
        eventgen.generate(alone_events, start=batch_events + ryw_events), directory / "ryw-alone.jsonl"
    )
    start = batch_events + ryw_events + alone_events
    OUT.mkdir(exist_ok=True)
    store_url, schema = fresh_store_url(backend, directory / f"{backend}.db", "tl_lag")
    server = Server(store_url, OUT / f"lag-server-{backend}.log", read_wait=60.0)
    try:
        print(f"   batch ingest ({BATCH}/request x{CLIENTS}) for {args.seconds:.0f} s", flush=True)
        batch = _result(
            _loadgen(server, "/api/v1/lineage/batch", batch_file, per_request=BATCH, seconds=args.seconds)
        )
        fold = _catch_up(server)
        # Nothing left to fold when the load stopped: the projector kept up during it (no rate to take).
        ratio = fold["events_per_second"] / batch["events_per_second"] if fold["events_per_second"] else None
        # What the writer thread spent in projection steps so far (batch phase and catch-up): its fold
        # rate whether or not anything was left when the load stopped.
        writer = server.health()["writer"]
        fold["writer_events_per_second"] = writer["projectedEvents"] / max(writer["projectionSeconds"], 1e-9)
        result["batch"] = batch
        result["fold"] = fold
        result["fold_to_ingest"] = ratio
        result["writer_fold_to_ingest"] = fold["writer_events_per_second"] / batch["events_per_second"]
        print(
            f"   batch {batch['events_per_second']:,.0f} events/s; "
            f"fold {fold['events_per_second'] or 0:,.0f} events/s "
            f"(lag {fold['lag_after_load']:,} after the load); fold/ingest "
            f"{'kept up' if ratio is None else f'{ratio:.2f}'}; writer's fold "
            f"{fold['writer_events_per_second']:,.0f} events/s of step time "
            f"({result['writer_fold_to_ingest']:.2f} of ingest)",
            flush=True,
        )

        rate = args.load * batch["events_per_second"]
        sustain_events = int(rate * args.sustain_seconds * 1.05) + BATCH
        sustain_file = _write(eventgen.generate(sustain_events, start=start), directory / "sustain.jsonl")
        start += sustain_events
        print(f"   sustained: {rate:,.0f} events/s offered for {args.sustain_seconds:.0f} s", flush=True)
        waits: list[float] = []
        lags: list[int] = []
        stop = threading.Event()
        prober = threading.Thread(target=_probe, args=(server, stop, waits, lags), daemon=True)
        prober.start()
        sustained = _result(
            _loadgen(
                server,
                "/api/v1/lineage/batch",
                sustain_file,
                per_request=BATCH,
                seconds=args.sustain_seconds,
                rate=rate,
            )
        )
        stop.set()
        prober.join(130)
        end_lag = int(server.health()["projectionLag"])
        tail = waits[-max(1, len(waits) // 5) :]
        result["sustained"] = {
            **sustained,
            "offered_events_per_second": rate,
            "read_wait_seconds": {
                "p50": _percentile(waits, 0.5),
                "p99": _percentile(waits, 0.99),
                "max": max(waits, default=0.0),
                "p99_last_fifth": _percentile(tail, 0.99),
            },
            "lag_events_at_end": end_lag,
            # The same lag from health: events not folded, over the offered rate.
            "lag_seconds_from_events": {
                "p50": _percentile(lags, 0.5) / rate,
                "p99": _percentile(lags, 0.99) / rate,
                "max": max(lags, default=0) / rate,
            },
        }
        print(
            f"   sustained: {sustained['events_per_second']:,.0f} events/s acknowledged; projection lag "
            f"(read wait) p50 {_percentile(waits, 0.5):.2f} s, p99 {_percentile(waits, 0.99):.2f} s, "
            f"max {max(waits, default=0):.2f} s; lag events/rate p99 "
            f"{_percentile(lags, 0.99) / rate:.2f} s; {end_lag:,} events behind at the end",
            flush=True,
        )
        _catch_up(server)

        print(f"   read-your-writes: single POST + GET of its run, x{CLIENTS}", flush=True)
        ryw = _result(
            _loadgen(server, "/api/v1/lineage", ryw_file, per_request=1, seconds=args.seconds, read_back=True)
        )
        result["read_your_writes"] = ryw
        print(
            f"   read-your-writes: {ryw['events_per_second']:,.0f} events/s; "
            f"reads {ryw['read_back_statuses']}",
            flush=True,
        )
        print("   read-your-writes: the same, one client alone", flush=True)
        alone = _result(
            _loadgen(
                server,
                "/api/v1/lineage",
                alone_file,
                per_request=1,
                seconds=args.seconds,
                read_back=True,
                clients=1,
            )
        )
        result["read_your_writes_alone"] = alone
        print(
            f"   read-your-writes alone: {alone['events_per_second']:,.0f} events/s "
            f"({1000 / max(alone['events_per_second'], 1e-9):.1f} ms a POST and its read); "
            f"reads {alone['read_back_statuses']}",
            flush=True,
        )
        result["health"] = server.health()
    finally:
        server.stop(None if args.three and backend == "postgresql" else schema)

    if args.three and backend == "postgresql":
        print("   three servers on the store, batches through each", flush=True)
        three_file = _write(eventgen.generate(batch_events, start=start), directory / "three.jsonl")
        servers = [Server(store_url, OUT / f"lag-server-three-{i}.log", read_wait=60.0) for i in range(3)]
        try:
            parts = [three_file.with_suffix(f".{i}") for i in range(3)]
            lines = three_file.read_bytes().split(b"\n")
            for i, part in enumerate(parts):
                part.write_bytes(b"\n".join(lines[i::3]) + b"\n")
            loads = [
                _loadgen(s, "/api/v1/lineage/batch", part, per_request=BATCH, seconds=args.seconds)
                for s, part in zip(servers, parts, strict=True)
            ]
            each = [_result(load) for load in loads]
            total = sum(r["events_acknowledged"] for r in each)
            seconds = max(r["seconds"] for r in each)
            result["three_servers"] = {
                "events_per_second": total / seconds,
                "per_server": [r["events_per_second"] for r in each],
                "against_one": total / seconds / batch["events_per_second"],
            }
            print(
                f"   three servers: {total / seconds:,.0f} events/s in all "
                f"({result['three_servers']['against_one']:.2f}x one server)",
                flush=True,
            )
        finally:
            for s in servers[:-1]:
                s.stop()
            servers[-1].stop(schema)
    return result


def main(argv: list[str] | None = None) -> int:
    """Run the measurements; print and save them."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the batch and RYW phases")
    parser.add_argument("--sustain-seconds", type=float, default=20.0, help="length of the sustained phase")
    parser.add_argument("--load", type=float, default=0.8, help="sustained load, share of the batch rate")
    parser.add_argument("--no-three", dest="three", action="store_false", help="skip the three-server phase")
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="tl-lag-") as tmp:
        results = [run_backend(backend, args, Path(tmp)) for backend in backends]
    load_after = os.getloadavg()
    OUT.mkdir(exist_ok=True)
    (OUT / "projection-lag.json").write_text(
        json.dumps({"load_before": load_before, "load_after": load_after, "results": results}, indent=2)
    )
    print(f"\nload average before {load_before[0]:.1f}, after {load_after[0]:.1f} (2 cores)")
    print(f"{'measure':<48}" + "".join(f"{r['backend']:>14}" for r in results) + "   target")
    rows = [
        ("batch ingest, events/s", lambda r: f"{r['batch']['events_per_second']:,.0f}", ""),
        ("fold, events/s", lambda r: f"{r['fold']['events_per_second'] or 0:,.0f}", ""),
        (
            "fold / batch ingest",
            lambda r: "kept up" if r["fold_to_ingest"] is None else f"{r['fold_to_ingest']:.2f}",
            f">= {TARGET_RATIO}",
        ),
        (
            "writer's fold, events/s of projection steps",
            lambda r: f"{r['fold']['writer_events_per_second']:,.0f}",
            "",
        ),
        ("  / batch ingest", lambda r: f"{r['writer_fold_to_ingest']:.2f}", f">= {TARGET_RATIO}"),
        (
            f"sustained at {args.load:.0%}: acknowledged events/s",
            lambda r: f"{r['sustained']['events_per_second']:,.0f}",
            "",
        ),
        (
            "  projection lag p99 (s)",
            lambda r: f"{r['sustained']['read_wait_seconds']['p99']:.2f}",
            f"< {TARGET_LAG_P99}",
        ),
        (
            "  lag p99 from health: events / rate (s)",
            lambda r: f"{r['sustained']['lag_seconds_from_events']['p99']:.2f}",
            f"< {TARGET_LAG_P99}",
        ),
        ("  lag at the end (events)", lambda r: f"{r['sustained']['lag_events_at_end']:,}", ""),
        (
            "read-your-writes x8, events/s",
            lambda r: f"{r['read_your_writes']['events_per_second']:,.0f}",
            f">= {TARGET_RYW:,} (SQLite)",
        ),
        (
            "  reads that missed",
            lambda r: str(
                sum(v for k, v in r["read_your_writes"]["read_back_statuses"].items() if k != "200")
            ),
            "0",
        ),
        (
            "read-your-writes, one client: ms a round",
            lambda r: f"{1000 / max(r['read_your_writes_alone']['events_per_second'], 1e-9):.1f}",
            "",
        ),
        (
            "three servers, events/s (x one)",
            lambda r: (
                f"{r['three_servers']['events_per_second']:,.0f} ({r['three_servers']['against_one']:.2f}x)"
                if "three_servers" in r
                else "-"
            ),
            "",
        ),
    ]
    for label, cell, target in rows:
        print(f"{label:<48}" + "".join(f"{cell(r):>14}" for r in results) + f"   {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
