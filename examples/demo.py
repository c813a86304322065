"""``make demo``: a threadline project full of lineage, served with its web UI.

1. Makes ``.demo/`` (git-ignored) a fresh threadline project (``threadline init``): the embedded
   store ``.demo/.threadline/threadline.db``.
2. Runs the churn pipeline of ``examples/churn_sdk`` there with the tracking SDK, four times (in one
   process, so scikit-learn is imported once): a first run; the same data with other parameters; new
   data (the raw CSV changes, so its content hash does); and an export whose ``monthly_charges``
   column was renamed, which fails in ``features``.
3. Ingests the OpenLineage events the project ships: ``ml_pipeline`` (a DAG of five daily runs),
   ``dbt_jaffle_shop`` (dbt models, tests and column lineage) and ``airflow_etl`` (an Airflow DAG),
   copied to ``.demo/events/`` (where the README's examples read them), at the same time as step 2.
   Also at the same time, runs the staged pipeline ``examples/pipelines/sales`` (an operational
   database and an HTTP API as sources) on three days in ``.demo/sales/``: days 1 and 2 are approved
   and promoted, day 3 is blocked by its bad rows (see :func:`sales_runs`).
4. Serves the project (this process becomes ``threadline serve``); once the server answers, a child
   prints the URL of the UI and how to use the command line on the demo data.

Steps 1-3 are skipped when ``.demo/`` was built by the same examples and threadline code (a digest
of them is kept in ``.demo/.built-from``), so a second ``make demo`` serves at once; ``--rebuild``
(``DEMO_REBUILD=1 make demo``) builds it afresh.

    python -m examples.demo [--folder .demo] [--host 127.0.0.1] [--port 5000] [--rows 4000]
                            [--rebuild] [--no-serve]

``--no-serve`` stops after step 3 (the tests use it); it always builds afresh.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
DEMO_DIR = ROOT / ".demo"
EVENT_FILES = (
    EXAMPLES / "ml_pipeline" / "events.jsonl",
    EXAMPLES / "dbt_jaffle_shop" / "events.jsonl",
    EXAMPLES / "airflow_etl" / "events.jsonl",
)
#: The job namespace of the SDK pipeline's runs.
SDK_NAMESPACE = "churn-sdk"
RAW = "data/raw/customers.csv"
BROKEN = "data/raw/customers-export.csv"
#: The file in the demo folder that says what the demo was built from (see :func:`build_digest`).
BUILT_FROM = ".built-from"
#: How the lines step 2 prints to say what it does begin.
SAYS = "churn pipeline"
#: How the lines the sales pipeline's runs print begin.
SALES_SAYS = "sales pipeline"
#: The job namespace of the sales pipeline's runs.
SALES_NAMESPACE = "sales"
#: The staged pipeline the demo runs, and where in the demo folder.
SALES_EXAMPLE = EXAMPLES / "pipelines" / "sales" / "pipeline.py"
SALES_FOLDER = "sales"
#: How long the server may take to answer after it starts.
SERVER_START_SECONDS = 60.0


def _environment() -> dict[str, str]:
    """This process's environment without threadline's settings (a ``THREADLINE_STORE`` or tracking
    URL of the user's must not send the demo elsewhere), with the SDK's namespace."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("THREADLINE_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["THREADLINE_TRACKING_NAMESPACE"] = SDK_NAMESPACE
    return env


def store_url(folder: Path) -> str:
    """The URL of the demo project's embedded store."""
    return f"sqlite:///{folder.resolve() / '.threadline' / 'threadline.db'}"


def _threadline(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "threadline", *arguments]


def _pipeline(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "examples.churn_sdk.pipeline", *arguments]


def _rename_column(source: Path, target: Path, old: str, new: str) -> None:
    """A copy of the CSV ``source`` whose column ``old`` is called ``new``: an export that changed."""
    with source.open(newline="") as reading, target.open("w", newline="") as writing:
        rows = csv.reader(reading)
        out = csv.writer(writing)
        out.writerow([new if name == old else name for name in next(rows)])
        out.writerows(rows)


def sdk_runs(rows: int, echo: Callable[[str], None] = print) -> None:
    """Step 2, in the demo folder: the churn pipeline's four runs, tracked with the SDK."""
    from examples.churn_sdk import pipeline

    echo("churn pipeline (threadline SDK): a first run")
    pipeline.make_data(RAW, rows=rows, seed=7)
    pipeline.run_pipeline(RAW, "data")
    echo("churn pipeline: the same data, other parameters")
    pipeline.run_pipeline(RAW, "data", n_estimators=60, learning_rate=0.2)
    echo("churn pipeline: new data (the raw CSV changes)")
    pipeline.make_data(RAW, rows=rows, seed=8)
    pipeline.run_pipeline(RAW, "data")
    echo("churn pipeline: an export with a renamed column (this run fails, on purpose)")
    _rename_column(Path(RAW), Path(BROKEN), "monthly_charges", "monthly_charge")
    try:
        pipeline.run_pipeline(BROKEN, "data")
    except KeyError as exc:  # features() reads the column that is no longer there
        if "monthly_charges" not in str(exc):
            raise
    else:
        msg = "the run on the broken export was meant to fail, and did not"
        raise RuntimeError(msg)


def sales_runs(echo: Callable[[str], None] = print) -> None:
    """In the demo folder: the sales pipeline on three days, against its operational database and
    its CRM API (served from a thread here). Days 1 and 2 wait for an approval and are approved (as
    ``threadline pipeline approve`` does); day 3 is blocked by its bad rows, production unchanged."""
    from examples.pipelines.sales.sources import DAYS, CrmApi, write_day
    from threadline.errors import PipelineError
    from threadline.pipeline.approval import approve_in_store
    from threadline.pipeline.loader import load_pipeline
    from threadline.pipeline.runner import run_pipeline
    from threadline.store.sql import open_store
    from threadline.tracking import flush

    folder = Path(SALES_FOLDER)
    folder.mkdir(exist_ok=True)
    shutil.copyfile(SALES_EXAMPLE, folder / "pipeline.py")
    crm = CrmApi()
    os.environ["SALES_CRM_API"] = crm.url
    try:
        pipeline = load_pipeline(folder / "pipeline.py")
        for day in (1, 2, 3):
            write_day(folder, day)
            try:
                result = run_pipeline(pipeline, "production")
            except PipelineError:
                if day != 3:
                    raise
                echo(f"{SALES_SAYS}: {DAYS[day - 1]} blocked by its bad rows (on purpose)")
                continue
            if day == 3 or not result.awaiting_approval or result.run_id is None:
                meant = "be blocked" if day == 3 else "await approval"
                msg = f"the sales pipeline's day {day} was meant to {meant}"
                raise RuntimeError(msg)
            flush()
            store = open_store(store_url(Path.cwd()))
            try:
                approve_in_store(store, result.run_id, "demo")
            finally:
                store.close()
            echo(f"{SALES_SAYS}: {DAYS[day - 1]} checked, approved and promoted")
    finally:
        crm.close()
        flush()


def build_digest(rows: int) -> str:
    """A digest of what the demo's data is made from: the examples, threadline's code, the rows."""
    digest = hashlib.sha256(f"rows={rows}\n".encode())
    package = ROOT / "src" / "threadline"
    for path in sorted([*EXAMPLES.rglob("*"), *package.rglob("*.py")]):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix in (".py", ".jsonl", ".json"):
            digest.update(f"{path.relative_to(ROOT)}\n".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def is_built(folder: Path, rows: int) -> bool:
    """Whether ``folder`` holds a demo built from the same examples and code (see :func:`build_digest`)."""
    stamp = folder / BUILT_FROM
    if not stamp.is_file() or not (folder / ".threadline" / "threadline.db").is_file():
        return False
    try:
        return bool(json.loads(stamp.read_text()).get("digest") == build_digest(rows))
    except (OSError, ValueError):
        return False


def prepare(folder: Path = DEMO_DIR, *, rows: int = 4000, echo: Callable[[str], None] = print) -> str:
    """Build the demo project in ``folder`` from scratch (steps 1-3 of the module docstring) and
    return its store URL. Raises ``subprocess.CalledProcessError`` when a step that must succeed fails."""
    env = _environment()

    def failed(command: list[str], done: subprocess.CompletedProcess[str]) -> subprocess.CalledProcessError:
        sys.stderr.write(done.stdout + done.stderr)
        return subprocess.CalledProcessError(done.returncode, command, done.stdout, done.stderr)

    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    echo(f"threadline project in {folder}")
    init = subprocess.run(
        _threadline("init"), cwd=folder, env=env, capture_output=True, text=True, check=False
    )
    if init.returncode != 0:
        raise failed(_threadline("init"), init)
    url = store_url(folder)
    echo("OpenLineage events: " + ", ".join(path.parent.name for path in EVENT_FILES))
    events = folder / "events"  # the README's ingest examples read them there
    events.mkdir()
    for path in EVENT_FILES:
        shutil.copyfile(path, events / f"{path.parent.name}.jsonl")
    ingest_command = _threadline("ingest", "events", "--store", url)
    ingest = subprocess.Popen(
        ingest_command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    sales_command = [sys.executable, "-m", "examples.demo", "--sales-runs"]
    sales = subprocess.Popen(
        sales_command,
        cwd=folder,
        env={**env, "THREADLINE_TRACKING_NAMESPACE": SALES_NAMESPACE},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    runs_command = [sys.executable, "-m", "examples.demo", "--sdk-runs", "--rows", str(rows)]
    runs = subprocess.Popen(
        runs_command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert runs.stdout is not None
    said: list[str] = []
    for line in runs.stdout:  # step 2 says what it does as it goes
        said.append(line)
        if line.startswith(SAYS):
            echo(line.rstrip("\n"))
    runs.wait()
    sales_said, _ = sales.communicate()
    for line in sales_said.splitlines():
        if line.startswith(SALES_SAYS):
            echo(line)
    ingested_out, ingested_err = ingest.communicate()
    if runs.returncode != 0:
        raise failed(
            runs_command, subprocess.CompletedProcess(runs_command, runs.returncode, "".join(said), "")
        )
    if sales.returncode != 0:
        raise failed(
            sales_command, subprocess.CompletedProcess(sales_command, sales.returncode, sales_said, "")
        )
    if ingest.returncode != 0:
        raise failed(
            ingest_command,
            subprocess.CompletedProcess(ingest_command, ingest.returncode, ingested_out, ingested_err),
        )
    (folder / BUILT_FROM).write_text(json.dumps({"digest": build_digest(rows), "rows": rows}) + "\n")
    return url


def port_is_free(host: str, port: int) -> bool:
    """Whether ``host:port`` can be listened on now."""
    try:
        with socket.create_server((host.strip("[]"), port)):
            return True
    except OSError:
        return False


def _answers(host: str, port: int) -> bool:
    shown = f"[{host}]" if ":" in host else host
    try:
        with urllib.request.urlopen(f"http://{shown}:{port}/api/v1/health", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _relative(path: Path) -> str:
    """``path`` relative to the current folder when it is below it, else absolute."""
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


def how_to_use(folder: Path) -> list[str]:
    """What to type in another terminal to use the command line on the demo data."""
    venv = Path(sys.prefix)
    activate = venv / "bin" / "activate"
    steps: list[tuple[str, str]] = []
    if activate.is_file() and sys.prefix != sys.base_prefix:
        steps.append((f". {_relative(activate)}", "puts `threadline` on PATH"))
    steps.append((f"cd {_relative(folder)}", "the demo project: commands there use its store"))
    steps.append(("threadline runs", "the SDK pipeline's runs; `threadline --help` for the rest"))
    steps.append(
        ("threadline pipeline show daily_sales", "the staged pipeline's days: two promoted, one blocked")
    )
    width = max(len(command) for command, _ in steps)
    lines = ["Use the command line on the demo data from another terminal:"]
    lines += [f"    {command.ljust(width)}  # {why}" for command, why in steps]
    return lines


def _announce_when_answering(folder: Path, host: str, port: int, server: int) -> None:
    """In a child of the server process: once it answers, say where and how to use the CLI; give up
    quietly if the server exits first (its own error says why). Ctrl+C is the server's alone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    deadline = time.monotonic() + SERVER_START_SECONDS
    while not _answers(host, port):
        if os.getppid() != server or time.monotonic() > deadline:
            return
        time.sleep(0.1)
    shown = f"[{host}]" if ":" in host else host
    print(f"\nOpen http://{shown}:{port}/  (Ctrl+C stops the server)\n", flush=True)
    print("\n".join(how_to_use(folder)) + "\n", flush=True)


def serve(folder: Path, url: str, host: str, port: int) -> int:
    """Step 4: become the server (this process: Ctrl+C reaches it once, and it stops cleanly), and
    say where it serves, and how to use the CLI, from a child process once it answers."""
    command = _threadline(
        "serve", "--store", url, "--host", host, "--port", str(port), "--log-level", "warning"
    )
    environment = _environment()
    sys.stdout.flush()
    server = os.getpid()
    if os.fork() == 0:  # the child announces; the parent becomes the server
        try:
            _announce_when_answering(folder, host, port, server)
        finally:
            os._exit(0)
    os.chdir(folder)
    os.execve(sys.executable, command, environment)
    return 0  # not reached: the server replaced this process


def main(argv: list[str] | None = None) -> int:
    """Build the demo project (unless it is up to date), then serve it (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=DEMO_DIR, help="the demo project")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--rows", type=int, default=4000, help="rows of the pipeline's raw CSV")
    parser.add_argument("--rebuild", action="store_true", help="build the project even if it is up to date")
    parser.add_argument("--no-serve", action="store_true", help="build the project afresh, do not serve it")
    parser.add_argument("--sdk-runs", action="store_true", help=argparse.SUPPRESS)  # step 2, in a child
    parser.add_argument("--sales-runs", action="store_true", help=argparse.SUPPRESS)  # step 3, in a child
    args = parser.parse_args(argv)
    if args.sdk_runs:
        sdk_runs(args.rows, echo=lambda line: print(line, flush=True))
        return 0
    if args.sales_runs:
        sales_runs(echo=lambda line: print(line, flush=True))
        return 0
    folder = args.folder.resolve()
    if args.no_serve:
        print(f"demo store: {prepare(folder, rows=args.rows)}")
        return 0
    if not port_is_free(args.host, args.port):
        print(
            f"error: port {args.port} is in use (another server, or a demo still running?); "
            "pick another with DEMO_PORT=8080 make demo (or --port)",
            file=sys.stderr,
        )
        return 1
    if not args.rebuild and is_built(folder, args.rows):
        url = store_url(folder)
        print(
            f"demo project {_relative(folder)}: built from these examples and this threadline already "
            "(DEMO_REBUILD=1 make demo builds it afresh)"
        )
    else:
        url = prepare(folder, rows=args.rows)
    return serve(folder, url, args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
