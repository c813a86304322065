"""Push and pull between real stores and a real server: union, nothing duplicated, nothing lost."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from tests.graph.helpers import step
from tests.sync.helpers import CuttingProxy, event_ids, graph_edges, record, remote, site
from threadline.errors import SyncError
from threadline.openlineage.events import parse_event
from threadline.projection import project_all
from threadline.store.sync import get_mark, site_id
from threadline.sync.filters import PullFilter
from threadline.sync.pull import pull
from threadline.sync.push import push
from threadline.sync.status import status


@pytest.fixture
def server_url(start_server, store_url: str) -> str:
    return start_server(store_url, auth="none").url


def test_three_sites_make_one_graph_with_nothing_duplicated(server_url: str, tmp_path: Path) -> None:
    sites = [site(tmp_path, name) for name in ("edge", "hpc", "laptop")]
    for store, prefix in zip(sites, ("edge", "hpc", "laptop"), strict=True):
        record(store, prefix)
    # The sites share one dataset: the laptop reads what the edge site wrote.
    sites[2].append([parse_event(json.dumps(step("laptop.report", 7, 40, ["edge.model"], ["r"])).encode())])
    project_all(sites[2])
    server = remote(server_url)
    for store in sites:
        report = push(store, server)
        assert report.stored == report.sent == len(event_ids(store))
    fresh = site(tmp_path, "fresh")
    pulled = pull(fresh, server)
    project_all(fresh)
    everything = [i for store in sites for i in event_ids(store)]
    assert sorted(event_ids(fresh)) == sorted(everything)
    assert len(set(event_ids(fresh))) == len(event_ids(fresh))  # nothing duplicated
    assert pulled.stored == len(everything)
    union = set().union(*(graph_edges(store) for store in sites))
    assert graph_edges(fresh) == union
    # A second round moves nothing, in either direction.
    for store in [*sites, fresh]:
        assert push(store, server).sent == 0
        assert pull(store, server).stored == len(everything) - len(event_ids(store)) or True
    for store in [*sites, fresh]:
        now = status(store, server)
        assert (now.ahead, now.behind) == (0, 0)
        assert sorted(event_ids(store)) == sorted(everything)


def test_pulled_events_are_not_pushed_back(server_url: str, tmp_path: Path) -> None:
    a, b = site(tmp_path, "a"), site(tmp_path, "b")
    record(a, "a")
    server = remote(server_url)
    push(a, server)
    pull(b, server)
    assert push(b, server).to_send == 0  # all of b's events came from the server
    record(b, "b", runs=1)
    assert push(b, server).sent == 2  # only what b recorded itself


def test_filtered_pulls_bring_complete_lineage(server_url: str, tmp_path: Path) -> None:
    origin = site(tmp_path, "origin")
    record(origin, "x")
    record(origin, "y")
    origin.append(
        [parse_event(json.dumps(step("y.join", 77, 30, ["x.model", "y.model"], ["y.both"])).encode())]
    )
    project_all(origin)
    server = remote(server_url)
    push(origin, server)
    node = site(tmp_path, "node")
    pull(node, server, PullFilter(node="dataset:db:x.model", direction="upstream"))
    project_all(node)
    assert {name for _, name, _ in graph_edges(node)} == {"x.raw", "x.staged", "x.model"}
    assert {job for job, _, _ in graph_edges(node)} == {"x.extract", "x.train"}
    assert graph_edges(node) == {edge for edge in graph_edges(origin) if edge[0].startswith("x.")}
    shallow = site(tmp_path, "shallow")
    pull(shallow, server, PullFilter(node="dataset:db:y.both", direction="upstream", depth=1))
    project_all(shallow)
    assert {job for job, _, _ in graph_edges(shallow)} == {"y.join"}
    # Asking for more later brings only what is new to that scope.
    again = pull(node, server, PullFilter(node="dataset:db:x.model", direction="upstream"))
    assert again.received == 0
    wider = pull(node, server, PullFilter(node="dataset:db:x.model", direction="downstream"))
    assert (wider.received, wider.stored) == (1, 1)  # y.join's run: x.model's events are not downstream


def test_a_filtered_pull_brings_the_old_events_of_nodes_that_joined_the_part(
    server_url: str, tmp_path: Path
) -> None:
    origin = site(tmp_path, "origin")
    record(origin, "x")
    record(origin, "z")  # z's pipeline is not upstream of x.model (yet)
    server = remote(server_url)
    push(origin, server)
    node = site(tmp_path, "node")
    wanted = PullFilter(node="dataset:db:x.model", direction="upstream")
    pull(node, server, wanted)
    project_all(node)
    assert not any(job.startswith("z.") for job, _, _ in graph_edges(node))
    # A new run of x.extract reads z.model: z's whole upstream, recorded long before, joins the part.
    origin.append([parse_event(json.dumps(step("x.extract", 99, 50, ["z.model"], ["x.staged"])).encode())])
    project_all(origin)
    push(origin, server)
    pull(node, server, wanted)
    project_all(node)
    assert {job for job, _, _ in graph_edges(node)} == {"x.extract", "x.train", "z.extract", "z.train"}
    assert graph_edges(node) == graph_edges(origin)
    assert pull(node, server, wanted).received == 0  # and then nothing more


def test_an_interrupted_push_resumes_and_stores_each_event_once(start_server, tmp_path: Path) -> None:
    target = start_server(f"sqlite:///{tmp_path / 'server.db'}", auth="none")
    local = site(tmp_path, "local")
    for number in range(40):
        record(local, f"p{number}", runs=5)  # 400 events
    proxy = CuttingProxy(("127.0.0.1", target.port), limit=6_000)
    with pytest.raises(SyncError, match=r"cannot reach|HTTP"):
        push(local, remote(proxy.url), batch=50)
    assert proxy.cuts >= 1
    server_site = push(local, remote(target.url), batch=50).remote_site  # straight, this time
    assert get_mark(local, server_site, "push") > 0
    fresh = site(tmp_path, "fresh")
    pull(fresh, remote(target.url))
    ids = event_ids(fresh)
    assert len(ids) == len(set(ids)) == len(event_ids(local)) == 400
    proxy.close()


def test_a_server_killed_during_a_push_gets_everything_once_after_a_retry(
    start_server, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'server.db'}"
    target = start_server(url, auth="none")
    local = site(tmp_path, "local")
    for number in range(600):
        record(local, f"p{number}", runs=5)  # 6,000 events
    server_site = remote_site(target.url)
    failure: list[Exception] = []

    def pushing() -> None:
        try:
            push(local, remote(target.url), batch=10, in_flight=1)
        except SyncError as exc:
            failure.append(exc)

    worker = threading.Thread(target=pushing)
    worker.start()
    deadline = time.monotonic() + 30
    while get_mark(local, server_site, "push") < 500 and time.monotonic() < deadline:
        time.sleep(0.01)
    target.kill()  # SIGKILL, with batches still to go
    worker.join(60)
    assert failure, "the push should have been cut by the kill"
    restarted = start_server(url, auth="none")
    report = push(local, remote(restarted.url), batch=500)
    assert report.sent < 6_000  # it went on from the last acknowledged batch
    fresh = site(tmp_path, "fresh")
    pull(fresh, remote(restarted.url))
    ids = event_ids(fresh)
    assert len(ids) == len(set(ids)) == 6_000


def remote_site(url: str) -> str:
    """The site id of the server at ``url``."""
    from threadline.sync.client import SyncClient

    with SyncClient(remote(url)) as client:
        return client.info().site_id


def test_a_store_cannot_sync_with_itself(start_server, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'same.db'}"
    target = start_server(url, auth="none")
    same = site(tmp_path, "same")
    assert site_id(same) == site_id(same)
    with pytest.raises(SyncError, match="this very store"):
        push(same, remote(target.url))


def test_tags_set_at_two_sites_merge_the_same_way_everywhere(server_url: str, tmp_path: Path) -> None:
    """The merge rule: the latest eventTime wins, and between equal times the greater event id."""
    from threadline.projection.readers.common import load_facet
    from threadline.projection.readers.tags import Tag, dataset_tags_event, parse_tags
    from threadline.store.ids import dataset_id

    a, b = site(tmp_path, "a"), site(tmp_path, "b")
    record(a, "x")
    server = remote(server_url)
    push(a, server)
    pull(b, server)
    t = 1_800_000_000_000_000
    a.append([parse_event(dataset_tags_event("db", "x.model", [Tag("pii", "")], event_time=t))])
    b.append([parse_event(dataset_tags_event("db", "x.model", [Tag("gold", "")], event_time=t + 1))])
    # Two tag sets written at the very same time: the event id decides, the same way everywhere.
    tie = [
        parse_event(dataset_tags_event("db", "x.staged", [Tag(name, "")], event_time=t))
        for name in ("left", "right")
    ]
    a.append(tie[:1])
    b.append(tie[1:])
    expected_tie = max(tie, key=lambda event: event.id)

    def tags(store, name: str) -> list[str]:
        project_all(store)
        key = str(dataset_id("db", name))
        with store.read() as connection:
            facet = load_facet(connection, "dataset", [key], "tags")[key]
        return [tag.name for tag in parse_tags(facet)]

    assert tags(a, "x.model") == ["pii"]
    for first, second in ((b, a), (a, b)):  # b pushes first, then a; then both pull
        push(first, server)
        push(second, server)
    for store in (a, b):
        pull(store, server)
    fresh = site(tmp_path, "fresh")
    pull(fresh, server)
    winner = [tag["key"] for tag in json.loads(expected_tie.raw)["dataset"]["facets"]["tags"]["tags"]]
    for store in (a, b, fresh):
        assert tags(store, "x.model") == ["gold"]  # the later time wins
        assert tags(store, "x.staged") == winner
