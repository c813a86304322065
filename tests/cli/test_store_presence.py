"""Commands that only read never create a store; each says which store it used when asked (``-v``).

A mistyped ``--store``, or a command run outside any project, used to create folders and an empty
database and answer "no runs". Now it is one line naming the store looked for and how to make one.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest

from tests.cli.conftest import Run, error_lines
from tests.conftest import EXAMPLE_EVENTS, drop_pg_schema
from threadline.store import open_store

RUN = "0190a6f2-0000-7000-8000-000000000000"
#: Every command that only reads the store (or adds to something that must exist in it).
READING: list[list[str]] = [
    ["runs"],
    ["jobs"],
    ["datasets"],
    ["events"],
    ["show", "dataset:s3://acme-lake:raw/churn/customers.parquet"],
    ["lineage", "dataset:s3://acme-lake:raw/churn/customers.parquet"],
    ["impact", "dataset:s3://acme-lake:raw/churn/customers.parquet"],
    ["diff", RUN, RUN],
    ["snapshot", RUN],
    ["restore", RUN, "--to", "restored"],
    ["status"],
    ["push", "http://127.0.0.1:1"],
    ["reindex"],
    ["token", "list"],
    ["token", "revoke", "nobody"],
    ["artifacts", "gc", "--keep", "blake3:" + "0" * 64, "--dry-run"],
]


@pytest.fixture(autouse=True)
def _no_home_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home folder without ``~/.threadline`` (the SDK's folder outside projects)."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


def _files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*"))


@pytest.mark.parametrize("command", READING, ids=" ".join)
def test_a_mistyped_store_is_not_created(run: Run, tmp_path: Path, command: list[str]) -> None:
    missing = tmp_path / "nonexistent" / "dir" / "threadline.db"
    result = run(*command, "--store", f"sqlite:///{missing}")
    assert result.exit_code == 1, result.output
    (line,) = error_lines(result)
    assert f"no store at sqlite:///{missing}" in line
    assert "threadline init" in line
    assert not (tmp_path / "nonexistent").exists()


@pytest.mark.parametrize("command", READING, ids=" ".join)
def test_outside_a_project_nothing_is_created(run: Run, tmp_path: Path, command: list[str]) -> None:
    here = Path.cwd()
    result = run(*command)
    if command[0] == "artifacts":  # gc: no objects and no runs here, so nothing to do (and it says so)
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code == 1, result.output
        (line,) = error_lines(result)
        assert "not in a threadline project" in line, line
        assert "threadline init" in line
    assert _files(here) == []
    assert _files(tmp_path / "home") == []


def test_db_status_creates_nothing(run: Run, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "threadline.db"
    result = run("db", "status", "--store", f"sqlite:///{missing}")
    assert result.exit_code == 0
    assert "current: none (no such file" in result.stdout
    assert not missing.parent.exists()


def test_writing_commands_still_create_the_store(run: Run, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new' / 'threadline.db'}"
    assert run("ingest", str(EXAMPLE_EVENTS), "--store", url).exit_code == 0
    assert "churn_pipeline" in run("jobs", "--store", url).stdout


def test_verbose_says_which_store_each_command_uses(run: Run, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'threadline.db'}"
    assert run("ingest", str(EXAMPLE_EVENTS), "--store", url).exit_code == 0
    for command in (
        ["jobs"],
        ["runs"],
        ["lineage", "job:threadline-examples:churn_pipeline.train"],
        ["events"],
    ):
        result = run("-v", *command, "--store", url)
        assert result.exit_code == 0, result.output
        assert f"store: {url} (from --store)" in result.stderr
    assert run("jobs", "--store", url).stderr.count("store:") == 0  # only when asked
    Path(".threadline").mkdir()
    open_store(f"sqlite:///{Path.cwd() / '.threadline' / 'threadline.db'}").close()
    result = run("--verbose", "datasets")
    assert (
        f"store: sqlite:///{Path.cwd() / '.threadline' / 'threadline.db'} (from the project {Path.cwd()})"
        in (result.stderr)
    )


def test_status_shows_the_store(run: Run, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'threadline.db'}"
    open_store(url).close()
    result = run("status", "--store", url)
    assert result.exit_code == 0, result.output
    assert f"this store: {url}" in result.stdout


@pytest.mark.postgres
def test_postgresql_errors_show_the_url_typed(run: Run, pg_server: str) -> None:
    name = f"tl_missing_{uuid.uuid4().hex[:8]}"
    base = pg_server.rsplit("/", 1)[0]
    for typed in (f"{base}/{name}", f"{base}/{name}".replace("postgresql://", "postgres://", 1)):
        result = run("datasets", "--store", typed)
        assert result.exit_code == 1
        (line,) = error_lines(result)
        assert f"cannot open store {typed}:" in line, line
        assert "psycopg" not in line
        assert f'database "{name}" does not exist' in line


@pytest.mark.postgres
def test_a_postgresql_database_without_a_store_is_not_set_up_by_reading(run: Run, pg_server: str) -> None:
    schema = f"tl_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        url = f"{pg_server}?options=-csearch_path%3D{schema}"
        result = run("runs", "--store", url)
        assert result.exit_code == 1
        (line,) = error_lines(result)
        assert "no threadline store in postgresql://" in line
        assert "threadline db upgrade" in line
        with psycopg.connect(pg_server) as connection:
            tables = connection.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s", (schema,)
            ).fetchone()
        assert tables == (0,)
    finally:
        drop_pg_schema(pg_server, schema)
