"""Dataset identity: which spellings of a namespace name the same data source.

OpenLineage names a dataset by a namespace (its data source, ``scheme://authority``) and a name (the
path within it; see the spec's ``Naming.md``). Producers spell the same source differently: a scheme or
host in capitals, a default port written or left out, a trailing slash, credentials in the URL, or
``postgresql://`` where the convention says ``postgres://``. :func:`normalize_namespace` maps all of
those to one key, so that they resolve to one dataset; the name as first sent is kept for display.

A namespace that is not a URL (``my-airflow``, ``bigquery``, ``file``) is left exactly as it is: it
names a scheduler or a platform, and nothing says which other spellings would mean the same.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

#: Default ports by scheme: ``postgres://db`` and ``postgres://db:5432`` are one source. The port is
#: written out, as the naming conventions do (``postgres://{host}:{port}``).
DEFAULT_PORTS = {
    "postgres": 5432,
    "mysql": 3306,
    "mariadb": 3306,
    "redshift": 5439,
    "sqlserver": 1433,
    "oracle": 1521,
    "db2": 50000,
    "teradata": 1025,
    "mongodb": 27017,
    "cassandra": 9042,
    "kafka": 9092,
    "http": 80,
    "https": 443,
}
#: Schemes spelled more than one way, and the spelling of the naming conventions.
SCHEME_ALIASES = {"postgresql": "postgres", "mssql": "sqlserver", "s3a": "s3", "s3n": "s3"}


@lru_cache(maxsize=1 << 14)
def normalize_namespace(namespace: str) -> str:
    """The canonical form of a dataset or job namespace (see the module docstring)."""
    if "://" not in namespace:
        return namespace
    try:
        parts = urlsplit(namespace)
        port = parts.port
    except ValueError:
        return namespace.rstrip("/") or namespace  # not a URL after all (a bad port, say): keep it
    scheme = parts.scheme.lower()
    scheme = SCHEME_ALIASES.get(scheme, scheme)
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address keeps its brackets
    if port is None:
        port = DEFAULT_PORTS.get(scheme)
    authority = host if port is None or not host else f"{host}:{port}"
    path = parts.path.rstrip("/")
    canonical = f"{scheme}://{authority}{path}"
    if parts.query:
        canonical += f"?{parts.query}"
    return canonical
