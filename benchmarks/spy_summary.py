"""Summarise a py-spy raw profile of the server (``ingest.py --profile``) by stage of the ingest path.

Each sampled stack is put in the first category whose marker it contains (order matters: the
projector and the store append run in the writer thread, the rest in the event loop thread).

Usage::

    .venv/bin/python benchmarks/spy_summary.py benchmarks/out/profile-sqlite.txt
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    ("projection (writer thread, idle work)", ("project_pending",)),
    ("store append: SQL insert + commit (writer thread)", ("SqlStore.append",)),
    ("writer thread, other", ("Writer._run",)),
    ("canonical JSON + BLAKE3 event id", ("canonical_json", "event_id (")),
    ("facet validation (msgspec.convert)", ("check_facet",)),
    ("JSON decode + core validation (parse_event)", ("parse_event", "parse_document")),
    ("batch split (msgspec Raw)", ("split_batch",)),
    ("request body read / content checks", ("read_body",)),
    ("response build + encode", ("json_response", "_statuses", "to_dict")),
    ("health endpoint (benchmark polling)", ("health (",)),
    ("HTTP stack: uvicorn / starlette / fastapi / asyncio", ("uvicorn", "starlette", "fastapi", "asyncio")),
]


def summarise(path: Path) -> list[tuple[str, int]]:
    """Samples per category, most first."""
    counts: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, number = line.rpartition(" ")
        if not stack:
            continue
        for name, markers in CATEGORIES:
            if any(marker in stack for marker in markers):
                counts[name] += int(number)
                break
        else:
            counts["other"] += int(number)
    return counts.most_common()


def main() -> None:
    for argument in sys.argv[1:]:
        rows = summarise(Path(argument))
        total = sum(n for _, n in rows) or 1
        print(f"{argument}: {total} samples (active threads)")
        for name, n in rows:
            print(f"  {name:<56}{n:>8}{n / total:>8.1%}")


if __name__ == "__main__":
    main()
