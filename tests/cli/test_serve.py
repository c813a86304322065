"""``threadline serve``: settings reach the server; a non-loopback address needs keys."""

from __future__ import annotations

import sys
import types

import pytest

from tests.cli.conftest import Run, error_lines
from threadline.errors import ConfigError
from threadline.settings import SETTINGS, ServerConfig


@pytest.fixture
def fake_server(monkeypatch: pytest.MonkeyPatch) -> list[ServerConfig]:
    """Replace ``threadline.server`` with a stand-in that records the config it was handed."""
    calls: list[ServerConfig] = []
    module = types.ModuleType("threadline.server")
    module.run_server = calls.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "threadline.server", module)
    return calls


def test_defaults_come_from_the_settings_table(run: Run, sqlite_url: str, fake_server: list) -> None:
    result = run("serve", "--store", sqlite_url)
    assert result.exit_code == 0, result.output
    (config,) = fake_server
    assert config == ServerConfig(store=sqlite_url)
    assert (config.host, config.port, config.auth, config.pull_from) == ("127.0.0.1", 5000, "auto", ())


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("THREADLINE_HEADER_TIMEOUT", "0", "setting header_timeout from THREADLINE_HEADER_TIMEOUT must be"),
        ("THREADLINE_MAX_CONNECTIONS", "-5", "setting max_connections from THREADLINE_MAX_CONNECTIONS"),
        ("THREADLINE_MAX_EVENT_INPUTS", "many", "setting max_event_inputs"),
        ("THREADLINE_PULL_EVERY", "0", "setting pull_every from THREADLINE_PULL_EVERY must be a number"),
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
    monkeypatch.setenv("THREADLINE_PULL_FROM", "edge-1, https://hpc.example.com")
    result = run("serve", "--host", "0.0.0.0", "--auth", "none", "--max-body-bytes", "1000")
    assert result.exit_code == 0, result.output
    (config,) = fake_server
    assert config.store == sqlite_url
    assert config.port == 6001
    assert config.host == "0.0.0.0"
    assert config.auth == "none"
    assert config.max_body_bytes == 1000
    assert config.sqlite_synchronous == "FULL"
    assert config.pull_from == ("edge-1", "https://hpc.example.com")


def test_pull_options(run: Run, sqlite_url: str, fake_server: list) -> None:
    result = run(
        "serve", "--store", sqlite_url, "--pull-from", "a", "--pull-from", "http://b:5000",
        "--pull-every", "5", "--pull-filter", "namespace=prod",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (config,) = fake_server
    assert (config.pull_from, config.pull_every, config.pull_filter) == (
        ("a", "http://b:5000"),
        5.0,
        "namespace=prod",
    )
    result = run("serve", "--store", sqlite_url, "--pull-filter", "colour=red")
    assert result.exit_code == 1
    assert "setting pull_filter from --pull-filter must be key=value pairs" in result.stderr


def test_bad_values(run: Run, sqlite_url: str, fake_server: list, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run("serve", "--auth", "maybe", "--store", sqlite_url).exit_code == 2
    assert run("serve", "--port", "http", "--store", sqlite_url).exit_code == 2
    monkeypatch.setenv("THREADLINE_AUTH", "maybe")
    result = run("serve", "--store", sqlite_url)
    assert result.exit_code == 1
    assert error_lines(result) == [
        "error: setting auth from THREADLINE_AUTH must be one of auto, token, none, got 'maybe'"
    ]
    monkeypatch.setenv("THREADLINE_AUTH", "none")
    monkeypatch.setenv("THREADLINE_PORT", "eighty")
    result = run("serve", "--store", sqlite_url)
    assert result.exit_code == 1
    assert "THREADLINE_PORT" in error_lines(result)[0]
    assert not fake_server


def test_help_lists_every_option(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # no option name cut short
    result = run("serve", "--help")
    assert result.exit_code == 0
    for row in SETTINGS:
        assert row.option in result.output, f"serve --help lacks {row.option}"


def test_server_errors_are_one_line(run: Run, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("threadline.server")

    def run_server(config: ServerConfig) -> None:
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
