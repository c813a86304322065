"""tag changes: the latest add or remove of each tag of each dataset, field and job

Tagging through the API used to write a dataset's whole tag set, computed from the projection at the
time, as a ``tags`` facet: two changes at once (or on two servers) could each miss the other's, and
one was lost. A tag change is now an operation (a ``threadline_tag_changes`` facet, see
``threadline/openlineage/tag_changes.py``), and the new ``tag_changes`` projection keeps the latest
change of each tag. No event of an older store carries that facet, so the new table starts empty and
nothing is rebuilt; the tag sets written before keep working as ``tags`` facets.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "tag_changes",
        sa.Column("entity_type", sa.String(length=16), nullable=False),
        sa.Column("entity_key", sa.Text(), nullable=False),
        sa.Column("field", sa.Text(), nullable=False),
        sa.Column("tag", sa.Text(), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("changed_by", sa.Text(), nullable=True),
        sa.Column("changed_at", sa.BigInteger(), nullable=False),
        sa.Column("stamp", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("entity_type", "entity_key", "field", "tag"),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("tag_changes")
