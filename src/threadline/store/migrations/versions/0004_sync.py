"""sync between sites: a site id, where each event came from, push and pull marks, events by entity

* ``store_meta`` holds the store's site id (made on first use).
* ``events.origin`` names the site an event came from by sync (none for events ingested here), so that
  a push does not send a remote what came from it.
* ``sync_marks`` keeps how far this store has pushed to and pulled from each remote.
* ``dataset_versions`` gets an index by dataset and time (version lists, the version a run read).
* The ``entity_events`` projection lists every event of each job and dataset, for filtered pulls; the
  projections are rebuilt from the log to fill it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The projection tables of revision 0003 (a migration must not follow later schema changes).
PROJECTION_TABLES = (
    "facets",
    "column_lineage",
    "job_io",
    "run_io",
    "schema_fields",
    "dataset_versions",
    "dataset_symlinks",
    "datasets",
    "run_states",
    "runs",
    "jobs",
    "namespaces",
    "event_ids",
)


def _rebuild_projections() -> None:
    bind = op.get_bind()
    for table in PROJECTION_TABLES:
        bind.execute(sa.text(f"DELETE FROM {table}"))
    bind.execute(sa.text("UPDATE log_marks SET seq = 0 WHERE name = 'projection'"))


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "store_meta",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "sync_marks",
        sa.Column("remote", sa.String(length=64), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("remote", "direction", "scope"),
    )
    op.create_table(
        "entity_events",
        sa.Column("entity_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event_time", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("entity_id", "event_time", "event_id"),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("origin", sa.String(length=64), nullable=True))
    op.create_index("ix_dataset_versions_created", "dataset_versions", ["dataset_id", "created_at"])
    _rebuild_projections()


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_dataset_versions_created", table_name="dataset_versions")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("origin")
    op.drop_table("entity_events")
    op.drop_table("sync_marks")
    op.drop_table("store_meta")
    _rebuild_projections()
