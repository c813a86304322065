"""A malicious sync peer cannot hang or exhaust ``pull``, object pulls or federation.

The peer (``hostile_peer``) is a real HTTP server that says it is threadline and then misbehaves:
pages that never end, bombs, endless or wrong objects, stalls. Each must end the pull quickly with one
line that names the remote and what it did, with nothing bad stored. (Memory is bounded by the limits;
its figures are in the notes, not asserted here.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import blake3
import httpx
import pytest

from tests.server.conftest import free_port
from tests.sync.helpers import event_ids, site
from tests.sync.hostile_peer import (
    EVENT,
    FILE_SIZE,
    OBJECT_CASES,
    PAGE_CASES,
    Behaviour,
    Handler,
    HostilePeer,
    after_of,
    announced_too_large,
    digest_changes_every_page,
    endless_page,
    honest_info,
    page_body,
    same_page_forever,
    stall_in_the_middle,
    zstd_bomb_page,
)
from threadline.artifacts.manifest import Manifest, ManifestEntry
from threadline.artifacts.object_id import ObjectId
from threadline.artifacts.objects import ObjectDB
from threadline.errors import ConfigError, SyncError
from threadline.openlineage.events import parse_event
from threadline.projection import project_all
from threadline.store.sql import SqlStore
from threadline.sync.client import SyncClient
from threadline.sync.filters import PullFilter
from threadline.sync.limits import MiB, SyncLimits
from threadline.sync.objects import pull_objects
from threadline.sync.pull import pull
from threadline.sync.remotes import ServerRemote, server_remote

#: Small limits, so that each misbehaviour is caught in well under a second of work.
LIMITS = SyncLimits(timeout=1.0, low_speed_limit=1000, max_page_bytes=1 * MiB, max_object_bytes=1 * MiB)
#: No test here may take long: a pull that does not end fails by this.
pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def peers() -> Iterator[Callable[..., HostilePeer]]:
    started: list[HostilePeer] = []

    def start(**behaviours: Behaviour | None) -> HostilePeer:
        peer = HostilePeer(**behaviours)
        started.append(peer)
        return peer

    yield start
    for peer in started:
        peer.close()


def _remote(peer: HostilePeer, limits: SyncLimits = LIMITS) -> ServerRemote:
    return ServerRemote(peer.url, peer.url, None, "the test", limits)


# ---- pages of events ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("behaviour", "info", "words"), [c[1:] for c in PAGE_CASES], ids=[c[0] for c in PAGE_CASES]
)
def test_a_misbehaving_peer_ends_pull_with_one_line(
    peers, tmp_path: Path, behaviour: Behaviour | None, info: Behaviour | None, words: str
) -> None:
    peer = peers(pages=behaviour, info=info)
    store = site(tmp_path, "victim")
    wanted = (
        PullFilter.from_params({"namespace": "hostile"}) if behaviour is digest_changes_every_page else None
    )
    started = time.monotonic()
    try:
        with pytest.raises(SyncError) as caught:
            pull(store, _remote(peer), wanted)
        message = caught.value.message
        assert words in message, message
        assert peer.url in message
        assert "\n" not in message
        assert len(peer.requests) < 50  # it gave up, rather than asking again and again
        assert time.monotonic() - started < 30
        assert len(event_ids(store)) <= 1  # at most the one valid event it sent
    finally:
        store.close()


def test_a_pull_stops_at_what_the_remote_had_when_it_began(peers, tmp_path: Path) -> None:
    """A remote that always says "more", moving on each time with new events, cannot keep a pull going:
    the pull takes what the remote reported it had at the start (later events come next time)."""

    def always_more(handler: Handler, query: dict[str, str]) -> None:
        handler.send_bytes(page_body([EVENT], after_of(query) + 1, more=True))

    peer = peers(pages=always_more, info=honest_info(last_seq=3))
    store = site(tmp_path, "victim")
    try:
        report = pull(store, _remote(peer))
    finally:
        store.close()
    assert report.pages == 3
    assert report.received == 3


def test_a_page_over_the_limit_is_asked_for_again_in_smaller_pages(peers, tmp_path: Path) -> None:
    """An honest remote whose events are large: a page over max_page_bytes is asked for again with
    fewer events, and the pull completes."""
    big = json.loads(EVENT)
    big["job"]["facets"] = {"padding": {"_producer": "x", "_schemaURL": "y", "text": "z" * 300_000}}

    def paged(handler: Handler, query: dict[str, str]) -> None:
        after, limit = after_of(query), int(query["limit"])
        count = min(limit, 8 - after)
        events = []
        for number in range(after, after + count):
            big["run"]["runId"] = f"00000000-0000-4000-8000-{number:012d}"
            events.append(json.dumps(big).encode())
        handler.send_bytes(page_body(events, after + count, more=after + count < 8))

    peer = peers(pages=paged, info=honest_info(last_seq=8))
    store = site(tmp_path, "victim")
    try:
        report = pull(store, _remote(peer))
        assert report.stored == 8
        assert len(event_ids(store)) == 8
    finally:
        store.close()


def test_one_event_over_the_page_limit_names_the_setting(peers, tmp_path: Path) -> None:
    peer = peers(pages=endless_page)
    store = site(tmp_path, "victim")
    try:
        words = "for a page of 1 event after 0; if that one event is genuine, raise max_page_bytes"
        with pytest.raises(SyncError, match=words):
            pull(store, _remote(peer))
    finally:
        store.close()
    limits = [query for query in peer.requests if query == "/api/v1/sync/events"]
    assert len(limits) == 7  # 5000, 1250, 312, 78, 19, 4, 1


# ---- objects -----------------------------------------------------------------------------------------


GOOD = b"x" * FILE_SIZE
GOOD_ID = ObjectId(blake3.blake3(GOOD).hexdigest())
MANIFEST = Manifest([ManifestEntry("a/model.bin", GOOD_ID, FILE_SIZE, False)]).to_bytes()
MANIFEST_ID = ObjectId(blake3.blake3(MANIFEST).hexdigest())


def _object_behaviour(misbehave: Callable[[Handler], None]) -> Behaviour:
    """Serve the folder's manifest honestly; misbehave on every other object."""

    def answer(handler: Handler, query: dict[str, str]) -> None:
        if query["id"].startswith(f"blake3:{MANIFEST_ID.value}"):
            handler.send_bytes(MANIFEST)
        else:
            misbehave(handler)

    return answer


def _referencing(directory: Path, version: ObjectId | str) -> SqlStore:
    """A store whose one run wrote a dataset of ``version`` (so a pull of objects wants it)."""
    store = site(directory, "victim")
    event = json.loads(EVENT)
    facet = {"_producer": "x", "_schemaURL": "y", "datasetVersion": str(version)}
    event["outputs"][0]["facets"] = {"version": facet}
    store.append([parse_event(json.dumps(event).encode())])
    project_all(store)
    return store


@pytest.mark.parametrize(
    ("misbehave", "kind", "words"), [c[1:] for c in OBJECT_CASES], ids=[c[0] for c in OBJECT_CASES]
)
def test_a_misbehaving_peer_cannot_fill_the_disk_with_objects(
    peers, tmp_path: Path, misbehave: Callable[[Handler], None], kind: str, words: str
) -> None:
    peer = peers(objects=_object_behaviour(misbehave))
    version = f"{ObjectId(MANIFEST_ID.value, is_dir=True)}" if kind == "folder" else str(GOOD_ID)
    store = _referencing(tmp_path, version)
    odb = ObjectDB(tmp_path / "objects")
    started = time.monotonic()
    try:
        with SyncClient(_remote(peer)) as client:
            report = pull_objects(store, odb, client, jobs=2)
    finally:
        store.close()
    assert time.monotonic() - started < 30
    assert list(report.transfer.failed) == [GOOD_ID]
    message = report.transfer.failed[GOOD_ID]
    assert words in message, message
    assert peer.url in message
    assert "\n" not in message
    assert not odb.has(GOOD_ID)
    leftovers = [path for path in (tmp_path / "objects").rglob("*") if path.is_file()]
    assert leftovers == ([odb.path_of(MANIFEST_ID)] if kind == "folder" else [])


def test_an_object_that_would_fill_the_disk_is_not_fetched(peers, tmp_path: Path) -> None:
    """Even under a large max_object_bytes, an announced size that does not fit on the disk (beside the
    space kept free) is refused before a byte is written."""
    peer = peers(objects=_object_behaviour(lambda handler: announced_too_large(handler, 2**60)))
    store = _referencing(tmp_path, GOOD_ID)
    odb = ObjectDB(tmp_path / "objects")
    limits = SyncLimits(timeout=1.0, max_object_bytes=2**62)
    try:
        with SyncClient(_remote(peer, limits)) as client:
            report = pull_objects(store, odb, client)
    finally:
        store.close()
    assert "not enough disk space for object" in report.transfer.failed[GOOD_ID]
    assert not [path for path in (tmp_path / "objects").rglob("*") if path.is_file()]


def test_a_remote_table_sets_the_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".threadline").mkdir()
    config = tmp_path / ".threadline" / "config.toml"
    config.write_text(
        '[remotes.edge]\nurl = "http://127.0.0.1:1"\ntimeout = 5\nlow_speed_limit = 0\n'
        "max_page_bytes = 1048576\nmax_object_bytes = 2048\n"
    )
    assert server_remote("edge").limits == SyncLimits(5.0, 0, 1048576, 2048)
    assert server_remote("http://127.0.0.1:2").limits == SyncLimits()
    for line, words in (
        ("timeout = -1", "timeout must be a number of seconds, 0 or more"),
        ("max_page_bytes = 0", "max_page_bytes must be more than 0"),
        ('max_object_bytes = "big"', "max_object_bytes must be a whole number"),
        ("max_page_byte = 10", "unknown key(s) max_page_byte"),
    ):
        config.write_text(f'[remotes.edge]\nurl = "http://127.0.0.1:1"\n{line}\n')
        with pytest.raises(ConfigError, match=words.replace("(", r"\(").replace(")", r"\)")):
            server_remote("edge")


# ---- federation --------------------------------------------------------------------------------------


def _serve_in(project: Path, store_url: str, port: int, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    command = [str(Path(sys.executable).parent / "threadline"), "serve", "--store", store_url]
    command += ["--host", "127.0.0.1", "--port", str(port), "--auth", "none", *extra]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_")}
    with log.open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=out, cwd=project, env=environment)
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


FEDERATION_CASES = [
    ("the same page forever", same_page_forever, "does not move forward"),
    ("a zstd bomb", zstd_bomb_page, "that one event is genuine, raise max_page_bytes in [remotes.hostile]"),
    ("an answer that stops", stall_in_the_middle, "stalled: nothing came for 1 s"),
]


@pytest.mark.parametrize(
    ("behaviour", "words"), [c[1:] for c in FEDERATION_CASES], ids=[c[0] for c in FEDERATION_CASES]
)
def test_a_misbehaving_peer_does_not_hold_up_a_federating_server(
    peers, tmp_path: Path, behaviour: Behaviour, words: str
) -> None:
    peer = peers(pages=behaviour)
    project = tmp_path / "mirror"
    (project / ".threadline").mkdir(parents=True)
    (project / ".threadline" / "config.toml").write_text(
        f'[remotes.hostile]\nurl = "{peer.url}"\ntimeout = 1\nmax_page_bytes = 4194304\n'
    )
    port, log = free_port(), tmp_path / "mirror.log"
    server = _serve_in(
        project,
        f"sqlite:///{tmp_path / 'mirror.db'}",
        port,
        log,
        "--pull-from",
        "hostile",
        "--pull-every",
        "1",
    )
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and log.read_text().count("pulling from hostile") < 2:
            time.sleep(0.2)
        # It failed twice (so it came back for the next round) and still answers.
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=5).status_code == 200
    finally:
        server.send_signal(2)
        server.wait(30)
    failures = [line for line in log.read_text().splitlines() if "pulling from hostile" in line]
    assert len(failures) >= 2, log.read_text()
    assert words in failures[0], failures[0]
    assert "Traceback" not in log.read_text()
