"""What the lineage view's tag badges cost: ``catalog.node_tags`` against the whole answer of
``GET /api/v1/ui/lineage`` (``server.api.ui_lineage.compact_lineage``) in the same run.

The store: a job that reads one dataset and writes ``--nodes`` datasets (a view of that many nodes),
and a catalog of ``--entries`` entries, of which one per dataset in view links it with two tags (one
on the entry, one on a column), and ``--filesets`` file-set entries whose patterns name datasets of
the view (one per folder of 100 datasets; the others name folders elsewhere), with a tag each.
Loaded through the real path (catalog change events, ``SqlStore.append``,
the projector).

It times, ``--repeat`` times each, p50 and p95: the whole answer without badges (the baseline), the
whole answer with them; ``node_tags``
with the file-set patterns kept (the usual case: no catalog change since the last view); and
``node_tags`` reading them again (the first view after a catalog change: every entry's body is
scanned), with the ratio of each to the whole answer.

Usage::

    .venv/bin/python benchmarks/lineage_badges.py [--backend sqlite|postgresql] [--nodes 1000]
        [--entries 20000] [--filesets 100] [--repeat 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from sqlalchemy import select  # noqa: E402

from ingest import PG_BASE  # noqa: E402
from threadline.catalog import node_tags as badges  # noqa: E402
from threadline.catalog.changes import change_events  # noqa: E402
from threadline.graph.nodes import NodeId  # noqa: E402
from threadline.openlineage.catalog_changes import CatalogChange  # noqa: E402
from threadline.openlineage.events import parse_event  # noqa: E402
from threadline.projection.projector import project_all  # noqa: E402
from threadline.server.api.ui_lineage import LineageQuery, compact_lineage  # noqa: E402
from threadline.store import open_store, schema  # noqa: E402

BUCKET = "gs://bench"
JOB = "job:etl:fan"


def _lineage_event(nodes: int) -> bytes:
    import json

    doc = {
        "eventType": "COMPLETE",
        "eventTime": "2024-01-01T00:00:00Z",
        "producer": "https://example.com/bench",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/definitions/RunEvent",
        "run": {"runId": "01890000-0000-7000-8000-000000000001"},
        "job": {"namespace": "etl", "name": "fan"},
        "inputs": [{"namespace": BUCKET, "name": "raw/source"}],
        "outputs": [{"namespace": BUCKET, "name": f"out/d{i // 100}/t{i}"} for i in range(nodes)],
    }
    return json.dumps(doc).encode()


def _catalog(args: argparse.Namespace) -> list[CatalogChange]:
    text = {"type": {"primitiveType": "STRING"}}
    changes = [
        CatalogChange(
            "template", "upsert", "tagTemplates/pii", {"displayName": "PII", "fields": {"kind": text}}
        ),
        CatalogChange(
            "template", "upsert", "tagTemplates/notes", {"displayName": "Notes", "fields": {"n": text}}
        ),
        CatalogChange("group", "upsert", "entryGroups/g", {}),
    ]
    for i in range(args.entries):
        entry = f"entryGroups/g/entries/e{i}"
        body: dict[str, Any] = {"type": "TABLE", "description": f"entry {i} " * 8}
        linked = i < args.nodes
        if linked:
            body["linkedResource"] = f"dataset:{BUCKET}:out/d{i // 100}/t{i}"
            body["schema"] = {"columns": [{"column": "email"}, {"column": "id"}]}
        changes.append(CatalogChange("entry", "upsert", entry, body))
        if linked:
            changes.append(
                CatalogChange(
                    "tag",
                    "upsert",
                    f"{entry}/tags/notes",
                    {"template": "tagTemplates/notes", "column": "", "fields": {"n": {"stringValue": "x"}}},
                )
            )
            changes.append(
                CatalogChange(
                    "tag",
                    "upsert",
                    f"{entry}/tags/pii@email",
                    {
                        "template": "tagTemplates/pii",
                        "column": "email",
                        "fields": {"kind": {"stringValue": "email"}},
                    },
                )
            )
    for i in range(args.filesets):
        entry = f"entryGroups/g/entries/files{i}"
        # one file set per folder of the view, the others name folders elsewhere in the bucket
        folder = f"out/d{i}" if i < -(-args.nodes // 100) else f"elsewhere/d{i}"
        body = {"type": "FILESET", "gcsFilesetSpec": {"filePatterns": [f"{BUCKET}/{folder}/*"]}}
        changes.append(CatalogChange("entry", "upsert", entry, body))
        changes.append(
            CatalogChange(
                "tag",
                "upsert",
                f"{entry}/tags/notes",
                {"template": "tagTemplates/notes", "column": "", "fields": {"n": {"stringValue": "f"}}},
            )
        )
    return changes


def _times(work: Any, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        out.append((time.perf_counter() - started) * 1000)
    return out


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--filesets", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--profile", action="store_true", help="Print where node_tags spends its time.")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="badges-"))
    if args.backend == "sqlite":
        url = f"sqlite:///{folder / 'bench.db'}"
    else:
        import uuid

        url = f"{PG_BASE}?options=-csearch_path%3Dbadges_{uuid.uuid4().hex[:8]}"
    store = open_store(url)
    started = time.perf_counter()
    store.append([parse_event(_lineage_event(args.nodes))])
    events = [parse_event(raw) for raw in change_events(_catalog(args))]
    for start in range(0, len(events), 500):
        store.append(events[start : start + 500])
    project_all(store)
    print(f"loaded {args.nodes:,} nodes, {args.entries:,} entries in {time.perf_counter() - started:.1f} s")
    state = SimpleNamespace(store=store, lineage_index=None)
    query = LineageQuery(node_id=JOB, direction="both", depth=2, as_of=None, fields=False)

    def answer() -> dict[str, Any]:
        with store.read() as connection:
            state.lineage_index = connection  # walk in SQL: the server walks its in-memory index
            return compact_lineage(state, connection, query)  # type: ignore[arg-type]

    shown = answer()
    with store.read() as connection:  # the projections' keys, as compact_lineage passes them
        datasets = schema.datasets
        keys = {
            str(NodeId.dataset(display or namespace, name)): str(key)
            for key, namespace, display, name in connection.execute(
                select(datasets.c.id, datasets.c.namespace, datasets.c.display_namespace, datasets.c.name)
            )
        }
    nodes = [
        badges.LineageNode(
            n["id"],
            "job" if n["type"] == "JOB" else "dataset",
            keys.get(n["id"], "0"),
            n["namespace"],
            n["name"],
        )
        for n in shown["graph"]
    ]
    tagged = sum(1 for n in shown["graph"] if n.get("tags"))
    print(f"view: {len(shown['graph']):,} nodes, {tagged:,} with badges")

    def kept() -> None:
        with store.read() as connection:
            badges.node_tags(connection, nodes)

    def cold() -> None:
        badges._FILESETS.clear()
        kept()

    if args.profile:
        import cProfile
        import pstats

        profile = cProfile.Profile()
        profile.runcall(kept)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(18)
    from threadline.server.api import ui_lineage

    with_badges = ui_lineage.node_tags

    def without() -> None:
        ui_lineage.node_tags = lambda _connection, _nodes: {}  # type: ignore[assignment]
        try:
            answer()
        finally:
            ui_lineage.node_tags = with_badges

    # interleaved, so that each kind sees the machine's load alike
    bare: list[float] = []
    whole: list[float] = []
    warm: list[float] = []
    scan: list[float] = []
    for _ in range(args.repeat):
        for work, into in ((without, bare), (answer, whole), (kept, warm), (cold, scan)):
            into.extend(_times(work, 1))
    base = statistics.median(bare)
    print(f"{'':34} {'p50 ms':>8} {'p95 ms':>8} {'vs no badges':>14}")
    for label, values in (
        ("the answer without badges", bare),
        ("the answer with badges", whole),
        ("node_tags, patterns kept", warm),
        ("node_tags, patterns read again", scan),
    ):
        share = statistics.median(values) / base
        print(f"{label:34} {_p(values, 0.5):8.1f} {_p(values, 0.95):8.1f} {share:13.0%}")
    store.close()


if __name__ == "__main__":
    main()
