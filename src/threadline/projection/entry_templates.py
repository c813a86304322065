"""Each catalog entry's templates: those of its live tags, kept on the entry's row for search.

Search answers with a facet of templates: how many of its matches have a tag of each template (on the
entry or one of its columns). Counted from the tags, that is an index seek per match (~25 ms for a
word found in 5,000 of 100,000 entries); counted from a list on each entry's row, which the matches are
read from anyway, it is a few milliseconds. ``catalog_objects.tag_templates`` holds that list, as a
sorted JSON array (``NULL``: no live tag).

It is derived, not merged: after a fold's rows are written, :func:`refresh_tag_templates` reads the
live tags of every entry the fold touched (an entry written, or the entry of a tag written) and writes
the list again. So it is the same whatever order the changes came in, and reindex rebuilds it.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection

from threadline.openlineage.catalog_changes import ENTRY, TAG
from threadline.projection.model import Delta
from threadline.store import lookups

#: Each listed entry's templates, from the covering index of live tags (its condition spelled as the
#: index's, so that SQLite uses it), distinct and sorted; NULL without any. One statement per batch.
_REFRESH = {
    "sqlite": (
        "UPDATE {catalog_objects} SET tag_templates = nullif((SELECT json_group_array(x.template) FROM "
        "(SELECT DISTINCT t.template FROM {catalog_objects} t WHERE t.parent = {catalog_objects}.name "
        "AND t.kind = 'tag' AND t.deleted = false AND t.template <> '' ORDER BY 1) x), '[]') "
        "WHERE kind = 'entry' AND name IN ({keys})"
    ),
    "postgresql": (
        "UPDATE {catalog_objects} SET tag_templates = (SELECT json_agg(x.template ORDER BY x.template)::text "
        "FROM (SELECT DISTINCT t.template FROM {catalog_objects} t WHERE t.parent = {catalog_objects}.name "
        "AND t.kind = 'tag' AND t.deleted = false AND t.template <> '') x) "
        "WHERE kind = 'entry' AND name IN ({keys})"
    ),
}


def touched_entries(delta: Delta) -> set[str]:
    """The entries whose templates a delta may change: the entries it writes and its tags' entries."""
    names: set[str] = set()
    for row in (delta.rows.get("catalog_objects") or {}).values():
        if row["kind"] == TAG and row["parent"]:
            names.add(row["parent"])
        elif row["kind"] == ENTRY:
            names.add(row["name"])
    return names


def refresh_tag_templates(connection: Connection, entries: Iterable[str]) -> None:
    """Write ``tag_templates`` of ``entries`` again from their live tags (an entry not stored yet is
    skipped: its own fold writes it)."""
    names = sorted(set(entries))
    if not names:
        return
    template = _REFRESH[connection.dialect.name]
    if connection.dialect.name == "postgresql":
        # planned for these entries each time: a plan kept from when the table was small (psycopg
        # prepares a statement run five times, and PostgreSQL then keeps a generic plan) scans every
        # row of it for each entry once it is large
        connection.exec_driver_sql("SELECT set_config('plan_cache_mode', 'force_custom_plan', true)")
    for batch in lookups.batches(names):
        connection.exec_driver_sql(lookups.sql_text(connection, template, len(batch)), tuple(batch))


def rebuild_tag_templates(connection: Connection) -> None:
    """Write ``tag_templates`` of every entry (the migration that adds the column)."""
    rows = connection.exec_driver_sql("SELECT name FROM catalog_objects WHERE kind = 'entry'").all()
    refresh_tag_templates(connection, [row[0] for row in rows])  # in batches, planned once
