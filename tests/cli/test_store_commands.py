"""``reindex``, ``db status|upgrade``, ``events`` and store URL errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.cli.conftest import Run, error_lines
from tests.conftest import EXAMPLE_EVENTS
from threadline.store import migrate


def test_reindex(run: Run, sqlite_url: str) -> None:
    assert run("ingest", str(EXAMPLE_EVENTS), "--store", sqlite_url).exit_code == 0
    result = run("reindex", "--store", sqlite_url)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("reindexed 50 events in ")


def test_events_lists_newest(run: Run, sqlite_url: str) -> None:
    run("ingest", str(EXAMPLE_EVENTS), "--store", sqlite_url)
    result = run("events", "--limit", "3", "--store", sqlite_url)
    assert result.exit_code == 0, result.output
    assert "3 of 50 events" in result.stderr


def test_db_status_and_upgrade_of_a_new_database(run: Run, sqlite_url: str) -> None:
    head = migrate.head_revision()
    status = run("db", "status", "--store", sqlite_url)
    assert status.exit_code == 0, status.output
    assert "current: none (no such file" in status.stdout
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists()  # looking created nothing
    upgrade = run("db", "upgrade", "--store", sqlite_url)
    assert upgrade.exit_code == 0, upgrade.output
    assert f"empty → {head}" in upgrade.stdout
    again = run("db", "upgrade", "--store", sqlite_url)
    assert f"already at revision {head}" in again.stdout
    status = run("db", "status", "--store", sqlite_url)
    assert f"current: {head}" in status.stdout
    assert "up to date" in status.stdout


def test_unknown_schema_revision_is_one_line(run: Run, sqlite_url: str) -> None:
    run("db", "upgrade", "--store", sqlite_url)
    engine = create_engine(sqlite_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    for command in (["reindex"], ["token", "list"], ["db", "upgrade"]):
        result = run(*command, "--store", sqlite_url)
        assert result.exit_code == 1, command
        assert len(error_lines(result)) == 1, result.stderr
        assert "9999" in error_lines(result)[0]
    status = run("db", "status", "--store", sqlite_url)
    assert "current: 9999" in status.stdout


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://x/y", "only sqlite:///PATH and postgresql://"),
        ("not a url", "is not a URL"),
        ("sqlite://", "in-memory SQLite store"),
        ("postgresql://postgres@127.0.0.1:1/nowhere", "port 1 failed"),
    ],
)
@pytest.mark.parametrize("command", [["reindex"], ["ingest", str(EXAMPLE_EVENTS)], ["db", "status"]])
def test_bad_store_urls_are_one_line(run: Run, url: str, expected: str, command: list[str]) -> None:
    result = run(*command, "--store", url)
    assert result.exit_code == 1, result.output
    lines = error_lines(result)
    assert len(lines) == 1, result.stderr
    assert expected in lines[0]


def test_store_from_environment(run: Run, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREADLINE_STORE", sqlite_url)
    assert run("ingest", str(EXAMPLE_EVENTS)).exit_code == 0
    assert "50 duplicate" in run("ingest", str(EXAMPLE_EVENTS), "--store", sqlite_url).stdout


def test_default_store_is_created_in_the_project_folder(run: Run) -> None:
    result = run("ingest", str(EXAMPLE_EVENTS))
    assert result.exit_code == 0, result.output
    assert (Path.cwd() / ".threadline" / "threadline.db").is_file()


def test_every_backend(run: Run, store_url: str) -> None:
    """The same commands on SQLite and PostgreSQL (``store_url`` is parametrised over both)."""
    assert run("db", "upgrade", "--store", store_url).exit_code == 0
    assert "50 accepted" in run("ingest", str(EXAMPLE_EVENTS), "--store", store_url).stdout
    assert "50 duplicate" in run("ingest", str(EXAMPLE_EVENTS), "--store", store_url).stdout
    assert "reindexed 50 events" in run("reindex", "--store", store_url).stdout
    assert "up to date" in run("db", "status", "--store", store_url).stdout
    assert run("token", "create", "--name", "k", "--scope", "read", "--store", store_url).exit_code == 0
    assert "k" in run("token", "list", "--store", store_url).stdout
