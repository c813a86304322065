"""What the commands about tracked runs share: the tracking folder, its store and its object store.

Outside any project they use the global folder ``~/.threadline`` that the SDK tracks into there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from threadline import settings
from threadline.artifacts.store import ArtifactStore
from threadline.cli.common import display_url, missing_project, say_store
from threadline.errors import StoreNotFound
from threadline.store.run_ids import resolve_run_id, short_run_ids
from threadline.store.sql import SqlStore, open_store
from threadline.tracking.config import tracking_dir

RunArgument = Annotated[
    str,
    typer.Argument(
        metavar="RUN",
        help="A run id, a unique prefix of it (4+ characters, such as the short id listings show), "
        "or run:<id>.",
        show_default=False,
    ),
]


def tracking_folder() -> Path:
    """The ``.threadline`` folder of the project here, else the global one."""
    return tracking_dir()[0]


def store_url_for(explicit: str | None) -> str:
    """``--store``, else the ``store`` setting, else the tracking folder's embedded store."""
    folder = tracking_folder()
    return (
        settings.resolve("store", explicit, start=folder.parent)
        or f"sqlite:///{folder / settings.DATABASE_FILE_NAME}"
    )


@contextmanager
def opened_store(explicit: str | None) -> Iterator[SqlStore]:
    """The existing store (these commands only read, or add to a run that must exist: they never
    create one), closed at the end of the block; call inside ``expected_errors``."""
    url = store_url_for(explicit)
    say_store(url, explicit, fallback=f"the global folder {tracking_folder()} (outside any project)")
    try:
        store = open_store(url, sqlite_synchronous=settings.resolve("sqlite_synchronous"), create=False)
    except StoreNotFound as exc:
        if explicit is None and settings.resolve("store") is None and settings.find_project_dir() is None:
            raise StoreNotFound(missing_project(f"the global folder's store {display_url(url)}")) from exc
        raise
    try:
        yield store
    finally:
        store.close()


@contextmanager
def opened_artifacts() -> Iterator[ArtifactStore]:
    """The object store of the tracking folder, closed at the end of the block."""
    artifacts = ArtifactStore.for_project(tracking_folder())
    try:
        yield artifacts
    finally:
        artifacts.close()


def resolve_run(store: SqlStore, text: str) -> str:
    """The full id of the run named by ``text`` (an id, a unique prefix, or ``run:<id>``)."""
    with store.read() as connection:
        return resolve_run_id(connection, text)


def short_run_id(store: SqlStore, run_id: str) -> str:
    """The short id of the run ``run_id``, as the listings show it."""
    with store.read() as connection:
        return short_run_ids(connection, [run_id])[run_id]
