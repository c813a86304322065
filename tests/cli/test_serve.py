"""``threadline serve``: settings reach the server; a non-loopback address needs keys."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from tests.cli.conftest import Run, error_lines
from threadline.errors import ConfigError
from threadline.sync.filters import PullFilter


@pytest.fixture
def fake_server(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Replace ``threadline.server`` with a stand-in that records how it was called."""
    calls: list[tuple[str, dict[str, Any]]] = []
    module = types.ModuleType("threadline.server")

    def run_server(store_url: str, **options: Any) -> None:
        calls.append((store_url, options))

    module.run_server = run_server  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "threadline.server", module)
    return calls


def test_defaults_come_from_the_settings_table(run: Run, sqlite_url: str, fake_server: list) -> None:
    result = run("serve", "--store", sqlite_url)
    assert result.exit_code == 0, result.output
    ((url, options),) = fake_server
    assert url == sqlite_url
    assert options == {
        "host": "127.0.0.1",
        "port": 5000,
        "auth": "auto",
        "max_body_bytes": 16 * 1024 * 1024,
        "max_batch_events": 10_000,
        "parse_workers": 2,
        "log_level": "info",
        "sqlite_synchronous": "NORMAL",
        "objects_dir": None,
        "pull_from": [],
        "pull_every": 60.0,
        "pull_filter": PullFilter(),
        "max_event_inputs": 10_000,
        "max_event_outputs": 10_000,
        "max_event_fields": 100_000,
        "max_event_column_edges": 100_000,
        "max_object_bytes": 5 * 1024**3,
        "header_timeout": 10.0,
        "body_timeout": 30.0,
        "max_connections": 1000,
    }


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("THREADLINE_HEADER_TIMEOUT", "0", "header_timeout must be above 0"),
        ("THREADLINE_MAX_CONNECTIONS", "-5", "max_connections must be above 0"),
        ("THREADLINE_MAX_EVENT_INPUTS", "many", "setting max_event_inputs"),
    ],
)
def test_a_bad_limit_from_the_environment_is_one_line(
    run: Run,
    sqlite_url: str,
    fake_server: list,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    words: str,
) -> None:
    monkeypatch.setenv(variable, value)
    result = run("serve", "--store", sqlite_url)
    assert result.exit_code == 1
    assert words in result.stderr
    assert fake_server == []


def test_options_then_environment(
    run: Run, sqlite_url: str, fake_server: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THREADLINE_PORT", "6001")
    monkeypatch.setenv("THREADLINE_SQLITE_SYNCHRONOUS", "full")
    monkeypatch.setenv("THREADLINE_STORE", sqlite_url)
    result = run("serve", "--host", "0.0.0.0", "--auth", "none", "--max-body-bytes", "1000")
    assert result.exit_code == 0, result.output
    ((url, options),) = fake_server
    assert url == sqlite_url
    assert options["port"] == 6001
    assert options["host"] == "0.0.0.0"
    assert options["auth"] == "none"
    assert options["max_body_bytes"] == 1000
    assert options["sqlite_synchronous"] == "FULL"


def test_bad_values(run: Run, sqlite_url: str, fake_server: list, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run("serve", "--auth", "maybe", "--store", sqlite_url).exit_code == 2
    assert run("serve", "--port", "http", "--store", sqlite_url).exit_code == 2
    monkeypatch.setenv("THREADLINE_AUTH", "maybe")
    result = run("serve", "--store", sqlite_url)
    assert result.exit_code == 1
    assert "THREADLINE_AUTH" in error_lines(result)[0]
    monkeypatch.setenv("THREADLINE_AUTH", "none")
    monkeypatch.setenv("THREADLINE_PORT", "eighty")
    result = run("serve", "--store", sqlite_url)
    assert result.exit_code == 1
    assert "THREADLINE_PORT" in error_lines(result)[0]
    assert not fake_server


def test_server_errors_are_one_line(run: Run, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("threadline.server")

    def run_server(store_url: str, **options: Any) -> None:
        raise ConfigError("port 5000 is in use; pick another with --port")

    module.run_server = run_server  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "threadline.server", module)
    result = run("serve", "--store", sqlite_url)
    assert result.exit_code == 1
    assert error_lines(result) == ["error: port 5000 is in use; pick another with --port"]


@pytest.mark.timeout(60)
def test_public_address_without_keys_is_refused(run: Run, sqlite_url: str) -> None:
    pytest.importorskip("threadline.server")
    result = run("serve", "--host", "0.0.0.0", "--port", "0", "--store", sqlite_url)
    assert result.exit_code == 1, result.output
    assert len(error_lines(result)) == 1
