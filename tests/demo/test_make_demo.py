"""What `make demo` runs (`examples/demo.py`) and installs (`requirements/*.txt`), as a user sees it.

`benchmarks/first_run.py` times the whole of `make demo` on a fresh clone; these tests check what it
prints and when, without installing anything.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest
from examples import demo

from tests.conftest import ROOT
from tests.demo.conftest import DEMO_ROWS
from tests.server.conftest import free_port


def _names(requirements: Path) -> set[str]:
    """The package names pinned in a lock file (``name==version``), normalised."""
    pinned = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", requirements.read_text(), re.MULTILINE)
    return {re.sub(r"[-_.]+", "-", name).lower() for name in pinned}


def _requirement_names(requirements: list[str]) -> set[str]:
    return {re.sub(r"[-_.]+", "-", re.split(r"[\[<>=!~ ;]", r, maxsplit=1)[0]).lower() for r in requirements}


def test_the_lock_files_pin_every_dependency() -> None:
    """`make demo` installs requirements/demo.txt and `make test` requirements/dev.txt, each with
    --no-deps: a dependency missing from them would not be installed (`make lock` refreshes them)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = _requirement_names(project["dependencies"])
    extras = project["optional-dependencies"]
    demo_pins = _names(ROOT / "requirements" / "demo.txt")
    dev_pins = _names(ROOT / "requirements" / "dev.txt")
    demo_needs = _requirement_names(extras["examples"]) | _requirement_names(extras["pipeline"])
    assert runtime | demo_needs <= demo_pins  # the demo runs the example pipelines (examples/pipelines/) too
    assert runtime | _requirement_names(extras["examples"]) | _requirement_names(extras["dev"]) <= dev_pins
    assert not _requirement_names(["pytest", "ruff", "playwright", "hypothesis"]) & demo_pins  # runtime only
    demo_versions = dict(re.findall(r"^(\S+)==(\S+)", (ROOT / "requirements" / "demo.txt").read_text(), re.M))
    dev_versions = dict(re.findall(r"^(\S+)==(\S+)", (ROOT / "requirements" / "dev.txt").read_text(), re.M))
    assert {k: v for k, v in demo_versions.items() if dev_versions.get(k) != v} == {}  # one set of pins


@pytest.mark.parametrize("lock", ["demo.txt", "dev.txt"])
def test_every_pinned_package_finds_what_it_needs_pinned_too(lock: str) -> None:
    """Installed with --no-deps, a lock file must hold what each of its packages requires (on this
    platform, without extras): python-dateutil 2.9 needs six, which demo.txt once left out, so `make
    demo` failed on a fresh machine while `make test` (dev.txt has six) passed. The requirements are
    read from the packages installed here, which dev.txt pins at the same versions."""
    from importlib import metadata

    from packaging.requirements import Requirement

    pins = _names(ROOT / "requirements" / lock)
    missing: dict[str, set[str]] = {}
    for name in sorted(pins):
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue  # not for this platform (a marker in the lock file)
        for text in requires:
            requirement = Requirement(text)
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                continue
            needed = re.sub(r"[-_.]+", "-", requirement.name).lower()
            if needed not in pins:
                missing.setdefault(name, set()).add(needed)
    wanted = f"{lock} lacks what these pinned packages require (pin it there, at dev.txt's version)"
    assert missing == {}, f"{wanted}: {missing}"


def test_the_demo_is_rebuilt_only_when_what_it_is_made_of_changes(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    assert not demo.is_built(folder, DEMO_ROWS)
    (folder / ".threadline").mkdir(parents=True)
    (folder / ".threadline" / "threadline.db").write_bytes(b"")
    (folder / demo.BUILT_FROM).write_text(json.dumps({"digest": demo.build_digest(DEMO_ROWS)}))
    assert demo.is_built(folder, DEMO_ROWS)
    assert not demo.is_built(folder, DEMO_ROWS + 1)  # other rows: other data
    (folder / demo.BUILT_FROM).write_text(json.dumps({"digest": "made by other code"}))
    assert not demo.is_built(folder, DEMO_ROWS)


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.mark.slow
def test_the_url_is_printed_once_the_server_answers(demo_project: Path, tmp_path: Path) -> None:
    """The demo (already built: served without building again) prints its URL only once the server
    answers, then says how to use the command line on the demo data; Ctrl+C ends it cleanly."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREADLINE_")}
    errors = tmp_path / "stderr.txt"
    command = ["--folder", str(demo_project), "--rows", str(DEMO_ROWS), "--port", str(port)]
    with errors.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "examples.demo", *command],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            start_new_session=True,
        )
    said: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 120
        for line in process.stdout:
            said.append(line)
            if line.startswith("Open http://"):
                assert _answers(port), f"the URL was printed before the server answered:\n{''.join(said)}"
                break
            assert time.monotonic() < deadline, "".join(said)
        else:
            pytest.fail(f"the demo ended without printing its URL:\n{''.join(said)}{errors.read_text()}")
        said += [process.stdout.readline() for _ in range(6)]
        printed = "".join(said)
        assert f"Open http://127.0.0.1:{port}/" in printed
        assert "built from these examples and this threadline already" in printed  # not rebuilt
        assert f"cd {demo_project}" in printed
        assert "threadline runs" in printed
        if sys.prefix != sys.base_prefix:  # in a venv: how to put threadline on PATH
            assert f". {os.path.relpath(Path(sys.prefix) / 'bin' / 'activate', ROOT)}" in printed
        os.killpg(process.pid, signal.SIGINT)  # Ctrl+C
        process.wait(60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 0, errors.read_text()
    assert "Traceback" not in errors.read_text(), errors.read_text()


def test_a_busy_port_is_refused_before_anything_is_built(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "examples.demo", "--folder", str(folder), "--port", str(port)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
    assert done.returncode == 1
    assert done.stderr.startswith(f"error: port {port} is in use")
    assert "DEMO_PORT=" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not folder.exists()
