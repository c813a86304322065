"""catalog: the Data Catalog's projections (resources, typed tag values, history, full-text search)

Catalog changes are ``threadline_catalog`` facets of DatasetEvents in the hidden catalog namespace
(see ``threadline/openlineage/catalog_changes.py``). No event of an older store carries that facet, so
the new tables start empty and nothing is rebuilt.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_SQLITE = (
    "CREATE VIRTUAL TABLE catalog_fts USING fts5(t_name, t_description, t_columns, "
    "tokenize = 'unicode61 remove_diacritics 0')",
    "CREATE TRIGGER catalog_fts_insert AFTER INSERT ON catalog_objects WHEN new.kind = 'entry' "
    "BEGIN INSERT INTO catalog_fts(rowid, t_name, t_description, t_columns) "
    "VALUES (new.rowid, new.t_name, new.t_description, new.t_columns); END",
    "CREATE TRIGGER catalog_fts_update AFTER UPDATE ON catalog_objects WHEN new.kind = 'entry' "
    "BEGIN DELETE FROM catalog_fts WHERE rowid = old.rowid; "
    "INSERT INTO catalog_fts(rowid, t_name, t_description, t_columns) "
    "VALUES (new.rowid, new.t_name, new.t_description, new.t_columns); END",
    "CREATE TRIGGER catalog_fts_delete AFTER DELETE ON catalog_objects WHEN old.kind = 'entry' "
    "BEGIN DELETE FROM catalog_fts WHERE rowid = old.rowid; END",
)
_POSTGRESQL = tuple(
    f"CREATE INDEX ix_catalog_fts_{column} ON catalog_objects "
    f"USING gin (to_tsvector('simple', coalesce({column}, ''))) WHERE kind = 'entry'"
    for column in ("t_name", "t_description", "t_columns")
)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "catalog_objects",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("parent", sa.Text(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("changed_by", sa.Text(), nullable=True),
        sa.Column("changed_at", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("stamp", sa.Text(), nullable=False),
        sa.Column("entry_type", sa.Text(), nullable=True),
        sa.Column("entry_system", sa.Text(), nullable=True),
        sa.Column("t_name", sa.Text(), nullable=True),
        sa.Column("t_description", sa.Text(), nullable=True),
        sa.Column("t_columns", sa.Text(), nullable=True),
        sa.Column("labels", sa.Text(), nullable=True),
        sa.Column("linked_resource", sa.Text(), nullable=True),
        sa.Column("template", sa.Text(), nullable=True),
        sa.Column("tag_column", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("kind", "name"),
    )
    op.create_index("ix_catalog_objects_parent", "catalog_objects", ["parent"])
    op.create_index("ix_catalog_objects_template", "catalog_objects", ["template"])
    op.create_index("ix_catalog_objects_linked", "catalog_objects", ["linked_resource"])
    op.create_table(
        "catalog_tag_values",
        sa.Column("tag", sa.Text(), nullable=False),
        sa.Column("field", sa.Text(), nullable=False),
        sa.Column("stamp", sa.Text(), nullable=False),
        sa.Column("entry", sa.Text(), nullable=False),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("num_value", sa.Double(), nullable=True),
        sa.Column("text_value", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("tag", "field"),
    )
    op.create_index("ix_catalog_tag_values_num", "catalog_tag_values", ["template", "field", "num_value"])
    op.create_index("ix_catalog_tag_values_text", "catalog_tag_values", ["template", "field", "text_value"])
    op.create_index("ix_catalog_tag_values_entry", "catalog_tag_values", ["entry"])
    op.create_table(
        "catalog_history",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("stamp", sa.Text(), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("changed_by", sa.Text(), nullable=True),
        sa.Column("changed_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "name", "stamp"),
    )
    statements = _POSTGRESQL if op.get_bind().dialect.name == "postgresql" else _SQLITE
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    """Revert this revision."""
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS catalog_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS catalog_fts")
    op.drop_table("catalog_history")
    op.drop_table("catalog_tag_values")
    op.drop_table("catalog_objects")
