"""Shared fixtures: stores on every backend, the conformance corpus, the example events.

PostgreSQL tests use the server named by ``THREADLINE_TEST_PG_URL`` (default: the local one on
127.0.0.1:5432, database ``test``). Each test gets a schema of its own. Without a reachable server
the PostgreSQL tests are skipped, except under ``CI=true`` where they must run and so fail instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from threadline.store import SqlStore, open_store

ROOT = Path(__file__).resolve().parent.parent
#: The OpenLineage conformance corpus: beside the repository (not copied into it), or where
#: ``THREADLINE_TEST_CONFORMANCE`` says.
CONFORMANCE = Path(os.environ.get("THREADLINE_TEST_CONFORMANCE") or ROOT.parent / "shared" / "conformance")
EXAMPLE_EVENTS = ROOT / "examples" / "ml_pipeline" / "events.jsonl"
PG_URL = os.environ.get("THREADLINE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _pg_available() -> str | None:
    try:
        with psycopg.connect(PG_URL, connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip()
    return None


_PG_PROBLEM = _pg_available()


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The PostgreSQL server URL; skips (fails in CI) when it cannot be reached."""
    if _PG_PROBLEM is not None:
        if IN_CI:
            pytest.fail(f"CI=true but PostgreSQL at {PG_URL} is unreachable: {_PG_PROBLEM}")
        pytest.skip(f"PostgreSQL at {PG_URL} is unreachable: {_PG_PROBLEM}")
    return PG_URL


def drop_pg_schema(pg_server: str, name: str) -> None:
    """Drop a test's schema, also while a server the test started still holds connections to it.

    Fixtures are torn down in reverse order, so a test's schema can be dropped before the servers it
    started are stopped. ``DROP SCHEMA ... CASCADE`` then takes its exclusive locks table by table
    while a server's transaction takes its shared ones, and PostgreSQL may break the cycle by
    cancelling the drop (``DeadlockDetected``). The test is over, so the backends still holding locks
    in the schema are ended first, and the drop is tried again if one slipped in between.
    """
    with psycopg.connect(pg_server, autocommit=True) as connection:
        connection.execute("SET lock_timeout = '10s'")
        for attempt in range(5):
            connection.execute(
                "SELECT pg_terminate_backend(l.pid) FROM pg_locks l"
                " JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = %s AND l.pid <> pg_backend_pid()",
                (name,),
            )
            try:
                connection.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
                return
            except (psycopg.errors.DeadlockDetected, psycopg.errors.LockNotAvailable):
                if attempt == 4:
                    raise


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A store URL on PostgreSQL whose tables live in a fresh schema, dropped after the test."""
    name = f"tl_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{name}"')
    separator = "&" if "?" in pg_server else "?"
    yield f"{pg_server}{separator}options=-csearch_path%3D{name}"
    drop_pg_schema(pg_server, name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A store URL on a fresh SQLite file."""
    return f"sqlite:///{tmp_path / 'threadline.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    """A fresh store URL on each backend in turn."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store(store_url: str) -> Iterator[object]:
    """An open store on each backend in turn."""
    opened = open_store(store_url)
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def conformance() -> Path:
    """The OpenLineage conformance corpus (read-only, beside the project). Without it the tests that
    read it are skipped with where to put it, except under ``CI=true``, where they must run."""
    if not CONFORMANCE.is_dir():
        message = (
            f"the OpenLineage conformance corpus is not at {CONFORMANCE}: put it there "
            "(or set THREADLINE_TEST_CONFORMANCE to its folder) to run the tests that read it"
        )
        if IN_CI:
            pytest.fail(f"CI=true but {message}")
        pytest.skip(message)
    return CONFORMANCE


@pytest.fixture(scope="session")
def example_events() -> list[bytes]:
    """The example ML pipeline's events, one JSON document each."""
    return [line for line in EXAMPLE_EVENTS.read_bytes().splitlines() if line.strip()]


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
        for name in self.schemas:
            drop_pg_schema(PG_URL, name)


@pytest.fixture
def new_store(store_url: str, tmp_path: Path) -> Iterator[Callable[[], SqlStore]]:
    """Call it for another fresh store on the same backend as ``store_url``."""
    factory = StoreFactory("sqlite" if store_url.startswith("sqlite") else "postgresql", tmp_path)
    yield factory
    factory.close()


# ---- running in parallel (pytest-xdist) ------------------------------------------------------------

#: Folders whose tests share fixtures that are expensive to make (tests/web: a demo project built,
#: servers on it, a browser; package-scoped, so they end before the worker goes on to other files):
#: under ``-n`` such a folder is one unit of work, run by one worker, so they are made once (and
#: test-output/web/'s figures are one worker's). Every other test file is a unit of its own (its
#: module fixtures made once).
SHARED_FOLDERS = ("web",)

#: The units that take longest (``pytest --durations``, summed by unit), longest first: they are
#: handed out before the others, so that the run does not end with one worker busy on a long unit it
#: began last while the other has nothing left. The rest follow, the most tests first. A unit missing
#: here only costs balance, never a test.
LONG_UNITS: tuple[str, ...] = (
    "web",
    "server/test_hostile_readback.py",
    "demo/test_readme_commands.py",
    "server/test_read_your_writes.py",
    "pipeline/test_airflow_export.py",
    "server/test_metrics.py",
    "server/test_ingest.py",
    "server/test_bad_queries.py",
    "sync/test_push_pull.py",
    "server/test_back_pressure.py",
    "pipeline/test_promotion.py",
    "sync/test_hostile_peer.py",
    "tracking/test_example_churn.py",
)

if os.environ.get("PYTEST_XDIST_WORKER"):
    # A worker's environment says COLUMNS=80: the commands' output would be cut to 80 columns there,
    # and not in a test run in one process (tests/cli compares whole lines).
    for _name in ("COLUMNS", "LINES"):
        os.environ.pop(_name, None)


def _unit(nodeid: str) -> str:
    """The unit of work of the test ``nodeid`` (``tests/...::name``): its folder or its file, under tests/."""
    path = nodeid.split("::", 1)[0].removeprefix("tests/")
    folder = path.split("/", 1)[0]
    return folder if folder in SHARED_FOLDERS else path


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under pytest-xdist (``make test`` runs ``-n 2``) hand out the tests by units of work: the whole
    of a folder of :data:`SHARED_FOLDERS` or of a file, to one worker, those of :data:`LONG_UNITS`
    first, then the units with the most tests (xdist's own ``loadgroup`` would group by marks, but
    cannot rename pytest 9's test ids, which it needs to)."""
    from xdist.scheduler import LoadScopeScheduling

    class ByUnit(LoadScopeScheduling):
        ordered = False

        def _split_scope(self, nodeid: str) -> str:
            return _unit(nodeid)

        def _assign_work_unit(self, node: Any) -> None:
            if not self.ordered:  # the first hand-out: the queue is complete, by number of tests
                self.ordered = True
                rank = {unit: index for index, unit in enumerate(LONG_UNITS)}
                queue = sorted(self.workqueue.items(), key=lambda item: rank.get(item[0], len(rank)))
                self.workqueue.clear()
                self.workqueue.update(queue)
            super()._assign_work_unit(node)

    return ByUnit(config, log)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print how each expected failure failed: an ``xfail`` here marks a known intermittent defect
    (see its reason), and its failure message is what will find the cause; pytest hides it."""
    for report in terminalreporter.stats.get("xfailed", []):
        terminalreporter.section(f"expected failure, how it failed: {report.nodeid}", sep="-")
        terminalreporter.line(report.longreprtext[-6000:])
