"""The entry points: ``python -m threadline``, ``--version``, and unexpected errors in one line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from threadline import __version__
from threadline.cli import main as cli_main


def test_python_dash_m() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "threadline", "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"threadline {__version__}"


def test_no_arguments_shows_help() -> None:
    result = subprocess.run([sys.executable, "-m", "threadline"], capture_output=True, text=True, check=False)
    assert "ingest" in result.stdout + result.stderr


def _boom() -> None:
    msg = "something\nunexpected"
    raise RuntimeError(msg)


def test_unexpected_error_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli_main, "app", _boom)
    with pytest.raises(SystemExit) as exit_info:
        cli_main.main()
    assert exit_info.value.code == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: unexpected RuntimeError: something unexpected")
    assert cli_main.TRACEBACK_ENV in lines[0]


def test_traceback_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_main, "app", _boom)
    monkeypatch.setenv(cli_main.TRACEBACK_ENV, "1")
    with pytest.raises(RuntimeError):
        cli_main.main()
