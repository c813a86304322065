"""Lineage's own catalog entries: every dataset and job an entry of ``@NAMESPACE``

The projector writes an entry for every dataset and job it folds from now on
(``threadline.projection.implicit_entries``); this revision writes those of the datasets, jobs and
namespaces already folded, so that search finds them and people can tag them at once (no schema
change: they are rows of ``catalog_objects`` whose ``source`` is ``LINEAGE``).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 03:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    from threadline.projection.implicit_entries import backfill

    backfill(op.get_bind())


def downgrade() -> None:
    """Revert this revision: lineage's entries go (tags people put on them stay, as any tag whose entry
    is gone, and count again once the entries are back)."""
    op.execute("DELETE FROM catalog_objects WHERE source = 'LINEAGE'")
