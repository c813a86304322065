"""The web UI's pure JavaScript modules (``names.js``, ``viewport.js``), tested by Node's own test runner.

The tests are ``tests/web/js/*.test.js``. The UI's modules are plain ``.js`` ES modules without a
``package.json``; Node (18 and later) takes them as modules when the folder says so, so the tests run
on a copy of ``src/threadline/web/app`` and ``tests/web/js`` beside a ``package.json`` of
``{"type": "module"}``. By hand, with Node 20 or later:
``node --experimental-default-type=module --test tests/web/js/``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import IN_CI, ROOT

NODE = shutil.which("node")
APP = ROOT / "src" / "threadline" / "web" / "app"
TESTS = ROOT / "tests" / "web" / "js"


def test_javascript_modules(tmp_path: Path) -> None:
    if NODE is None:
        if IN_CI:
            pytest.fail("CI=true but Node.js is not installed (apt-get install nodejs)")
        pytest.skip("Node.js is not installed (apt-get install nodejs): the UI's JavaScript tests need it")
    shutil.copytree(APP, tmp_path / "src" / "threadline" / "web" / "app")
    shutil.copytree(TESTS, tmp_path / "tests" / "web" / "js")
    (tmp_path / "package.json").write_text(json.dumps({"type": "module", "private": True}))
    files = sorted(
        str(path.relative_to(tmp_path)) for path in (tmp_path / "tests" / "web" / "js").glob("*.test.js")
    )
    assert files, f"no JavaScript tests in {TESTS}"
    done = subprocess.run(
        [NODE, "--test", *files], cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"node --test failed:\n{done.stdout}\n{done.stderr}"
    assert "# fail 0" in done.stdout, done.stdout
