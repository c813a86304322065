"""every catalog entry with a tag mask while there are masks

Lineage's own entries (one per dataset and job) were written without a mask (``NULL``), and only those
with tags got one afterwards. Search counts its template facet from its matches' masks and, when any
match has none, runs its statement a second time to count the facet from the JSON lists: every search
that found one of lineage's entries cost twice. Entries are now written with the mask of no tags
(``threadline.projection.entry_templates.NO_TAGS_MASK``); this revision writes the list and mask of
every entry stored without one.

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


def downgrade() -> None:
    """Revert this revision (nothing to undo: the masks stay, as revision 0015's code reads them)."""
