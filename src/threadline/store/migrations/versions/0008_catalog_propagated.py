"""catalog_propagated: tags propagated along column lineage, stored; a covering index of live tags

Propagated tags were computed when an entry was read; they are now a projection kept by the fold
(``threadline.catalog.propagation``), which search reads too. This revision adds the table and fills
it from the projections already there (the same computation the fold runs), and adds the index that
lets search count a query's tags by template from the index alone.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_LIVE_TAG = "kind = 'tag' AND deleted = false"


def upgrade() -> None:
    """Apply this revision."""
    op.create_index(
        "ix_catalog_objects_tag_parent",
        "catalog_objects",
        ["parent", "template"],
        sqlite_where=sa.text(_LIVE_TAG),
        postgresql_where=sa.text(_LIVE_TAG),
    )
    op.create_table(
        "catalog_propagated",
        sa.Column("dataset_id", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("column_name", sa.Text(), nullable=False),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("field", sa.Text(), nullable=False),
        sa.Column("node", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("num_value", sa.Double(), nullable=True),
        sa.Column("text_value", sa.Text(), nullable=True),
        sa.Column("origin_tag", sa.Text(), nullable=False),
        sa.Column("origin_column", sa.Text(), nullable=False),
        sa.Column("via", sa.Text(), nullable=False),
        sa.Column("hops", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("dataset_id", "column_name", "template", "field"),
    )
    op.create_index("ix_catalog_propagated_num", "catalog_propagated", ["template", "field", "num_value"])
    op.create_index("ix_catalog_propagated_text", "catalog_propagated", ["template", "field", "text_value"])
    op.create_index("ix_catalog_propagated_node", "catalog_propagated", ["node"])
    op.create_index("ix_catalog_propagated_origin", "catalog_propagated", ["origin_tag"])
    from threadline.projection.propagation import rebuild

    rebuild(op.get_bind())


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("catalog_propagated")
    op.drop_index("ix_catalog_objects_tag_parent", table_name="catalog_objects")
