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
