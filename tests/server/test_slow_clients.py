"""Slow clients get an answer and lose their connection; too many clients get 503, and the server
keeps answering (issue 13, item 7).

The report: a request's headers sent in part were held 35 s and more with no answer and no key
needed, and 20,200 held connections used up the file limit so that the server answered nobody.
Everything here goes over real sockets to a real uvicorn server: the behaviours of a slow client on
both of uvicorn's HTTP implementations (in a thread, with small limits), then the server process as
``threadline serve`` runs it.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from tests.server.conftest import ServerFactory, free_port
from tests.server.helpers import make_event
from threadline.server.app import asgi_app, create_app
from threadline.server.connections import MAX_HEAD_BYTES, ConnectionLimits, guarded_protocol
from threadline.settings import ServerConfig
from threadline.store import open_store

pytestmark = pytest.mark.slow

#: How long a test waits for an answer that must come (far more than any timeout it sets).
PATIENCE = 30.0
LIMITS = ConnectionLimits(header_timeout=1.0, body_timeout=1.0, max_connections=40)


def _receive(sock: socket.socket, timeout: float = PATIENCE) -> bytes:
    """Everything the server sends until it closes (a reset counts as a close)."""
    sock.settimeout(timeout)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    except TimeoutError:
        pytest.fail(f"no answer and no close within {timeout} s; received {received[:200]!r}")
    return received


def _status(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    return int(answer[9:12])


def _error(answer: bytes) -> str:
    return json.loads(answer.partition(b"\r\n\r\n")[2])["error"]


@pytest.fixture(scope="module", params=["httptools", "h11"])
def guarded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The app served by uvicorn with ``LIMITS`` kept, on each HTTP implementation; its port."""
    folder = tmp_path_factory.mktemp(f"guarded-{request.param}")
    store = open_store(f"sqlite:///{folder / 'threadline.db'}")
    app = create_app(store, ServerConfig(auth="none", max_body_bytes=1 << 20, max_batch_events=10))
    port = free_port()
    config = uvicorn.Config(
        asgi_app(app),
        host="127.0.0.1",
        port=port,
        log_level="critical",
        http=guarded_protocol(LIMITS, request.param),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + PATIENCE
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield port
    server.should_exit = True
    thread.join(15)
    store.close()


def _dribble(sock: socket.socket, data: bytes, pause: float) -> None:
    for byte in data:
        try:
            sock.sendall(bytes([byte]))
        except OSError:
            return
        time.sleep(pause)


def _send_after(pause: float, *parts: bytes) -> Callable[[socket.socket], None]:
    def send(sock: socket.socket) -> None:
        for part in parts:
            sock.sendall(part)
            time.sleep(pause)

    return send


EVENT = make_event(job="slow-client")
POST_HEAD = (
    b"POST /api/v1/lineage HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    + f"Content-Length: {len(EVENT)}\r\n\r\n".encode()
)

#: (what the client does, the status it must get, words of the error)
SLOW_CLIENTS: dict[str, tuple[Callable[[socket.socket], None], int, str]] = {
    "sends nothing": (lambda _sock: None, 408, "header_timeout"),
    "half a request line": (lambda sock: sock.sendall(b"GET /api/v1/hea"), 408, "header_timeout"),
    "headers without the blank line": (
        lambda sock: sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n"),
        408,
        "header_timeout",
    ),
    "headers a byte at a time": (
        lambda sock: _dribble(sock, b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200, 0.05),
        408,
        "header_timeout",
    ),
    "a header line without end": (
        lambda sock: sock.sendall(b"GET / HTTP/1.1\r\nX-Big: " + b"a" * (MAX_HEAD_BYTES + 1024)),
        431,
        f"{MAX_HEAD_BYTES} bytes",
    ),
    "part of the body": (lambda sock: sock.sendall(POST_HEAD + EVENT[:20]), 408, "body_timeout"),
    "the body in two parts, too far apart": (
        _send_after(2.5, POST_HEAD + EVENT[:20], EVENT[20:]),
        408,
        "body_timeout",
    ),
}


@pytest.mark.parametrize("behaviour", list(SLOW_CLIENTS))
def test_a_slow_client_is_answered_and_closed(guarded: int, behaviour: str) -> None:
    act, status, words = SLOW_CLIENTS[behaviour]
    with socket.create_connection(("127.0.0.1", guarded), timeout=PATIENCE) as sock:
        act(sock)
        answer = _receive(sock)
    assert b"connection: close" in answer.lower()
    if status == 431 and _status(answer) == 400 and b"Invalid HTTP request" in answer:
        return  # h11 refuses an oversized head itself (h11_max_incomplete_event_size), before we see it
    assert _status(answer) == status, answer
    assert words in _error(answer)


@pytest.mark.parametrize(
    "send",
    [
        _send_after(0.4, POST_HEAD[:30], POST_HEAD[30:], EVENT[:50], EVENT[50:]),  # pauses under the limits
        lambda sock: sock.sendall(POST_HEAD + EVENT),
    ],
)
def test_a_client_within_the_limits_is_served(guarded: int, send: Callable[[socket.socket], None]) -> None:
    with socket.create_connection(("127.0.0.1", guarded), timeout=PATIENCE) as sock:
        send(sock)
        sock.settimeout(PATIENCE)
        answer = sock.recv(65536)
    assert _status(answer) == 201, answer


def test_a_slow_body_stores_nothing(guarded: int) -> None:
    event = make_event(job="never-finished")
    head = POST_HEAD.replace(str(len(EVENT)).encode(), str(len(event)).encode())
    with socket.create_connection(("127.0.0.1", guarded), timeout=PATIENCE) as sock:
        sock.sendall(head + event[:-5])
        assert _status(_receive(sock)) == 408
    found = httpx.get(f"http://127.0.0.1:{guarded}/api/v1/jobs", timeout=PATIENCE).json()["jobs"]
    assert "never-finished" not in {job["name"] for job in found}


def test_beyond_max_connections_new_clients_get_503_and_the_server_keeps_answering(guarded: int) -> None:
    base = f"http://127.0.0.1:{guarded}"
    with httpx.Client(base_url=base, timeout=PATIENCE) as kept:
        assert kept.get("/api/v1/health").status_code == 200  # a connection opened before the flood
        held = [socket.create_connection(("127.0.0.1", guarded)) for _ in range(LIMITS.max_connections + 20)]
        try:
            for sock in held:
                sock.sendall(b"GET /api/v1/health HTTP/1.1\r\n")  # and never the rest
            refused = [_status(_receive(sock, 5)) for sock in held[-10:]]
            assert refused == [503] * 10
            with socket.create_connection(("127.0.0.1", guarded), timeout=PATIENCE) as late:
                answer = _receive(late)
            assert _status(answer) in (503, 200), answer
            if _status(answer) == 503:
                assert "max_connections" in _error(answer)
                assert b"retry-after: 1" in answer.lower()
            assert kept.get("/api/v1/health").status_code == 200
            # Those waiting longest for their headers make room: a new client soon gets in.
            deadline = time.monotonic() + PATIENCE
            while time.monotonic() < deadline:
                if httpx.get(f"{base}/api/v1/health", timeout=PATIENCE).status_code == 200:
                    break
                time.sleep(0.2)
            else:
                pytest.fail("no new client was served while slow connections held the server")
        finally:
            for sock in held:
                sock.close()


# ---- the server process, configured by its settings ----------------------------------------------------


def test_the_server_process_times_out_a_slowloris_and_survives_a_flood(
    start_server: ServerFactory, tmp_path: Path
) -> None:
    server = start_server(
        f"sqlite:///{tmp_path / 'threadline.db'}",
        auth="none",
        header_timeout=1.0,
        body_timeout=1.0,
        max_connections=100,
    )
    port = server.port
    with socket.create_connection(("127.0.0.1", port), timeout=PATIENCE) as sock:
        sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n")
        answer = _receive(sock)
    assert _status(answer) == 408
    assert "header_timeout" in _error(answer)
    with server.client() as kept:
        assert kept.get("/api/v1/health").status_code == 200
        held = []
        try:
            for _ in range(500):  # five times the limit (and within a test process's usual 1,024 files)
                sock = socket.create_connection(("127.0.0.1", port), timeout=PATIENCE)
                sock.sendall(b"GET / HTTP/1.1\r\n")
                held.append(sock)
            statuses = {_status(_receive(sock, PATIENCE)) for sock in held[-50:]}
            assert statuses <= {503, 408}, statuses
            assert 503 in statuses
            assert kept.get("/api/v1/health").status_code == 200
        finally:
            for sock in held:
                sock.close()
    assert "refused" in server.log()  # the log says clients were refused
