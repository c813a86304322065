"""What sync between stores needs from one: a site id, marks, and the log read in sequence order.

Sync is set union: two stores reconcile by sending each other the events the other lacks, and content
ids make a repeat harmless. What keeps it cheap is knowing what the other side has without comparing
logs: every store numbers its events as it appends them (``seq``, visible in order), so "everything
after N" is a range, and each store remembers, per remote site, up to which of its own sequence numbers
it has pushed and up to which of the remote's it has pulled (``sync_marks``). An event that came *from*
a site (``events.origin``) is never sent back to it.

Since a pushed event's origin is whatever the pushing store says, a site id is bound to one API key
(``site_keys``): the key of the site's first push, or the one an admin binds it to. A push as a site
with any other key is refused, so that no key can take another site's name (that site would then never
pull those events back, and its status would say it lacks nothing).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from threadline.errors import BadRequest, NotFound
from threadline.openlineage.timestamps import now_micros
from threadline.store import codec, schema
from threadline.store.lookups import batches
from threadline.store.sql import SqlStore

SITE_KEY = "site_id"


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One event of the log as sync sends it: its sequence number here and the bytes received."""

    seq: int
    raw: bytes


def site_id(store: SqlStore) -> str:
    """The store's site id: made once (a UUID), kept forever, the same for every process using it."""
    meta = schema.store_meta
    with store.read() as connection:
        found = connection.scalar(select(meta.c.value).where(meta.c.key == SITE_KEY))
    if found is not None:
        return found
    with store.write() as connection:
        # Two processes may race to make it: the first one's id stays.
        connection.execute(store.insert_ignore(meta).values(key=SITE_KEY, value=str(uuid.uuid4())))
        made = connection.scalar(select(meta.c.value).where(meta.c.key == SITE_KEY))
        assert made is not None  # inserted just above, or by the process that won the race
        return str(made)


def get_meta(store: SqlStore, key: str) -> str | None:
    """A value this store keeps about itself (``store_meta``), or None."""
    meta = schema.store_meta
    with store.read() as connection:
        return connection.scalar(select(meta.c.value).where(meta.c.key == key))


def set_meta(store: SqlStore, key: str, value: str) -> None:
    """Keep ``value`` under ``key`` in ``store_meta`` (replacing what was there)."""
    statement = store.upsert(schema.store_meta, ["key"]).values(key=key, value=value)
    with store.write() as connection:
        connection.execute(statement)


def get_mark(store: SqlStore, remote: str, direction: str, scope: str = "") -> int:
    """Up to which sequence number this store has pushed to (``direction`` push: its own numbers) or
    pulled from (pull: the remote's numbers) the remote site ``remote``; 0 when never."""
    marks = schema.sync_marks
    with store.read() as connection:
        value = connection.scalar(
            select(marks.c.seq).where(
                marks.c.remote == remote, marks.c.direction == direction, marks.c.scope == scope
            )
        )
    return int(value or 0)


def set_mark(
    connection: Connection, store: SqlStore, remote: str, direction: str, seq: int, scope: str = ""
) -> None:
    """Record a mark (see :func:`get_mark`) inside the caller's transaction."""
    statement = store.upsert(schema.sync_marks, ["remote", "direction", "scope"]).values(
        remote=remote, direction=direction, scope=scope, seq=seq, updated_at=now_micros()
    )
    connection.execute(statement)


def save_mark(store: SqlStore, remote: str, direction: str, seq: int, scope: str = "") -> None:
    """:func:`set_mark` in a transaction of its own."""
    with store.write() as connection:
        set_mark(connection, store, remote, direction, seq, scope)


def _not_from(site: str | None) -> list:
    if site is None:
        return []
    origin = schema.events.c.origin
    return [(origin.is_(None)) | (origin != site)]


def last_seq(store: SqlStore) -> int:
    """The highest sequence number of the log (0 when empty)."""
    with store.read() as connection:
        return int(connection.scalar(select(func.max(schema.events.c.seq))) or 0)


def count_after(store: SqlStore, after: int, *, not_from: str | None = None, upto: int | None = None) -> int:
    """How many events have a sequence number above ``after`` (and at most ``upto``), leaving out
    those that came from the site ``not_from``."""
    events = schema.events
    conditions = [events.c.seq > after, *_not_from(not_from)]
    if upto is not None:
        conditions.append(events.c.seq <= upto)
    with store.read() as connection:
        return int(connection.scalar(select(func.count()).select_from(events).where(*conditions)) or 0)


def read_after(
    store: SqlStore,
    after: int,
    limit: int,
    *,
    not_from: str | None = None,
    since: int | None = None,
    upto: int | None = None,
) -> list[LogEntry]:
    """Up to ``limit`` events after sequence number ``after``, in order (see :func:`count_after`);
    ``since`` keeps only events whose time is at or after it."""
    events = schema.events
    conditions = [events.c.seq > after, *_not_from(not_from)]
    if since is not None:
        conditions.append(events.c.event_time >= since)
    if upto is not None:
        conditions.append(events.c.seq <= upto)
    query = (
        select(events.c.seq, events.c.raw, events.c.codec)
        .where(*conditions)
        .order_by(events.c.seq)
        .limit(limit)
    )
    with store.read() as connection:
        rows = connection.execute(query).all()
    return [LogEntry(row.seq, codec.decode(row.codec, bytes(row.raw))) for row in rows]


def read_entities_after(
    store: SqlStore,
    entities: Sequence[int],
    after: int,
    limit: int,
    *,
    not_from: str | None = None,
    since: int | None = None,
    upto: int | None = None,
) -> list[LogEntry]:
    """Like :func:`read_after`, for the events of some jobs and datasets only (``entity_events``)."""
    events, links = schema.events, schema.entity_events
    conditions = [events.c.seq > after, *_not_from(not_from)]
    if since is not None:
        conditions.append(events.c.event_time >= since)
    if upto is not None:
        conditions.append(events.c.seq <= upto)
    found: dict[int, LogEntry] = {}
    with store.read() as connection:
        for chunk in batches(entities):
            query = (
                select(events.c.seq, events.c.raw, events.c.codec)
                .join(links, (links.c.event_time == events.c.event_time) & (links.c.event_id == events.c.id))
                .where(links.c.entity_id.in_(chunk), *conditions)
                .order_by(events.c.seq)
                .limit(limit)
            )
            for row in connection.execute(query):
                found.setdefault(row.seq, LogEntry(row.seq, codec.decode(row.codec, bytes(row.raw))))
    return [found[seq] for seq in sorted(found)[:limit]]


# ---- which key may push as which site ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SiteBinding:
    """The API key a site pushes with (``site_keys``): its id, name, and whether it was revoked."""

    site: str
    key_id: str
    key_name: str | None
    key_revoked: bool
    bound_at: int


def _binding(connection: Connection, site: str) -> SiteBinding | None:
    bindings, keys = schema.site_keys, schema.api_keys
    row = connection.execute(
        select(bindings, keys.c.name, keys.c.revoked_at)
        .join_from(bindings, keys, keys.c.id == bindings.c.key_id, isouter=True)
        .where(bindings.c.site == site)
    ).first()
    if row is None:
        return None
    return SiteBinding(row.site, row.key_id, row.name, row.revoked_at is not None, row.bound_at)


def claim_site(store: SqlStore, site: str, key_id: str) -> SiteBinding:
    """The binding of ``site``; a site without one is bound to ``key_id`` now (the key of its first
    push). The caller compares the binding's key with the pushing one."""
    with store.read() as connection:
        found = _binding(connection, site)
    if found is not None:
        return found
    with store.write() as connection:
        # Two first pushes may race: the first one's key stays.
        row = {"site": site, "key_id": key_id, "bound_at": now_micros()}
        connection.execute(store.insert_ignore(schema.site_keys).values(**row))
        bound = _binding(connection, site)
    assert bound is not None
    return bound


def bind_site(store: SqlStore, site: str, key: str) -> tuple[SiteBinding, SiteBinding | None]:
    """Bind ``site`` to the active API key named (or with id) ``key``, replacing any binding: what an
    admin does when a site's key is replaced, or to issue a key per site before its first push. The
    new binding and the one replaced."""
    try:
        site = str(uuid.UUID(site))
    except ValueError:
        msg = f"{site!r} is not a site id (a UUID); `threadline status` at the site prints its id"
        raise BadRequest(msg) from None
    keys = schema.api_keys
    with store.write() as connection:
        row = connection.execute(select(keys).where((keys.c.name == key) | (keys.c.id == key))).first()
        if row is None:
            msg = f"no API key named {key!r}; `threadline token list` shows them"
            raise NotFound(msg)
        if row.revoked_at is not None:
            msg = f"the API key {row.name!r} is revoked; bind the site to an active key"
            raise BadRequest(msg)
        before = _binding(connection, site)
        statement = store.upsert(schema.site_keys, ["site"]).values(
            site=site, key_id=row.id, bound_at=now_micros()
        )
        connection.execute(statement)
        after = _binding(connection, site)
    assert after is not None
    return after, before


def site_bindings(store: SqlStore) -> list[SiteBinding]:
    """Every site's binding, oldest first."""
    bindings, keys = schema.site_keys, schema.api_keys
    query = (
        select(bindings, keys.c.name, keys.c.revoked_at)
        .join_from(bindings, keys, keys.c.id == bindings.c.key_id, isouter=True)
        .order_by(bindings.c.bound_at, bindings.c.site)
    )
    with store.read() as connection:
        rows = connection.execute(query).all()
    return [SiteBinding(r.site, r.key_id, r.name, r.revoked_at is not None, r.bound_at) for r in rows]
