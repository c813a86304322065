"""The demo project, built as `make demo` builds it (with a smaller CSV).

``demo_project`` is built once per session and must not be changed; a test module that changes the
demo builds its own with :func:`build_demo` (a copy would not do: the store names the project's files
by their absolute paths, so a copy's runs still point at the original's files).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

#: Rows of the demo pipeline's CSV: fewer than `make demo`'s, to build faster.
DEMO_ROWS = 800


def build_demo(folder: Path) -> Path:
    """Build the demo project in ``folder`` (``examples/demo.py --no-serve``)."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "examples.demo",
            "--folder",
            str(folder),
            "--rows",
            str(DEMO_ROWS),
            "--no-serve",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"the demo could not be built:\n{done.stdout}\n{done.stderr}")
    return folder


@pytest.fixture(scope="session")
def demo_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo project folder, shared by the session: do not change it."""
    return build_demo(tmp_path_factory.mktemp("demo-project") / "demo")
