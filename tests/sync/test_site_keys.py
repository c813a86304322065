"""A site id is bound to one API key: no key may push as another site (which would hide those events
from it: a site never pulls what came "from" it, and its status would say it lacks nothing).

The server is real (token auth); the intruder is a write key of its own pushing with another site's id.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command

from tests.cli.conftest import Run
from tests.sync.helpers import event_ids, record, remote, site, site_id
from threadline.errors import SyncError
from threadline.store import migrate, open_store
from threadline.store.backends import make_engine
from threadline.store.sql import SqlStore
from threadline.store.sync import claim_site, read_after, site_bindings
from threadline.sync.client import SyncClient
from threadline.sync.pull import pull
from threadline.sync.push import push
from threadline.sync.status import status


def _keys(store_url: str, *names: str) -> dict[str, str]:
    store = open_store(store_url)
    try:
        return {name: store.create_api_key(name, "write")[0] for name in names}
    finally:
        store.close()


def _push_as(store: SqlStore, url: str, key: str, site: str) -> None:
    """Push ``store``'s whole log claiming to be ``site`` (what a forging client does)."""
    with SyncClient(remote(url, key)) as client:
        client.push(site, [entry.raw for entry in read_after(store, 0, 1000)])


def test_a_key_cannot_push_as_another_site(start_server, store_url: str, tmp_path: Path) -> None:
    keys = _keys(store_url, "edge", "intruder")
    server = start_server(store_url, auth="token")
    edge, intruder = site(tmp_path, "edge"), site(tmp_path, "intruder")
    try:
        record(edge, "e")
        push(edge, remote(server.url, keys["edge"]))  # the edge's first push binds its id to its key
        record(intruder, "x")
        with pytest.raises(SyncError) as refused:
            _push_as(intruder, server.url, keys["intruder"], site_id(edge))
        line = refused.value.message
        assert "HTTP 403" in line
        assert f"site {site_id(edge)} is bound to another API key" in line
        assert f"threadline token bind {site_id(edge)} NEW_KEY" in line
        # The intruder pushing as itself is fine, and the edge then sees those events as new to it.
        push(intruder, remote(server.url, keys["intruder"]))
        assert status(edge, remote(server.url, keys["edge"])).behind == len(event_ids(intruder))
        assert pull(edge, remote(server.url, keys["edge"])).stored == len(event_ids(intruder))
    finally:
        edge.close()
        intruder.close()


def test_a_site_bound_ahead_of_its_first_push_cannot_be_claimed(
    run: Run, start_server, tmp_path: Path
) -> None:
    store_url = f"sqlite:///{tmp_path / 'server.db'}"
    keys = _keys(store_url, "edge", "intruder")
    edge, intruder = site(tmp_path, "edge"), site(tmp_path, "intruder")
    try:
        bound = run("token", "bind", site_id(edge), "edge", "--store", store_url)
        assert bound.exit_code == 0, bound.output
        assert f"site {site_id(edge)} pushes with key edge" in bound.stdout
        server = start_server(store_url, auth="token")
        record(intruder, "x")
        with pytest.raises(SyncError, match="is bound to another API key"):
            _push_as(intruder, server.url, keys["intruder"], site_id(edge))
        record(edge, "e")
        assert push(edge, remote(server.url, keys["edge"])).stored == len(event_ids(edge))
    finally:
        edge.close()
        intruder.close()


def test_when_a_sites_key_is_replaced_an_admin_rebinds_the_site(
    run: Run, start_server, tmp_path: Path
) -> None:
    store_url = f"sqlite:///{tmp_path / 'server.db'}"
    keys = _keys(store_url, "edge", "edge-2")
    server = start_server(store_url, auth="token")
    edge = site(tmp_path, "edge")
    try:
        record(edge, "e", runs=1)
        push(edge, remote(server.url, keys["edge"]))
        record(edge, "e", runs=1)
        with pytest.raises(SyncError, match="threadline token bind"):  # the new key, not yet bound
            push(edge, remote(server.url, keys["edge-2"]))
        listed = run("token", "sites", "--store", store_url)
        assert site_id(edge) in listed.stdout
        assert "edge" in listed.stdout
        rebound = run("token", "bind", site_id(edge), "edge-2", "--store", store_url)
        assert "(was edge)" in rebound.stdout
        assert run("token", "revoke", "edge", "--store", store_url).exit_code == 0
        assert push(edge, remote(server.url, keys["edge-2"])).sent == 2
    finally:
        edge.close()
    server_store = open_store(store_url)
    try:
        (binding,) = site_bindings(server_store)
        assert (binding.key_name, binding.key_revoked) == ("edge-2", False)
    finally:
        server_store.close()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["not-a-uuid", "edge"], "is not a site id (a UUID)"),
        (["6f0c1d2e-0000-4000-8000-00000000beef", "nobody"], "no API key named 'nobody'"),
        (["6f0c1d2e-0000-4000-8000-00000000beef", "old"], "the API key 'old' is revoked"),
    ],
)
def test_bind_refuses_bad_input_in_one_line(run: Run, tmp_path: Path, args: list[str], words: str) -> None:
    store_url = f"sqlite:///{tmp_path / 'server.db'}"
    _keys(store_url, "edge", "old")
    assert run("token", "revoke", "old", "--store", store_url).exit_code == 0
    result = run("token", "bind", *args, "--store", store_url)
    assert result.exit_code == 1
    assert words in result.stderr
    assert "Traceback" not in result.output


def test_a_store_from_before_site_keys_binds_each_site_on_its_next_push(store_url: str) -> None:
    """Stores made before revision 0005 have no bindings: the upgrade adds the empty table, and each
    site is bound to the key of its first push after it (or by ``threadline token bind``)."""
    engine = make_engine(store_url)
    try:
        with engine.connect() as connection:
            connection.info["write"] = True
            with connection.begin():
                command.upgrade(migrate.alembic_config(connection), "0004")
        assert migrate.upgrade(engine) == ("0004", migrate.head_revision())
    finally:
        engine.dispose()
    store = open_store(store_url)
    try:
        assert site_bindings(store) == []
        site = "6f0c1d2e-0000-4000-8000-00000000beef"
        assert claim_site(store, site, "key-a").key_id == "key-a"
        assert claim_site(store, site, "key-b").key_id == "key-a"  # the first one stays
    finally:
        store.close()
