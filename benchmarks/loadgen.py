"""A CPU-cheap HTTP/1.1 load generator for the ingest benchmark.

It runs in its own process so that it does not share a GIL with the benchmark driver, and it does as
little work per request as possible so that the server (on a 2-core machine) keeps the CPU: one thread,
non-blocking keep-alive sockets multiplexed with ``selectors``, every request pre-built as raw bytes
before the clock starts, and responses parsed just far enough to read the status and Content-Length.

Usage (normally started by ``ingest.py``)::

    python benchmarks/loadgen.py --port P --path /api/v1/lineage --bodies FILE \
        [--per-request 1] [--concurrency 8] [--max-seconds 0] [--rate 0]

``FILE`` holds one pre-encoded event per line. With ``--per-request K`` > 1, K consecutive events are
sent as one JSON array (the batch endpoint). With ``--rate R`` requests are paced so that at most R
events per second are offered (a sustained load below the maximum). The result is one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import socket
import sys
import time
from dataclasses import dataclass, field


@dataclass(slots=True)
class _Conn:
    sock: socket.socket
    out: memoryview = field(default_factory=lambda: memoryview(b""))
    buf: bytearray = field(default_factory=bytearray)
    request: int = -1
    started: float = 0.0
    writing: bool = False
    reading_back: bool = False
    busy: bool = False


def build_requests(host: str, port: int, path: str, bodies: list[bytes]) -> list[bytes]:
    """Raw HTTP/1.1 POST requests, one per body."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        "Accept: application/json\r\nUser-Agent: threadline-bench\r\nContent-Length: "
    ).encode()
    return [head + str(len(body)).encode() + b"\r\n\r\n" + body for body in bodies]


def _parse_response(buf: bytearray) -> tuple[int, bytes, int] | None:
    """(status, body, bytes consumed) of the first complete response in ``buf``, or ``None``."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    header = bytes(buf[:end]).lower()
    status = int(header[9:12])
    at = header.find(b"\r\ncontent-length:")
    if at < 0:
        if b"transfer-encoding: chunked" in header:
            msg = "chunked responses are not supported by the load generator"
            raise RuntimeError(msg)
        length = 0
    else:
        line_end = header.find(b"\r\n", at + 2)
        length = int(header[at + 17 : line_end if line_end >= 0 else len(header)])
    total = end + 4 + length
    if len(buf) < total:
        return None
    return status, bytes(buf[end + 4 : total]), total


def run(
    host: str,
    port: int,
    requests: list[bytes],
    events_per_request: list[int],
    *,
    concurrency: int,
    max_seconds: float = 0.0,
    inspect_batches: bool = False,
    rate: float = 0.0,
    read_back: list[bytes] | None = None,
) -> dict[str, object]:
    """Send every request over ``concurrency`` keep-alive connections; return the figures.
    ``rate``: offer at most this many events per second (0: as fast as the server answers);
    ``read_back``: a GET per request, sent on the same connection as soon as the POST is answered
    (a request counts as done when both are; the GETs' statuses are counted apart)."""
    selector = selectors.DefaultSelector()

    def connect() -> socket.socket:
        sock = socket.create_connection((host, port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        return sock

    conns = []
    for _ in range(min(concurrency, len(requests))):
        conn = _Conn(connect())
        conns.append(conn)
        selector.register(conn.sock, selectors.EVENT_READ, conn)

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    acknowledged = 0
    batch_created = 0
    batch_failed = 0
    errors: list[str] = []
    next_request = 0
    deadline = float("inf")
    cpu0 = os.times()
    t0 = time.perf_counter()
    if max_seconds > 0:
        deadline = t0 + max_seconds
    in_flight = 0
    read_statuses: dict[int, int] = {}
    idle: list[_Conn] = []  # paced (``rate``): connections waiting for their request's time
    offered = 0

    def due() -> float:
        return t0 + offered / rate

    def start(conn: _Conn, now: float) -> bool:
        nonlocal next_request, in_flight, offered
        if next_request >= len(requests) or now >= deadline:
            return False
        if rate and now < due():
            idle.append(conn)
            return False
        offered += events_per_request[next_request]
        conn.request = next_request
        next_request += 1
        conn.busy = True
        conn.started = now
        send(conn, requests[conn.request])
        in_flight += 1
        return True

    def send(conn: _Conn, request: bytes) -> None:
        data = memoryview(request)
        try:
            sent = conn.sock.send(data)
        except BlockingIOError:
            sent = 0
        conn.out = data[sent:]
        if conn.out:
            conn.writing = True
            selector.modify(conn.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, conn)

    now = time.perf_counter()
    for conn in conns:
        start(conn, now)
    last_done = t0
    while in_flight or (idle and next_request < len(requests) and now < deadline):
        timeout = 60.0 if not idle else max(0.0, min(due(), deadline) - time.perf_counter())
        for key, mask in selector.select(timeout=timeout):
            conn = key.data
            if mask & selectors.EVENT_WRITE and conn.out:
                try:
                    sent = conn.sock.send(conn.out)
                except BlockingIOError:
                    sent = 0
                conn.out = conn.out[sent:]
                if not conn.out and conn.writing:
                    conn.writing = False
                    selector.modify(conn.sock, selectors.EVENT_READ, conn)
            if not mask & selectors.EVENT_READ:
                continue
            try:
                chunk = conn.sock.recv(262144)
            except BlockingIOError:
                continue
            if not chunk:
                if not conn.busy:  # an idle paced connection the server timed out: open another
                    selector.unregister(conn.sock)
                    conn.sock.close()
                    conn.sock = connect()
                    selector.register(conn.sock, selectors.EVENT_READ, conn)
                    continue
                msg = f"the server closed a connection during request {conn.request}"
                raise RuntimeError(msg)
            conn.buf += chunk
            parsed = _parse_response(conn.buf)
            if parsed is None:
                continue
            status, body, consumed = parsed
            del conn.buf[:consumed]
            if not conn.busy:  # the server's 408 to a connection idle too long: its close follows
                continue
            if conn.reading_back:
                conn.reading_back = False
                read_statuses[status] = read_statuses.get(status, 0) + 1
                now = time.perf_counter()
                last_done = now
                conn.busy = False
                in_flight -= 1
                start(conn, now)
                continue
            now = time.perf_counter()
            last_done = now
            latencies.append(now - conn.started)
            statuses[status] = statuses.get(status, 0) + 1
            if 200 <= status < 300:
                acknowledged += events_per_request[conn.request]
                if inspect_batches:
                    summary = json.loads(body)["summary"]
                    batch_created += summary["successful"]
                    batch_failed += summary["failed"]
            elif len(errors) < 5:
                errors.append(f"{status}: {body[:300].decode(errors='replace')}")
            if read_back is not None:
                conn.reading_back = True
                send(conn, read_back[conn.request])
                continue
            conn.busy = False
            in_flight -= 1
            start(conn, now)
        now = time.perf_counter()
        # First in, first out: every connection is used in turn, none idles until the server's
        # header timeout.
        while idle and now >= due() and start(idle.pop(0), now):
            pass
        if not selector.get_map():
            break
    elapsed = last_done - t0
    cpu1 = os.times()
    for conn in conns:
        selector.unregister(conn.sock)
        conn.sock.close()
    latencies.sort()

    def percentile(p: float) -> float:
        if not latencies:
            return 0.0
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    sent_events = sum(events_per_request[:next_request])
    return {
        "requests": len(latencies),
        "events_sent": sent_events,
        "events_acknowledged": acknowledged,
        "batch_successful": batch_created,
        "batch_failed": batch_failed,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "read_back_statuses": {str(k): v for k, v in sorted(read_statuses.items())},
        "errors": errors,
        "seconds": elapsed,
        "events_per_second": acknowledged / elapsed if elapsed > 0 else 0.0,
        "requests_per_second": len(latencies) / elapsed if elapsed > 0 else 0.0,
        "latency_ms": {
            "p50": percentile(0.50),
            "p90": percentile(0.90),
            "p99": percentile(0.99),
            "max": latencies[-1] * 1000 if latencies else 0.0,
        },
        "client_cpu_seconds": (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--bodies", required=True, help="a file with one pre-encoded event per line")
    parser.add_argument("--per-request", type=int, default=1, help="events per request (>1: JSON array)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-seconds", type=float, default=0.0, help="stop issuing requests after this")
    parser.add_argument(
        "--read-back", action="store_true", help="after each POST, GET its run on the same connection"
    )
    parser.add_argument(
        "--rate", type=float, default=0.0, help="offer at most this many events/s (0: no pacing)"
    )
    args = parser.parse_args()

    with open(args.bodies, "rb") as handle:
        events = [line for line in handle.read().split(b"\n") if line]
    if args.per_request > 1:
        groups = [events[i : i + args.per_request] for i in range(0, len(events), args.per_request)]
        bodies = [b"[" + b",".join(group) + b"]" for group in groups]
        counts = [len(group) for group in groups]
    else:
        bodies, counts = events, [1] * len(events)
    requests = build_requests(args.host, args.port, args.path, bodies)
    read_back = None
    if args.read_back:  # single events: GET /api/v1/jobs/runs/{runId} of each
        head = f"GET /api/v1/jobs/runs/{{}} HTTP/1.1\r\nHost: {args.host}:{args.port}\r\n\r\n"
        read_back = [head.format(json.loads(event)["run"]["runId"]).encode() for event in events]
    del events, bodies
    result = run(
        args.host,
        args.port,
        requests,
        counts,
        concurrency=args.concurrency,
        max_seconds=args.max_seconds,
        inspect_batches=args.per_request > 1,
        rate=args.rate,
        read_back=read_back,
    )
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
