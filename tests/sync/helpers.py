"""Sites (stores on disk) with events, and a TCP proxy that cuts connections, for the sync tests."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import uuid
from pathlib import Path

from tests.graph.helpers import step
from threadline.openlineage.events import parse_event
from threadline.projection import project_all
from threadline.store import SqlStore, open_store
from threadline.store.sync import site_id
from threadline.sync.remotes import ServerRemote


def site(directory: Path, name: str) -> SqlStore:
    """A fresh store in ``directory``."""
    return open_store(f"sqlite:///{directory / (name + '.db')}")


def record(store: SqlStore, prefix: str, runs: int = 3) -> None:
    """A small pipeline per site: raw -> extract -> staged -> train -> model, ``runs`` times."""
    events = []
    for number in range(runs):
        run = uuid.uuid4().int % 10**9
        events.append(step(f"{prefix}.extract", run, 10 + number, [f"{prefix}.raw"], [f"{prefix}.staged"]))
        events.append(
            step(f"{prefix}.train", run + 1, 20 + number, [f"{prefix}.staged"], [f"{prefix}.model"])
        )
    store.append([parse_event(json.dumps(event).encode()) for event in events])
    project_all(store)


def remote(url: str, key: str | None = None) -> ServerRemote:
    """A remote for a server URL."""
    return ServerRemote(url, url, key, "the test")


def event_ids(store: SqlStore) -> list[str]:
    """Every event id of a store's log (with repeats, if a store ever held any)."""
    with store.read() as connection:
        return [row[0] for row in connection.exec_driver_sql("SELECT id FROM events")]


def graph_edges(store: SqlStore) -> set[tuple[str, str, str]]:
    """The current job/dataset edges by name: (job, dataset, direction)."""
    jobs = {r["id"]: r["name"] for r in store.table_rows("jobs")}
    datasets = {r["id"]: r["name"] for r in store.table_rows("datasets")}
    from threadline.store.lineage_sql import lineage_reads

    with store.read() as connection:
        edges = lineage_reads(connection).all_current_edges()
    return {(jobs[job], datasets[d], way) for job, pairs in edges.items() for d, way in pairs}


class CuttingProxy:
    """A TCP proxy to ``target`` that, once it has forwarded ``limit`` request bytes in all, drops
    its connections and refuses new ones (a network gone in the middle of a transfer)."""

    def __init__(self, target: tuple[str, int], limit: int) -> None:
        self.target = target
        self.limit = limit
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.cuts = 0
        self.forwarded = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.forwarded > self.limit:
                client.close()  # the network is gone
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.create_connection(self.target)

        def pipe(source: socket.socket, sink: socket.socket, counted: bool) -> None:
            try:
                while chunk := source.recv(65536):
                    if counted:
                        with self._lock:
                            self.forwarded += len(chunk)
                            over = self.forwarded > self.limit
                        if over:
                            self.cuts += 1
                            break
                    sink.sendall(chunk)
            except OSError:
                pass
            finally:
                for end in (client, upstream):
                    with contextlib.suppress(OSError):
                        end.shutdown(socket.SHUT_RDWR)
                    end.close()

        threading.Thread(target=pipe, args=(upstream, client, False), daemon=True).start()
        pipe(client, upstream, True)

    def close(self) -> None:
        self.listener.close()


__all__ = ["CuttingProxy", "event_ids", "graph_edges", "record", "remote", "site", "site_id"]
