"""Fixtures for the pipeline tests: a fresh project folder with its own store, a private home, a clean
tracker, and a helper that writes a pipeline file and its data."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from threadline.store import SqlStore, open_store
from threadline.tracking import tracker

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "pipelines"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test runs in its own project folder with its own HOME and no THREADLINE_* variables."""
    for name in list(os.environ):
        if name.startswith(("THREADLINE_", "OPENLINEAGE_")) and name != "THREADLINE_TEST_PG_URL":
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    work = tmp_path / "work"
    (work / ".threadline").mkdir(parents=True)
    monkeypatch.chdir(work)
    tracker.reset()
    yield
    tracker.reset()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The project folder (the working folder)."""
    return tmp_path / "work"


@pytest.fixture
def example(project: Path) -> Path:
    """A copy of examples/pipelines in the project: its shop.py and data/."""
    target = project / "shop"
    shutil.copytree(EXAMPLES, target, ignore=shutil.ignore_patterns("build", "__pycache__"))
    return target


def open_project_store(project: Path) -> SqlStore:
    """The project's store (open it after the runs: the SDK creates it)."""
    tracker.flush()
    return open_store(f"sqlite:///{project / '.threadline' / 'threadline.db'}")


def events(project: Path) -> list[dict[str, Any]]:
    """Every event in the project's store, oldest first, as JSON."""
    store = open_project_store(project)
    try:
        return [json.loads(event.raw) for batch in store.iter_events() for event in batch]
    finally:
        store.close()


def final_events(project: Path, job: str) -> list[dict[str, Any]]:
    """The COMPLETE and FAIL events of the job ``job``."""
    return [e for e in events(project) if e["job"]["name"] == job and e["eventType"] in ("COMPLETE", "FAIL")]
