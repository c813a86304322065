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
template, every entry's list and mask are written again (:func:`rebuild_tag_masks`, once per new
template).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import Connection

from threadline.openlineage.catalog_changes import ENTRY, TAG, TEMPLATE
from threadline.projection.model import Delta
from threadline.store import lookups

#: The distinct templates of an entry's live tags, from the covering index of live tags (its
#: condition spelled as the index's, so that SQLite uses it), sorted.
_LIVE = (
    "SELECT DISTINCT t.template FROM {catalog_objects} t WHERE t.parent = {catalog_objects}.name "
    "AND t.kind = 'tag' AND t.deleted = false AND t.template <> '' ORDER BY 1"
)
#: Each listed entry's templates (NULL without any). One statement per batch.
_REFRESH = {
    "sqlite": (
        f"UPDATE {{catalog_objects}} SET tag_templates = nullif((SELECT json_group_array(x.template) "
        f"FROM ({_LIVE}) x), '[]') WHERE kind = 'entry' AND name IN ({{keys}})"
    ),
    "postgresql": (
        "UPDATE {catalog_objects} SET tag_templates = (SELECT json_agg(x.template ORDER BY x.template)::text "
        f"FROM ({_LIVE}) x) WHERE kind = 'entry' AND name IN ({{keys}})"
    ),
}
#: The same and the mask in one statement, the places as a JSON object ``{"template id": place}``
#: (the first parameter): one new version of each row, not two (on PostgreSQL an update that is not
#: HOT writes every index of the row again, the full-text ones included).
_REFRESH_WITH_MASK = {
    "sqlite": (
        "UPDATE {catalog_objects} SET (tag_templates, tag_mask) = (SELECT "
        "nullif(json_group_array(x.template), '[]'), "
        "coalesce(sum(1 << s.value), 0) | (CASE WHEN count(x.template) > count(s.value) THEN 1 << 62 "
        f"ELSE 0 END) FROM ({_LIVE}) x LEFT JOIN json_each({{p}}) s ON s.key = x.template) "
        "WHERE kind = 'entry' AND name IN ({keys})"
    ),
    "postgresql": (
        "UPDATE {catalog_objects} SET (tag_templates, tag_mask) = (SELECT "
        "json_agg(x.template ORDER BY x.template)::text, "
        "coalesce(bit_or(1::bigint << s.value::int), 0) | (CASE WHEN count(x.template) > count(s.value) "
        f"THEN 1::bigint << 62 ELSE 0 END) FROM ({_LIVE}) x LEFT JOIN json_each_text({{p}}::json) s "
        "ON s.key = x.template) WHERE kind = 'entry' AND name IN ({keys})"
    ),
}

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
    lists took 1.4-2.6 s and 4.2-4.6 s; once per template created, for one way to write a mask."""
    refresh_tag_templates(connection, _entries(connection))


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
        clear = "UPDATE {catalog_objects} SET tag_mask = NULL WHERE kind = 'entry' AND name IN ({keys})"
        for batch in lookups.batches(names):
            connection.exec_driver_sql(lookups.sql_text(connection, clear, len(batch)), tuple(batch))


def rebuild_tag_templates(connection: Connection) -> None:
    """Write ``tag_templates`` of every entry (the migration that adds the column; the next one adds
    the masks, :func:`rebuild_tag_masks`)."""
    refresh_tag_templates(connection, _entries(connection), masks=False)  # in batches, planned once
