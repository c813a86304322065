"""Without the conformance corpus beside the repository, its tests skip with one line saying where to
put it; with ``CI=true`` they fail instead (CI must run them)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

#: A test that reads the corpus and needs nothing else (no database).
READS_THE_CORPUS = "tests/openlineage/test_facets.py::test_the_registry_keys_are_the_spec_keys"


def _pytest(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "CI"}
    environment.update(env, THREADLINE_TEST_CONFORMANCE=str(tmp_path / "no-corpus-here"))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", READS_THE_CORPUS],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_without_the_corpus_its_tests_skip_saying_where_to_put_it(tmp_path: Path) -> None:
    done = _pytest(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 skipped" in done.stdout
    reasons = [line for line in done.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(reasons) == 1, done.stdout
    assert (
        f"the OpenLineage conformance corpus is not at {tmp_path / 'no-corpus-here'}: put it there"
        in reasons[0]
    )


def test_in_ci_a_missing_corpus_fails(tmp_path: Path) -> None:
    done = _pytest(tmp_path, CI="true")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "CI=true but the OpenLineage conformance corpus is not at" in done.stdout
