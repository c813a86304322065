"""The settings table: one place that the CLI, the server and the docs read.

A setting's value comes from, in order: an explicit argument (a CLI option), the project's config file
(``.threadline/config.toml``), the ``THREADLINE_<NAME>`` environment variable, then its default.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from threadline.errors import ConfigError

PROJECT_DIR_NAME = ".threadline"
CONFIG_FILE_NAME = "config.toml"
DATABASE_FILE_NAME = "threadline.db"


@dataclass(frozen=True)
class Setting:
    """One configurable value: its name, type, default and help text."""

    name: str
    type: type
    default: Any
    help: str

    @property
    def env_var(self) -> str:
        """The environment variable that sets this setting."""
        return f"THREADLINE_{self.name.upper()}"


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "store",
        str,
        None,
        "Store URL: sqlite:///PATH or postgresql://USER@HOST:PORT/DB. "
        "Default: .threadline/threadline.db in the nearest project folder.",
    ),
    Setting("host", str, "127.0.0.1", "Address `threadline serve` binds to."),
    Setting(
        "port", int, 5000, "Port `threadline serve` listens on (Marquez's default, so its clients work)."
    ),
    Setting(
        "auth",
        str,
        "auto",
        "`token`, `none` or `auto`: token as soon as any API key exists, else none on loopback.",
    ),
    Setting("max_body_bytes", int, 16 * 1024 * 1024, "Largest accepted request body (after gzip), bytes."),
    Setting("max_batch_events", int, 10_000, "Most events accepted in one batch request."),
    Setting(
        "max_event_inputs",
        int,
        10_000,
        "Most input datasets one event may list (more: 413, the event refused).",
    ),
    Setting(
        "max_event_outputs",
        int,
        10_000,
        "Most output datasets one event may list (more: 413, the event refused).",
    ),
    Setting(
        "max_event_fields",
        int,
        100_000,
        "Most schema fields one event may carry, counted over all its datasets, nested fields included.",
    ),
    Setting(
        "max_event_column_edges",
        int,
        100_000,
        "Most column-lineage edges (input fields of output fields) one event may carry.",
    ),
    Setting(
        "max_object_bytes",
        int,
        5 * 1024**3,
        "Largest object `PUT /api/v1/objects/{id}` accepts, bytes (more: 413, nothing kept).",
    ),
    Setting(
        "header_timeout",
        float,
        10.0,
        "Seconds a client has to send a request's headers, from its first byte (or from connecting); "
        "then it is answered 408 and closed.",
    ),
    Setting(
        "body_timeout",
        float,
        30.0,
        "Seconds a request body may go without a byte arriving; then it is answered 408 and closed.",
    ),
    Setting(
        "max_connections",
        int,
        1000,
        "Most connections open at once; beyond it a client waiting for its headers the longest is "
        "closed (408) or, with none, the new client is answered 503.",
    ),
    Setting(
        "read_wait",
        float,
        2.0,
        "Seconds a read may wait for the projections to hold every event acknowledged before it "
        "(read-your-writes; on PostgreSQL, by any server of the store); past it the answer says "
        "X-Threadline-Projection-Lag. 0: never wait.",
    ),
    Setting(
        "sqlite_synchronous",
        str,
        "NORMAL",
        "SQLite `synchronous` pragma. NORMAL (WAL) survives a killed process; FULL also a power cut.",
    ),
    Setting(
        "parse_workers",
        int,
        2,
        "Worker processes that parse (and compress) large batches beside the server's own process "
        "(0: parse in-process only).",
    ),
    Setting("log_level", str, "info", "Server log level: debug, info, warning, error."),
    Setting(
        "objects",
        str,
        None,
        "Folder of the server's object store, for `threadline push --artifacts`. "
        "Default: `objects` beside a SQLite store; none for PostgreSQL.",
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def default(name: str) -> Any:
    """The default value of setting ``name``."""
    return _BY_NAME[name].default


def find_project_dir(start: Path | None = None) -> Path | None:
    """Return the nearest ``.threadline`` folder at or above ``start`` (like git finds ``.git``)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / PROJECT_DIR_NAME
        if candidate.is_dir():
            return candidate
    return None


def project_dir(start: Path | None = None) -> Path:
    """The project folder to use: the nearest existing one, else ``./.threadline`` (not created here)."""
    return find_project_dir(start) or (start or Path.cwd()).resolve() / PROJECT_DIR_NAME


def _read_config_file(folder: Path | None) -> dict[str, Any]:
    if folder is None:
        return {}
    path = folder / CONFIG_FILE_NAME
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{path} is not valid TOML ({exc}); fix or delete it"
        raise ConfigError(msg) from exc
    unknown = sorted(set(data) - set(_BY_NAME) - {"remotes", "tracking"})
    if unknown:
        msg = f"{path}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(_BY_NAME)}"
        raise ConfigError(msg)
    return data


def _coerce(setting: Setting, value: Any, source: str) -> Any:
    if value is None or isinstance(value, setting.type):
        return value
    try:
        return setting.type(value)
    except (TypeError, ValueError) as exc:
        msg = f"setting {setting.name} from {source} must be {setting.type.__name__}, got {value!r}"
        raise ConfigError(msg) from exc


def resolve(name: str, explicit: Any = None, *, start: Path | None = None) -> Any:
    """Return the value of setting ``name``: explicit argument, config file, environment, default."""
    setting = _BY_NAME[name]
    if explicit is not None:
        return _coerce(setting, explicit, "the command line")
    config = _read_config_file(find_project_dir(start))
    if name in config:
        return _coerce(setting, config[name], CONFIG_FILE_NAME)
    env = os.environ.get(setting.env_var)
    if env not in (None, ""):
        return _coerce(setting, env, setting.env_var)
    return setting.default


def default_store_url(start: Path | None = None) -> str:
    """The embedded store of the current project: ``sqlite:///<project>/.threadline/threadline.db``."""
    return f"sqlite:///{project_dir(start) / DATABASE_FILE_NAME}"


def store_url(explicit: str | None = None, *, start: Path | None = None) -> str:
    """The store URL from argument, config file or ``THREADLINE_STORE``, else the project's embedded one."""
    return resolve("store", explicit, start=start) or default_store_url(start)


def remotes(start: Path | None = None) -> dict[str, dict[str, Any]]:
    """The artifact remotes of the project's config file: ``[remotes.NAME]`` tables, each with a ``url``.

    Other keys of a table are passed to the remote's fsspec filesystem (e.g. ``endpoint_url``).
    """
    folder = find_project_dir(start)
    tables = _read_config_file(folder).get("remotes", {})
    where = folder / CONFIG_FILE_NAME if folder else CONFIG_FILE_NAME
    if not isinstance(tables, dict):
        msg = f"{where}: `remotes` must be a table of [remotes.NAME] tables"
        raise ConfigError(msg)
    found: dict[str, dict[str, Any]] = {}
    for name, table in tables.items():
        if not isinstance(table, dict) or not isinstance(table.get("url"), str) or not table["url"]:
            msg = f'{where}: [remotes.{name}] needs a url, e.g. url = "s3://bucket/threadline"'
            raise ConfigError(msg)
        found[name] = dict(table)
    return found


def config_table(name: str, start: Path | None = None) -> dict[str, Any]:
    """One table of the project's config file (``[tracking]``, ``[remotes]``), or ``{}`` without one."""
    folder = find_project_dir(start)
    table = _read_config_file(folder).get(name, {})
    if not isinstance(table, dict):
        where = folder / CONFIG_FILE_NAME if folder else CONFIG_FILE_NAME
        msg = f"{where}: `{name}` must be a table ([{name}])"
        raise ConfigError(msg)
    return table
