"""Push between sites: throughput, the cost of a push with nothing new, and many sites at once.

For each backend of the *server* (SQLite, PostgreSQL) this script

1. fills a local site (a SQLite store, as a laptop or an edge site has) with ``--events`` realistic
   RunEvents (below), parsed and appended in big batches before any clock starts; the append rate of
   that fill is reported as the local store's own rate;
2. **baseline**: starts the real server (``threadline serve``, auth none) on a fresh store and sends it
   the same events, read from the site's log beforehand, through the ordinary ingest endpoint
   ``POST /api/v1/lineage/batch``: the same batches (size and zstd compression as push sends them) from
   as many concurrent connections as push keeps requests in flight. That is what the server can take
   from any client; push should come close to it;
3. **push**: starts another fresh server and runs ``threadline.sync.push.push`` from the site to it:
   events/s (aim: >= 20,000) and its ratio to the baseline; then checks the server holds every event
   once;
4. **push with nothing new**: pushes again, several times, and reports the median and the worst
   (aim: < 100 ms), and the whole ``threadline push URL`` command once (interpreter start included);
   then **pull**: a fresh site pulls everything from that server (events/s), and pulls again with
   nothing new, several times (median and worst);
5. **concurrent sites**: ``--sites`` sites (default 10) with ``--site-events`` events each (default
   100,000) push at once, each from its own process, to one fresh server: the total time from the
   start signal to the last push's end, then, on the server's database, count(*) == count(DISTINCT id)
   == sites x site-events and the set of ids equals the union of the sites' ids.

The events: each site runs 100 pipelines of 10 jobs (its own namespace); each run of a job sends a
START (``parent``, ``nominalTime`` and ``processing_engine`` run facets, ``jobType`` and ``sql`` job
facets, 1-3 inputs, 1-2 outputs) and a COMPLETE (the same plus a ``schema`` facet of 6-10 fields on each
output, ``columnLineage`` on one in two, ``outputStatistics``, ``dataQualityMetrics`` on the inputs);
one run in 30 ends in FAIL with an ``errorMessage`` facet. Run ids are fresh UUIDs, so every event is
unique. Mean size about 2 KB.

Usage::

    .venv/bin/python benchmarks/sync.py [--backend sqlite|postgresql|both] [--events N]
        [--sites S] [--site-events M] [--batch B] [--in-flight K] [--parse-workers W]

Results go to ``benchmarks/out/sync-<backend>.json``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import httpx  # noqa: E402
import zstandard  # noqa: E402

import eventgen  # noqa: E402
from ingest import free_port, fresh_store_url, stop_server  # noqa: E402
from threadline.openlineage.events import ParsedEvent, parse_event  # noqa: E402
from threadline.store import codec, open_store  # noqa: E402
from threadline.store.sql import SqlStore  # noqa: E402
from threadline.store.sync import read_after, site_id  # noqa: E402
from threadline.sync.pull import pull  # noqa: E402
from threadline.sync.push import BATCH, IN_FLIGHT, PushReport, push  # noqa: E402
from threadline.sync.remotes import ServerRemote  # noqa: E402

OUT = HERE / "out"
THREADLINE = Path(sys.executable).with_name("threadline")
TARGET_PUSH = 20_000
TARGET_NOOP_MS = 100.0
NOOP_REPEATS = 7
FILL_BATCH = 10_000
MAX_BODY_BYTES = 64 * 1024 * 1024

# ---- events ----------------------------------------------------------------------------------------

PRODUCER = "https://github.com/threadline-dev/threadline/benchmarks/sync"
SPEC = "https://openlineage.io/spec"
SCHEMA_URL = f"{SPEC}/2-0-2/OpenLineage.json#/$defs/RunEvent"
PIPELINES = 100
JOBS_PER_PIPELINE = 10
BASE_MS = 1_793_577_600_000  # 2026-11-02T00:00:00Z
_TYPES = ["int64", "string", "double", "bool", "timestamp[us]", "date32", "int32", "decimal(18,2)"]
_WORDS = ["customer", "order", "amount", "status", "region", "score", "event", "created", "updated", "plan"]


def _facet(spec_version: str, facet: str, **fields: Any) -> dict[str, Any]:
    url = f"{SPEC}/facets/{spec_version}/{facet}.json#/$defs/{facet}"
    return {"_producer": PRODUCER, "_schemaURL": url, **fields}


def _iso(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}Z"


def _jobs(site: int, rng: random.Random) -> list[dict[str, Any]]:
    """The site's jobs: each reads 1-3 datasets (outputs of its pipeline's earlier jobs or sources)
    and writes 1-2, with a schema per output."""
    namespace = f"site{site:02d}"
    lake = f"s3://site{site:02d}-lake"
    jobs = []
    for pipeline in range(PIPELINES):
        written: list[str] = []
        for step in range(JOBS_PER_PIPELINE):
            name = f"pipeline{pipeline:03d}.step{step:02d}"
            pool = written[-4:] or [f"raw/p{pipeline:03d}/src{n}" for n in range(3)]
            inputs = rng.sample(pool, min(len(pool), rng.randint(1, 3)))
            outputs = [f"p{pipeline:03d}/s{step:02d}/out{n}" for n in range(rng.randint(1, 2))]
            written += outputs
            schemas = {
                out: [(f"{rng.choice(_WORDS)}_{n}", rng.choice(_TYPES)) for n in range(rng.randint(6, 10))]
                for out in outputs
            }
            jobs.append(
                {
                    "namespace": namespace,
                    "lake": lake,
                    "name": name,
                    "parent": f"pipeline{pipeline:03d}",
                    "inputs": inputs,
                    "outputs": outputs,
                    "schemas": schemas,
                    "sql": f"INSERT INTO {outputs[0]} SELECT * FROM {' JOIN '.join(inputs)} "
                    f"WHERE updated_at >= :nominal_time  -- {name}",
                }
            )
    return jobs


def _run_event(
    job: dict[str, Any], kind: str, ms: int, run_id: str, parent_id: str, rng: random.Random
) -> dict[str, Any]:
    lake = job["lake"]
    complete = kind != "START"
    run_facets: dict[str, Any] = {
        "parent": _facet(
            "1-1-0",
            "ParentRunFacet",
            run={"runId": parent_id},
            job={"namespace": job["namespace"], "name": job["parent"]},
        ),
        "nominalTime": _facet("1-0-1", "NominalTimeRunFacet", nominalStartTime=_iso(ms - ms % 3_600_000)),
        "processing_engine": _facet("1-1-1", "ProcessingEngineRunFacet", version="3.5.1", name="spark"),
    }
    if kind == "FAIL":
        run_facets["errorMessage"] = _facet(
            "1-0-1",
            "ErrorMessageRunFacet",
            message=f"task {job['name']} failed: executor lost",
            programmingLanguage="python",
        )
    inputs = []
    for name in job["inputs"]:
        dataset: dict[str, Any] = {"namespace": lake, "name": name}
        if complete:
            rows = rng.randrange(10_000, 5_000_000)
            dataset["inputFacets"] = {
                "dataQualityMetrics": _facet(
                    "1-0-2",
                    "DataQualityMetricsInputDatasetFacet",
                    rowCount=rows,
                    bytes=rows * 64,
                    columnMetrics={"id": {"nullCount": 0, "distinctCount": rows}},
                )
            }
        inputs.append(dataset)
    outputs = []
    for index, name in enumerate(job["outputs"]):
        dataset = {"namespace": lake, "name": name}
        if complete:
            fields = job["schemas"][name]
            facets: dict[str, Any] = {
                "schema": _facet(
                    "1-1-1", "SchemaDatasetFacet", fields=[{"name": f, "type": t} for f, t in fields]
                )
            }
            if index == 0 and rng.random() < 0.5:
                facets["columnLineage"] = _facet(
                    "1-2-0",
                    "ColumnLineageDatasetFacet",
                    fields={
                        fields[0][0]: {
                            "inputFields": [
                                {
                                    "namespace": lake,
                                    "name": job["inputs"][0],
                                    "field": "id",
                                    "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}],
                                }
                            ]
                        }
                    },
                )
            dataset["facets"] = facets
            rows = rng.randrange(10_000, 5_000_000)
            dataset["outputFacets"] = {
                "outputStatistics": _facet(
                    "1-0-2", "OutputStatisticsOutputDatasetFacet", rowCount=rows, size=rows * 71
                )
            }
        outputs.append(dataset)
    return {
        "eventType": kind,
        "eventTime": _iso(ms),
        "run": {"runId": run_id, "facets": run_facets},
        "job": {
            "namespace": job["namespace"],
            "name": job["name"],
            "facets": {
                "jobType": _facet(
                    "2-0-3", "JobTypeJobFacet", processingType="BATCH", integration="SPARK", jobType="JOB"
                ),
                "sql": _facet("1-1-0", "SQLJobFacet", query=job["sql"], dialect="spark"),
            },
        },
        "inputs": inputs,
        "outputs": outputs,
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
    }


def site_events(site: int, start: int, count: int) -> Iterator[bytes]:
    """Events ``start`` to ``start + count`` of site ``site``: START/COMPLETE pairs (one run in 30
    FAILs) of its 1,000 jobs in turn, as compact JSON bytes. ``start`` must be even."""
    jobs = _jobs(site, random.Random(site))
    rng = random.Random(site * 1_000_003 + start)
    parents: dict[str, str] = {}
    for run in range(start // 2, (start + count + 1) // 2):
        job = jobs[run % len(jobs)]
        if run % len(jobs) == 0 or job["parent"] not in parents:
            parents[job["parent"]] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        run_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        ms = BASE_MS + run * 20
        end = "FAIL" if run % 30 == 29 else "COMPLETE"
        for index, (kind, at) in enumerate((("START", ms), (end, ms + rng.randrange(1, 20)))):
            if start <= 2 * run + index < start + count:
                doc = _run_event(job, kind, at, run_id, parents[job["parent"]], rng)
                yield json.dumps(doc, separators=(",", ":")).encode()


def _parsed_chunk(task: tuple[str, int, int, int]) -> list[ParsedEvent]:
    """Generate and parse events (in a pool worker), with the log's stored form already made."""
    mix, site, start, count = task
    events = (
        site_events(site, start, count)
        if mix == "sync"
        else eventgen.iter_events(count, seed=site, start=start)
    )
    parsed = []
    for raw in events:
        event = parse_event(raw)
        event.codec, event.payload = codec.encode(event.raw)
        parsed.append(event)
    return parsed


def fill_site(store: SqlStore, site: int, count: int, mix: str = "sync") -> dict[str, Any]:
    """Fill a site's store with ``count`` events of ``mix`` (generated and parsed in 2 processes,
    appended here in batches of ``FILL_BATCH``); the seconds taken, and the append rate alone."""
    tasks = [(mix, site, start, min(FILL_BATCH, count - start)) for start in range(0, count, FILL_BATCH)]
    started = time.perf_counter()
    append_seconds = 0.0
    size = 0
    problems = 0
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        for parsed in pool.imap(_parsed_chunk, tasks):
            size += sum(len(event.raw) for event in parsed)
            problems += sum(1 for event in parsed if event.problems)
            before = time.perf_counter()
            result = store.append(parsed)
            append_seconds += time.perf_counter() - before
            assert not result.duplicates, "generated events must be unique"
    return {
        "events": count,
        "seconds": time.perf_counter() - started,
        "append_seconds": append_seconds,
        "append_events_per_second": count / append_seconds if append_seconds else None,
        "mean_event_bytes": size / count if count else 0,
        "events_with_facet_problems": problems,
    }


# ---- servers ---------------------------------------------------------------------------------------


def _get_json(url: str, timeout: float = 30.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


class Server:
    """``threadline serve`` (auth none) on a fresh store: a SQLite file or a fresh PostgreSQL schema."""

    def __init__(self, backend: str, directory: Path, name: str, parse_workers: int, max_batch: int) -> None:
        self.backend = backend
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.store_url, self.schema = fresh_store_url(backend, directory / f"{name}.db", f"bench_sync_{name}")
        command = [
            str(THREADLINE),
            "serve",
            "--store",
            self.store_url,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--auth",
            "none",
            "--log-level",
            "warning",
            "--parse-workers",
            str(parse_workers),
            "--max-batch-events",
            str(max_batch),
            "--max-body-bytes",
            str(MAX_BODY_BYTES),
        ]
        OUT.mkdir(exist_ok=True)
        self.log = (OUT / f"sync-server-{backend}-{name}.log").open("wb")
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, cwd=directory)
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                msg = f"the server exited with {self.process.returncode}; see {self.log.name}"
                raise RuntimeError(msg)
            try:
                _get_json(f"{self.url}/api/v1/health", timeout=1.0)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    @property
    def remote(self) -> ServerRemote:
        return ServerRemote(self.url, self.url, None, "the benchmark")

    def writer_stats(self) -> dict[str, float]:
        """The writer thread's counters (``writer`` in ``GET /api/v1/health``)."""
        return dict(_get_json(f"{self.url}/api/v1/health", timeout=120).get("writer", {}))

    def cpu_seconds(self) -> float:
        """CPU seconds of the server and its parse workers so far (Linux /proc)."""
        total = 0.0
        pids = [self.process.pid]
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
            pids += [int(pid) for pid in children.split()]
        except OSError:
            pass
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def counts(self) -> tuple[int, int]:
        """(rows, distinct ids) of the server's log, read from its database directly."""
        store = open_store(self.store_url)
        try:
            with store.read() as connection:
                rows, distinct = connection.exec_driver_sql(
                    "SELECT count(*), count(DISTINCT id) FROM events"
                ).one()
        finally:
            store.close()
        return int(rows), int(distinct)

    def ids(self) -> set[str]:
        """Every id of the server's log."""
        store = open_store(self.store_url)
        try:
            with store.read() as connection:
                return {row[0] for row in connection.exec_driver_sql("SELECT id FROM events")}
        finally:
            store.close()

    def stop(self) -> None:
        """Stop the server (SIGINT), drop its PostgreSQL schema."""
        stop_server(self.process, self.log, self.schema, 60)


# ---- phases ----------------------------------------------------------------------------------------


def own_cpu_seconds() -> float:
    """CPU seconds of this process (the client: push, or the baseline's HTTP threads) so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def site_bodies(store: SqlStore, batch: int) -> list[bytes]:
    """The site's whole log as ingest bodies: JSON arrays of ``batch`` events, zstd level 1 (as push
    sends them)."""
    compressor = zstandard.ZstdCompressor(level=1)
    bodies = []
    after = 0
    while entries := read_after(store, after, batch):
        bodies.append(compressor.compress(b"[" + b",".join(entry.raw for entry in entries) + b"]"))
        after = entries[-1].seq
    return bodies


def batch_ingest(server: Server, bodies: list[bytes], clients: int) -> dict[str, Any]:
    """POST every body to ``/api/v1/lineage/batch`` from ``clients`` threads sharing one keep-alive
    client (as push's in-flight requests do); the counts the server answered."""
    headers = {"Content-Type": "application/json", "Content-Encoding": "zstd"}
    lock = threading.Lock()
    queue = list(reversed(bodies))
    totals = {"received": 0, "stored": 0, "duplicates": 0, "failed": 0, "errors": 0}

    def work(client: httpx.Client) -> None:
        while True:
            with lock:
                if not queue:
                    return
                body = queue.pop()
            response = client.post("/api/v1/lineage/batch", content=body, headers=headers)
            with lock:
                if response.status_code >= 400:
                    totals["errors"] += 1
                    continue
                answer = response.json()
                totals["received"] += int(answer["summary"]["received"])
                totals["failed"] += int(answer["summary"]["failed"])
                for event in answer["events"]:
                    totals["stored" if event["status"] == "created" else "duplicates"] += 1

    with httpx.Client(base_url=server.url, timeout=300) as client:
        threads = [threading.Thread(target=work, args=(client,)) for _ in range(clients)]
        cpu0, own0 = server.cpu_seconds(), own_cpu_seconds()
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
        cpu, own = server.cpu_seconds() - cpu0, own_cpu_seconds() - own0
    return {**totals, "seconds": seconds, "server_cpu_seconds": cpu, "client_cpu_seconds": own}


def timed_push(
    store: SqlStore, server: Server, batch: int, in_flight: int
) -> tuple[PushReport, float, float, float]:
    """A push; its report, seconds, the server's CPU seconds and the client's."""
    cpu0, own0 = server.cpu_seconds(), own_cpu_seconds()
    started = time.perf_counter()
    report = push(store, server.remote, batch=batch, in_flight=in_flight)
    seconds = time.perf_counter() - started
    return report, seconds, server.cpu_seconds() - cpu0, own_cpu_seconds() - own0


def noop_pushes(store: SqlStore, server: Server, batch: int, in_flight: int) -> dict[str, Any]:
    """Push again with nothing new, ``NOOP_REPEATS`` times (in-process), then the CLI once."""
    times = []
    for _ in range(NOOP_REPEATS):
        report, seconds, _, _ = timed_push(store, server, batch, in_flight)
        assert report.sent == 0, report
        times.append(seconds * 1000)
    started = time.perf_counter()
    done = subprocess.run(
        [str(THREADLINE), "push", server.url, "--store", store.url], capture_output=True, check=False
    )
    cli_ms = (time.perf_counter() - started) * 1000
    return {
        "ms": times,
        "median_ms": statistics.median(times),
        "max_ms": max(times),
        "cli_ms": cli_ms,
        "cli_ok": done.returncode == 0,
        "cli_output": (done.stdout + done.stderr).decode(errors="replace").strip()[-400:],
    }


def pulls(server: Server, directory: Path) -> dict[str, Any]:
    """A fresh site pulls the server's whole log, then pulls again with nothing new ``NOOP_REPEATS``
    times (in-process)."""
    store = open_store(f"sqlite:///{directory / 'puller.db'}")
    try:
        started = time.perf_counter()
        report = pull(store, server.remote)
        seconds = time.perf_counter() - started
        times = []
        for _ in range(NOOP_REPEATS):
            again = time.perf_counter()
            assert pull(store, server.remote).received == 0
            times.append((time.perf_counter() - again) * 1000)
    finally:
        store.close()
    return {
        "events": report.received,
        "stored": report.stored,
        "pages": report.pages,
        "seconds": seconds,
        "events_per_second": report.received / seconds if seconds else None,
        "nothing_new_ms": times,
        "nothing_new_median_ms": statistics.median(times),
        "nothing_new_max_ms": max(times),
    }


def _child_push(store_url: str, server_url: str, batch: int, in_flight: int) -> None:
    """A site's process in the concurrent phase: open the store, say ready, wait for "go", push."""
    store = open_store(store_url)
    site_id(store)
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.time()
    report = push(
        store, ServerRemote(server_url, server_url, None, "the benchmark"), batch=batch, in_flight=in_flight
    )
    ended = time.time()
    print(
        json.dumps(
            {
                "start": started,
                "end": ended,
                "sent": report.sent,
                "stored": report.stored,
                "duplicates": report.duplicates,
                "rejected": len(report.rejected),
            }
        ),
        flush=True,
    )


def store_ids(store: SqlStore) -> set[str]:
    with store.read() as connection:
        return {row[0] for row in connection.exec_driver_sql("SELECT id FROM events")}


def fill_sites(directory: Path, sites: int, per_site: int) -> list[str]:
    """``sites`` site stores of ``per_site`` events each (different jobs, namespaces and runs); their
    URLs. Each backend's server is fresh, so the same sites serve every backend."""
    urls = []
    started = time.perf_counter()
    for number in range(sites):
        url = f"sqlite:///{directory / f'site{number:02d}.db'}"
        store = open_store(url)
        fill_site(store, 100 + number, per_site)
        store.close()
        urls.append(url)
    seconds = time.perf_counter() - started
    print(f"   {sites} sites filled with {per_site:,} events each in {seconds:.0f} s", flush=True)
    return urls


def concurrent_sites(
    backend: str, directory: Path, urls: list[str], per_site: int, args: argparse.Namespace
) -> dict[str, Any]:
    """The sites of ``urls`` (``per_site`` events each) push at once, each from its own process."""
    sites = len(urls)
    server = Server(backend, directory, "many", args.parse_workers, args.max_batch)
    try:
        children = [
            subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--child-push",
                    url,
                    server.url,
                    "--batch",
                    str(args.batch),
                    "--in-flight",
                    str(args.in_flight),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
            for url in urls
        ]
        for child in children:
            assert child.stdout is not None
            line = child.stdout.readline()
            assert line.strip() == b"ready", line
        cpu0 = server.cpu_seconds()
        started = time.time()
        for child in children:
            assert child.stdin is not None
            child.stdin.write(b"go\n")
            child.stdin.flush()
        reports = []
        for child in children:
            out, _ = child.communicate()
            assert child.returncode == 0, f"a site's push failed ({child.returncode})"
            reports.append(json.loads(out))
        total = time.time() - started
        cpu = server.cpu_seconds() - cpu0
        rows, distinct = server.counts()
        expected: set[str] = set()
        for url in urls:
            store = open_store(url)
            expected |= store_ids(store)
            store.close()
        same_ids = server.ids() == expected
    finally:
        server.stop()
    want = sites * per_site
    return {
        "sites": sites,
        "events_per_site": per_site,
        "total_seconds": total,
        "events_per_second": want / total,
        "slowest_site_seconds": max(r["end"] - r["start"] for r in reports),
        "fastest_site_seconds": min(r["end"] - r["start"] for r in reports),
        "server_cpu_seconds": cpu,
        "sent": sum(r["sent"] for r in reports),
        "stored": sum(r["stored"] for r in reports),
        "duplicates_reported": sum(r["duplicates"] for r in reports),
        "rejected": sum(r["rejected"] for r in reports),
        "server_rows": rows,
        "server_distinct_ids": distinct,
        "server_ids_equal_union_of_sites": same_ids,
        "all_present_none_duplicated": rows == distinct == want and same_ids,
    }


def _delta(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    """What the writer did between two readings of its counters."""
    return {
        key: round(value - before.get(key, 0), 3) for key, value in after.items() if key != "largestGroup"
    }


def run_backend(
    backend: str,
    site: SqlStore,
    fill: dict[str, Any],
    site_urls: list[str],
    directory: Path,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Every measurement for one server backend."""
    n = fill["events"]
    load_before = os.getloadavg()
    print(f"\n== server on {backend} (load average {load_before[0]:.2f})", flush=True)
    bodies = site_bodies(site, args.batch)
    print(
        f"   baseline: {len(bodies):,} batch POSTs of {args.batch:,} events, {args.in_flight} clients",
        flush=True,
    )
    server = Server(backend, directory, "baseline", args.parse_workers, args.max_batch)
    try:
        writer0 = server.writer_stats()
        baseline = batch_ingest(server, bodies, args.in_flight)
        baseline["writer"] = _delta(server.writer_stats(), writer0)
        baseline_rows, baseline_distinct = server.counts()
    finally:
        server.stop()
    del bodies
    baseline["events_per_second"] = n / baseline["seconds"]
    baseline["cpu_us_per_event"] = (baseline["server_cpu_seconds"] + baseline["client_cpu_seconds"]) / n * 1e6
    baseline["all_stored"] = baseline["stored"] == baseline_rows == baseline_distinct == n
    print(f"   baseline: {baseline['events_per_second']:,.0f} events/s", flush=True)

    server = Server(backend, directory, "push", args.parse_workers, args.max_batch)
    try:
        print(f"   push of {n:,} events (batch {args.batch:,}, {args.in_flight} in flight)", flush=True)
        writer0 = server.writer_stats()
        report, seconds, cpu, own = timed_push(site, server, args.batch, args.in_flight)
        writer = _delta(server.writer_stats(), writer0)
        rate = n / seconds
        print(f"   push: {rate:,.0f} events/s ({seconds:.1f} s)", flush=True)
        rows, distinct = server.counts()
        noop = noop_pushes(site, server, args.batch, args.in_flight)
        print(f"   push with nothing new: median {noop['median_ms']:.1f} ms", flush=True)
        pulled = pulls(server, directory)
        print(
            f"   pull: {pulled['events_per_second']:,.0f} events/s; with nothing new: median "
            f"{pulled['nothing_new_median_ms']:.1f} ms",
            flush=True,
        )
    finally:
        server.stop()
    pushed = {
        "events": n,
        "seconds": seconds,
        "events_per_second": rate,
        "ratio_to_baseline": rate / baseline["events_per_second"],
        "ratio_to_site_append": rate / fill["append_events_per_second"],
        "batches": report.batches,
        "sent": report.sent,
        "stored": report.stored,
        "duplicates": report.duplicates,
        "rejected": len(report.rejected),
        "server_cpu_seconds": cpu,
        "client_cpu_seconds": own,
        "cpu_us_per_event": (cpu + own) / n * 1e6,
        "writer": writer,
        "server_rows": rows,
        "server_distinct_ids": distinct,
        "all_present_none_duplicated": rows == distinct == n == report.stored,
    }
    many = None
    if site_urls:
        print(f"   {args.sites} sites x {args.site_events:,} events pushing at once", flush=True)
        many = concurrent_sites(backend, directory, site_urls, args.site_events, args)
        print(f"   concurrent: {many['total_seconds']:.1f} s", flush=True)
    return {
        "backend": backend,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
        },
        "settings": {
            "batch": args.batch,
            "in_flight": args.in_flight,
            "parse_workers": args.parse_workers,
            "max_batch_events": args.max_batch,
        },
        "site_fill": fill,
        "baseline_batch_ingest": baseline,
        "push": pushed,
        "push_nothing_new": noop,
        "pull": pulled,
        "concurrent_sites": many,
        "targets": {"push_events_per_second": TARGET_PUSH, "push_nothing_new_ms": TARGET_NOOP_MS},
    }


# ---- report ----------------------------------------------------------------------------------------


def _mark(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def print_report(results: list[dict[str, Any]]) -> None:
    """Every figure, its ratio to the baseline and its target."""
    print()
    for r in results:
        f, b, p, z, m = (
            r["site_fill"],
            r["baseline_batch_ingest"],
            r["push"],
            r["push_nothing_new"],
            r["concurrent_sites"],
        )
        s = r["settings"]
        machine = r["machine"]
        before = ", ".join(f"{x:.2f}" for x in machine["load_average_before"])
        after = ", ".join(f"{x:.2f}" for x in machine["load_average_after"])
        print(
            f"=== sync, server on {r['backend']} ({machine['cpus']} CPUs; load average {before} before, "
            f"{after} after; batch {s['batch']:,}, {s['in_flight']} in flight, "
            f"{s['parse_workers']} parse workers; mean event {f['mean_event_bytes']:.0f} B)"
        )
        print(f"{'measure':<50}{'events/s':>10}{'ratio':>7}{'CPU us/ev':>11}{'target':>11}")
        print(f"{'site store append (local SQLite, 10,000/tx)':<50}{f['append_events_per_second']:>10,.0f}")
        print(
            f"{'baseline: batch POST ingest, same bodies':<50}{b['events_per_second']:>10,.0f}{1.0:>7.2f}"
            f"{b['cpu_us_per_event']:>11.0f}"
        )
        print(
            f"{'push ' + format(p['events'], ',') + ' events':<50}{p['events_per_second']:>10,.0f}"
            f"{p['ratio_to_baseline']:>7.2f}{p['cpu_us_per_event']:>11.0f}{'>= 20,000':>11}  "
            f"{_mark(p['events_per_second'] >= TARGET_PUSH)}"
        )
        print(
            f"  push: {p['seconds']:.1f} s, {p['batches']:,} batches; "
            f"CPU server {p['server_cpu_seconds']:.0f} s, client {p['client_cpu_seconds']:.0f} s; "
            f"server holds {p['server_rows']:,} rows, "
            f"{p['server_distinct_ids']:,} distinct: "
            + ("all present, none duplicated" if p["all_present_none_duplicated"] else "MISMATCH")
        )
        for label, w in (("push", p.get("writer")), ("baseline", b.get("writer"))):
            if w:
                print(
                    f"  server writer during {label}: appending {w['appendSeconds']:.0f} s "
                    f"({w['appends']:,} transactions), projecting {w['projectionSeconds']:.0f} s "
                    f"({w['projectedEvents']:,} events in {w['projectionSteps']:,} steps)"
                )
        print(
            f"  baseline: {b['seconds']:.1f} s, stored {b['stored']:,}, failed {b['failed']}, errors "
            f"{b['errors']}; CPU server {b['server_cpu_seconds']:.0f} s, "
            f"client {b['client_cpu_seconds']:.0f} s"
        )
        print(
            f"  push with nothing new: median {z['median_ms']:.1f} ms, max {z['max_ms']:.1f} ms "
            f"(target < 100 ms: {_mark(z['max_ms'] < TARGET_NOOP_MS)}); "
            f"`threadline push URL` command {z['cli_ms']:.0f} ms (interpreter start included)"
        )
        pl = r.get("pull")
        if pl:
            print(
                f"  pull of {pl['events']:,} events into a fresh site: "
                f"{pl['events_per_second']:,.0f} events/s ({pl['seconds']:.1f} s, {pl['pages']} pages); "
                "pull with nothing new: median "
                f"{pl['nothing_new_median_ms']:.1f} ms, max {pl['nothing_new_max_ms']:.1f} ms"
            )
        if m:
            print(
                f"  {m['sites']} sites x {m['events_per_site']:,} at once: {m['total_seconds']:.1f} s total "
                f"({m['events_per_second']:,.0f} events/s; sites took {m['fastest_site_seconds']:.1f}-"
                f"{m['slowest_site_seconds']:.1f} s); server rows {m['server_rows']:,}, distinct "
                f"{m['server_distinct_ids']:,}, "
                f"ids == union of sites: {m['server_ids_equal_union_of_sites']}: "
                + ("all present, none duplicated" if m["all_present_none_duplicated"] else "MISMATCH")
            )
        print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--events", type=int, default=1_000_000, help="events pushed from one site")
    parser.add_argument("--sites", type=int, default=10, help="sites pushing at once (0: skip)")
    parser.add_argument("--site-events", type=int, default=100_000, help="events of each of those sites")
    parser.add_argument("--batch", type=int, default=BATCH, help=f"events per push request ({BATCH})")
    parser.add_argument("--in-flight", type=int, default=IN_FLIGHT, help=f"requests in flight ({IN_FLIGHT})")
    parser.add_argument("--parse-workers", type=int, default=2, help="the server's parse workers (2)")
    parser.add_argument("--max-batch", type=int, default=10_000, help="the server's max_batch_events")
    parser.add_argument("--child-push", nargs=2, metavar=("STORE", "SERVER"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_push:
        _child_push(*args.child_push, args.batch, args.in_flight)
        return 0
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    OUT.mkdir(exist_ok=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="tl-bench-sync-") as tmp:
        directory = Path(tmp)
        site = open_store(f"sqlite:///{directory / 'site.db'}")
        print(f"filling the site with {args.events:,} events", flush=True)
        fill = fill_site(site, 1, args.events)
        print(
            f"   {fill['seconds']:.0f} s (append alone {fill['append_events_per_second']:,.0f} events/s), "
            f"mean event {fill['mean_event_bytes']:.0f} bytes",
            flush=True,
        )
        site_urls = []
        if args.sites > 0:
            print(f"filling {args.sites} sites with {args.site_events:,} events each", flush=True)
            site_urls = fill_sites(directory, args.sites, args.site_events)
        for backend in backends:
            result = run_backend(backend, site, fill, site_urls, directory, args)
            (OUT / f"sync-{backend}.json").write_text(json.dumps(result, indent=2) + "\n")
            results.append(result)
        site.close()
    print_report(results)
    ok = all(
        r["push"]["all_present_none_duplicated"]
        and (r["concurrent_sites"] is None or r["concurrent_sites"]["all_present_none_duplicated"])
        for r in results
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
