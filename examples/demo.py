"""``make demo``: a threadline project full of lineage, served with its web UI.

1. Makes ``.demo/`` (git-ignored) a fresh threadline project (``threadline init``): the embedded
   store ``.demo/.threadline/threadline.db``, rebuilt by every run.
2. Runs the churn pipeline of ``examples/churn_sdk`` there with the tracking SDK, four times: a
   first run; the same data with other parameters; new data (the raw CSV changes, so its content hash
   does); and an export whose ``monthly_charges`` column was renamed, which fails in ``features``.
3. Ingests the OpenLineage events the project ships: ``ml_pipeline`` (a DAG of five daily runs),
   ``dbt_jaffle_shop`` (dbt models, tests and column lineage) and ``airflow_etl`` (an Airflow DAG).
4. Serves the project (``threadline serve``) and prints the URL of the UI.

    python -m examples.demo [--folder .demo] [--host 127.0.0.1] [--port 5000] [--rows 4000] [--no-serve]

``--no-serve`` stops after step 3 (the tests use it).
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
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


def prepare(folder: Path = DEMO_DIR, *, rows: int = 4000, echo: Callable[[str], None] = print) -> str:
    """Build the demo project in ``folder`` from scratch (steps 1-3 of the module docstring) and
    return its store URL. Raises ``subprocess.CalledProcessError`` when a step that must succeed fails."""
    env = _environment()

    def run(command: list[str], *, fails: bool = False) -> None:
        done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, check=False)
        if (done.returncode != 0) != fails:
            sys.stderr.write(done.stdout + done.stderr)
            if not fails:
                raise subprocess.CalledProcessError(done.returncode, command, done.stdout, done.stderr)
            msg = f"{' '.join(command)} was meant to fail, and did not"
            raise RuntimeError(msg)

    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    echo(f"threadline project in {folder}")
    run(_threadline("init"))
    echo("churn pipeline (threadline SDK): a first run")
    run(_pipeline("make-data", RAW, "--rows", str(rows), "--seed", "7"))
    run(_pipeline("run", "--raw", RAW))
    echo("churn pipeline: the same data, other parameters")
    run(_pipeline("run", "--raw", RAW, "--n-estimators", "60", "--learning-rate", "0.2"))
    echo("churn pipeline: new data (the raw CSV changes)")
    run(_pipeline("make-data", RAW, "--rows", str(rows), "--seed", "8"))
    run(_pipeline("run", "--raw", RAW))
    echo("churn pipeline: an export with a renamed column (this run fails, on purpose)")
    _rename_column(folder / RAW, folder / BROKEN, "monthly_charges", "monthly_charge")
    run(_pipeline("run", "--raw", BROKEN), fails=True)
    url = store_url(folder)
    echo("OpenLineage events: " + ", ".join(path.parent.name for path in EVENT_FILES))
    run(_threadline("ingest", *map(str, EVENT_FILES), "--store", url))
    return url


def main(argv: list[str] | None = None) -> int:
    """Build the demo project, then serve it (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=DEMO_DIR, help="the demo project (rebuilt)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--rows", type=int, default=4000, help="rows of the pipeline's raw CSV")
    parser.add_argument("--no-serve", action="store_true", help="build the project, do not serve it")
    args = parser.parse_args(argv)
    folder = args.folder.resolve()
    url = prepare(folder, rows=args.rows)
    if args.no_serve:
        print(f"demo store: {url}")
        return 0
    print(f"\nOpen http://{args.host}:{args.port}/  (Ctrl+C stops the server)\n", flush=True)
    os.chdir(folder)
    command = _threadline("serve", "--store", url, "--host", args.host, "--port", str(args.port))
    os.execve(sys.executable, command, _environment())
    return 0  # not reached: the server replaced this process


if __name__ == "__main__":
    sys.exit(main())
