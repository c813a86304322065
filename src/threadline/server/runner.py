"""Running the server: open the store, decide on authentication, serve with uvicorn."""

from __future__ import annotations

import contextlib
import importlib.util
import logging

import uvicorn
from sqlalchemy.engine import make_url

from threadline.server.app import create_app
from threadline.server.auth import resolve_auth_mode
from threadline.store.sql import open_store

log = logging.getLogger(__name__)


def display_url(url: str) -> str:
    """A store URL fit for printing: any password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.rsplit("@", maxsplit=1)[-1] if "@" in url else url


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


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
    parse_workers: int = 1,
    access_log: bool = False,
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
        )
        shown_host = f"[{host}]" if ":" in host else host
        print(
            f"threadline serving http://{shown_host}:{port} (store {display_url(store_url)}, auth {mode})",
            flush=True,
        )
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level=log_level.lower(),
            access_log=access_log,
            loop="uvloop" if _has("uvloop") else "asyncio",
            http="httptools" if _has("httptools") else "h11",
            timeout_graceful_shutdown=5,
            server_header=False,
        )
        # uvicorn shuts down gracefully on Ctrl+C, then re-raises the interrupt: that is a normal end.
        with contextlib.suppress(KeyboardInterrupt):
            uvicorn.Server(config).run()
    finally:
        store.close()
