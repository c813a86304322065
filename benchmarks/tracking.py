"""Tracking overhead: threadline's SDK against MLflow (local SQLite store) and CMF, same workload.

Each tool runs each workload in a process of its own, from a fresh folder (MLflow and CMF in their own
virtual environments, since CMF needs Python < 3.12 and both pull in many packages):

1. **Runs**, one workload at a time. One run = 10 parameters, 5 metrics, 2 small input files (read,
   1 KiB each, unchanged) and 1 output file written by the run. Workloads differ by the output:
   - ``1k``: a new 1 KiB file with new content each run, declared without storing it (``--runs``, 500);
   - ``50k``: a new 50 KB file each run with the same bytes every run, stored (``store=True``): the
     object store has the bytes from the first run on (``--runs``);
   - ``5m``: the same with 5 MB (``--runs`` / 5 runs);
   - ``50k-changed``, ``5m-changed``: stored outputs whose bytes change every run (not run unless
     named in ``--workloads``).
   Reported: the time per run on the user's thread, and for threadline also the time per run until
   every event is stored and folded into the projections (the final ``flush`` included). MLflow and
   CMF are synchronous: their time on the user's thread is their whole time.
   - threadline: ``with threadline.run(...)``, ``log_param`` x10, ``log_metric`` x5, ``input`` x2,
     ``output`` x1, embedded transport (the project's SQLite store), in a fresh project;
   - MLflow: ``mlflow.start_run``, ``log_params`` (one batch), ``log_metrics`` (one batch),
     ``log_input`` x2 (``MetaDataset`` of the file), ``log_artifact`` of the output, SQLite tracking
     store and a local artifact folder, the kindest batching MLflow offers;
   - CMF (cmflib): ``create_context``, ``create_execution`` with the parameters, ``log_dataset`` x2
     (input), ``log_metric`` x5 then ``commit_metrics``, ``log_dataset`` (output), in a git + DVC
     repository as ``cmf init local`` makes it. CMF runs ``dvc add`` and ``git commit`` for every
     artifact, so it runs ``--cmf-runs`` times (default 10), not 500.
2. **Metric calls**: one metric logged ``--metric-calls`` times (default 100,000) in a loop, in
   microseconds per call on the user's thread, and the time until the series is stored. MLflow's
   ``log_metric`` is a database transaction per call, so it is timed on ``--mlflow-metric-calls``
   (default 2,000), synchronous and with ``synchronous=False`` (its background logging).

For each workload the tools run one after the other, so that they are measured in the same minutes.
``--baseline-src DIR`` also runs threadline from another source tree (say, ``git archive`` of an
earlier commit unpacked there), as ``threadline (baseline)``: before and after, side by side.

Usage::

    .venv/bin/python benchmarks/tracking.py [--runs 500] [--workloads 1k,50k,5m] [--metric-calls 100000]
        [--mlflow-python benchmarks/out/mlflow-venv/bin/python]
        [--cmf-python benchmarks/out/cmf-venv/bin/python] [--baseline-src DIR]

A tool whose interpreter is missing is skipped with a note. Set them up with::

    python3 -m venv benchmarks/out/mlflow-venv && benchmarks/out/mlflow-venv/bin/pip install mlflow
    python3.11 -m venv benchmarks/out/cmf-venv && benchmarks/out/cmf-venv/bin/pip install cmflib

Results are printed and written to ``benchmarks/out/tracking.json``. This file imports only the
standard library at the top: the same file is the worker script run by each tool's interpreter
(``--worker NAME``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
DEFAULT_MLFLOW = OUT / "mlflow-venv" / "bin" / "python"
DEFAULT_CMF = OUT / "cmf-venv" / "bin" / "python"
WARM_UP_RUNS = 5
PARAMS = {f"param_{i}": (i * 0.1 if i % 2 else f"value-{i}") for i in range(10)}
METRICS = [f"metric_{i}" for i in range(5)]


@dataclass(frozen=True)
class Workload:
    """What each run writes and declares as its output."""

    size: int
    #: The same bytes every run (True), or new content each run.
    same: bool
    #: Declared with ``store=True`` (MLflow's ``log_artifact`` and CMF always copy).
    store: bool
    #: Runs are ``--runs`` divided by this.
    divisor: int
    label: str


WORKLOADS = {
    "1k": Workload(1024, same=False, store=False, divisor=1, label="1 KiB output, new each run, not stored"),
    "50k": Workload(
        50_000, same=True, store=True, divisor=1, label="50 KB output, same bytes each run, stored"
    ),
    "5m": Workload(
        5_000_000, same=True, store=True, divisor=5, label="5 MB output, same bytes each run, stored"
    ),
    "50k-changed": Workload(
        50_000, same=False, store=True, divisor=1, label="50 KB output, new bytes each run, stored"
    ),
    "5m-changed": Workload(
        5_000_000, same=False, store=True, divisor=5, label="5 MB output, new bytes each run, stored"
    ),
}
DEFAULT_WORKLOADS = "1k,50k,5m"


# ---- the workload, shared by every worker ------------------------------------------------------------


def make_inputs(folder: Path) -> tuple[Path, Path, Path]:
    """Two 1 KiB input files (dated an hour back, as data usually is) and the outputs' folder."""
    folder.mkdir(parents=True, exist_ok=True)
    inputs = []
    for name in ("train.csv", "test.csv"):
        path = folder / name
        path.write_text("x,y\n" + "".join(f"{i},{i * i}\n" for i in range(120))[: 1024 - 4])
        old = time.time() - 3600
        os.utime(path, (old, old))
        inputs.append(path)
    outputs = folder / "outputs"
    outputs.mkdir()
    return inputs[0], inputs[1], outputs


class Writer:
    """Writes what a run produces: a new file each run (rewriting one file in place makes ext4 flush it
    at close, which costs milliseconds on a busy disk and would drown what is measured)."""

    def __init__(self, workload: Workload) -> None:
        self.workload = workload
        self.payload = random.Random(workload.size).randbytes(workload.size)

    def __call__(self, folder: Path, index: int) -> Path:
        if self.workload.size == 1024 and not self.workload.same:  # the original 1 KiB workload
            path = folder / f"model-{index:06d}.txt"
            path.write_text(f"{index:08d}" * 128)
            return path
        path = folder / f"model-{index:06d}.bin"
        if self.workload.same:
            path.write_bytes(self.payload)
        else:
            with path.open("wb") as fh:
                fh.write(b"%016d" % index)
                fh.write(memoryview(self.payload)[16:])
        return path


class Clock:
    """Wall time, the calling thread's CPU time and the process's CPU time, since it was started.

    On a loaded machine wall times swing with what else runs; CPU times much less. The user's thread's
    CPU time leaves out time spent waiting (for the disk, for the GIL while the tracking thread works);
    the process's CPU time includes the tracking thread (and, for MLflow, SQLite).
    """

    def __init__(self) -> None:
        self.started = (time.perf_counter(), time.thread_time(), time.process_time())

    def read(self) -> tuple[float, float, float]:
        """Seconds since the start: wall, this thread's CPU, the process's CPU."""
        now = (time.perf_counter(), time.thread_time(), time.process_time())
        return now[0] - self.started[0], now[1] - self.started[1], now[2] - self.started[2]


def figures(
    runs: int,
    baseline: tuple[float, float],
    user: tuple[float, float, float],
    total: tuple[float, float, float],
) -> dict[str, Any]:
    """Per-run microseconds: the workload alone, on the user's thread, and until stored (wall and CPU)."""
    return {
        "baseline_us": baseline[0],
        "baseline_cpu_us": baseline[1],
        "run_user_us": user[0] / runs * 1e6,
        "run_user_cpu_us": user[1] / runs * 1e6,
        "run_total_us": total[0] / runs * 1e6,
        "run_total_cpu_us": total[2] / runs * 1e6,
        "runs": runs,
    }


def baseline_us(folder: Path, runs: int, write: Writer) -> tuple[float, float]:
    """Microseconds per run of the workload itself (writing the output), without any tracking: wall
    time and CPU time."""
    target = folder / "baseline"
    target.mkdir()
    clock = Clock()
    for index in range(runs):
        write(target, index)
    wall, cpu, _ = clock.read()
    return wall / runs * 1e6, cpu / runs * 1e6


# ---- workers: each runs in the tool's own interpreter --------------------------------------------------


def worker_threadline(folder: Path, runs: int, workload: str) -> dict[str, Any]:
    """threadline, embedded transport, in a fresh project."""
    os.chdir(folder)
    (folder / ".threadline").mkdir()
    import threadline

    if workload == "metrics":
        with threadline.run("metrics") as run:
            started = time.perf_counter()
            for step in range(runs):
                run.log_metric("loss", 1.0 / (step + 1))
            calls = time.perf_counter() - started
        threadline.flush()
        stored = time.perf_counter() - started
        return {"metric_call_us": calls / runs * 1e6, "metric_stored_s": stored, "metric_calls": runs}

    shape = WORKLOADS[workload]
    write = Writer(shape)
    first, second, output = make_inputs(folder / "data")

    def one_run(index: int) -> None:
        with threadline.run("train", pipeline="bench") as run:
            for name, value in PARAMS.items():
                run.log_param(name, value)
            for position, name in enumerate(METRICS):
                run.log_metric(name, index * 0.01 + position)
            run.input(first)
            run.input(second)
            run.output(write(output, index), kind="model", store=shape.store)

    for index in range(WARM_UP_RUNS):
        one_run(runs + index)  # files of their own
    threadline.flush()
    baseline = baseline_us(output, runs, write)
    clock = Clock()
    for index in range(runs):
        one_run(index)
    user = clock.read()
    threadline.flush()
    return figures(runs, baseline, user, clock.read())


def worker_mlflow(folder: Path, runs: int, workload: str) -> dict[str, Any]:
    """MLflow with a SQLite tracking store and a local artifact folder."""
    os.chdir(folder)
    os.environ["MLFLOW_ENABLE_ASYNC_LOGGING"] = "false"
    import mlflow
    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.data.meta_dataset import MetaDataset

    mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")
    mlflow.set_experiment("bench")
    if workload == "metrics":
        result: dict[str, Any] = {}
        with mlflow.start_run(run_name="metrics"):
            started = time.perf_counter()
            for step in range(runs):
                mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
            calls = time.perf_counter() - started
        result |= {"metric_call_us": calls / runs * 1e6, "metric_stored_s": calls, "metric_calls": runs}
        with mlflow.start_run(run_name="metrics-async"):
            started = time.perf_counter()
            for step in range(runs):
                mlflow.log_metric("loss", 1.0 / (step + 1), step=step, synchronous=False)
            calls = time.perf_counter() - started
        stored = time.perf_counter() - started  # the run's end waits for the queued metrics
        return result | {"async_metric_call_us": calls / runs * 1e6, "async_metric_stored_s": stored}

    write = Writer(WORKLOADS[workload])
    first, second, output = make_inputs(folder / "data")
    datasets = [MetaDataset(resolve_dataset_source(str(p)), name=p.name) for p in (first, second)]

    def one_run(index: int) -> None:
        with mlflow.start_run(run_name="train"):
            mlflow.log_params(PARAMS)
            mlflow.log_metrics({name: index * 0.01 + position for position, name in enumerate(METRICS)})
            for dataset in datasets:
                mlflow.log_input(dataset, context="training")
            mlflow.log_artifact(str(write(output, index)))

    for index in range(WARM_UP_RUNS):
        one_run(runs + index)  # files of their own
    baseline = baseline_us(output, runs, write)
    clock = Clock()
    for index in range(runs):
        one_run(index)
    user = clock.read()
    return figures(runs, baseline, user, user)


def _cmf_repository(folder: Path) -> None:
    """A git repository with a remote and a DVC repository with a default remote, as `cmf init local`."""

    def run(*command: str) -> None:
        subprocess.run(command, cwd=folder, check=True, capture_output=True)

    bin_dir = Path(sys.executable).parent
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    remote_git = folder.parent / "cmf-git-remote.git"
    remote_dvc = folder.parent / "cmf-dvc-remote"
    remote_dvc.mkdir(exist_ok=True)
    subprocess.run(["git", "init", "-q", "--bare", str(remote_git)], check=True, capture_output=True)
    run("git", "init", "-q", "-b", "master")
    run("git", "config", "user.email", "bench@example.com")
    run("git", "config", "user.name", "bench")
    run("git", "remote", "add", "origin", str(remote_git))
    run(str(bin_dir / "dvc"), "init", "-q")
    run(str(bin_dir / "dvc"), "config", "core.analytics", "false")
    run(str(bin_dir / "dvc"), "remote", "add", "-d", "local", str(remote_dvc))
    run("git", "add", "-A")
    run("git", "commit", "-q", "-m", "init")


def worker_cmf(folder: Path, runs: int, workload: str) -> dict[str, Any]:
    """CMF (cmflib) in a git + DVC repository."""
    os.chdir(folder)
    _cmf_repository(folder)
    from cmflib import cmf

    writer = cmf.Cmf(filepath="mlmd", pipeline_name="bench", graph=False)
    if workload == "metrics":
        writer.create_context(pipeline_stage="metrics")
        writer.create_execution(execution_type="metrics")
        started = time.perf_counter()
        for step in range(runs):
            writer.log_metric("loss_series", {"loss": 1.0 / (step + 1)})
        calls = time.perf_counter() - started
        writer.commit_metrics("loss_series")
        stored = time.perf_counter() - started
        return {"metric_call_us": calls / runs * 1e6, "metric_stored_s": stored, "metric_calls": runs}

    write = Writer(WORKLOADS[workload])
    first, second, output = make_inputs(folder / "data")

    def one_run(index: int) -> None:
        writer.create_context(pipeline_stage="train")
        writer.create_execution(execution_type="train", custom_properties=dict(PARAMS))
        writer.log_dataset(str(first.relative_to(folder)), "input")
        writer.log_dataset(str(second.relative_to(folder)), "input")
        for position, name in enumerate(METRICS):
            writer.log_metric("train_metrics", {name: index * 0.01 + position})
        writer.commit_metrics("train_metrics")
        writer.log_dataset(str(write(output, index).relative_to(folder)), "output")

    one_run(runs + 1)
    baseline = baseline_us(output, runs, write)
    clock = Clock()
    for index in range(runs):
        one_run(index)
    user = clock.read()
    return figures(runs, baseline, user, user)


WORKERS = {"threadline": worker_threadline, "mlflow": worker_mlflow, "cmf": worker_cmf}


# ---- the driver --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tool:
    """One interpreter running one worker: threadline (from this tree or a baseline tree), MLflow, CMF."""

    label: str
    worker: str
    python: Path
    package: str
    pythonpath: str = ""


def run_worker(tool: Tool, runs: int, workload: str) -> dict[str, Any] | str:
    """Run one tool's worker in its interpreter and a fresh folder: its figures, or why it failed."""
    folder = Path(tempfile.mkdtemp(prefix=f"tracking-{tool.worker}-", dir=OUT))
    work = folder / "work"
    work.mkdir()
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("THREADLINE_", "MLFLOW_"))}
    environment["HOME"] = str(folder)  # no user-wide settings of any tool
    environment["PYTHONPATH"] = tool.pythonpath
    command = [str(tool.python), str(Path(__file__).resolve()), "--worker", tool.worker, "--dir", str(work)]
    command += ["--runs", str(runs), "--workload", workload]
    try:
        done = subprocess.run(
            command, env=environment, capture_output=True, text=True, timeout=7200, check=False
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        return f"{tool.label} failed: " + " | ".join(tail)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _version(tool: Tool) -> str:
    code = f"import importlib.metadata as m; print(m.version({tool.package!r}))"
    environment = {**os.environ, "PYTHONPATH": tool.pythonpath}
    done = subprocess.run(
        [str(tool.python), "-c", code], capture_output=True, text=True, check=False, env=environment
    )
    return done.stdout.strip() or "?"


def _ratio(theirs: float, ours: float) -> str:
    return f"{theirs / ours:,.0f}x" if ours else "-"


def print_tables(results: dict[str, Any]) -> None:
    """The figures as Markdown tables: per workload, wall then CPU times, and the ratios of MLflow's and
    CMF's times to each threadline's."""
    versions = results.get("versions", {})
    others = [label for label in ("MLflow", "CMF") if any(label in w for w in results["workloads"].values())]
    head = "| workload | tool | runs | workload alone | per run, user's thread | per run, until stored |"
    rule = "|---|---|---:|---:|---:|---:|"
    for label in others:
        head += f" {label} / this, user's thread | {label} / this, until stored |"
        rule += "---:|---:|"
    print()
    print(head)
    print(rule)
    for suffix, what in (("us", "wall"), ("cpu_us", "CPU")):
        for workload, by_tool in results["workloads"].items():
            for label, data in by_tool.items():
                if "error" in data:
                    print(f"| {workload} | {label} | failed: {data['error'][:80]} |")
                    continue
                user, total = data[f"run_user_{suffix}"], data[f"run_total_{suffix}"]
                line = (
                    f"| {workload} ({what}) | {label} {versions.get(label, '')} | {data['runs']} "
                    f"| {data[f'baseline_{suffix}']:,.0f} us | {user:,.0f} us | {total:,.0f} us |"
                )
                for other in others:
                    theirs = by_tool.get(other, {})
                    if label.startswith("threadline") and "run_user_us" in theirs:
                        line += (
                            f" {_ratio(theirs[f'run_user_{suffix}'], user)} "
                            f"| {_ratio(theirs[f'run_total_{suffix}'], total)} |"
                        )
                    else:
                        line += " | |"
                print(line)
    print()
    print("| tool | per metric call | metric series stored |")
    print("|---|---:|---:|")
    for label, figures in results["metrics"].items():
        if "error" in figures:
            continue
        print(
            f"| {label} | {figures['metric_call_us']:.2f} us "
            f"| {figures['metric_stored_s']:.2f} s ({figures['metric_calls']:,} calls) |"
        )
        if "async_metric_call_us" in figures:
            print(
                f"| {label}, `synchronous=False` | {figures['async_metric_call_us']:.2f} us "
                f"| {figures['async_metric_stored_s']:.2f} s ({figures['metric_calls']:,} calls) |"
            )


def main() -> int:
    """Run the benchmark (or, with ``--worker``, one tool's part of it)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--workloads", default=DEFAULT_WORKLOADS, help=f"of {', '.join(WORKLOADS)}")
    parser.add_argument("--cmf-runs", type=int, default=10)
    parser.add_argument("--metric-calls", type=int, default=100_000)
    parser.add_argument("--mlflow-metric-calls", type=int, default=2_000)
    parser.add_argument("--mlflow-python", type=Path, default=DEFAULT_MLFLOW)
    parser.add_argument("--cmf-python", type=Path, default=DEFAULT_CMF)
    parser.add_argument("--baseline-src", type=Path, help="also run threadline from this source tree")
    parser.add_argument("--show", type=Path, help="print the tables of a results file and exit")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--workload", help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(WORKERS[args.worker](args.dir, args.runs, args.workload)))
        return 0
    if args.show is not None:
        try:
            print_tables(json.loads(args.show.read_text()))
        except (OSError, ValueError, KeyError) as exc:
            parser.error(f"--show {args.show}: not a results file of this benchmark ({exc})")
        return 0
    workloads = [name.strip() for name in args.workloads.split(",") if name.strip()]
    unknown = [name for name in workloads if name not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")
    if args.baseline_src is not None and not (args.baseline_src / "threadline" / "__init__.py").is_file():
        parser.error(
            f"--baseline-src {args.baseline_src} has no threadline/__init__.py (give its src folder)"
        )

    OUT.mkdir(parents=True, exist_ok=True)
    tools = [Tool("threadline", "threadline", Path(sys.executable), "threadline")]
    if args.baseline_src is not None:
        src = str(args.baseline_src.resolve())
        tools.append(Tool("threadline (baseline)", "threadline", Path(sys.executable), "threadline", src))
    tools += [
        Tool("MLflow", "mlflow", args.mlflow_python, "mlflow"),
        Tool("CMF", "cmf", args.cmf_python, "cmflib"),
    ]
    available = []
    for tool in tools:
        if tool.python.exists():
            available.append(tool)
        else:
            print(f"{tool.label}: skipped, no interpreter at {tool.python} (see this script's docstring)")
    versions = {tool.label: _version(tool) for tool in available}

    results: dict[str, Any] = {"workloads": {}, "metrics": {}, "versions": versions}
    for workload in workloads:
        shape = WORKLOADS[workload]
        print(f"{workload}: {shape.label}", flush=True)
        figures_of = results["workloads"][workload] = {}
        for tool in available:
            runs = args.cmf_runs if tool.worker == "cmf" else max(1, args.runs // shape.divisor)
            figures = run_worker(tool, runs, workload)
            figures_of[tool.label] = {"error": figures} if isinstance(figures, str) else figures
            print(f"  {tool.label}: {json.dumps(figures)}", flush=True)
    for tool in available:
        calls = args.mlflow_metric_calls if tool.worker == "mlflow" else args.metric_calls
        figures = run_worker(tool, calls, "metrics")
        results["metrics"][tool.label] = {"error": figures} if isinstance(figures, str) else figures
        print(f"metrics, {tool.label}: {json.dumps(figures)}", flush=True)

    results["machine"] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(terse=True),
        "load": os.getloadavg(),
    }
    (OUT / "tracking.json").write_text(json.dumps(results, indent=2) + "\n")
    print_tables(results)
    print(f"results: {OUT / 'tracking.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
