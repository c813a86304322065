"""Sites that record runs with the SDK, push their events and objects, a fresh site that pulls them;
the server's object endpoints; and a server that pulls from another on a schedule (federation)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.cli.conftest import Run
from tests.server.conftest import free_port
from tests.server.helpers import JSON, make_event
from tests.server.test_back_pressure import writes_blocked
from tests.sync.helpers import event_ids, graph_edges, record, remote, site
from threadline.artifacts.store import ArtifactStore
from threadline.cli.common import plural
from threadline.store import open_store
from threadline.sync.push import push

TRAIN = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import threadline

    name = sys.argv[1]
    Path("data").mkdir(exist_ok=True)
    Path("data/raw.csv").write_text(f"id,value\\n1,{name}\\n2,{name}{name}\\n")
    with threadline.run(f"{name}.pipeline", pipeline=f"{name}.pipeline") as pipeline:
        with threadline.run("train", pipeline=f"{name}.pipeline", params={"site": name}) as run:
            run.input("data/raw.csv")
            Path("model.bin").write_bytes(name.encode() * 1000)
            run.output("model.bin", kind="model", store=True)
            run.log_metric("loss", 0.5)
    """
)


def _sdk_site(root: Path, name: str) -> Path:
    """A project folder where the SDK recorded one pipeline run (its model stored as an object)."""
    folder = root / name
    (folder / ".threadline").mkdir(parents=True)
    script = root / "train.py"
    script.write_text(TRAIN)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_")}
    subprocess.run([sys.executable, str(script), name], cwd=folder, env=environment, check=True, timeout=120)
    return folder


def _store_of(folder: Path):
    return open_store(f"sqlite:///{folder / '.threadline' / 'threadline.db'}")


def test_sdk_sites_push_events_and_objects_and_a_fresh_site_pulls_them(
    run: Run, start_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = start_server(f"sqlite:///{tmp_path / 'central' / 'server.db'}", auth="none")
    (tmp_path / "central").mkdir(exist_ok=True)
    sites = [_sdk_site(tmp_path, name) for name in ("edge", "hpc")]
    for folder in sites:
        monkeypatch.chdir(folder)
        assert run("remote", "add", "origin", server.url).exit_code == 0
        before = run("status").stdout
        ahead = re.search(r"objects: (\d+) ahead", before)
        assert ahead is not None, before
        assert int(ahead.group(1)) >= 1, before  # the model (and the package list, unless already there)
        pushed = run("push", "--artifacts")
        assert pushed.exit_code == 0, pushed.output
        assert f"pushed {plural(int(ahead.group(1)), 'object')} (" in pushed.stdout
        after = run("status").stdout
        assert "events: 0 ahead (to push)" in after
        assert "objects: 0 ahead" in after
        assert "nothing to push" in run("push", "--artifacts").stdout
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    monkeypatch.chdir(fresh)
    assert run("init").exit_code == 0
    assert run("remote", "add", "origin", server.url).exit_code == 0
    assert "objects: 0 ahead (to push --artifacts), 0 behind" in run("status").stdout  # no runs here yet
    pulled = run("pull", "--artifacts")
    assert pulled.exit_code == 0, pulled.output
    assert re.search(r"pulled [34] objects", pulled.stdout), pulled.stdout  # package lists may be equal
    stores = [_store_of(folder) for folder in (*sites, fresh)]
    try:
        union = [i for store in stores[:2] for i in event_ids(store)]
        assert sorted(event_ids(stores[2])) == sorted(union)
        assert graph_edges(stores[2]) == graph_edges(stores[0]) | graph_edges(stores[1])
    finally:
        for store in stores:
            store.close()
    objects = ArtifactStore(fresh / ".threadline" / "objects").odb
    contents = {objects.read(oid) for oid in objects.iter_ids()}
    assert {b"edge" * 1000, b"hpc" * 1000} <= contents
    again = run("pull", "--artifacts")
    assert "pulled 0 events" in again.stdout
    assert "pulled 0 objects" in again.stdout
    status = run("status").stdout
    # The raw CSVs were hashed, never stored: they exist on no side, and status says so.
    assert "objects: 0 ahead (to push --artifacts), 0 behind (to pull); 2 referenced" in status


def test_object_endpoints_check_what_they_are_sent(start_server, tmp_path: Path) -> None:
    server = start_server(f"sqlite:///{tmp_path / 'server.db'}", auth="none")
    oid = "blake3:" + "0" * 64
    with server.client() as http:
        wrong = http.put(f"/api/v1/objects/{oid}", content=b"not those bytes")
        assert wrong.status_code == 400
        assert "do not hash to" in wrong.json()["error"]
        assert http.get(f"/api/v1/objects/{oid}").status_code == 404
        assert http.post("/api/v1/objects/missing", json={"ids": [oid]}).json() == {"missing": [oid]}
        bad = http.post("/api/v1/objects/missing", json={"ids": ["md5:abc"]})
        assert bad.status_code == 400
        assert http.post("/api/v1/objects/missing", content=b"[1,2]").status_code == 400
        import blake3

        data = b"hello objects"
        good = f"blake3:{blake3.blake3(data).hexdigest()}"
        assert http.put(f"/api/v1/objects/{good}", content=data).status_code == 201
        assert http.put(f"/api/v1/objects/{good}", content=data).status_code == 200
        assert http.get(f"/api/v1/objects/{good}").content == data
    assert not list((tmp_path / "objects" / "tmp").glob("upload-*"))  # no spooled upload left behind


@pytest.mark.postgres
def test_a_server_on_postgresql_without_objects_says_so(start_server, pg_url: str) -> None:
    server = start_server(pg_url, auth="none")
    with server.client() as http:
        answer = http.post("/api/v1/objects/missing", json={"ids": []})
    assert answer.status_code == 404
    assert "--objects" in answer.json()["error"]


def _serve(store_url: str, port: int, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    command = [str(Path(sys.executable).parent / "threadline"), "serve", "--store", store_url]
    command += ["--host", "127.0.0.1", "--port", str(port), "--auth", "none", *extra]
    with log.open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=out)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    pytest.fail(f"the server did not start:\n{log.read_text()}")


def _health(port: int) -> dict:
    return httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=5).json()


def test_a_server_pulls_from_another_on_a_schedule(start_server, tmp_path: Path) -> None:
    central = start_server(f"sqlite:///{tmp_path / 'central.db'}", auth="none")
    site_a = site(tmp_path, "a")
    record(site_a, "a")
    record(site_a, "b")
    push(site_a, remote(central.url))
    port = free_port()
    mirror = _serve(
        f"sqlite:///{tmp_path / 'mirror.db'}",
        port,
        tmp_path / "mirror.log",
        "--pull-from",
        central.url,
        "--pull-every",
        "1",
        "--pull-filter",
        "node=dataset:db:a.model&direction=upstream",
    )
    try:
        deadline = time.monotonic() + 30
        while _health(port)["events"] < 6 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _health(port)["events"] == 6  # a's pipeline only: 3 runs of 2 jobs
        record(site_a, "a", runs=1)  # new events at the site reach the mirror through the central server
        push(site_a, remote(central.url))
        while _health(port)["events"] < 8 and time.monotonic() < deadline:
            time.sleep(0.2)
        health = _health(port)
        assert health["events"] == 8
        federation = health["federation"]
        assert federation["remotes"][0]["lastError"] is None
        assert federation["remotes"][0]["eventsStored"] == 8
        assert "node=dataset:db:a.model" in federation["filter"]
    finally:
        mirror.send_signal(2)
        mirror.wait(20)
    assert "Traceback" not in (tmp_path / "mirror.log").read_text()
    mirrored = open_store(f"sqlite:///{tmp_path / 'mirror.db'}")
    try:
        ids = event_ids(mirrored)
        assert len(ids) == len(set(ids)) == 8
    finally:
        mirrored.close()


def test_federation_with_an_unknown_remote_refuses_to_start(run: Run, tmp_path: Path) -> None:
    result = run("serve", "--store", f"sqlite:///{tmp_path / 'x.db'}", "--pull-from", "nowhere")
    assert result.exit_code != 0
    assert "no remote named 'nowhere'" in result.stderr
    bad = run("serve", "--store", f"sqlite:///{tmp_path / 'x.db'}", "--pull-filter", "colour=blue")
    assert bad.exit_code != 0
    assert "setting pull_filter from --pull-filter must be key=value pairs" in bad.stderr


def test_federation_waits_while_its_server_is_over_its_limits(start_server, tmp_path: Path) -> None:
    """A server under back-pressure refuses its producers' events; its scheduled pulls wait too (health
    says so) and resume once it is under its limits: nothing pulled is lost or doubled."""
    central = start_server(f"sqlite:///{tmp_path / 'central.db'}", auth="none")
    site_a = site(tmp_path, "a")
    record(site_a, "a")
    push(site_a, remote(central.url))
    mirror_url = f"sqlite:///{tmp_path / 'mirror.db'}"
    mirror = start_server(mirror_url, auth="none", max_writer_queue=1, pull_from=(central.url,), pull_every=1)
    httpx.get(f"{mirror.url}/api/v1/sync/info", timeout=10)  # its site id, made on first use
    deadline = time.monotonic() + 30
    while _health(mirror.port)["events"] < 6 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _health(mirror.port)["events"] == 6
    record(site_a, "a", runs=1)
    held: list[httpx.Response] = []
    with writes_blocked(mirror_url):
        holder = threading.Thread(
            target=lambda: held.append(
                httpx.post(f"{mirror.url}/api/v1/lineage", content=make_event(job="holder"), headers=JSON)
            )
        )
        holder.start()
        # the holder's event waits for the writer before there is anything new to pull (else, on a
        # loaded machine, a pull may come first and wait for the writer itself, never paused)
        deadline = time.monotonic() + 30
        while _health(mirror.port)["backPressure"]["writerQueue"] < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        push(site_a, remote(central.url))  # two new events at the central server, to be pulled
        while time.monotonic() < deadline:
            if _health(mirror.port)["federation"]["pausedByBackPressure"]:
                break
            time.sleep(0.1)
        assert _health(mirror.port)["federation"]["pausedByBackPressure"] is True
    holder.join(30)
    assert held[0].status_code == 201
    while _health(mirror.port)["events"] < 9 and time.monotonic() < deadline + 30:
        time.sleep(0.1)
    health = _health(mirror.port)
    assert health["events"] == 9  # six, two pulled after the pause, and the holder's
    assert health["federation"]["pausedByBackPressure"] is False
    assert health["federation"]["remotes"][0]["lastError"] is None
    mirrored = open_store(mirror_url)
    try:
        ids = event_ids(mirrored)
        assert len(ids) == len(set(ids)) == 9
    finally:
        mirrored.close()
