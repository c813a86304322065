"""Tracking settings: one table, read from arguments, the config file's ``[tracking]`` table, then
``THREADLINE_TRACKING_*`` environment variables (a few also have a short alias such as ``THREADLINE_URL``).

Code that runs inside a project (a folder with ``.threadline`` at or above the working folder) tracks
into that project. Code that runs outside any project tracks into the global folder ``~/.threadline``,
which the SDK creates on first use (no other command creates it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from threadline import settings
from threadline.errors import ConfigError

#: Transports by name; ``None`` (the default) picks ``http`` when a URL is set, else ``embedded``.
TRANSPORTS = ("embedded", "http", "file", "console", "off")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


@dataclass(frozen=True)
class TrackingSetting:
    """One tracking setting: name, type, default, help, and environment aliases."""

    name: str
    type: type
    default: Any
    help: str
    aliases: tuple[str, ...] = ()

    @property
    def env_var(self) -> str:
        """The environment variable that sets it: ``THREADLINE_TRACKING_<NAME>``."""
        return f"THREADLINE_TRACKING_{self.name.upper()}"

    @property
    def env_vars(self) -> tuple[str, ...]:
        """Every environment variable read for it, first wins."""
        return (self.env_var, *self.aliases)


TRACKING_SETTINGS: tuple[TrackingSetting, ...] = (
    TrackingSetting(
        "transport",
        str,
        None,
        "Where events go: embedded, http, file, console or off. Default: http when a url is set, "
        "else embedded (the project's store).",
    ),
    TrackingSetting(
        "url", str, None, "Base URL of a threadline server for the http transport.", ("THREADLINE_URL",)
    ),
    TrackingSetting(
        "api_key",
        str,
        None,
        "API key (write scope) sent as `Authorization: Bearer`.",
        ("THREADLINE_API_KEY",),
    ),
    TrackingSetting(
        "disabled",
        bool,
        False,
        "true turns tracking into a no-op that never touches disk or network.",
        ("THREADLINE_DISABLED",),
    ),
    TrackingSetting(
        "namespace",
        str,
        None,
        "Job namespace of tracked runs. Default: the project folder's name (`default` outside a project).",
    ),
    TrackingSetting(
        "store_outputs",
        bool,
        False,
        "Store every output's bytes in the artifact store, as `store=True` does.",
    ),
    TrackingSetting(
        "store_inputs", bool, False, "Store every input's bytes in the artifact store when declared."
    ),
    TrackingSetting(
        "file", str, None, "File the file transport appends JSON lines to. Default: .threadline/events.jsonl."
    ),
    TrackingSetting("timeout", float, 5.0, "Seconds an HTTP request to the server may take."),
    TrackingSetting(
        "flush_timeout",
        float,
        10.0,
        "Seconds the process waits at exit for queued events to reach the store or the journal.",
    ),
    TrackingSetting(
        "running_points",
        int,
        10_000,
        "A RUNNING event carries the metric points logged since the last event once this many are queued.",
    ),
    TrackingSetting(
        "running_seconds",
        float,
        300.0,
        "... or once this many seconds have passed since the last event and new points exist.",
    ),
    TrackingSetting(
        "remote", str, None, "Artifact remote that `threadline restore` pulls missing objects from."
    ),
)
_BY_NAME = {s.name: s for s in TRACKING_SETTINGS}


def home_dir() -> Path:
    """The global fallback folder, ``~/.threadline``, for code that runs outside any project."""
    return Path.home() / settings.PROJECT_DIR_NAME


def tracking_dir(start: Path | None = None) -> tuple[Path, bool]:
    """The ``.threadline`` folder runs are tracked into, and whether it is the global fallback."""
    found = settings.find_project_dir(start)
    if found is not None:
        home = home_dir()
        return found, home.exists() and found == home.resolve()
    return home_dir(), True


def _coerce(setting: TrackingSetting, value: Any, source: str) -> Any:
    if value is None:
        return None
    if setting.type is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        msg = f"tracking setting {setting.name} from {source} must be true or false, got {value!r}"
        raise ConfigError(msg)
    if isinstance(value, setting.type) and not isinstance(value, bool):
        return value
    try:
        return setting.type(value)
    except (TypeError, ValueError) as exc:
        msg = f"tracking setting {setting.name} from {source} must be {setting.type.__name__}, got {value!r}"
        raise ConfigError(msg) from exc


@dataclass(frozen=True)
class TrackingConfig:
    """Resolved tracking settings, and the folder runs are tracked into."""

    folder: Path
    is_global: bool
    values: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    @property
    def transport(self) -> str:
        """The transport's name, with the default applied."""
        chosen = self.values.get("transport")
        if chosen:
            return chosen
        return "http" if self.values.get("url") else "embedded"

    @property
    def namespace(self) -> str:
        """The job namespace, with the default applied."""
        chosen = self.values.get("namespace")
        if chosen:
            return chosen
        return "default" if self.is_global else self.folder.parent.name or "default"

    @property
    def journal_dir(self) -> Path:
        """Where events wait until a server (or the store) has them."""
        return self.folder / "journal"

    @property
    def events_file(self) -> Path:
        """The file transport's output file."""
        chosen = self.values.get("file")
        return Path(chosen) if chosen else self.folder / "events.jsonl"

    @property
    def store_url(self) -> str:
        """The store the embedded transport appends to (the ``store`` setting, else the folder's own)."""
        start = self.folder.parent
        return (
            settings.resolve("store", start=start) or f"sqlite:///{self.folder / settings.DATABASE_FILE_NAME}"
        )


def load_config(start: Path | None = None, **explicit: Any) -> TrackingConfig:
    """Resolve every tracking setting: ``explicit`` arguments, ``[tracking]``, environment, default."""
    unknown = sorted(set(explicit) - set(_BY_NAME))
    if unknown:
        msg = f"unknown tracking setting(s) {', '.join(unknown)}; known: {', '.join(_BY_NAME)}"
        raise ConfigError(msg)
    folder, is_global = tracking_dir(start)
    table = settings.config_table("tracking", folder.parent) if folder.is_dir() else {}
    bad = sorted(set(table) - set(_BY_NAME))
    if bad:
        msg = f"{folder / settings.CONFIG_FILE_NAME}: unknown [tracking] setting(s) {', '.join(bad)}"
        raise ConfigError(msg)
    values: dict[str, Any] = {}
    for setting in TRACKING_SETTINGS:
        value: Any = None
        if explicit.get(setting.name) is not None:
            value = _coerce(setting, explicit[setting.name], "the argument")
        elif setting.name in table:
            value = _coerce(setting, table[setting.name], "[tracking] in config.toml")
        else:
            for var in setting.env_vars:
                raw = os.environ.get(var)
                if raw not in (None, ""):
                    value = _coerce(setting, raw, var)
                    break
        values[setting.name] = setting.default if value is None else value
    transport = values["transport"]
    if transport is not None and transport not in TRANSPORTS:
        msg = f"tracking transport must be one of {', '.join(TRANSPORTS)}, got {transport!r}"
        raise ConfigError(msg)
    if transport == "http" and not values["url"]:
        msg = "the http transport needs a url: set [tracking] url, THREADLINE_URL or pass url="
        raise ConfigError(msg)
    return TrackingConfig(folder, is_global, values)


def disabled_by_env() -> bool:
    """Whether ``THREADLINE_DISABLED`` (or ``THREADLINE_TRACKING_DISABLED``) says tracking is off.

    Read on its own, before anything else, so that a disabled process never even reads a config file.
    """
    for var in _BY_NAME["disabled"].env_vars:
        raw = os.environ.get(var)
        if raw is not None and raw.strip().lower() in _TRUE:
            return True
    return False
