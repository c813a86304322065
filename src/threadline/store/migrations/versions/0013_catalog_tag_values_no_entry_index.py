"""catalog_tag_values without its index by entry

Its one reader was search's ``NOT tag:T.F…``, which probed it for each entry the rest of the query
matched; it now tests the entries against the list of those holding the value, read once from the
index by template and field (``threadline.catalog.search``), which also takes that query from minutes
(SQLite) or seconds (PostgreSQL) to under one on 100,000 entries. Every value a tag writes went into
four indexes; now three.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 11:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.drop_index("ix_catalog_tag_values_entry", table_name="catalog_tag_values")


def downgrade() -> None:
    """Revert this revision."""
    op.create_index("ix_catalog_tag_values_entry", "catalog_tag_values", ["entry"])
