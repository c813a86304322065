"""Fixtures that run the real server in a subprocess, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import drop_pg_schema

SMALL_BODY_LIMIT = 256 * 1024
SMALL_BATCH_LIMIT = 100
STARTUP_SECONDS = 30.0


def _ports() -> Iterator[int]:
    """The ports this test process hands out, each once: a block of its own per xdist worker, below
    the kernel's ephemeral range, from a random place in the block.

    A port the kernel picked (``bind(0)``) and let go could be picked again by another worker before
    our server bound it: that server then failed to start while the health check, answered by the
    other worker's server, said it had, and the test talked to a server that went away with the
    other test (a CI run failed so). Outgoing connections' source ports come from the ephemeral range,
    so they never take one of these either."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range", encoding="ascii") as ranges:
            ephemeral = int(ranges.read().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral = 32768
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    workers = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1))
    size = max(100, (ephemeral - 10000) // workers)
    start = 10000 + (int(worker) if worker.isdigit() else 0) % workers * size
    first = random.randrange(size)
    for step in range(size):
        yield start + (first + step) % size


_PORTS = _ports()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, and no other test process hands out."""
    for port in _PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port left in this test process's block")


@dataclass
class ServerProcess:
    """A threadline server running in a child process."""

    store_url: str
    port: int
    log_path: Path
    options: dict[str, object] = field(default_factory=dict)
    #: Give the server's session ten times the CPU weight of others (see :meth:`_favour`).
    favoured: bool = False
    #: Whether the kernel took the raised weight.
    favour_applied: bool = False
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerProcess:
        """Start the process and wait until ``/api/v1/health`` answers."""
        arguments = {
            "host": "127.0.0.1",
            "port": self.port,
            "log_level": "warning",
            "max_body_bytes": SMALL_BODY_LIMIT,
            "max_batch_events": SMALL_BATCH_LIMIT,
            **self.options,
        }
        call = ", ".join(f"{name}={value!r}" for name, value in arguments.items())
        code = (
            "from threadline.server import run_server; from threadline.settings import ServerConfig; "
            f"run_server(ServerConfig(store={self.store_url!r}, {call}))"
        )
        log = self.log_path.open("ab")
        # In its own session, as a daemon runs: where the kernel shares the CPU between sessions
        # (Linux's autogroups), the server gets its own share rather than a part of the test
        # process's, the way it would beside a browser on another machine.
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code], stdout=log, stderr=log, start_new_session=True
        )
        log.close()
        if self.favoured:
            self._favour()
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"the server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        pytest.fail(f"the server did not answer within {STARTUP_SECONDS}s:\n{self.log()}")

    def _favour(self) -> None:
        """Raise the CPU weight of the server's session (Linux's autogroup ``nice``, -10: about ten
        times the weight of a session at 0), where the kernel groups scheduling by session and lets
        the test raise it (root or ``CAP_SYS_NICE``); elsewhere nothing changes.

        The browser tests run Chromium (a session of its own) on the same cores as the server. With
        equal weights, the server's threads waited for a core for up to 200 ms while Chromium laid
        out a page (seen in the packets: a 2 ms answer sent 130 ms after its request arrived); on a
        real deployment the browser runs on the user's machine. The figures with and without are in
        benchmarks/README.md (Web UI, API calls during the browser tests);
        ``THREADLINE_TEST_FAVOUR_SERVER=0`` measures without.
        """
        if os.environ.get("THREADLINE_TEST_FAVOUR_SERVER", "1") == "0":
            return
        try:
            Path(f"/proc/{self.proc.pid}/autogroup").write_text("-10")  # type: ignore[union-attr]
        except OSError:
            return
        self.favour_applied = True

    def log(self) -> str:
        """What the server printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL the server: no shutdown code runs."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        """Stop the server gracefully (SIGINT, as Ctrl+C would), killing it if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.kill()

    def client(self, token: str | None = None) -> httpx.Client:
        """An HTTP client for this server, optionally sending a bearer token."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


ServerFactory = Callable[..., ServerProcess]


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[ServerFactory]:
    """Start servers on demand (``start_server(store_url, **run_server_options)``); stopped after the test."""
    started: list[ServerProcess] = []

    def start(store_url: str, **options: object) -> ServerProcess:
        server = ServerProcess(store_url, free_port(), tmp_path / f"server-{len(started)}.log", options)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


def _pg_schema_url(pg_server: str) -> tuple[str, str]:
    name = f"tl_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{name}"')
    separator = "&" if "?" in pg_server else "?"
    return name, f"{pg_server}{separator}options=-csearch_path%3D{name}"


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def shared_store_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A store URL on each backend, shared by every test of the session (isolate data by content)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('shared') / 'threadline.db'}"
        return
    pg_server = request.getfixturevalue("pg_server")
    name, url = _pg_schema_url(pg_server)
    yield url
    drop_pg_schema(pg_server, name)


@pytest.fixture(scope="session")
def open_server(shared_store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server without authentication and with small limits, per backend, for the whole session."""
    log_path = tmp_path_factory.mktemp("open-server") / "server.log"
    server = ServerProcess(shared_store_url, free_port(), log_path, {"auth": "none"}).start()
    yield server
    server.stop()
    assert "Traceback" not in server.log(), server.log()


@pytest.fixture
def client(open_server: ServerProcess) -> Iterator[httpx.Client]:
    """An HTTP client for the open server."""
    with open_server.client() as http:
        yield http
