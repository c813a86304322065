"""dataset identity: canonical namespaces, the spelling seen first for display; a job's current run

Namespaces are now keyed by their canonical form (``threadline.openlineage.naming``): scheme and host
in lower case, default ports written out, no trailing slash, no credentials. Jobs, datasets and
namespaces keep the spelling seen first in ``display_*`` columns. Jobs get ``current_run_id``: the run
whose inputs and outputs the lineage graph shows, and ``run_states`` keeps every event of a run (its
state may be absent). Entity ids change with the keys, so
the projections are emptied and rebuilt from the log after the upgrade (the log is untouched).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# The projection tables of revision 0002 (a migration must not follow later schema changes).
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
_DISPLAY = {"namespaces": "display_name", "jobs": "display_namespace", "datasets": "display_namespace"}


def _rebuild_projections() -> None:
    bind = op.get_bind()
    for table in PROJECTION_TABLES:
        bind.execute(sa.text(f"DELETE FROM {table}"))
    bind.execute(sa.text("UPDATE log_marks SET seq = 0 WHERE name = 'projection'"))


def upgrade() -> None:
    """Apply this revision."""
    _rebuild_projections()
    for table, column in _DISPLAY.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(column, sa.Text(), nullable=True))
            batch_op.add_column(sa.Column("display_stamp", sa.Text(), nullable=True))
    with op.batch_alter_table("run_states", schema=None) as batch_op:
        batch_op.alter_column("state", existing_type=sa.String(length=16), nullable=True)
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("current_run_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("current_run_stamp", sa.Text(), nullable=True))
        batch_op.create_index("ix_jobs_current_run", ["current_run_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    _rebuild_projections()
    with op.batch_alter_table("run_states", schema=None) as batch_op:
        batch_op.alter_column("state", existing_type=sa.String(length=16), nullable=False)
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_current_run")
        batch_op.drop_column("current_run_stamp")
        batch_op.drop_column("current_run_id")
    for table, column in _DISPLAY.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("display_stamp")
            batch_op.drop_column(column)
