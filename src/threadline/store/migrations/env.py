"""Alembic environment: runs migrations on the connection threadline hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from threadline.store.backends import normalise_url
from threadline.store.schema import metadata

config = context.config
target_metadata = metadata


def run_migrations() -> None:
    """Run migrations on the given connection, or on ``sqlalchemy.url`` when run by the alembic CLI."""
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(normalise_url(config.get_main_option("sqlalchemy.url") or ""))
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
