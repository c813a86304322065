"""Running the server: open the store, decide on authentication, serve with uvicorn."""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
from pathlib import Path

import uvicorn

from threadline.redact import redact_url
from threadline.server.app import asgi_app, create_app
from threadline.server.auth import resolve_auth_mode
from threadline.server.parsing import tune_gc
from threadline.store.sql import open_store
from threadline.sync.filters import PullFilter
from threadline.sync.remotes import ServerRemote

log = logging.getLogger(__name__)


def display_url(url: str) -> str:
    """A store URL fit for printing: any password (or secret query value) hidden."""
    return redact_url(url)


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def objects_folder(store_url: str, explicit: str | os.PathLike[str] | None) -> Path | None:
    """The server's object store folder: ``explicit``, else ``objects`` beside a SQLite store's file
    (for the default store, the project's own ``.threadline/objects``), else none."""
    if explicit:
        folder = Path(explicit).expanduser()
    elif store_url.startswith("sqlite:///") and ":memory:" not in store_url:
        folder = Path(store_url.removeprefix("sqlite:///").split("?", 1)[0]).parent / "objects"
    else:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def run_server(
    store_url: str,
    *,
    host: str,
    port: int,
    auth: str = "auto",
    max_body_bytes: int,
    max_batch_events: int,
    log_level: str = "info",
    sqlite_synchronous: str = "NORMAL",
    parse_workers: int = 2,
    access_log: bool = False,
    objects_dir: str | os.PathLike[str] | None = None,
    pull_from: list[ServerRemote] | None = None,
    pull_every: float = 60.0,
    pull_filter: PullFilter | None = None,
) -> None:
    """Serve the OpenLineage API for the store at ``store_url`` until interrupted.

    Raises :class:`~threadline.errors.ConfigError` (before listening) when the setup is unsafe, such
    as a non-loopback address with no API key.
    """
    store = open_store(store_url, sqlite_synchronous=sqlite_synchronous)
    try:
        mode = resolve_auth_mode(store, host, auth)
        app = create_app(
            store,
            auth_mode=mode,
            max_body_bytes=max_body_bytes,
            max_batch_events=max_batch_events,
            parse_workers=parse_workers,
            objects_dir=objects_folder(store_url, objects_dir),
            pull_from=pull_from,
            pull_every=pull_every,
            pull_filter=pull_filter,
        )
        shown_host = f"[{host}]" if ":" in host else host
        print(
            f"threadline serving http://{shown_host}:{port} (store {display_url(store_url)}, auth {mode})",
            flush=True,
        )
        config = uvicorn.Config(
            asgi_app(app),
            host=host,
            port=port,
            log_level=log_level.lower(),
            access_log=access_log,
            loop="uvloop" if _has("uvloop") else "asyncio",
            http="httptools" if _has("httptools") else "h11",
            timeout_graceful_shutdown=5,
            server_header=False,
        )
        tune_gc()  # this process is the server's own: collect less often (see tune_gc)
        # uvicorn shuts down gracefully on Ctrl+C, then re-raises the interrupt: that is a normal end.
        with contextlib.suppress(KeyboardInterrupt):
            uvicorn.Server(config).run()
    finally:
        store.close()
