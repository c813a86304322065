"""The settings table, row by row: every setting can be set from each of its sources (argument, config
file, environment variable and its aliases), the sources win in that order over the default, a bad
value from any source is refused naming the setting, the source and the allowed values, and
docs/settings.md is the table's own page."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from threadline.errors import ConfigError
from threadline.settings import (
    SETTINGS,
    TABLE,
    TRACKING_SETTINGS,
    ServerConfig,
    Setting,
    default_store_url,
    load_server_config,
    settings_markdown,
)
from threadline.tracking.config import load_config


def _good(row: Setting, which: int) -> Any:
    """A valid value of ``row`` other than its default (``which`` picks one of several)."""
    if row.choices:
        others = [c for c in row.choices if c != row.default]
        return others[which % len(others)]
    if row.type is bool:
        return not row.default
    if row.type is int:
        value = int(row.minimum or 0) + 3 + which
        return value if row.maximum is None else min(value, int(row.maximum))
    if row.type is float:
        return float(row.minimum or 0) + 2.5 + which
    if row.type is list:
        return (f"edge-{which}", f"https://hpc-{which}.example.com")
    if row.name == "store":
        return f"sqlite:////tmp/threadline-{which}.db"
    if row.name == "pull_filter":
        return f"namespace=prod-{which}"
    return f"value-{which}"


def _env_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(value)
    return str(value)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return json.dumps(list(value))
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


#: A value each kind of setting refuses, and from which sources (plain text is refused only where the
#: config file can give another type).
def _bad(row: Setting) -> list[tuple[str, Any]]:
    if row.choices:
        return [("argument", "nonsense"), ("file", "nonsense"), ("env", "nonsense")]
    if row.type is bool:
        return [("argument", "maybe"), ("file", "maybe"), ("env", "maybe")]
    if row.type in (int, float):
        below = (row.minimum or 0) - 1
        return [("argument", below), ("file", "many"), ("env", "many"), ("env", str(below))]
    if row.type is list:
        return [("file", 5), ("file", [1, 2])]
    if row.validate is not None:
        return [("argument", "colour=red"), ("file", "colour=red"), ("env", "colour=red")]
    return [("file", 5), ("file", True)]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder (``.threadline/``), the working folder, with no THREADLINE_* variable set."""
    (tmp_path / ".threadline").mkdir()
    monkeypatch.chdir(tmp_path)
    for row in TABLE:
        for variable in row.env_vars:
            monkeypatch.delenv(variable, raising=False)
    return tmp_path


def _write_config(project: Path, row: Setting, value: Any) -> None:
    line = f"{row.name} = {_toml(value)}\n"
    text = f"[tracking]\n{line}" if row.section == "tracking" else line
    (project / ".threadline" / "config.toml").write_text(text, encoding="utf-8")


def _resolved(project: Path, row: Setting, argument: Any = None) -> Any:
    """What the program makes of ``row`` now: the server's config, or the tracking SDK's."""
    if row.section == "tracking":
        explicit = {} if argument is None else {row.name: argument}
        if row.name == "transport" and (argument == "http" or argument is None):
            explicit["url"] = "http://127.0.0.1:1"  # the http transport needs one
        return load_config(project, **explicit).values[row.name]
    explicit = {} if argument is None else {row.name: argument}
    config = load_server_config(project, **explicit)
    if row.name == "store" and config.store == default_store_url(project):
        return None  # the project's own store: the setting's default
    return getattr(config, row.name)


@pytest.mark.parametrize("row", TABLE, ids=lambda row: row.key)
def test_every_source_sets_it(project: Path, monkeypatch: pytest.MonkeyPatch, row: Setting) -> None:
    argument, in_file, in_env = _good(row, 0), _good(row, 1), _good(row, 2)
    if row.type is bool:
        in_file = in_env = argument
    assert _resolved(project, row) == row.default
    assert _resolved(project, row, argument) == argument
    _write_config(project, row, in_file)
    assert _resolved(project, row) == in_file
    (project / ".threadline" / "config.toml").unlink()
    for variable in row.env_vars:
        monkeypatch.setenv(variable, _env_text(in_env))
        assert _resolved(project, row) == in_env, variable
        monkeypatch.delenv(variable)


@pytest.mark.parametrize("row", TABLE, ids=lambda row: row.key)
def test_argument_then_file_then_environment_then_default(
    project: Path, monkeypatch: pytest.MonkeyPatch, row: Setting
) -> None:
    argument, in_file, in_env = _good(row, 0), _good(row, 1), _good(row, 2)
    if row.type is bool:
        pytest.skip("two values only: covered by test_every_source_sets_it")
    if len(row.choices) == 2:
        in_file = argument
    _write_config(project, row, in_file)
    monkeypatch.setenv(row.env_var, _env_text(in_env))
    assert _resolved(project, row, argument) == argument
    assert _resolved(project, row) == in_file
    (project / ".threadline" / "config.toml").unlink()
    assert _resolved(project, row) == in_env
    monkeypatch.delenv(row.env_var)
    assert _resolved(project, row) in (row.default, None)


BAD_CASES = [(row, source, value) for row in TABLE for source, value in _bad(row)]


@pytest.mark.parametrize(
    ("row", "source", "value"), BAD_CASES, ids=[f"{r.key}-{s}-{v!r}" for r, s, v in BAD_CASES]
)
def test_a_bad_value_is_refused_naming_the_setting(
    project: Path, monkeypatch: pytest.MonkeyPatch, row: Setting, source: str, value: Any
) -> None:
    argument = None
    if source == "argument":
        argument = value
        where = f"the argument {row.name}=" if row.section == "tracking" else row.option
    elif source == "file":
        _write_config(project, row, value)
        where = f"config.toml ({row.key})"
    else:
        monkeypatch.setenv(row.env_var, value)
        where = row.env_var
    with pytest.raises(ConfigError) as raised:
        _resolved(project, row, argument)
    message = str(raised.value)
    assert message.startswith(f"setting {row.name} from "), message
    assert where in message
    assert f"must be {row.allowed}, got " in message


def test_choices_are_matched_in_any_case(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREADLINE_SQLITE_SYNCHRONOUS", "full")
    monkeypatch.setenv("THREADLINE_LOG_LEVEL", "WARNING")
    config = load_server_config(project)
    assert (config.sqlite_synchronous, config.log_level) == ("FULL", "warning")


def test_the_server_config_holds_every_store_and_server_setting() -> None:
    fields = {item.name: item.default for item in dataclasses.fields(ServerConfig)}
    assert fields == {row.name: row.default for row in SETTINGS}
    assert {row.name for row in TRACKING_SETTINGS}.isdisjoint(fields)


def test_the_server_config_checks_what_it_is_given() -> None:
    with pytest.raises(
        ConfigError, match=r"setting port from ServerConfig\(port=...\) must be a whole number"
    ):
        ServerConfig(port=-1)
    with pytest.raises(ConfigError, match=r"setting auth .* must be one of auto, token, none"):
        ServerConfig(auth="maybe")
    assert ServerConfig(log_level="DEBUG", pull_from=["a"]).log_level == "debug"
    with pytest.raises(dataclasses.FrozenInstanceError):
        ServerConfig().port = 1  # type: ignore[misc]


def test_an_unknown_key_in_the_config_file_is_named(project: Path) -> None:
    (project / ".threadline" / "config.toml").write_text("prot = 5050\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown setting\(s\) prot; known: store, "):
        load_server_config(project)


def test_docs_settings_page_is_the_table() -> None:
    page = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert page == settings_markdown(), "docs/settings.md is stale: run `make settings-doc`"
    for row in TABLE:
        assert f"| `{row.name}` | `{row.key}` |" in page
        for variable in row.env_vars:
            assert f"`{variable}`" in page
