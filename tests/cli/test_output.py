"""What the command line prints where: whole tables into pipes, help without false value types."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import Run
from tests.cli.test_docs import COMMANDS
from tests.conftest import EXAMPLE_EVENTS

LONG_NAME = "features/churn/customer_features.parquet"


def test_piped_tables_keep_every_character(run: Run, tmp_path: Path) -> None:
    """Into a pipe, rich would cut tables at 80 columns (`churn.featu…`); they stay whole."""
    url = f"sqlite:///{tmp_path / 'threadline.db'}"
    assert run("ingest", str(EXAMPLE_EVENTS), "--store", url).exit_code == 0
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("COLUMNS", "LINES") and not k.startswith("THREADLINE_")
    }
    for command in (["datasets"], ["jobs"], ["lineage", f"dataset:s3://acme-lake:{LONG_NAME}"]):
        done = subprocess.run(
            [sys.executable, "-m", "threadline", *command, "--store", url],
            capture_output=True,
            text=True,
            env=env,
            check=True,
            timeout=120,
        )
        assert "…" not in done.stdout, done.stdout
        assert any(
            LONG_NAME in line or "churn_pipeline.features" in line for line in done.stdout.splitlines()
        )
    narrow = subprocess.run(  # COLUMNS still says how wide to be
        [sys.executable, "-m", "threadline", "datasets", "--store", url],
        capture_output=True,
        text=True,
        env={**env, "COLUMNS": "60"},
        check=True,
        timeout=120,
    )
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 60


def test_help_says_json_exists(run: Run) -> None:
    assert "--format json" in run("--help").stdout


@pytest.mark.parametrize("command", ["threadline", *COMMANDS])
def test_flags_show_no_value_type(run: Run, command: str) -> None:
    """A flag takes no value: `--version <bool>` read as if it wanted one."""
    shown = run(*command.split()[1:], "--help").stdout
    assert "<bool>" not in shown
