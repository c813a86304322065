"""catalog_objects' pages filled to 70 % on PostgreSQL

After each fold that touches an entry's tags, the entry's row is updated (``tag_templates``,
``tag_mask``). On full pages PostgreSQL writes each new version elsewhere and adds it to every index of
the table (six, the full-text index included); with room left on the page the update is HOT: the row
stays on its page and no index is written. On a 100,000-entry catalog after 20,000 more tags through
``tags:batch``: 38 % of the updates were HOT before, 100 % after; the writes ran at 1,182 tags/s
against 2,146, and free-text search took 25.6 ms p50 against 17.8 (the entries stay on the pages they
were written to, instead of scattering among the tags).

The setting applies to pages written from now on. To apply it to the rows already stored (and put the
entries together), run ``CLUSTER catalog_objects USING catalog_objects_pkey`` in a quiet moment: it
rewrites the table and locks it while it does (about 5 s for 660,000 rows). SQLite has no such
setting: it rewrites a row in place.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 13:55:00
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE catalog_objects SET (fillfactor = 70)")


def downgrade() -> None:
    """Revert this revision."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE catalog_objects RESET (fillfactor)")
