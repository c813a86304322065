"""a cheaper log: time-first unique key, compressed events, a mark instead of a queue

* The log's unique key becomes ``(event_time, id)`` (the same uniqueness: an event's time is part of
  its content) instead of ``id``: an index of hashes takes a write at a random place per append, one
  led by time grows at its end. Finding an event by id alone goes through the new ``event_ids``
  projection. The indexes on ``event_time`` (now the key's prefix) and ``run_id`` go.
* Events may be stored compressed: ``events.codec`` says how (see ``store/codec.py``); the events
  already stored stay as they are (codec 0).
* The projector keeps how far it has read the log (``log_marks``) instead of a queue row per event.

Last-writer-wins stamps changed form too, so the projections are emptied and rebuilt from the log:
the server (or ``threadline reindex``) folds every event again after the upgrade. The log itself keeps
every event, byte for byte, with its sequence number.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PROJECTION = "projection"
# The projection tables of revision 0001 (a migration must not follow later schema changes).
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
)
_COPIED = (
    "seq, id, event_time, received_at, kind, event_type, run_id, job_namespace, job_name, producer, "
    "schema_url, raw, problems"
)


def _events_table(name: str, *, codec: bool) -> None:
    columns: list[sa.schema.SchemaItem] = [
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("event_time", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("event_type", sa.String(length=16), nullable=True),
        sa.Column("run_id", sa.String(length=36), nullable=True),
        sa.Column("job_namespace", sa.Text(), nullable=True),
        sa.Column("job_name", sa.Text(), nullable=True),
        sa.Column("producer", sa.Text(), nullable=False),
        sa.Column("schema_url", sa.Text(), nullable=True),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("problems", sa.Text(), nullable=True),
    ]
    if codec:
        columns.append(sa.Column("codec", sa.SmallInteger(), server_default="0", nullable=False))
    constraints: list[sa.schema.SchemaItem] = [] if codec else [sa.UniqueConstraint("id")]
    op.create_table(name, *columns, sa.PrimaryKeyConstraint("seq"), *constraints)


def _replace_events(*, codec: bool) -> None:
    """Copy the log into a table of the wanted shape, keeping every sequence number."""
    bind = op.get_bind()
    _events_table("events_next", codec=codec)
    bind.execute(sa.text(f"INSERT INTO events_next ({_COPIED}) SELECT {_COPIED} FROM events"))
    op.drop_table("events")
    op.rename_table("events_next", "events")
    if bind.dialect.name == "postgresql":
        # The copy kept the numbers; the new table's sequence must continue after them.
        bind.execute(
            sa.text(
                "SELECT setval(pg_get_serial_sequence('events', 'seq'), "
                "coalesce((SELECT max(seq) FROM events), 0) + 1, false)"
            )
        )


def _empty_projections() -> None:
    bind = op.get_bind()
    for table in PROJECTION_TABLES:
        bind.execute(sa.text(f"DELETE FROM {table}"))


def upgrade() -> None:
    """Apply this revision."""
    _empty_projections()
    _replace_events(codec=True)
    op.create_index("ux_events_time_id", "events", ["event_time", "id"], unique=True)
    op.create_table(
        "event_ids",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("event_time", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_with_rowid=False,
    )
    log_marks = op.create_table(
        "log_marks",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.bulk_insert(log_marks, [{"name": PROJECTION, "seq": 0}])
    op.drop_table("projection_queue")


def downgrade() -> None:
    """Revert this revision: the old log shape, every event queued to be folded again."""
    bind = op.get_bind()
    compressed = bind.execute(sa.text("SELECT count(*) FROM events WHERE codec <> 0")).scalar()
    if compressed:
        msg = (
            f"{compressed} events are stored compressed, which revision 0001 cannot read; "
            "restore a backup taken before the upgrade instead"
        )
        raise RuntimeError(msg)
    _empty_projections()
    op.drop_table("event_ids")
    op.drop_table("log_marks")
    _replace_events(codec=False)
    op.create_index("ix_events_event_time", "events", ["event_time"], unique=False)
    op.create_index("ix_events_run_id", "events", ["run_id"], unique=False)
    op.create_table(
        "projection_queue", sa.Column("seq", sa.BigInteger(), nullable=False), sa.PrimaryKeyConstraint("seq")
    )
    bind.execute(sa.text("INSERT INTO projection_queue (seq) SELECT seq FROM events"))
