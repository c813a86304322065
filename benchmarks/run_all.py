"""Run the benchmarks that produce the project's headline figures (``make bench``).

Usage::

    .venv/bin/python benchmarks/run_all.py [--only ingest,sync,lineage_graph,ui_layout]
        [--backend sqlite|postgresql|both]

By default it runs, one after the other (they each want both cores): ``ingest.py`` (HTTP ingest),
``sync.py`` (push between sites), ``lineage_graph.py`` (traversal at scale; about half an hour per
backend the first time, while it generates and loads the graph) and ``ui_layout.py`` (the web UI in
headless Chromium). ``--backend`` goes to the scripts that have one. ``artifacts_store.py`` and
``tracking.py`` need other tools (DVC, MLflow, CMF) in venvs of their own and are run by hand (see
``benchmarks/README.md``).

The exit status is non-zero when a benchmark failed or lost events (figures below target are
reported, not failures).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: Each benchmark and whether it takes ``--backend``.
BENCHMARKS = {"ingest": True, "sync": True, "lineage_graph": True, "ui_layout": False}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated benchmarks to run")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    status = 0
    for name in chosen:
        command = [sys.executable, str(HERE / f"{name}.py")]
        if BENCHMARKS[name]:
            command += ["--backend", args.backend]
        print(f"### {name}.py", flush=True)
        done = subprocess.run(command, check=False)
        status = status or done.returncode
    print(f"results: {HERE / 'out'}/")
    return status


if __name__ == "__main__":
    sys.exit(main())
