"""catalog_objects.tag_templates: each entry's templates, for search's template facet

Search counted its matches' templates by looking up each match's tags (an index seek per match). Each
entry's row now holds the templates of its live tags (``threadline.projection.entry_templates``), kept
by the fold; this revision adds the column and fills it from the tags already projected.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.add_column("catalog_objects", sa.Column("tag_templates", sa.Text(), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        # SQLite's full-text rows are rewritten by an update of the indexed columns only, no longer of
        # any column (filling tag_templates would rewrite every entry's)
        from threadline.store.schema import CATALOG_SEARCH_DDL

        op.execute("DROP TRIGGER catalog_fts_update")
        (trigger,) = [s for s in CATALOG_SEARCH_DDL["sqlite"] if "TRIGGER catalog_fts_update" in s]
        op.execute(trigger)
    from threadline.projection.entry_templates import rebuild_tag_templates

    rebuild_tag_templates(op.get_bind())


def downgrade() -> None:
    """Revert this revision (SQLite keeps the narrower trigger, which 0008 works with as well)."""
    op.execute("ALTER TABLE catalog_objects DROP COLUMN tag_templates")
