"""What hostile clients cost the real server (issue 13): large events, slow clients, connection floods.

    .venv/bin/python benchmarks/hostile_clients.py [--part large,flood,guard] [--flood-connections 20200]

Each part starts ``threadline serve``'s server (``run_server``, SQLite, auth none, default settings) in
a subprocess on a fresh store and prints what it measured:

- **large**: the event of the report (13 MB, 300,000 inputs) sent four times, then four events of
  100,000 schema fields (9 MB, within the limits); for each, the answer and its time, the worst
  latency of a small event sent every 0.2 s until the projection has caught up, and the server's
  resident memory (``VmRSS``) after it, against its size before the first.
- **flood**: ``--flood-connections`` connections (default 20,200, from two helper processes) that each
  send half a request line and nothing more; meanwhile, every two seconds, a new client and a client
  whose keep-alive connection was opened before the flood ask for ``/api/v1/health``: their answers
  and times, and the server's open file descriptors. Then what the held connections were answered.

- **guard**: what the connection guard (``server/connections.py``) costs a well-behaved client: a bare
  ASGI app served by uvicorn (httptools, uvloop) with and without it, side by side, 20,000 POSTs of
  2.1 KB on one kept-alive connection each round: the server's CPU per request; and the same with the
  metrics middleware (``server/metrics.py``: each request timed into the latency histogram) as well.
  All three import the same modules and freeze their heap as the server does (``tune_gc``).

The figures are machine-bound (the README gives them with the machine's load), so nothing here is a
pass/fail threshold.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

PRODUCER = "https://example.com/threadline-bench"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rss_mb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) // 1024
    return 0


def _start(folder: Path, **options: Any) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    arguments = {
        "host": "127.0.0.1",
        "port": port,
        "auth": "none",
        "log_level": "warning",
        "max_body_bytes": 16 << 20,
        "max_batch_events": 10_000,
        **options,
    }
    call = ", ".join(f"{name}={value!r}" for name, value in arguments.items())
    store = f"sqlite:///{folder / 'threadline.db'}"
    code = (
        "from threadline.server import run_server; from threadline.settings import ServerConfig; "
        f"run_server(ServerConfig(store={store!r}, {call}))"
    )
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen([sys.executable, "-c", code], stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    msg = f"the server did not start: {(folder / 'server.log').read_text()}"
    raise SystemExit(msg)


def _event(job: str, *, inputs: int = 0, fields: int = 0) -> bytes:
    outputs: list[dict[str, Any]] = [{"namespace": "bench", "name": f"{job}-out"}]
    if fields:
        schema = [
            {"name": f"column_{i:06d}", "type": "VARCHAR", "description": "a column"} for i in range(fields)
        ]
        outputs[0]["facets"] = {
            "schema": {"_producer": PRODUCER, "_schemaURL": "https://x/schema", "fields": schema}
        }
    doc = {
        "eventType": "COMPLETE",
        "eventTime": "2024-05-01T12:00:00Z",
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "bench", "name": job},
        "inputs": [{"namespace": "warehouse", "name": f"t{i:07d}"} for i in range(inputs)],
        "outputs": outputs,
    }
    return json.dumps(doc).encode()


def large(_args: argparse.Namespace) -> None:
    """The ``large`` part (see the module docstring)."""
    with tempfile.TemporaryDirectory() as directory:
        process, base = _start(Path(directory))
        client = httpx.Client(base_url=base, timeout=600)
        headers = {"Content-Type": "application/json"}

        def small() -> float:
            started = time.perf_counter()
            client.post("/api/v1/lineage", content=_event("small"), headers=headers)
            return time.perf_counter() - started

        small()
        time.sleep(3)
        print(f"server RSS at start: {_rss_mb(process.pid)} MB")
        for name, body in (
            *((f"report: 300,000 inputs #{n}", _event("huge", inputs=300_000)) for n in range(1, 5)),
            *((f"100,000 schema fields #{n}", _event("wide", fields=100_000)) for n in range(1, 5)),
        ):
            started = time.perf_counter()
            answer = client.post("/api/v1/lineage", content=body, headers=headers)
            took = time.perf_counter() - started
            worst = 0.0
            deadline = time.monotonic() + 600
            while client.get("/api/v1/health").json()["projectionLag"] and time.monotonic() < deadline:
                worst = max(worst, small())
                time.sleep(0.2)
            time.sleep(1)
            print(
                f"{name}: {len(body) / 1e6:.1f} MB -> {answer.status_code} in {took:.2f} s; worst small "
                f"event while it was folded {worst:.2f} s; server RSS {_rss_mb(process.pid)} MB"
            )
        process.terminate()
        process.wait(30)


_FLOODER = """
import socket, sys, time, collections
port, count, hold = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
held, errors = [], collections.Counter()
for _ in range(count):
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(b"GET / HTTP/1.1\\r\\n")
        held.append(sock)
    except OSError as exc:
        errors[type(exc).__name__] += 1
time.sleep(hold)
answers = collections.Counter()
for sock in held:
    sock.setblocking(False)
    try:
        answers[sock.recv(20)[9:12].decode() or "closed"] += 1
    except BlockingIOError:
        answers["still open, no answer"] += 1
    except OSError as exc:
        answers[type(exc).__name__] += 1
print(f"flooder: {len(held)} connections held, {dict(errors)} failed to open; answered {dict(answers)}")
"""


def flood(args: argparse.Namespace) -> None:
    """The ``flood`` part (see the module docstring)."""
    with tempfile.TemporaryDirectory() as directory:
        process, base = _start(Path(directory))
        port = int(base.rsplit(":", 1)[1])
        kept = httpx.Client(base_url=base, timeout=60)
        kept.get("/api/v1/health")
        half = args.flood_connections // 2
        flooders = [
            subprocess.Popen([sys.executable, "-c", _FLOODER, str(port), str(count), "20"])
            for count in (half, args.flood_connections - half)
        ]
        stop = threading.Event()

        def watch() -> None:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    fresh: Any = httpx.get(f"{base}/api/v1/health", timeout=30).status_code
                except httpx.HTTPError as exc:
                    fresh = type(exc).__name__
                middle = time.monotonic()
                try:
                    old: Any = kept.get("/api/v1/health").status_code
                except httpx.HTTPError as exc:
                    old = type(exc).__name__
                fds = sum(1 for _ in Path(f"/proc/{process.pid}/fd").iterdir())
                print(
                    f"  new client: {fresh} in {middle - started:.2f} s; kept-alive client: {old} in "
                    f"{time.monotonic() - middle:.2f} s; server open files {fds}",
                    flush=True,
                )
                stop.wait(2.0)

        watcher = threading.Thread(target=watch)
        watcher.start()
        for flooder in flooders:
            flooder.wait()
        stop.set()
        watcher.join()
        print(f"after the flood: health {httpx.get(f'{base}/api/v1/health', timeout=30).status_code}")
        process.terminate()
        process.wait(30)
        counts = Counter(
            line.split(":")[0] for line in (Path(directory) / "server.log").read_text().splitlines()
        )
        print(f"server log lines by kind: {dict(counts.most_common(5))}")


_BARE_SERVER = """
import sys, uvicorn
from threadline.server.connections import ConnectionLimits, guarded_protocol
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 201, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"{}"})
http = guarded_protocol(ConnectionLimits(), "httptools") if sys.argv[2] != "plain" else "httptools"
# Imported by every variant, so that all three carry the same modules, and the heap frozen out of the
# collector's passes as the server does (tune_gc): a full pass walks every object a process holds, so a
# larger heap alone would make requests dearer.
from types import SimpleNamespace
from threadline.server.metrics import MetricsMiddleware, ServerMetrics
from threadline.server.parsing import tune_gc
if sys.argv[2] == "metered":  # the server's metrics middleware around it (server/metrics.py)
    app = MetricsMiddleware(app, SimpleNamespace(metrics=ServerMetrics("open")))
port = int(sys.argv[1])
tune_gc()
uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", http=http, loop="uvloop", lifespan="off")
"""


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _bare_cpu_per_request(kind: str, requests: int) -> float:
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-c", _BARE_SERVER, str(port), kind])
    try:
        for _ in range(600):  # importing the server's modules takes a while on a loaded machine
            try:
                sock = socket.create_connection(("127.0.0.1", port))
                break
            except OSError:
                time.sleep(0.1)
        body = b'{"x":1}' * 300
        request = b"POST /api/v1/lineage HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        request += b"Content-Length: %d\r\n\r\n" % len(body) + body
        sock.sendall(request)
        sock.recv(1000)
        before = _cpu_seconds(process.pid)
        for _ in range(requests):
            sock.sendall(request)
            sock.recv(1000)
        return (_cpu_seconds(process.pid) - before) / requests
    finally:
        process.terminate()
        process.wait(30)


def guard(_args: argparse.Namespace) -> None:
    """The ``guard`` part (see the module docstring)."""
    for round_ in range(1, 4):
        plain = _bare_cpu_per_request("plain", 20_000)
        guarded = _bare_cpu_per_request("guarded", 20_000)
        metered = _bare_cpu_per_request("metered", 20_000)
        print(
            f"round {round_}: plain uvicorn {plain * 1e6:.1f} us a request, "
            f"with the guard {guarded * 1e6:.1f} us, "
            f"with the guard and the metrics middleware {metered * 1e6:.1f} us"
        )


def main() -> None:
    """Run the parts asked for."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", default="large,flood")
    parser.add_argument("--flood-connections", type=int, default=20_200)
    args = parser.parse_args()
    for part in args.part.split(","):
        print(f"== {part}", flush=True)
        {"large": large, "flood": flood, "guard": guard}[part](args)


if __name__ == "__main__":
    main()
