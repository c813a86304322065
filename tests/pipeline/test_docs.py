"""docs/pipelines.md's commands, typed as written in a shell, from a folder laid out like the
repository's root: the example runs and promotes, the bad order blocks it with one error line."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT
from tests.pipeline.conftest import EXAMPLES

DOC = (ROOT / "docs" / "pipelines.md").read_text(encoding="utf-8")


def commands(section: str) -> list[str]:
    """The ``$ `` lines of the console blocks of a section of the page."""
    start = DOC.index(f"## {section}")
    end = DOC.find("\n## ", start + 1)
    text = DOC[start : end if end != -1 else None]
    blocks = re.findall(r"```console\n(.*?)```", text, re.S)
    return [line[2:] for block in blocks for line in block.splitlines() if line.startswith("$ ")]


def test_the_example_commands_as_written(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(EXAMPLES, root / "examples" / "pipelines", ignore=shutil.ignore_patterns("build"))
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("THREADLINE_", "OPENLINEAGE_")) or key == "THREADLINE_TEST_PG_URL"
    }
    env["HOME"] = str(tmp_path / "home")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    ran = []
    for command in commands("Run the example"):
        result = subprocess.run(
            command, check=False, shell=True, cwd=root, env=env, capture_output=True, text=True, timeout=300
        )
        ran.append((command, result))
        assert "Traceback" not in result.stderr, result.stderr
    codes = [(command, result.returncode) for command, result in ran]
    assert codes == [
        ("threadline init", 0),
        ("threadline pipeline run examples/pipelines/shop.py --env staging", 0),
        ("threadline pipeline list", 0),
        ("threadline pipeline show shop", 0),
        ("threadline runs --pipeline shop", 0),
        ('echo "1007,9,-5.00,lost,2026-12-02T09:00:00" >> examples/pipelines/data/orders.csv', 0),
        ("threadline pipeline run examples/pipelines/shop.py --env staging", 1),
    ], [r.stderr for _, r in ran]
    assert (root / "examples/pipelines/build/staging/warehouse.duckdb").exists()
    assert "shop.promote" in ran[4][1].stdout
    blocked = ran[-1][1].stderr
    errors = [line for line in blocked.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    for check in ("between(amount)", "accepted_values(status)", "relationship(customer_id)"):
        assert check in errors[0]
    assert "production analytics is unchanged" in errors[0]
