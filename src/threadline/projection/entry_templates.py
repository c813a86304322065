"""Each catalog entry's templates: those of its live tags, kept on the entry's row for search.

Search answers with a facet of templates: how many of its matches have a tag of each template (on the
entry or one of its columns). Counted from the tags, that is an index seek per match (~25 ms for a
word found in 5,000 of 100,000 entries); counted from a list on each entry's row, which the matches are
read from anyway, it is a few milliseconds. ``catalog_objects.tag_templates`` holds that list, as a
sorted JSON array (``NULL``: no live tag).

It is derived, not merged: after a fold's rows are written, :func:`refresh_tag_templates` reads the
live tags of every entry the fold touched (an entry written, or the entry of a tag written) and writes
the list again. So it is the same whatever order the changes came in, and reindex rebuilds it.

The same list as a bit mask, ``tag_mask``, is what the facet counts: bit ``i`` for the template in
place ``i`` of the sorted ids of every template row (deleted ones too: a template's place moves only
when a template is created), and bit 62 (:data:`OTHER_BIT`) for a tag of a template that has no row
(a tag that came before its template, from another site). Counting bits costs a third of reading each
match's JSON array (``json_each``): 3 ms against 8 ms for a word in 5,000 of 100,000 entries (PostgreSQL
sums them in SQL; SQLite hands the masks over as one string and counts them in Python, cheaper there:
see ``catalog.search._mask_facet_sql``). With more than 62 templates the masks are ``NULL`` and the
facet reads the arrays. When a fold creates a
template, every entry's list and mask are computed again (:func:`rebuild_tag_masks`, once per new
template); PostgreSQL writes only the rows whose list or mask changes (:data:`_REFRESH_WITH_MASK`).

An entry's row is written with :data:`NO_TAGS_MASK`, the mask of no tags, so that every entry has a
mask while there are masks: a search one of whose matches has none counts the facet a second time,
from the lists.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import Connection

from threadline.openlineage.catalog_changes import ENTRY, TAG, TEMPLATE
from threadline.projection.model import Delta
from threadline.store import lookups

#: The distinct templates of an entry's live tags, from the covering index of live tags (its
#: condition spelled as the index's, so that SQLite uses it), sorted; ``{entry}``: the entry's row.
_LIVE = (
    "SELECT DISTINCT t.template FROM {{catalog_objects}} t WHERE t.parent = {entry}.name "
    "AND t.kind = 'tag' AND t.deleted = false AND t.template <> '' ORDER BY 1"
)
#: An entry's mask from its live templates ``x`` joined to their places ``s`` (PostgreSQL).
_PG_MASK = (
    "coalesce(bit_or(1::bigint << s.value::int), 0) | (CASE WHEN count(x.template) > count(s.value) "
    "THEN 1::bigint << 62 ELSE 0 END)"
)
#: Each listed entry's templates (NULL without any). One statement per batch. On PostgreSQL only the
#: rows whose list changes are written: every other update would be a new version of the entry's whole
#: row (and, once its page is full, of every index entry of it), for nothing.
_REFRESH = {
    "sqlite": (
        "UPDATE {catalog_objects} SET tag_templates = nullif((SELECT json_group_array(x.template) "
        f"FROM ({_LIVE.format(entry='{catalog_objects}')}) x), '[]') "
        "WHERE kind = 'entry' AND name IN ({keys})"
    ),
    "postgresql": (
        "UPDATE {catalog_objects} o SET tag_templates = n.templates FROM (SELECT e.name, "
        "(SELECT json_agg(x.template ORDER BY x.template)::text "
        f"FROM ({_LIVE.format(entry='e')}) x) AS templates "
        "FROM {catalog_objects} e WHERE e.kind = 'entry' AND e.name IN ({keys})) n "
        "WHERE o.kind = 'entry' AND o.name = n.name AND o.tag_templates IS DISTINCT FROM n.templates"
    ),
}
#: The same and the mask in one statement, the places as a JSON object ``{"template id": place}``
#: (the first parameter): one new version of each row, not two (on PostgreSQL an update that is not
#: HOT writes every index of the row again, the full-text ones included), and on PostgreSQL none for
#: a row whose list and mask stay as they are (a tag written again, an entry written again, a template
#: created whose place moves no other template's: most updates of a tag or an entry).
_REFRESH_WITH_MASK = {
    "sqlite": (
        "UPDATE {catalog_objects} SET (tag_templates, tag_mask) = (SELECT "
        "nullif(json_group_array(x.template), '[]'), "
        "coalesce(sum(1 << s.value), 0) | (CASE WHEN count(x.template) > count(s.value) THEN 1 << 62 "
        f"ELSE 0 END) FROM ({_LIVE.format(entry='{catalog_objects}')}) x "
        "LEFT JOIN json_each({p}) s ON s.key = x.template) "
        "WHERE kind = 'entry' AND name IN ({keys})"
    ),
    "postgresql": (
        "UPDATE {catalog_objects} o SET tag_templates = n.templates, tag_mask = n.mask FROM (SELECT e.name, "
        f"l.templates, l.mask FROM {{catalog_objects}} e CROSS JOIN LATERAL (SELECT "
        f"json_agg(x.template ORDER BY x.template)::text AS templates, {_PG_MASK} AS mask "
        f"FROM ({_LIVE.format(entry='e')}) x LEFT JOIN json_each_text({{p}}::json) s "
        "ON s.key = x.template) l "
        "WHERE e.kind = 'entry' AND e.name IN ({keys})) n "
        "WHERE o.kind = 'entry' AND o.name = n.name "
        "AND (o.tag_templates IS DISTINCT FROM n.templates OR o.tag_mask IS DISTINCT FROM n.mask)"
    ),
}
#: The mask of an entry without tags while there are masks: what an entry's row is written with
#: (``threadline.projection.catalog``, ``threadline.projection.implicit_entries``), so that the refresh
#: after its first write finds nothing to change (and search finds a usable mask on every entry).
#: With more templates than places no mask is read (search counts from the lists), so this 0 does no
#: harm there; the refresh writes ``NULL`` on the entries it refreshes.
NO_TAGS_MASK = 0

#: The bit of ``tag_mask`` for a tag whose template has no place (no template row).
OTHER_BIT = 62
#: Above this many templates there are no masks (``NULL``): bits 0-61 are the places.
MAX_SLOTS = OTHER_BIT


def places(names: Iterable[str]) -> dict[str, int] | None:
    """Each template id's place in the masks, from the names of every template row (deleted ones too):
    its rank among their ids; ``None`` when there are more than :data:`MAX_SLOTS` (no masks then)."""
    ids = sorted({name.rsplit("/", 1)[-1] for name in names})
    return {template: place for place, template in enumerate(ids)} if len(ids) <= MAX_SLOTS else None


def template_slots(connection: Connection) -> dict[str, int] | None:
    """The places of the templates stored (:func:`places`)."""
    rows = connection.exec_driver_sql("SELECT name FROM catalog_objects WHERE kind = 'template'")
    return places(row[0] for row in rows)


def template_rows(delta: Delta) -> bool:
    """Whether a delta writes a template (which may create one, and so move the places of others)."""
    return any(row["kind"] == TEMPLATE for row in (delta.rows.get("catalog_objects") or {}).values())


def _entries(connection: Connection) -> list[str]:
    """The name of every entry stored."""
    rows = connection.exec_driver_sql("SELECT name FROM catalog_objects WHERE kind = 'entry'")
    return [row[0] for row in rows]


def rebuild_tag_masks(connection: Connection) -> None:
    """Write every entry's list and mask again (the places moved: a template was created; or the
    migration that adds the masks), by the statement that writes them after a fold: for 100,000
    entries 2.6-3.4 s on SQLite and 5.8-6.3 s on PostgreSQL, where writing the masks alone from the
    lists took 1.4-2.6 s and 4.2-4.6 s; once per template created, for one way to write a mask.
    PostgreSQL writes only the rows that change: with nothing to change (a template whose place moves
    no other) 2.8-2.9 s against 3.5-3.8 s when every row was written again."""
    refresh_tag_templates(connection, _entries(connection))


def fill_missing_masks(connection: Connection) -> None:
    """Write the list and mask of every entry stored without a mask while there are masks: lineage's
    own entries were written without one before revision 0016, and a search matching any of them
    counted its template facet a second time, from the JSON lists."""
    if template_slots(connection) is None:
        return
    rows = connection.exec_driver_sql(
        "SELECT name FROM catalog_objects WHERE kind = 'entry' AND tag_mask IS NULL"
    )
    refresh_tag_templates(connection, [row[0] for row in rows])


def touched_entries(delta: Delta) -> set[str]:
    """The entries whose templates a delta may change: the entries it writes and its tags' entries."""
    names: set[str] = set()
    for row in (delta.rows.get("catalog_objects") or {}).values():
        if row["kind"] == TAG and row["parent"]:
            names.add(row["parent"])
        elif row["kind"] == ENTRY:
            names.add(row["name"])
    return names


def refresh_tag_templates(connection: Connection, entries: Iterable[str], *, masks: bool = True) -> None:
    """Write ``tag_templates`` and ``tag_mask`` of ``entries`` again from their live tags (an entry not
    stored yet is skipped: its own fold writes it). ``masks=False``: the list only (the caller writes
    every mask after, :func:`rebuild_tag_masks`)."""
    names = sorted(set(entries))
    if not names:
        return
    slots = template_slots(connection) if masks else None
    params: tuple[str, ...] = ()
    if slots is not None:
        template = _REFRESH_WITH_MASK[connection.dialect.name]
        params = (json.dumps(slots),)
    else:
        template = _REFRESH[connection.dialect.name]
    if connection.dialect.name == "postgresql":
        # planned for these entries each time: a plan kept from when the table was small (psycopg
        # prepares a statement run five times, and PostgreSQL then keeps a generic plan) scans every
        # row of it for each entry once it is large
        connection.exec_driver_sql("SELECT set_config('plan_cache_mode', 'force_custom_plan', true)")
    for batch in lookups.batches(names):
        connection.exec_driver_sql(lookups.sql_text(connection, template, len(batch)), (*params, *batch))
    if masks and slots is None:  # more templates than places: no masks
        clear = (
            "UPDATE {catalog_objects} SET tag_mask = NULL "
            "WHERE kind = 'entry' AND tag_mask IS NOT NULL AND name IN ({keys})"
        )
        for batch in lookups.batches(names):
            connection.exec_driver_sql(lookups.sql_text(connection, clear, len(batch)), tuple(batch))


def rebuild_tag_templates(connection: Connection) -> None:
    """Write ``tag_templates`` of every entry (the migration that adds the column; the next one adds
    the masks, :func:`rebuild_tag_masks`)."""
    refresh_tag_templates(connection, _entries(connection), masks=False)  # in batches, planned once
