"""`threadline serve` as a user runs it: keys created while it runs, Ctrl+C, a busy port.

Every test here starts the real command in a child process (no stand-ins): `python -m threadline`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import STARTUP_SECONDS, ServerProcess, free_port
from tests.server.helpers import JSON, make_event

pytestmark = pytest.mark.slow

#: How long a key created while a server runs may take to be enforced (the server re-checks every
#: second; the rest is slack for a loaded machine). Not a timing assertion: only a bound on polling.
ENFORCED_WITHIN = 15.0


def threadline(*arguments: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a child process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_") or k.endswith("PG_URL")}
    return subprocess.run(
        [sys.executable, "-m", "threadline", *arguments],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def _statuses(server: ServerProcess, read_key: str) -> dict[str, int]:
    """What a request without a key, with a made-up key, and a POST with the read key get."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        return {
            "no key": client.get("/api/v1/namespaces").status_code,
            "made-up key": client.get(
                "/api/v1/namespaces", headers={"Authorization": "Bearer tl_madeup_0123456789abcdef"}
            ).status_code,
            "read key POST": client.post(
                "/api/v1/lineage",
                content=make_event(),
                headers={**JSON, "Authorization": f"Bearer {read_key}"},
            ).status_code,
            "read key GET": client.get(
                "/api/v1/namespaces", headers={"Authorization": f"Bearer {read_key}"}
            ).status_code,
        }


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_store_url(request: pytest.FixtureRequest) -> str:
    """A fresh store URL on each backend."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


def test_a_key_created_while_servers_run_is_enforced_by_every_server(
    any_store_url: str, tmp_path: Path
) -> None:
    """`--auth auto` on loopback: open while no key exists; from the moment `threadline token create`
    makes one, every server on the store (two here) refuses requests without a valid key."""
    servers = [
        ServerProcess(any_store_url, free_port(), tmp_path / f"server-{n}.log", {"auth": "auto"}).start()
        for n in range(2)
    ]
    try:
        for server in servers:
            with server.client() as client:
                assert client.get("/api/v1/namespaces").status_code == 200  # open: no key exists yet
        created = threadline(
            "token", "create", "--name", "reader", "--scope", "read", "--store", any_store_url
        )
        assert created.returncode == 0, created.stderr
        read_key = created.stdout.strip()
        expected = {"no key": 401, "made-up key": 401, "read key POST": 403, "read key GET": 200}
        for server in servers:
            deadline = time.monotonic() + ENFORCED_WITHIN
            seen = _statuses(server, read_key)
            while seen != expected and time.monotonic() < deadline:
                time.sleep(0.2)
                seen = _statuses(server, read_key)
            assert seen == expected, f"{server.url} after the key was created: {seen}"
        revoked = threadline("token", "revoke", "reader", "--store", any_store_url)
        assert revoked.returncode == 0, revoked.stderr
        deadline = time.monotonic() + ENFORCED_WITHIN
        while time.monotonic() < deadline:  # no active key: open again (loopback only, see below)
            with servers[0].client() as client:
                if client.get("/api/v1/namespaces").status_code == 200:
                    break
            time.sleep(0.2)
        else:
            pytest.fail("the server stayed closed after its only key was revoked")
    finally:
        for server in servers:
            server.stop()


def test_auto_on_a_public_address_never_falls_open(tmp_path: Path) -> None:
    """On a non-loopback address `--auth auto` needs a key to start, and then always checks keys,
    even once every key is revoked (it does not become an open server on the network)."""
    from threadline.server.auth import resolve_auth_mode
    from threadline.store import open_store

    store = open_store(f"sqlite:///{tmp_path / 'threadline.db'}")
    try:
        store.create_api_key("k", "write")
        assert resolve_auth_mode(store, "0.0.0.0", "auto") == "token"
        assert resolve_auth_mode(store, "127.0.0.1", "auto") == "auto"
    finally:
        store.close()


def _serve(store_url: str, port: int, log: Path, *extra: str) -> subprocess.Popen[str]:
    """`threadline serve` in a session of its own, as a terminal's foreground job is."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_")}
    with log.open("w") as handle:
        return subprocess.Popen(
            [sys.executable, "-m", "threadline", "serve", "--store", store_url, "--port", str(port), *extra],
            stdout=subprocess.PIPE,
            stderr=handle,
            text=True,
            env=env,
            start_new_session=True,
        )


def _wait_until_answering(process: subprocess.Popen[str], port: int) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the server exited with {process.returncode}"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail(f"the server did not answer within {STARTUP_SECONDS}s")


@pytest.fixture
def store_file(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'threadline.db'}"


def test_ctrl_c_stops_the_server_and_its_parse_workers_without_a_traceback(
    store_file: str, tmp_path: Path
) -> None:
    """Ctrl+C in a terminal sends SIGINT to the whole foreground process group: the server and,
    before the fix, its two parse workers, which each printed a KeyboardInterrupt traceback."""
    port = free_port()
    log = tmp_path / "serve.log"
    process = _serve(store_file, port, log, "--parse-workers", "2")
    try:
        _wait_until_answering(process, port)
        workers = [
            int(pid) for pid in Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        ]
        assert len(workers) == 2
        os.killpg(process.pid, signal.SIGINT)  # what the terminal does on Ctrl+C
        stdout, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    stderr = log.read_text()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr, stderr
    assert "KeyboardInterrupt" not in stderr, stderr
    assert f"threadline serving http://127.0.0.1:{port}" in stdout
    for pid in workers:  # the workers are gone too
        deadline = time.monotonic() + 10
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            if "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]:
                break  # a zombie: exited
            time.sleep(0.1)
        alive = Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]
        assert not alive, f"parse worker {pid} outlived the server"


def test_a_busy_port_is_one_error_line_and_status_1(store_file: str, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = threadline("serve", "--store", store_file, "--port", str(port), "--parse-workers", "0")
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.strip() == f"error: port {port} is in use; pick another with --port"
    assert "serving" not in done.stdout


def test_port_0_serves_on_a_free_port_and_says_which(store_file: str, tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    process = _serve(store_file, 0, log, "--parse-workers", "0")
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("threadline serving http://127.0.0.1:"), line + log.read_text()
        port = int(line.split("http://127.0.0.1:", 1)[1].split()[0])
        assert port != 0
        _wait_until_answering(process, port)
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.communicate(timeout=60)
