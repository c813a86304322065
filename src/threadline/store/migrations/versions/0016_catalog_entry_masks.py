"""every catalog entry with a tag mask while there are masks; catalog_objects vacuumed sooner

Lineage's own entries (one per dataset and job) were written without a mask (``NULL``), and only those
with tags got one afterwards. Search counts its template facet from its matches' masks and, when any
match has none, runs its statement a second time to count the facet from the JSON lists: every search
that found one of lineage's entries cost twice. Entries are now written with the mask of no tags
(``threadline.projection.entry_templates.NO_TAGS_MASK``); this revision writes the list and mask of
every entry stored without one.

On PostgreSQL it also has autovacuum clean ``catalog_objects`` once 2 % of its rows are dead instead
of 20 %: creating a template that sorts before the others updates every entry that has tags (its
place in the masks moves), and on a 100,000-entry, 500,000-tag catalog the ~100,000 dead versions
stayed below the default threshold, so every search read them: free text 19.8 ms before such a
template, 27.5 ms after it, 20.6 ms after a ``VACUUM``.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 19:45:00
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    from threadline.projection.entry_templates import fill_missing_masks

    fill_missing_masks(op.get_bind())
    if op.get_bind().dialect.name == "postgresql":  # schema.CATALOG_OBJECTS_VACUUM_SCALE, as of now
        op.execute("ALTER TABLE catalog_objects SET (autovacuum_vacuum_scale_factor = 0.02)")


def downgrade() -> None:
    """Revert this revision (the masks stay: revision 0015's code reads them as they are)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE catalog_objects RESET (autovacuum_vacuum_scale_factor)")
