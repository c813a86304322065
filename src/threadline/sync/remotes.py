"""Named remotes, like git's: ``threadline remote add NAME URL`` and where each remote's key comes from.

Remotes live in the project's config file, ``.threadline/config.toml``, as ``[remotes.NAME]`` tables
(the artifact store's object-store remotes share the table: a remote whose URL is ``http://`` or
``https://`` is a threadline server, any other URL an object store). A server remote's API key is
never taken from the command line, where shell history would keep it. It comes from, in order:

1. ``key`` in the remote's table (the config file is in ``.threadline/``, which git does not track; it
   is made readable by its owner only when a key is written to it);
2. the environment variable named by ``key_env`` in the table;
3. ``THREADLINE_REMOTE_<NAME>_KEY`` (the name upper-cased, ``-`` as ``_``);
4. ``THREADLINE_API_KEY``.

The table may also set how far the remote is trusted (``timeout``, ``low_speed_limit``,
``max_page_bytes``, ``max_object_bytes``: see :mod:`threadline.sync.limits`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit

from threadline import settings
from threadline.errors import ConfigError, SyncError
from threadline.redact import redact_url
from threadline.sync.limits import KEYS as LIMIT_KEYS
from threadline.sync.limits import SyncLimits

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
API_KEY_ENV = "THREADLINE_API_KEY"
#: The keys a server remote's table may have.
SERVER_KEYS = ("url", "key", "key_env", *LIMIT_KEYS)


@dataclass(frozen=True)
class ServerRemote:
    """A threadline server to sync with: its name (or URL when unnamed), base URL, API key and limits."""

    name: str
    url: str
    key: str | None
    key_source: str
    limits: SyncLimits = field(default_factory=SyncLimits)

    def __str__(self) -> str:
        shown = redact_url(self.url)  # a URL may carry a password: never print it
        return shown if self.name == self.url else f"{self.name} ({shown})"


def key_env_var(name: str) -> str:
    """The environment variable that holds remote ``name``'s key by default."""
    return f"THREADLINE_REMOTE_{re.sub(r'[^A-Za-z0-9]', '_', name).upper()}_KEY"


def is_server_url(url: str) -> bool:
    """Whether ``url`` names a threadline server (http or https)."""
    return url.lower().startswith(("http://", "https://"))


def _key(name: str, table: dict[str, Any]) -> tuple[str | None, str]:
    if table.get("key"):
        return str(table["key"]), "the config file"
    variables = [table["key_env"]] if table.get("key_env") else []
    variables += [key_env_var(name), API_KEY_ENV]
    for variable in variables:
        value = os.environ.get(str(variable))
        if value:
            return value, str(variable)
    return None, f"none (set {variables[0]})"


def server_remote(name_or_url: str, start: Path | None = None) -> ServerRemote:
    """The threadline server named ``name_or_url`` in the config file, or at that URL."""
    configured = settings.remotes(start)
    if name_or_url in configured:
        table = configured[name_or_url]
        url = str(table["url"]).rstrip("/")
        if not is_server_url(url):
            msg = (
                f"remote {name_or_url!r} is an object store ({url}), not a threadline server: "
                "`threadline artifacts push|pull` uses it"
            )
            raise SyncError(msg)
        where = f"[remotes.{name_or_url}] in {settings.CONFIG_FILE_NAME}"
        unknown = sorted(set(table) - set(SERVER_KEYS))
        if unknown:
            known = ", ".join(SERVER_KEYS)
            msg = f"{where}: unknown key(s) {', '.join(unknown)}; a server remote takes {known}"
            raise ConfigError(msg)
        key, source = _key(name_or_url, table)
        return ServerRemote(name_or_url, url, key, source, SyncLimits.from_table(table, where))
    if is_server_url(name_or_url):
        url = name_or_url.rstrip("/")
        key, source = _key(url, {})
        return ServerRemote(url, url, key, source)
    known = ", ".join(sorted(configured)) or "none yet"
    msg = (
        f"no remote named {name_or_url!r} (configured: {known}); add one with "
        "`threadline remote add NAME http://HOST:PORT`, or give a server URL"
    )
    raise SyncError(msg)


def server_remote_names(start: Path | None = None) -> list[str]:
    """The names of the configured remotes that are threadline servers."""
    return [name for name, table in settings.remotes(start).items() if is_server_url(str(table["url"]))]


def default_remote(start: Path | None = None) -> str:
    """The remote to use when none is named: the only server remote, or the one named ``origin``."""
    servers = [name for name, table in settings.remotes(start).items() if is_server_url(str(table["url"]))]
    if "origin" in servers or len(servers) == 1:
        return "origin" if "origin" in servers else servers[0]
    if not servers:
        msg = "no remote to sync with: add one with `threadline remote add origin http://HOST:PORT`"
        raise SyncError(msg)
    msg = f"several remotes ({', '.join(sorted(servers))}) and none named origin: name the one to use"
    raise SyncError(msg)


def _config_path(start: Path | None) -> Path:
    folder = settings.find_project_dir(start)
    if folder is None:
        msg = "not in a threadline project (no .threadline folder here or above): run `threadline init` first"
        raise ConfigError(msg)
    return folder / settings.CONFIG_FILE_NAME


def _load(path: Path) -> tomlkit.TOMLDocument:
    if not path.exists():
        return tomlkit.document()
    try:
        return tomlkit.parse(path.read_text())
    except tomlkit.exceptions.ParseError as exc:
        msg = f"{path} is not valid TOML ({exc}); fix or delete it"
        raise ConfigError(msg) from exc


def add_remote(
    name: str, url: str, *, key_env: str | None = None, key: str | None = None, start: Path | None = None
) -> Path:
    """Add remote ``name`` at ``url`` to the project's config file; return the file's path."""
    if not _NAME.fullmatch(name):
        msg = f"a remote name is letters, digits, '.', '_' and '-' (up to 64), got {name!r}"
        raise ConfigError(msg)
    if "://" not in url:
        msg = f"a remote URL is http://HOST:PORT (a threadline server) or s3://bucket/prefix, got {url!r}"
        raise ConfigError(msg)
    path = _config_path(start)
    document = _load(path)
    tables = document.setdefault("remotes", tomlkit.table(is_super_table=True))
    if name in tables:
        existing = tables[name].get("url")
        msg = (
            f"remote {name!r} exists ({redact_url(str(existing))}); "
            f"remove it first: `threadline remote remove {name}`"
        )
        raise ConfigError(msg)
    table = tomlkit.table()
    table["url"] = url.rstrip("/") if is_server_url(url) else url
    if key_env:
        table["key_env"] = key_env
    if key:
        table["key"] = key
    tables[name] = table
    path.write_text(tomlkit.dumps(document))
    if key:
        path.chmod(0o600)
    return path


def remove_remote(name: str, start: Path | None = None) -> str:
    """Remove remote ``name`` from the config file; return its URL."""
    path = _config_path(start)
    document = _load(path)
    tables = document.get("remotes", {})
    if name not in tables:
        msg = f"no remote named {name!r}; `threadline remote list` shows them"
        raise ConfigError(msg)
    url = str(tables[name].get("url"))
    del tables[name]
    path.write_text(tomlkit.dumps(document))
    return url


def list_remotes(start: Path | None = None) -> list[tuple[str, str, str]]:
    """Every remote: (name, URL with any password hidden, where its key comes from, or the kind for
    object stores)."""
    rows = []
    for name, table in sorted(settings.remotes(start).items()):
        url = str(table["url"])
        source = _key(name, table)[1] if is_server_url(url) else "object store"
        rows.append((name, redact_url(url), source))
    return rows
