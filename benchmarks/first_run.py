"""How long `make demo` takes a new user: a fresh clone, then the same clone again.

Clones this repository (its HEAD) into a temporary folder and runs `make demo` there with empty pip
and uv caches (``XDG_CACHE_HOME`` points at an empty folder, as on a fresh machine), then a second
time in the same clone (the venv is installed). For each run it prints when the "Open http://…" line
appeared and when the server first answered ``GET /api/v1/health``, then stops the demo with SIGINT
(as Ctrl+C would) and checks that it ended without a traceback.

    .venv/bin/python benchmarks/first_run.py [--repo .] [--keep] [--runs 2]

Run by hand (it installs a venv from the package index, a minute or two); `make bench` leaves it out.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 900.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def run_demo(clone: Path, env: dict[str, str]) -> dict[str, float | str | None]:
    """One `make demo`: seconds to the URL line, to the first answer, and how it ended."""
    port = free_port()
    started = time.monotonic()
    process = subprocess.Popen(
        ["make", "demo", f"DEMO_PORT={port}"],
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[tuple[float, str]] = []

    def read() -> None:
        assert process.stdout is not None
        lines.extend((time.monotonic() - started, line.rstrip("\n")) for line in process.stdout)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    url_at: float | None = None
    answered_at: float | None = None
    answered_before_url = False
    while time.monotonic() - started < TIMEOUT and process.poll() is None:
        if url_at is None:
            url_at = next((at for at, text in lines if "http://" in text and "Open" in text), None)
            if url_at is not None:  # the URL is out: does the server answer now?
                answered_before_url = answers(port)
        if answered_at is None and answers(port):
            answered_at = time.monotonic() - started
        if url_at is not None and answered_at is not None:
            break
        time.sleep(0.2)
    if url_at is None:
        time.sleep(1.0)
        url_at = next((at for at, text in lines if "http://" in text and "Open" in text), None)
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    reader.join(5)
    output = "\n".join(text for _, text in lines)
    return {
        "url_seconds": url_at,
        "answer_seconds": answered_at,
        "server_answered_when_url_seen": str(answered_before_url),
        "traceback_on_ctrl_c": str("Traceback" in output),
        "exit_status": str(process.returncode),
        "output_tail": "\n".join(output.splitlines()[-8:]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=ROOT, help="the repository to clone (its HEAD)")
    parser.add_argument("--runs", type=int, default=2, help="make demo runs in the one clone")
    parser.add_argument("--keep", action="store_true", help="keep the clone and caches")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tl-first-run-"))
    clone = work / "threadline"
    subprocess.run(["git", "clone", "--quiet", str(args.repo), str(clone)], check=True)
    head = subprocess.run(
        ["git", "-C", str(clone), "log", "-1", "--format=%h %s"], capture_output=True, text=True, check=True
    ).stdout.strip()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "THREADLINE_"))}
    env["XDG_CACHE_HOME"] = str(work / "cache")  # empty pip and uv caches, as on a fresh machine
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(ROOT / ".venv"))
    )
    print(f"clone of {head}")
    try:
        for number in range(1, args.runs + 1):
            result = run_demo(clone, env)
            label = "fresh clone" if number == 1 else "installed"
            print(f"run {number} ({label}):")
            for key, value in result.items():
                if key != "output_tail":
                    shown = f"{value:.1f} s" if isinstance(value, float) else value
                    print(f"  {key}: {shown}")
            print("  last lines:\n    " + str(result["output_tail"]).replace("\n", "\n    "))
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
