"""Tracking settings: the tracking rows of the one settings table (:mod:`threadline.settings`), read from
arguments, the config file's ``[tracking]`` table, then ``THREADLINE_TRACKING_*`` environment variables (a
few also have a short alias such as ``THREADLINE_URL``).

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
TRANSPORTS = settings.setting("tracking.transport").choices
_TRUE = frozenset({"1", "true", "yes", "on"})

#: The tracking rows of the one settings table (:data:`threadline.settings.TABLE`).
TRACKING_SETTINGS = settings.TRACKING_SETTINGS
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
    file = settings.ConfigFile.find(folder.parent) if folder.is_dir() else settings.ConfigFile(None)
    table = file.table("tracking")
    bad = sorted(set(table) - set(_BY_NAME))
    if bad:
        msg = f"{folder / settings.CONFIG_FILE_NAME}: unknown [tracking] setting(s) {', '.join(bad)}"
        raise ConfigError(msg)
    values: dict[str, Any] = {
        setting.name: settings.resolve_setting(
            setting, explicit.get(setting.name), file=file, explicit_source=f"the argument {setting.name}="
        )
        for setting in TRACKING_SETTINGS
    }
    transport = values["transport"]
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
