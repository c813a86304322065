"""The churn example end to end: run it, change its input, run it again, restore the first run's input
byte for byte, and training on the restored data gives the first run's metrics again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow
pytest.importorskip("sklearn")
pytest.importorskip("pandas")

PIPELINE = ROOT / "examples" / "churn_sdk" / "pipeline.py"
THREADLINE = [sys.executable, "-m", "threadline"]


def _run(command: list[str], cwd: Path) -> str:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_")}
    environment["HOME"] = str(cwd.parent / "home")
    done = subprocess.run(
        command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def _pipeline_runs(cwd: Path) -> list[dict]:
    listed = json.loads(
        _run([*THREADLINE, "runs", "--pipeline", "churn", "--format", "json", "-n", "100"], cwd)
    )
    return [r for r in listed if r["job"]["name"] == "churn"]


def test_restored_inputs_reproduce_the_first_runs_metrics(tmp_path: Path) -> None:
    work = tmp_path / "work"  # the test's working folder (see conftest)
    _run([*THREADLINE, "init"], work)
    _run([sys.executable, str(PIPELINE), "make-data", "data/raw/customers.csv", "--rows", "3000"], work)
    raw = work / "data" / "raw" / "customers.csv"
    original = raw.read_bytes()
    assert len(original.splitlines()) == 3001

    _run([sys.executable, str(PIPELINE), "run"], work)
    (first,) = _pipeline_runs(work)
    assert first["state"] == "COMPLETED"
    assert 0.5 < first["metrics"]["auc"] <= 1.0
    assert 0.5 < first["metrics"]["accuracy"] <= 1.0
    _run([*THREADLINE, "snapshot", first["id"][:8]], work)

    _run(
        [
            sys.executable,
            str(PIPELINE),
            "make-data",
            "data/raw/customers.csv",
            "--rows",
            "3000",
            "--seed",
            "8",
        ],
        work,
    )
    assert raw.read_bytes() != original
    _run([sys.executable, str(PIPELINE), "run"], work)
    second = _pipeline_runs(work)[0]
    assert second["id"] != first["id"]
    assert second["metrics"] != first["metrics"]

    diff = json.loads(_run([*THREADLINE, "diff", first["id"], second["id"], "--format", "json"], work))
    assert [change["key"] for change in diff["inputs"]] == [str(raw)]
    assert {change["key"] for change in diff["metrics"]} >= {"accuracy", "auc", "train.auc"}

    _run([*THREADLINE, "restore", first["id"][:8], "--to", "restored"], work)
    restored = work / "restored" / "data" / "raw" / "customers.csv"
    assert restored.read_bytes() == original

    _run([sys.executable, str(PIPELINE), "run", "--raw", str(restored), "--work", "restored-work"], work)
    again = _pipeline_runs(work)[0]
    assert again["id"] not in (first["id"], second["id"])
    assert again["metrics"] == first["metrics"]
    # the model of each run was stored as it ended (store=True): the same data gives the same model bytes
    train_runs = json.loads(_run([*THREADLINE, "runs", "--format", "json", "-n", "100"], work))
    assert sum(1 for r in train_runs if r["job"]["name"] == "churn.train") == 3
