"""Speed of the artifact store, against ``dvc add`` on the same data in the same run.

What it measures, on a fresh work folder (``benchmarks/out/artifacts-bench``, removed afterwards
unless ``--keep``):

1. one large file (``--size``, default 2 GiB; 16 MiB random blocks, each with its own counter so that
   no two are alike): the first add (hash + copy into the store), in MB/s; then re-adding it unchanged
   (the hash cache answers), in ms, best and median of 5 (target < 50 ms);
2. a folder of ``--files`` small files (default 20,000, 0.5-4 KiB each, in 100 sub-folders): the first
   add and an unchanged re-add, in seconds;
3. both again through the command line (``threadline artifacts add``, a new process each time, so
   Python's start-up is included);
4. with ``--dvc PATH`` (default ``benchmarks/out/dvc-venv/bin/dvc`` when it exists), ``dvc add`` of
   the same file and folder in a fresh DVC repository (``dvc init --no-scm``, analytics off, default
   cache type), first and unchanged, and the ratio dvc / threadline command line.

Every timed step starts after ``sync``, so that one step's writes being flushed do not slow the next;
the data is in the page cache for every tool alike. Results are printed and written to
``benchmarks/out/artifacts.json``.

Usage::

    .venv/bin/python benchmarks/artifacts_store.py [--size 2GiB] [--files 20000] [--dvc PATH] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
DEFAULT_DVC = OUT / "dvc-venv" / "bin" / "dvc"
THREADLINE = Path(sys.executable).parent / "threadline"
TARGET_READD_MS = 50
TARGET_RATIO = 5
_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "kib": 2**10, "m": 10**6, "mb": 10**6, "mib": 2**20}
_UNITS |= {"g": 10**9, "gb": 10**9, "gib": 2**30}


def parse_size(text: str) -> int:
    """``2GiB`` -> 2147483648; also ``512MiB``, ``1GB``, ``1000``."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    if match is None or match.group(2).lower() not in _UNITS:
        msg = f"not a size: {text!r} (examples: 2GiB, 512MiB, 1000000)"
        raise argparse.ArgumentTypeError(msg)
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def make_large_file(path: Path, size: int) -> None:
    """Random-looking bytes, quickly: one 16 MiB random block, each copy prefixed with its counter."""
    block = bytearray(os.urandom(16 * 1024 * 1024))
    with path.open("wb") as fh:
        written, counter = 0, 0
        while written < size:
            block[:8] = counter.to_bytes(8, "little")
            part = memoryview(block)[: min(len(block), size - written)]
            fh.write(part)
            written += len(part)
            counter += 1


def make_small_files(root: Path, count: int) -> int:
    """``count`` files of 0.5-4 KiB in 100 sub-folders, all different; returns their total size."""
    source = os.urandom(1 << 20)
    total = 0
    for folder in range(min(100, count)):
        (root / f"d{folder:02d}").mkdir(parents=True, exist_ok=True)
    for i in range(count):
        size = 512 + (i * 7919) % 3584
        start = (i * 104_729) % (len(source) - size)
        data = i.to_bytes(4, "little") + source[start : start + size - 4]
        fd = os.open(root / f"d{i % 100:02d}" / f"f{i:05d}.bin", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, data)
        os.close(fd)
        total += size
    return total


def timed(work: Callable[[], Any]) -> float:
    """Seconds ``work()`` takes, after flushing earlier writes."""
    os.sync()
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        msg = f"{' '.join(command)} failed ({done.returncode}): {(done.stderr or done.stdout).strip()[-500:]}"
        raise RuntimeError(msg)


def bench_library(data: Path, work: Path) -> dict[str, float]:
    from threadline.artifacts import ArtifactStore

    big, many = data / "big.bin", data / "many"
    results: dict[str, float] = {}
    with ArtifactStore(work / "objects") as store:
        results["file_add_s"] = timed(lambda: store.add(big))
        readds = []
        for _ in range(5):
            started = time.perf_counter()
            store.add(big)
            readds.append(time.perf_counter() - started)
        results["file_readd_best_ms"] = min(readds) * 1000
        results["file_readd_median_ms"] = statistics.median(readds) * 1000
        results["dir_add_s"] = timed(lambda: store.add(many))
        results["dir_readd_s"] = timed(lambda: store.add(many))
    return results


def bench_cli(data: Path, work: Path) -> dict[str, float]:
    (work / ".threadline").mkdir(parents=True)
    big, many = str(data / "big.bin"), str(data / "many")
    return {
        "file_add_s": timed(lambda: run([str(THREADLINE), "artifacts", "add", big], work)),
        "file_readd_s": timed(lambda: run([str(THREADLINE), "artifacts", "add", big], work)),
        "dir_add_s": timed(lambda: run([str(THREADLINE), "artifacts", "add", many], work)),
        "dir_readd_s": timed(lambda: run([str(THREADLINE), "artifacts", "add", many], work)),
    }


def bench_dvc(dvc: Path, repo: Path) -> dict[str, float]:
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    run([str(dvc), "init", "--no-scm", "-q"], repo, env)
    run([str(dvc), "config", "core.analytics", "false"], repo, env)
    return {
        "file_add_s": timed(lambda: run([str(dvc), "add", "-q", "data/big.bin"], repo, env)),
        "file_readd_s": timed(lambda: run([str(dvc), "add", "-q", "data/big.bin"], repo, env)),
        "dir_add_s": timed(lambda: run([str(dvc), "add", "-q", "data/many"], repo, env)),
        "dir_readd_s": timed(lambda: run([str(dvc), "add", "-q", "data/many"], repo, env)),
    }


def dvc_version(dvc: Path) -> str:
    done = subprocess.run([str(dvc), "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=parse_size, default=parse_size("2GiB"), help="large file size")
    parser.add_argument("--files", type=int, default=20_000, help="number of small files")
    parser.add_argument("--dvc", type=Path, default=DEFAULT_DVC if DEFAULT_DVC.exists() else None)
    parser.add_argument("--workdir", type=Path, default=OUT / "artifacts-bench")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()

    work: Path = args.workdir
    if work.exists():
        shutil.rmtree(work)
    repo = work / "repo"  # the data lives inside the DVC repository: dvc add only takes files there
    data = repo / "data"
    (data / "many").mkdir(parents=True)
    need = 3 * args.size + 2**30
    free = shutil.disk_usage(work).free
    if free < need:
        print(f"not enough disk: {free / 2**30:.1f} GiB free, about {need / 2**30:.1f} GiB needed")
        return 1
    try:
        print(
            f"making {args.size / 2**30:.2f} GiB file and {args.files:,} small files in {data} ...",
            flush=True,
        )
        make_large_file(data / "big.bin", args.size)
        small_bytes = make_small_files(data / "many", args.files)
        os.sync()
        time.sleep(1.0)  # older than the hash cache's racy margin, as files usually are

        print("threadline, in-process ...", flush=True)
        library = bench_library(data, work / "library")
        print("threadline, command line ...", flush=True)
        cli = bench_cli(data, work / "cli")
        dvc: dict[str, float] | None = None
        note = ""
        if args.dvc is None or not Path(args.dvc).exists():
            note = (
                "dvc not found: comparison skipped (python3 -m venv benchmarks/out/dvc-venv && "
                "benchmarks/out/dvc-venv/bin/pip install dvc, or pass --dvc PATH)"
            )
        else:
            print(f"dvc ({dvc_version(args.dvc)}) ...", flush=True)
            dvc = bench_dvc(args.dvc, repo)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    size_mb = args.size / 1e6
    rows = [
        ("large file, first add", library["file_add_s"], cli["file_add_s"], "file_add_s"),
        (
            "large file, unchanged re-add",
            library["file_readd_best_ms"] / 1000,
            cli["file_readd_s"],
            "file_readd_s",
        ),
        (f"{args.files:,} small files, first add", library["dir_add_s"], cli["dir_add_s"], "dir_add_s"),
        (
            f"{args.files:,} small files, unchanged re-add",
            library["dir_readd_s"],
            cli["dir_readd_s"],
            "dir_readd_s",
        ),
    ]
    print()
    print(
        f"large file {args.size / 2**30:.2f} GiB; "
        f"small files {args.files:,}, {small_bytes / 1e6:.1f} MB in all"
    )
    header = f"{'':42} {'in-process':>11} {'threadline CLI':>15} {'dvc add':>9} {'dvc / CLI':>10}"
    print(header)
    print("-" * len(header))
    for label, inproc, command, key in rows:
        theirs = f"{dvc[key]:.2f} s" if dvc else "-"
        ratio = f"{dvc[key] / command:.1f}x" if dvc else "-"
        mine = f"{inproc * 1000:.1f} ms" if inproc < 1 else f"{inproc:.2f} s"
        print(f"{label:42} {mine:>11} {command:>13.2f} s {theirs:>9} {ratio:>10}")
    print()
    mbps = size_mb / library["file_add_s"]
    print(f"large file first add: {mbps:,.0f} MB/s in-process ({size_mb / cli['file_add_s']:,.0f} MB/s CLI)")
    readd = library["file_readd_best_ms"]
    verdict = "ok" if readd < TARGET_READD_MS else "MISSED"
    print(
        f"unchanged re-add in-process: best {readd:.2f} ms, median {library['file_readd_median_ms']:.2f} ms "
        f"(target < {TARGET_READD_MS} ms: {verdict})"
    )
    if note:
        print(note)

    OUT.mkdir(exist_ok=True)
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "system": platform.platform(),
        },
        "size_bytes": args.size,
        "files": args.files,
        "small_files_bytes": small_bytes,
        "threadline_in_process": library,
        "threadline_cli": cli,
        "dvc": dvc,
        "dvc_version": dvc_version(args.dvc) if dvc else None,
        "targets": {"readd_ms": TARGET_READD_MS, "dvc_ratio": TARGET_RATIO},
    }
    (OUT / "artifacts.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"results: {OUT / 'artifacts.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
