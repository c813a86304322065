"""The README documents every setting and every command (a test fails when one is missing)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import typer

from tests.conftest import ROOT
from threadline.cli.main import app
from threadline.settings import SETTINGS

README = (ROOT / "README.md").read_text(encoding="utf-8")
#: Commands may be documented on a page of their own under docs/ (the catalog's: docs/catalog.md).
DOCS = README + "".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md")))


def _commands(group: Any, prefix: str) -> Iterator[str]:
    for name, command in sorted(group.commands.items()):
        if command.hidden:
            continue
        if isinstance(getattr(command, "commands", None), dict):  # a group (Typer's own class)
            yield from _commands(command, f"{prefix} {name}")
        else:
            yield f"{prefix} {name}"


COMMANDS = list(_commands(typer.main.get_command(app), "threadline"))


def test_commands_are_found() -> None:
    assert "threadline ingest" in COMMANDS
    assert "threadline token create" in COMMANDS
    assert "threadline db upgrade" in COMMANDS


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_documented(command: str) -> None:
    assert f"`{command}" in DOCS, f"neither README.md nor docs/ documents `{command}`"


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_documented(setting: object) -> None:
    assert f"`{setting.name}`" in README, f"README.md's settings table lacks `{setting.name}`"  # type: ignore[attr-defined]
    assert f"`{setting.env_var}`" in README, f"README.md does not name `{setting.env_var}`"  # type: ignore[attr-defined]


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_serve_options_exist_for_server_settings(setting: object) -> None:
    name = setting.name  # type: ignore[attr-defined]
    if name == "store":
        return
    serve = typer.main.get_command(app).commands["serve"]  # type: ignore[attr-defined]
    assert f"--{name.replace('_', '-')}" in {opt for p in serve.params for opt in p.opts}
