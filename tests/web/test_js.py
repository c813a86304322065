"""The web UI's pure JavaScript modules, tested by Node's own test runner (``tests/web/js/*.test.js``).

They cover what runs without a browser: the lineage view's model (``lineage-model.js``), its URL
state (``lineage-url.js``) and column view (``lineage-columns.js``), node ids (``nodes.js``), names
(``names.js``), the layered layout (``layered.js``), the viewport (``viewport.js``), and the API
requests with their ask-for-a-key retries (``api.js``, with a fake ``fetch`` and dialog). The
repository's ``package.json`` says ``"type": "module"``, so Node (18 and later) loads the UI's
``.js`` files as the ES modules they are. By hand: ``node --test tests/web/js/*.test.js``.

Formatting, linting and type checks of the same code are ``make lint-js`` (prettier, eslint, tsc).
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.conftest import IN_CI, ROOT

NODE = shutil.which("node")
TESTS = ROOT / "tests" / "web" / "js"


def test_the_repository_says_its_javascript_is_es_modules() -> None:
    package = json.loads((ROOT / "package.json").read_text())
    assert package["type"] == "module"
    assert package["private"] is True
    assert not package.get("dependencies"), "the UI has no build step: npm packages are tools only"


def test_javascript_modules() -> None:
    if NODE is None:
        if IN_CI:
            pytest.fail("CI=true but Node.js is not installed (apt-get install nodejs)")
        pytest.skip("Node.js is not installed (apt-get install nodejs): the UI's JavaScript tests need it")
    files = sorted(str(path.relative_to(ROOT)) for path in TESTS.glob("*.test.js"))
    assert len(files) >= 6, f"JavaScript tests missing in {TESTS}: {files}"
    done = subprocess.run(
        [NODE, "--test", *files], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"node --test failed:\n{done.stdout}\n{done.stderr}"
    assert "# fail 0" in done.stdout, done.stdout
