"""What the catalog's readers share: pages, facets, namespaces, and a few SQL helpers.

Every reader takes an open SQLAlchemy ``Connection`` (``store.read()``) and batches its lookups: a page
of N entities costs a fixed number of queries, never one per entity.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec
from sqlalchemy import ColumnElement, Connection, bindparam, literal_column, select

from threadline.errors import BadRequest, NotFound
from threadline.openlineage.naming import normalize_namespace
from threadline.store import schema
from threadline.store.lookups import batches

T = TypeVar("T")

#: Where threadline keeps what the catalog itself defines (tag descriptions): a namespace of its own,
#: hidden from listings and search.
CATALOG_NAMESPACE = "threadline://catalog"
MAX_LIMIT = 10_000
#: The largest ``offset`` of a list: JavaScript's largest exact integer, far inside both databases'
#: 64-bit range (a larger number would not fit an SQL parameter at all).
MAX_OFFSET = 2**53 - 1

_decoder = msgspec.json.Decoder()


@dataclass(slots=True)
class Page(Generic[T]):
    """One page of a sorted list, and how many items the whole list has."""

    items: list[T]
    total: int


@dataclass(slots=True)
class Namespace:
    """A namespace: its canonical key, the spelling shown, and when it was first and last seen."""

    name: str
    display_name: str
    created_at: int
    updated_at: int


def check_page(limit: int, offset: int) -> None:
    """Refuse a limit outside 0..MAX_LIMIT or an offset outside 0..MAX_OFFSET."""
    if limit < 0 or limit > MAX_LIMIT:
        msg = f"limit must be between 0 and {MAX_LIMIT}, got {limit}"
        raise BadRequest(msg)
    if offset < 0 or offset > MAX_OFFSET:
        msg = f"offset must be between 0 and {MAX_OFFSET}, got {offset}"
        raise BadRequest(msg)


def decode_json(value: str | bytes | None) -> Any:
    """A stored JSON value, decoded (``None`` stays ``None``)."""
    if value is None:
        return None
    return _decoder.decode(value)


def is_deleted(facet: Any) -> bool:
    """Whether a facet's latest value deletes it: OpenLineage's ``{"_deleted": true}`` (a producer's
    way to say the facet no longer applies). Readers leave such facets out, as if never sent."""
    return isinstance(facet, dict) and facet.get("_deleted") is True


# Built once: a statement built for each call costs SQLAlchemy about four times what running it costs
# (building the expression, then its cache key); these are among the most run of every page.
_facets = schema.facets
_FACETS_OF = (
    select(_facets.c.entity_key, _facets.c.name, _facets.c.value)
    .where(
        _facets.c.entity_type == bindparam("entity_type"),
        _facets.c.entity_key.in_(bindparam("keys", expanding=True)),
    )
    .order_by(_facets.c.entity_key, _facets.c.name)
)
_ONE_FACET_OF = select(_facets.c.entity_key, _facets.c.value).where(
    _facets.c.entity_type == bindparam("entity_type"),
    _facets.c.entity_key.in_(bindparam("keys", expanding=True)),
    _facets.c.name == bindparam("name"),
)


def load_facets(connection: Connection, entity_type: str, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The latest facets of each entity, ``{key: {facet name: value}}``; deleted facets are left out."""
    wanted = sorted(set(keys))
    found: dict[str, dict[str, Any]] = {key: {} for key in wanted}
    for part in batches(wanted):
        rows = connection.execute(_FACETS_OF, {"entity_type": entity_type, "keys": part})
        for key, name, value in rows:
            decoded = decode_json(value)
            if not is_deleted(decoded):
                found[key][name] = decoded
    return found


def load_facet(connection: Connection, entity_type: str, keys: Iterable[str], name: str) -> dict[str, Any]:
    """One facet of each entity that has it, ``{key: value}`` (a deleted facet is absent)."""
    wanted = sorted(set(keys))
    found: dict[str, Any] = {}
    for part in batches(wanted):
        rows = connection.execute(_ONE_FACET_OF, {"entity_type": entity_type, "keys": part, "name": name})
        for key, value in rows:
            decoded = decode_json(value)
            if not is_deleted(decoded):
                found[key] = decoded
    return found


def _no_namespace(connection: Connection, spelling: str) -> str:
    """ "No namespace X", with the nearest ones (or the first few) that exist, for the CLI and the API."""
    table = schema.namespaces
    names = [
        row.display_name or row.name
        for row in connection.execute(
            select(table.c.name, table.c.display_name)
            .where(table.c.name != CATALOG_NAMESPACE)
            .order_by(table.c.name)
        )
    ]
    if not names:
        return f"no namespace {spelling!r}: there are no namespaces yet"
    close = difflib.get_close_matches(spelling, names, 3, 0.5)
    if close:
        return f"no namespace {spelling!r}; did you mean {' or '.join(close)}?"
    listed = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    return f"no namespace {spelling!r}; the namespaces are {listed}"


def get_namespace(connection: Connection, spelling: str) -> Namespace:
    """The namespace named by any spelling of it; :class:`NotFound` naming it when there is none."""
    canonical = normalize_namespace(spelling)
    table = schema.namespaces
    row = connection.execute(
        select(table.c.name, table.c.display_name, table.c.created_at, table.c.updated_at).where(
            table.c.name == canonical
        )
    ).first()
    if row is None or canonical == CATALOG_NAMESPACE:
        raise NotFound(_no_namespace(connection, spelling))
    return Namespace(row.name, row.display_name or row.name, row.created_at, row.updated_at)


def json_text(connection: Connection, column: ColumnElement[Any], key: str) -> ColumnElement[Any]:
    """SQL for the text of top-level key ``key`` of the JSON object stored as text in ``column``."""
    if not key.isidentifier():
        msg = f"not a JSON key this helper handles: {key!r}"
        raise ValueError(msg)
    compiled = str(column.compile(dialect=connection.dialect))
    if connection.dialect.name == "postgresql":
        return literal_column(f"(CAST({compiled} AS json) ->> '{key}')")
    return literal_column(f"json_extract({compiled}, '$.{key}')")
