"""Running the server: open the store, decide on authentication, serve with uvicorn."""

from __future__ import annotations

import contextlib
import errno
import importlib.util
import logging
import os
import socket
from pathlib import Path

import uvicorn

from threadline import settings
from threadline.collector import collect_less_often
from threadline.errors import ConfigError
from threadline.redact import redact_url
from threadline.server.app import asgi_app, create_app
from threadline.server.auth import AuthMode, resolve_auth_mode
from threadline.server.connections import MAX_HEAD_BYTES, ConnectionLimits, fit_file_limit, guarded_protocol
from threadline.settings import ServerConfig
from threadline.store.sql import open_store
from threadline.sync.filters import PullFilter
from threadline.sync.remotes import server_remote

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


#: How each auth mode is described in the "serving" line.
_AUTH_SHOWN: dict[AuthMode, str] = {
    "token": "API keys required",
    "none": "open: no API keys checked",
    "auto": "open until an API key exists, then keys required",
}


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``, or a :class:`ConfigError` that says what to do (a port in
    use, an address this machine does not have). Bound before anything is printed or started, so a
    busy port is one line, not a half-started server."""
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        msg = f"cannot listen on {host}: {exc.strerror}; give an address of this machine with --host"
        raise ConfigError(msg) from exc
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            msg = f"port {port} is in use; pick another with --port"
        elif exc.errno == errno.EACCES:
            msg = f"not allowed to listen on port {port} (below 1024 needs root); pick another with --port"
        elif exc.errno == errno.EADDRNOTAVAIL:
            msg = f"cannot listen on {host}: not an address of this machine; give another with --host"
        else:
            msg = f"cannot listen on {host}:{port}: {exc.strerror or exc}"
        raise ConfigError(msg) from exc
    sock.set_inheritable(True)
    return sock


class _Server(uvicorn.Server):
    """uvicorn's server, saying where it serves once it answers (its lifespan started, its socket
    accepting), not before."""

    def __init__(self, config: uvicorn.Config, ready_line: str) -> None:
        super().__init__(config)
        self.ready_line = ready_line

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and not self.should_exit:
            print(self.ready_line, flush=True)


def run_server(config: ServerConfig, *, access_log: bool = False) -> None:
    """Serve the OpenLineage API as ``config`` says (its store, address, limits) until interrupted.

    Raises :class:`~threadline.errors.ConfigError` (before listening) when the setup is unsafe, such
    as a non-loopback address with no API key, or names a remote that is not configured.
    """
    store_url = config.store or settings.default_store_url()
    pull_from = [server_remote(name) for name in config.pull_from]
    pull_filter = PullFilter.from_query(config.pull_filter)
    store = open_store(store_url, sqlite_synchronous=config.sqlite_synchronous, background_checkpoint=True)
    listening: socket.socket | None = None
    try:
        host = config.host
        mode = resolve_auth_mode(store, host, config.auth)
        listening = bind(host, config.port)
        port = listening.getsockname()[1]  # the port given, or the one chosen for --port 0
        app = create_app(
            store,
            config.replace(auth=mode),
            objects_dir=objects_folder(store_url, config.objects),
            pull_from=pull_from,
            pull_filter=pull_filter,
        )
        connection_limits = fit_file_limit(
            ConnectionLimits(
                header_timeout=config.header_timeout,
                body_timeout=config.body_timeout,
                max_connections=config.max_connections,
            )
        )
        shown_host = f"[{host}]" if ":" in host else host
        ready_line = (
            f"threadline serving http://{shown_host}:{port} "
            f"(store {display_url(store_url)}; auth {mode}: {_AUTH_SHOWN[mode]})"
        )
        protocol = guarded_protocol(connection_limits, "httptools" if _has("httptools") else "h11")
        if app.state.threadline.metrics is not None:
            app.state.threadline.metrics.watch_connections(protocol.watch)  # type: ignore[attr-defined]
        served = uvicorn.Config(
            asgi_app(app),
            host=host,
            port=port,
            log_level=config.log_level,
            access_log=access_log,
            loop="uvloop" if _has("uvloop") else "asyncio",
            # uvicorn's protocol with header and body timeouts and a connection limit (connections.py)
            http=protocol,
            h11_max_incomplete_event_size=MAX_HEAD_BYTES,
            timeout_graceful_shutdown=5,
            server_header=False,
        )
        collect_less_often(freeze=True)  # a long-lived process: see threadline.collector
        # uvicorn shuts down gracefully on Ctrl+C, then re-raises the interrupt: that is a normal end.
        with contextlib.suppress(KeyboardInterrupt):
            _Server(served, ready_line).run(sockets=[listening])
    finally:
        if listening is not None:
            listening.close()
        store.close()
