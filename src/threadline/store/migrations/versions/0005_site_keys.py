"""site keys: the API key each pushing site is bound to

* ``site_keys`` binds a site id (``X-Threadline-Site`` of a push) to the API key allowed to push as
  it. It starts empty: in a store made before this revision, each site is bound to the key of its
  first push after the upgrade (or, before that, by ``threadline token bind SITE KEY``).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "site_keys",
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("bound_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("site"),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("site_keys")
