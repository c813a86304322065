"""A pipeline's configuration: per environment (``staging``, ``production``, ...) the lake root and
the warehouse URL, checked when the pipeline is declared so a mistake is a one-line error naming the key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from threadline.errors import ConfigError

#: The keys an environment accepts.
ENVIRONMENT_KEYS = ("lake", "warehouse", "staging_schema", "schema", "lake_production")
#: Warehouse URL schemes threadline loads into.
WAREHOUSE_SCHEMES = ("duckdb", "postgresql", "postgres")


@dataclass(frozen=True)
class Environment:
    """Where one environment of a pipeline keeps its data.

    ``lake``: the staging lake's root, a local folder or any fsspec URL (``s3://bucket/prefix``);
    ``warehouse``: ``duckdb:///path/to/file.duckdb`` (a relative path is taken from the pipeline
    file's folder) or ``postgresql://user@host:port/database``; ``staging_schema``: the warehouse
    schema the run writes and audits; ``schema``: the schema production readers use, which only a
    promotion changes; ``lake_production``: also publish the promoted tables to the lake, as a new
    version under ``production/`` and a pointer switched atomically.
    """

    lake: str
    warehouse: str
    staging_schema: str = "staging"
    schema: str = "analytics"
    lake_production: bool = False

    def resolved(self, base: Path) -> Environment:
        """This environment with relative local paths taken from ``base`` (the pipeline file's folder)."""
        lake = self.lake
        if "://" not in lake:
            lake = os.fspath((base / lake).resolve())
        scheme, _, rest = self.warehouse.partition("://")
        warehouse = self.warehouse
        if scheme == "duckdb" and rest.startswith("/") and not rest.startswith("//"):
            path = rest[1:]
            if not path.startswith("/") and path != ":memory:":
                warehouse = f"duckdb:///{(base / path).resolve()}"
        return Environment(lake, warehouse, self.staging_schema, self.schema, self.lake_production)

    @property
    def warehouse_path(self) -> str:
        """The DuckDB database file (or ``:memory:``)."""
        rest = self.warehouse.partition("://")[2]
        return rest[1:] if rest.startswith("/") else rest


def _identifier(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.isidentifier():
        msg = f"{where} must be a SQL identifier (letters, digits, underscore), got {value!r}"
        raise ConfigError(msg)
    return value


def environment_from(name: str, value: Any, pipeline: str) -> Environment:
    """An :class:`Environment` from an ``Environment`` or a dict, with every key checked."""
    where = f"pipeline {pipeline!r}: environments.{name}"
    if isinstance(value, Environment):
        data: dict[str, Any] = {key: getattr(value, key) for key in ENVIRONMENT_KEYS}
    elif isinstance(value, dict):
        unknown = sorted(set(value) - set(ENVIRONMENT_KEYS))
        if unknown:
            msg = f"{where}: unknown key {unknown[0]!r}; known keys: {', '.join(ENVIRONMENT_KEYS)}"
            raise ConfigError(msg)
        data = dict(value)
    else:
        msg = f"{where} must be a dict or an Environment, got {type(value).__name__}"
        raise ConfigError(msg)
    for key in ("lake", "warehouse"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            msg = f"{where}.{key} is missing: give a {'folder or fsspec URL' if key == 'lake' else 'URL'}"
            raise ConfigError(msg)
    scheme = data["warehouse"].partition("://")[0].split("+")[0]
    if "://" not in data["warehouse"] or scheme not in WAREHOUSE_SCHEMES:
        msg = (
            f"{where}.warehouse {data['warehouse']!r} is not a warehouse URL threadline loads into; "
            f"use duckdb:///path/to/file.duckdb or postgresql://user@host:port/database"
        )
        raise ConfigError(msg)
    staging = _identifier(data.get("staging_schema", "staging"), f"{where}.staging_schema")
    schema = _identifier(data.get("schema", "analytics"), f"{where}.schema")
    if staging == schema:
        msg = f"{where}: staging_schema and schema are both {schema!r}; production needs a schema of its own"
        raise ConfigError(msg)
    lake_production = data.get("lake_production", False)
    if not isinstance(lake_production, bool):
        msg = f"{where}.lake_production must be true or false, got {lake_production!r}"
        raise ConfigError(msg)
    return Environment(data["lake"], data["warehouse"], staging, schema, lake_production)


def approval_envs(value: Any, environments: dict[str, Environment], pipeline: str) -> frozenset[str]:
    """The environments whose runs wait for an approval: ``True`` is every one, ``False`` none, a
    list names them (each must be one of the pipeline's environments)."""
    if isinstance(value, bool):
        return frozenset(environments) if value else frozenset()
    if isinstance(value, str) or not isinstance(value, list | tuple | set | frozenset):
        msg = (
            f"pipeline {pipeline!r}: approval must be True, False or a list of environments "
            f"(such as ['production']), got {value!r}"
        )
        raise ConfigError(msg)
    for env in value:
        if env not in environments:
            msg = (
                f"pipeline {pipeline!r}: approval names the environment {env!r}, which it does not "
                f"declare; its environments: {', '.join(environments)}"
            )
            raise ConfigError(msg)
    return frozenset(str(env) for env in value)


@dataclass(frozen=True)
class Webhook:
    """Where a pipeline's notifications go: a URL given in the file, or the name of the environment
    variable holding it (so a secret URL is written neither in the file nor in the store)."""

    url: str | None = None
    from_env: str | None = None

    def resolve(self) -> str | None:
        """The URL (``None`` when it comes from a variable that is not set)."""
        if self.url is not None:
            return self.url
        return os.environ.get(self.from_env or "") or None

    def describe(self) -> dict[str, str]:
        """How the webhook is recorded with a run awaiting approval (never a URL read from a variable)."""
        return {"url": self.url} if self.url is not None else {"fromEnv": str(self.from_env)}

    @staticmethod
    def from_description(value: Any) -> Webhook | None:
        """The webhook :meth:`describe` recorded (``None`` for anything else)."""
        if isinstance(value, dict) and isinstance(value.get("url"), str):
            return Webhook(url=value["url"])
        if isinstance(value, dict) and isinstance(value.get("fromEnv"), str):
            return Webhook(from_env=value["fromEnv"])
        return None


def webhook_of(url: Any, from_env: Any, pipeline: str) -> Webhook | None:
    """The pipeline's webhook, checked: an http(s) URL, or a variable's name, not both."""
    if url is not None and from_env is not None:
        msg = f"pipeline {pipeline!r}: give webhook or webhook_from_env, not both"
        raise ConfigError(msg)
    if url is not None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            msg = f"pipeline {pipeline!r}: webhook must be an http:// or https:// URL, got {url!r}"
            raise ConfigError(msg)
        return Webhook(url=url)
    if from_env is not None:
        if not isinstance(from_env, str) or not from_env.strip():
            msg = f"pipeline {pipeline!r}: webhook_from_env must name an environment variable"
            raise ConfigError(msg)
        return Webhook(from_env=from_env)
    return None
