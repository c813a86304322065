"""A factory of fresh stores on the backend under test (for comparing two stores fed differently)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from tests.conftest import PG_URL
from threadline.store import SqlStore, open_store


class StoreFactory:
    """Opens fresh stores on one backend and cleans them all up."""

    def __init__(self, backend: str, directory: Path) -> None:
        self.backend = backend
        self.directory = directory
        self.stores: list[SqlStore] = []
        self.schemas: list[str] = []

    def __call__(self) -> SqlStore:
        name = f"tl_{uuid.uuid4().hex[:12]}"
        if self.backend == "sqlite":
            url = f"sqlite:///{self.directory / (name + '.db')}"
        else:
            with psycopg.connect(PG_URL, autocommit=True) as connection:
                connection.execute(f'CREATE SCHEMA "{name}"')
            self.schemas.append(name)
            separator = "&" if "?" in PG_URL else "?"
            url = f"{PG_URL}{separator}options=-csearch_path%3D{name}"
        store = open_store(url)
        self.stores.append(store)
        return store

    def close(self) -> None:
        for store in self.stores:
            store.close()
        if self.schemas:
            with psycopg.connect(PG_URL, autocommit=True) as connection:
                for name in self.schemas:
                    connection.execute(f'DROP SCHEMA "{name}" CASCADE')


@pytest.fixture
def new_store(store_url: str, tmp_path: Path) -> Iterator[Callable[[], SqlStore]]:
    """Call it for another fresh store on the same backend as ``store_url``."""
    factory = StoreFactory("sqlite" if store_url.startswith("sqlite") else "postgresql", tmp_path)
    yield factory
    factory.close()
