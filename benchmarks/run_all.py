"""Run every benchmark (``make bench``): for now the ingest benchmark on SQLite and PostgreSQL.

Usage::

    .venv/bin/python benchmarks/run_all.py [--quick] [--backend sqlite|postgresql|both]

Extra arguments are passed to ``ingest.py``. The exit status is non-zero when a benchmark failed or
lost events (figures below target are reported, not failures).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = ["ingest.py"]


def main() -> int:
    status = 0
    for script in BENCHMARKS:
        print(f"### {script}", flush=True)
        done = subprocess.run([sys.executable, str(HERE / script), *sys.argv[1:]], check=False)
        status = status or done.returncode
    print(f"results: {HERE / 'out'}/")
    return status


if __name__ == "__main__":
    sys.exit(main())
