"""How far apart this store and a remote are: events (and objects) ahead and behind."""

from __future__ import annotations

from dataclasses import dataclass

from threadline.store import sync
from threadline.store.sql import SqlStore
from threadline.sync.client import SyncClient
from threadline.sync.remotes import ServerRemote


@dataclass(frozen=True)
class SyncStatus:
    """Events this store has that the remote lacks (ahead), and the other way round (behind)."""

    remote: str
    remote_site: str
    local_site: str
    ahead: int
    behind: int
    pushed_upto: int
    pulled_upto: int


def status(store: SqlStore, remote: ServerRemote) -> SyncStatus:
    """Compare this store with ``remote`` using the marks (no log is compared event by event)."""
    local = sync.site_id(store)
    with SyncClient(remote) as client:
        info = client.info()
        pushed = sync.get_mark(store, info.site_id, "push")
        pulled = sync.get_mark(store, info.site_id, "pull")
        ahead = sync.count_after(store, pushed, not_from=info.site_id)
        behind = int(client.status(pulled, exclude=local)["behind"])
    return SyncStatus(str(remote), info.site_id, local, ahead, behind, pushed, pulled)
