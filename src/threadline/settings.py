"""The settings table: the one place the CLI, the server, the tracking SDK and the docs read.

Every setting is a row of :data:`TABLE`: its name, type, default, allowed values (choices or bounds), help
text, environment variable and key in the project's config file (``.threadline/config.toml``: a
top-level key, or a key of its ``[tracking]`` table). One resolver, :func:`resolve_setting`, gives a
setting's value from, in order:

1. an explicit argument (a command-line option, an SDK argument),
2. the project's config file (the nearest ``.threadline`` folder at or above the working folder),
3. the environment variable (``THREADLINE_<NAME>``, ``THREADLINE_TRACKING_<NAME>`` for tracking),
4. the default.

A bad value from any source is a :class:`~threadline.errors.ConfigError` that names the setting, where
the value came from and what it may be. ``threadline serve`` resolves every server setting once into a
frozen :class:`ServerConfig` (:func:`load_server_config`) and hands that object down to the server;
``docs/settings.md`` is generated from the table (:func:`settings_markdown`, a test keeps it in step).

Why hand-written rather than pydantic-settings (or msgspec's conversion): the config file is not at a
fixed path but found by walking up to the nearest project folder, and from a different start folder for
the tracking SDK; the precedence is argument, file, then environment (pydantic-settings puts the
environment above files and needs every source customised to change that); an error must name the one
source the bad value came from (``--port``, ``config.toml``, ``THREADLINE_PORT``) in one line, which a
pydantic ``ValidationError`` does not; and the same rows generate the ``serve`` command's options,
``threadline init``'s commented config file and the docs. Checking five scalar types against choices and
bounds is a few dozen lines, and the SDK imports this module at ``import threadline`` time, cheaply.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from threadline.errors import ConfigError

PROJECT_DIR_NAME = ".threadline"
CONFIG_FILE_NAME = "config.toml"
DATABASE_FILE_NAME = "threadline.db"

#: The parts of the table: settings of every command that opens a store, of ``threadline serve``, and
#: of the tracking SDK (these live in the config file's ``[tracking]`` table).
SECTIONS = ("store", "server", "tracking")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})
_TYPE_NAMES = {str: "text", int: "a whole number", float: "a number", bool: "true or false", list: "a list"}


@dataclass(frozen=True)
class Setting:
    """One configurable value: a row of the settings table.

    ``type`` is ``str``, ``int``, ``float``, ``bool`` or ``list`` (a list of text: a TOML array, or
    comma-separated in the environment). ``choices`` are the only values allowed (matched in any case,
    kept as spelled here); ``minimum``/``maximum`` bound a number. ``aliases`` are more environment
    variables, read after :attr:`env_var`. ``shown_default`` describes a default that is worked out
    (e.g. "the project's store") where ``default`` is ``None``.
    """

    name: str
    type: type
    default: Any
    help: str
    section: str = "server"
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    aliases: tuple[str, ...] = ()
    metavar: str | None = None
    shown_default: str | None = None
    #: Checks a text value beyond its type: returns what is wrong with it, or ``None``.
    validate: Callable[[str], str | None] | None = None
    #: What a value may be, when ``validate`` decides it (shown in errors and the docs).
    allowed_text: str | None = None

    @property
    def env_var(self) -> str:
        """The environment variable that sets this setting."""
        prefix = "THREADLINE_TRACKING_" if self.section == "tracking" else "THREADLINE_"
        return f"{prefix}{self.name.upper()}"

    @property
    def env_vars(self) -> tuple[str, ...]:
        """Every environment variable read for it, the first set one wins."""
        return (self.env_var, *self.aliases)

    @property
    def key(self) -> str:
        """Its key in the config file: ``port``, or ``tracking.url`` for ``url`` in ``[tracking]``."""
        return f"tracking.{self.name}" if self.section == "tracking" else self.name

    @property
    def option(self) -> str:
        """The command-line option of a store or server setting: ``--max-body-bytes``."""
        return f"--{self.name.replace('_', '-')}"

    @property
    def allowed(self) -> str:
        """What a value may be, for people: ``one of auto, token, none``, ``a whole number, at least 1``."""
        if self.allowed_text:
            return self.allowed_text
        if self.choices:
            return f"one of {', '.join(self.choices)}"
        text = _TYPE_NAMES[self.type]
        if self.type is list:
            text = "a list of text (comma-separated in the environment)"
        bounds = []
        if self.minimum is not None:
            bounds.append(f"at least {_number(self.minimum)}")
        if self.maximum is not None:
            bounds.append(f"at most {_number(self.maximum)}")
        return f"{text}, {' and '.join(bounds)}" if bounds else text

    @property
    def default_text(self) -> str:
        """The default for people (``shown_default``, else the value; "none" when there is none)."""
        if self.shown_default is not None:
            return self.shown_default
        if self.default is None or self.default == ():
            return "none"
        if isinstance(self.default, bool):
            return "true" if self.default else "false"
        return str(self.default)

    def check(self, value: Any, source: str) -> Any:
        """``value`` (from ``source``, e.g. ``THREADLINE_PORT``) as this setting's type, within its
        choices and bounds; a :class:`ConfigError` naming the setting, the source and the allowed
        values otherwise. ``None`` stays ``None`` (not set)."""
        if value is None:
            return None
        converted = self._convert(value)
        if converted is None:
            raise self._bad(value, source)
        if self.choices:
            wanted = str(converted).strip().lower()
            for choice in self.choices:
                if choice.lower() == wanted:
                    return choice
            raise self._bad(value, source)
        if isinstance(converted, int | float) and not isinstance(converted, bool):
            too_low = self.minimum is not None and converted < self.minimum
            too_high = self.maximum is not None and converted > self.maximum
            if too_low or too_high or (isinstance(converted, float) and not math.isfinite(converted)):
                raise self._bad(value, source)
        if self.validate is not None and self.validate(converted) is not None:
            raise self._bad(value, source)
        return converted

    def _convert(self, value: Any) -> Any:
        """``value`` as the setting's type, or ``None`` when it is not one."""
        kind = self.type
        if kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower() if isinstance(value, str | int) else None
            return True if text in _TRUE else False if text in _FALSE else None
        if isinstance(value, bool):
            return None  # True is not a port, nor text
        if kind is int:
            if isinstance(value, int):
                return value
            if isinstance(value, float):
                return int(value) if value.is_integer() else None
            try:
                return int(str(value).strip())
            except ValueError:
                return None
        if kind is float:
            if isinstance(value, int | float):
                return float(value)
            try:
                return float(str(value).strip())
            except ValueError:
                return None
        if kind is list:
            if isinstance(value, str):
                value = value.split(",")
            if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
                return None
            return tuple(item.strip() for item in value if item.strip())
        return value if isinstance(value, str) else None

    def _bad(self, value: Any, source: str) -> ConfigError:
        return ConfigError(f"setting {self.name} from {source} must be {self.allowed}, got {value!r}")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


#: The keys of ``pull_filter`` (``threadline pull``'s options in query form; see ``sync.filters``).
PULL_FILTER_KEYS = ("depth", "direction", "namespace", "node", "pipeline", "since")


def _pull_filter_problem(text: str) -> str | None:
    pairs = urllib.parse.parse_qsl(text, keep_blank_values=True)
    unknown = sorted({key for key, _ in pairs} - set(PULL_FILTER_KEYS))
    return f"unknown key(s) {', '.join(unknown)}" if unknown or not pairs else None


_MIB = 1024 * 1024

#: Every setting, in the order the docs list them.
TABLE: tuple[Setting, ...] = (
    # ---- every command that opens a store ------------------------------------------------------------
    Setting(
        "store",
        str,
        None,
        "Store URL: `sqlite:///PATH` or `postgresql://USER@HOST:PORT/DB`.",
        section="store",
        metavar="URL",
        shown_default="`.threadline/threadline.db` of the nearest project folder",
    ),
    Setting(
        "sqlite_synchronous",
        str,
        "NORMAL",
        "SQLite `synchronous` pragma. NORMAL (WAL) survives a killed process; FULL also a power cut.",
        section="store",
        choices=("OFF", "NORMAL", "FULL", "EXTRA"),
    ),
    # ---- threadline serve ----------------------------------------------------------------------------
    Setting("host", str, "127.0.0.1", "Address `threadline serve` binds to."),
    Setting(
        "port",
        int,
        5000,
        "Port `threadline serve` listens on (Marquez's default, so its clients work; 0 picks a free one).",
        minimum=0,
        maximum=65535,
    ),
    Setting(
        "auth",
        str,
        "auto",
        "`token`, `none` or `auto`: token as soon as any API key exists, else none on loopback.",
        choices=("auto", "token", "none"),
    ),
    Setting(
        "max_body_bytes",
        int,
        16 * _MIB,
        "Largest accepted request body (after gzip), bytes.",
        minimum=1,
    ),
    Setting("max_batch_events", int, 10_000, "Most events accepted in one batch request.", minimum=1),
    Setting(
        "max_event_inputs",
        int,
        10_000,
        "Most input datasets one event may list; more is a 413 naming the limit (in a batch, a failed "
        "event).",
        minimum=1,
    ),
    Setting(
        "max_event_outputs",
        int,
        10_000,
        "Most output datasets one event may list (413 beyond).",
        minimum=1,
    ),
    Setting(
        "max_event_fields",
        int,
        100_000,
        "Most schema fields one event may carry, over all its datasets, nested fields included (413 beyond).",
        minimum=1,
    ),
    Setting(
        "max_event_column_edges",
        int,
        100_000,
        "Most column-lineage edges (input fields of output fields, and dataset-level ones) one event may "
        "carry (413 beyond).",
        minimum=1,
    ),
    Setting(
        "max_object_bytes",
        int,
        5 * 1024**3,
        "Largest object `PUT /api/v1/objects/{id}` accepts, bytes: 413 from the declared "
        "`Content-Length`, or as soon as more arrives; nothing is kept.",
        minimum=1,
    ),
    Setting(
        "header_timeout",
        float,
        10.0,
        "Seconds a client has to send a request's line and headers, from connecting or from the next "
        "request's first byte on a kept-alive connection; then 408 and closed.",
        minimum=0.1,
        metavar="SECONDS",
    ),
    Setting(
        "body_timeout",
        float,
        30.0,
        "Seconds a request body may go without a byte arriving; then 408 and closed, and nothing of the "
        "request is stored.",
        minimum=0.1,
        metavar="SECONDS",
    ),
    Setting(
        "max_connections",
        int,
        1000,
        "Most connections open at once; beyond it the connection waiting longest for its headers is "
        "closed (408) or, with none, the new client is answered 503.",
        minimum=1,
    ),
    Setting(
        "parse_workers",
        int,
        2,
        "Worker processes that parse (and compress) large batches beside the server's own process "
        "(0: parse in-process only).",
        minimum=0,
        maximum=64,
    ),
    Setting(
        "log_level",
        str,
        "info",
        "Server log level.",
        choices=("debug", "info", "warning", "error"),
    ),
    Setting(
        "read_wait",
        float,
        2.0,
        "Seconds a read may wait for the projections to hold every event acknowledged before it "
        "(read-your-writes; on PostgreSQL, by any server of the store); past it the answer says "
        "X-Threadline-Projection-Lag. 0: never wait.",
        minimum=0,
        metavar="SECONDS",
    ),
    Setting(
        "max_writer_queue",
        int,
        100_000,
        "Back-pressure: most events waiting to be committed; beyond it ingest answers 503 with "
        "Retry-After (0: no limit).",
        minimum=0,
    ),
    Setting(
        "max_projection_lag",
        float,
        60.0,
        "Back-pressure: most seconds the oldest event not yet in the lineage may wait; beyond it "
        "ingest answers 503 with Retry-After (0: no limit).",
        minimum=0,
        metavar="SECONDS",
    ),
    Setting(
        "metrics",
        str,
        "auth",
        "GET /metrics (Prometheus): `auth` needs a read key when the server checks keys, `open` "
        "answers anyone, `off` answers 404.",
        choices=("auth", "open", "off"),
    ),
    Setting(
        "objects",
        str,
        None,
        "Folder of the server's object store, where `threadline push --artifacts` sends objects.",
        metavar="DIR",
        shown_default="`objects` beside a SQLite store's file; none for PostgreSQL",
    ),
    Setting(
        "pull_from",
        list,
        (),
        "Threadline servers (a remote's name or a URL) to pull from on a schedule; the option is "
        "repeatable, the environment variable comma-separated, the config file's value a list.",
        metavar="REMOTE",
    ),
    Setting(
        "pull_every",
        float,
        60.0,
        "Seconds between pulls from the `pull_from` servers.",
        minimum=1.0,
        metavar="SECONDS",
    ),
    Setting(
        "pull_filter",
        str,
        None,
        "Pull only part of each `pull_from` server, as `threadline pull`'s options in query form: "
        "`pipeline=P`, `namespace=N`, `node=NODE&direction=upstream&depth=3`, `since=TIME`.",
        metavar="QUERY",
        shown_default="everything",
        validate=_pull_filter_problem,
        allowed_text=f"key=value pairs joined by & (keys: {', '.join(PULL_FILTER_KEYS)})",
    ),
    # ---- the tracking SDK ([tracking] in the config file) ------------------------------------------
    Setting(
        "transport",
        str,
        None,
        "Where events go: embedded (the project's store), http, file, console or off.",
        section="tracking",
        choices=("embedded", "http", "file", "console", "off"),
        shown_default="http when a url is set, else embedded",
    ),
    Setting(
        "url",
        str,
        None,
        "Base URL of a threadline server for the http transport.",
        section="tracking",
        aliases=("THREADLINE_URL",),
    ),
    Setting(
        "api_key",
        str,
        None,
        "API key (write scope) sent as `Authorization: Bearer`.",
        section="tracking",
        aliases=("THREADLINE_API_KEY",),
    ),
    Setting(
        "disabled",
        bool,
        False,
        "true turns tracking into a no-op that never touches disk or network.",
        section="tracking",
        aliases=("THREADLINE_DISABLED",),
    ),
    Setting(
        "namespace",
        str,
        None,
        "Job namespace of tracked runs.",
        section="tracking",
        shown_default="the project folder's name (`default` outside a project)",
    ),
    Setting(
        "store_outputs",
        bool,
        False,
        "Store every output's bytes in the artifact store, as `store=True` does.",
        section="tracking",
    ),
    Setting(
        "store_inputs",
        bool,
        False,
        "Store every input's bytes in the artifact store when declared.",
        section="tracking",
    ),
    Setting(
        "file",
        str,
        None,
        "File the file transport appends JSON lines to.",
        section="tracking",
        shown_default="`.threadline/events.jsonl`",
    ),
    Setting(
        "timeout",
        float,
        5.0,
        "Seconds an HTTP request to the server may take.",
        section="tracking",
        minimum=0.001,
    ),
    Setting(
        "flush_timeout",
        float,
        10.0,
        "Seconds the process waits at exit, with no progress, for queued events to reach the store "
        "or the journal (a slow store that still takes events is waited for).",
        section="tracking",
        minimum=0,
    ),
    Setting(
        "running_points",
        int,
        10_000,
        "A RUNNING event carries the metric points logged since the last event once this many are queued.",
        section="tracking",
        minimum=1,
    ),
    Setting(
        "running_seconds",
        float,
        300.0,
        "... or once this many seconds have passed since the last event and new points exist.",
        section="tracking",
        minimum=0,
    ),
    Setting(
        "remote",
        str,
        None,
        "Artifact remote that `threadline restore` pulls missing objects from.",
        section="tracking",
    ),
)

#: The top-level settings (store and server): keys of the config file's top level, ``serve`` options.
SETTINGS: tuple[Setting, ...] = tuple(s for s in TABLE if s.section != "tracking")
#: The tracking SDK's settings: keys of the config file's ``[tracking]`` table.
TRACKING_SETTINGS: tuple[Setting, ...] = tuple(s for s in TABLE if s.section == "tracking")

_BY_NAME = {s.name: s for s in SETTINGS}
_TRACKING_BY_NAME = {s.name: s for s in TRACKING_SETTINGS}
#: Tables of the config file that are not settings of their own.
_TABLES = ("remotes", "tracking")


def setting(name: str) -> Setting:
    """The row of setting ``name`` (``port``; ``tracking.url`` for a tracking setting)."""
    if name.startswith("tracking."):
        return _TRACKING_BY_NAME[name.removeprefix("tracking.")]
    return _BY_NAME[name]


def default(name: str) -> Any:
    """The default value of setting ``name``."""
    return setting(name).default


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
    unknown = sorted(set(data) - set(_BY_NAME) - set(_TABLES))
    if unknown:
        msg = f"{path}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(_BY_NAME)}"
        raise ConfigError(msg)
    return data


@dataclass(frozen=True)
class ConfigFile:
    """The settings a project's config file gives: its top level (``values``) and where it is."""

    path: Path | None
    values: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def find(cls, start: Path | None = None) -> ConfigFile:
        """The config file of the nearest project folder at or above ``start`` (empty without one)."""
        folder = find_project_dir(start)
        return cls(folder / CONFIG_FILE_NAME if folder else None, _read_config_file(folder))

    def table(self, name: str) -> dict[str, Any]:
        """One table of the file (``[tracking]``, ``[remotes]``), or ``{}`` without one."""
        table = self.values.get(name, {})
        if not isinstance(table, dict):
            msg = f"{self.path or CONFIG_FILE_NAME}: `{name}` must be a table ([{name}])"
            raise ConfigError(msg)
        return table


def resolve_setting(
    row: Setting,
    explicit: Any = None,
    *,
    file: ConfigFile | None = None,
    explicit_source: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Any:
    """The value of setting ``row``: ``explicit`` (from ``explicit_source``, default its option), the
    config ``file`` (found from the working folder when not given), the environment, then the default;
    checked (:meth:`Setting.check`) whatever its source."""
    if explicit is not None:
        return row.check(explicit, explicit_source or row.option)
    file = ConfigFile.find() if file is None else file
    values = file.table("tracking") if row.section == "tracking" else file.values
    if row.name in values:
        where = file.path or CONFIG_FILE_NAME
        return row.check(values[row.name], f"{where} ({row.key})")
    environ = os.environ if environ is None else environ
    for variable in row.env_vars:
        raw = environ.get(variable)
        if raw not in (None, ""):
            return row.check(raw, variable)
    return row.default


def resolve(name: str, explicit: Any = None, *, start: Path | None = None) -> Any:
    """Return the value of setting ``name``: explicit argument, config file, environment, default."""
    return resolve_setting(setting(name), explicit, file=ConfigFile.find(start))


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
    file = ConfigFile.find(start)
    tables = file.values.get("remotes", {})
    where = file.path or CONFIG_FILE_NAME
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
    return ConfigFile.find(start).table(name)


# ---- the server's configuration ----------------------------------------------------------------------


@dataclass(frozen=True)
class ServerConfig:
    """Every setting of a server, resolved and checked: what ``threadline serve`` hands down to
    ``run_server`` and ``create_app``. Fields are the store and server rows of :data:`TABLE`, with
    their defaults; a value given here is checked as one from any other source would be (a bad one is a
    :class:`ConfigError` naming the setting and what it may be), so ``ServerConfig(port=-1)`` fails."""

    store: str | None = default("store")
    sqlite_synchronous: str = default("sqlite_synchronous")
    host: str = default("host")
    port: int = default("port")
    auth: str = default("auth")
    max_body_bytes: int = default("max_body_bytes")
    max_batch_events: int = default("max_batch_events")
    max_event_inputs: int = default("max_event_inputs")
    max_event_outputs: int = default("max_event_outputs")
    max_event_fields: int = default("max_event_fields")
    max_event_column_edges: int = default("max_event_column_edges")
    max_object_bytes: int = default("max_object_bytes")
    header_timeout: float = default("header_timeout")
    body_timeout: float = default("body_timeout")
    max_connections: int = default("max_connections")
    read_wait: float = default("read_wait")
    max_writer_queue: int = default("max_writer_queue")
    max_projection_lag: float = default("max_projection_lag")
    metrics: str = default("metrics")
    parse_workers: int = default("parse_workers")
    log_level: str = default("log_level")
    objects: str | None = default("objects")
    pull_from: tuple[str, ...] = default("pull_from")
    pull_every: float = default("pull_every")
    pull_filter: str | None = default("pull_filter")

    def __post_init__(self) -> None:
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            row = _BY_NAME[item.name]
            if value is None and row.default is None:
                continue
            checked = row.check(value, f"ServerConfig({item.name}=...)")
            if checked is None:
                raise row._bad(value, f"ServerConfig({item.name}=...)")
            object.__setattr__(self, item.name, checked)

    def replace(self, **changes: Any) -> ServerConfig:
        """A copy with ``changes`` (checked like the rest)."""
        return dataclasses.replace(self, **changes)


def load_server_config(start: Path | None = None, **explicit: Any) -> ServerConfig:
    """Resolve every server setting (:class:`ServerConfig`'s fields) from ``explicit`` arguments (the
    command's options; ``None`` is not given), the config file, the environment, then the defaults.

    The store is the one ``explicit`` names, else the ``store`` setting, else the project's own.
    """
    unknown = sorted(set(explicit) - set(_BY_NAME))
    if unknown:
        msg = f"unknown server setting(s) {', '.join(unknown)}; known: {', '.join(_BY_NAME)}"
        raise ConfigError(msg)
    file = ConfigFile.find(start)
    values = {
        item.name: resolve_setting(_BY_NAME[item.name], explicit.get(item.name), file=file)
        for item in dataclasses.fields(ServerConfig)
    }
    values["store"] = values["store"] or default_store_url(start)
    return ServerConfig(**values)


# ---- the docs ------------------------------------------------------------------------------------------

_SECTION_TITLES = {
    "store": "Store (every command)",
    "server": "Server (`threadline serve`)",
    "tracking": "Tracking (the Python SDK, `[tracking]` in the config file)",
}


def settings_markdown() -> str:
    """``docs/settings.md``: every setting of :data:`TABLE` (``make settings-doc`` writes it; a test checks
    the page matches)."""
    lines = [
        "# Settings",
        "",
        "<!-- Generated from the table in src/threadline/settings.py by `make settings-doc`: edit the",
        "     table, not this page (tests/test_settings.py checks that they match). -->",
        "",
        "Each setting comes from, in order: the command-line option (or, for tracking, the argument of",
        "`threadline.configure(...)` / `threadline.run(...)`), the project's config file",
        "`.threadline/config.toml` (the nearest `.threadline` folder at or above the working folder), the",
        "environment variable, then the default. A bad value from any of them is an error that names the",
        "setting, where the value came from and what it may be.",
        "",
        "In the config file, store and server settings are top-level keys (`port = 5050`,",
        '`pull_from = ["edge-1", "https://hpc.example.com"]`); tracking settings go in the `[tracking]`',
        'table (`[tracking]` then `url = "http://threadline:5000"`). `threadline init` writes a config',
        "file listing every setting, commented out, with its default.",
    ]
    for section in SECTIONS:
        lines += [
            "",
            f"## {_SECTION_TITLES[section]}",
            "",
            "| setting | config file key | option or argument | environment variable | allowed values "
            "| default | meaning |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in TABLE:
            if row.section != section:
                continue
            option = f"`configure({row.name}=…)`" if section == "tracking" else f"`{row.option}`"
            variables = ", ".join(f"`{v}`" for v in row.env_vars)
            cells = [
                f"`{row.name}`",
                f"`{row.key}`",
                option,
                variables,
                row.allowed,
                row.default_text,
                row.help.replace("|", "\\|"),
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
