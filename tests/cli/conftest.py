"""Fixtures for the command-line tests: an in-process runner in a clean working folder."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from threadline.cli.main import app


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every command from an empty folder with no THREADLINE_* variables set."""
    for name in list(os.environ):
        if name.startswith("THREADLINE_") and name != "THREADLINE_TEST_PG_URL":
            monkeypatch.delenv(name)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)


Run = Callable[..., Result]


@pytest.fixture
def run() -> Run:
    """Invoke ``threadline ARGS...`` in-process; never lets an exception escape unseen."""
    runner = CliRunner()

    def invoke(*args: str, input: str | bytes | None = None) -> Result:
        result = runner.invoke(app, list(args), input=input)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        assert "Traceback" not in result.output
        return result

    return invoke


def error_lines(result: Result) -> list[str]:
    """The ``error:`` lines a command printed on stderr."""
    return [line for line in result.stderr.splitlines() if line.startswith("error:")]
