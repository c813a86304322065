"""Fixtures for the tracking tests: a fresh project folder, a private home, and a clean tracker."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from threadline.store import SqlStore, open_store
from threadline.tracking import tracker


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test runs in its own working folder with its own HOME and no THREADLINE_* variables."""
    for name in list(os.environ):
        if name.startswith(("THREADLINE_", "OPENLINEAGE_")) and name != "THREADLINE_TEST_PG_URL":
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    tracker.reset()
    yield
    tracker.reset()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder (the working folder, with an empty ``.threadline``)."""
    work = tmp_path / "work"
    (work / ".threadline").mkdir()
    return work


@pytest.fixture
def store(project: Path) -> Iterator[SqlStore]:
    """The project's store (open it after the runs: the SDK creates it)."""
    opened = open_store(f"sqlite:///{project / '.threadline' / 'threadline.db'}")
    yield opened
    opened.close()


def events_of(store: SqlStore, run_id: str | None = None) -> list[dict[str, Any]]:
    """Every event in the store (of one run), oldest first, as JSON."""
    found = []
    for batch in store.iter_events():
        for event in batch:
            doc = json.loads(event.raw)
            if run_id is None or doc.get("run", {}).get("runId") == run_id:
                found.append(doc)
    return found


def write_old(path: Path, text: str) -> Path:
    """Write a file and date it an hour back, so that the hash cache may remember it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    old = path.stat().st_mtime - 3600
    os.utime(path, (old, old))
    return path
