"""Catalog search, tag writes and catalog apply, against a brute-force scan of the same data in the
same run.

For each backend (SQLite, PostgreSQL) this script

1. generates a catalog (default: 100,000 entries in 10 groups, 20 tag templates with DOUBLE, ENUM,
   STRING, BOOL and TIMESTAMP fields, 500,000 tags on entries) and loads it through the real path
   (catalog change events, ``SqlStore.append``, the projector: the same fold a server runs);
2. times ``search`` (the index: FTS5 or tsvector and the typed tag-value table; the whole answer: a
   page of 10, the total count and the facets) for three kinds of query, ``--queries`` of each:
   free text (one word), ``tag:T.F=value`` (a DOUBLE field) and a three-clause boolean query
   ``(w1 OR w2) type=TABLE -tag:T``; and the brute force (every entry's document, read once, filtered
   in Python by the same query); p50/p95 and the ratio of the medians. Twice: right after the load,
   and once the store settled (PostgreSQL: after ``VACUUM ANALYZE``, the work its autovacuum does
   after a bulk load and otherwise does beside the first searches; SQLite has none);
3. starts the real server on the store and writes ``--batch-tags`` new tags through
   ``POST /api/v1/catalog/tags:batch`` (1,000 a request): tags/s;
4. on a fresh store, ``threadline catalog apply`` (the real command, a process of its own) of a file
   with ``--apply-tags`` tags: the first apply, then the same file again (nothing changed), as YAML
   and as JSON (the same catalog: how much of the time is parsing YAML);
5. on a fresh store, propagation over a column-lineage graph of ``--propagation-columns`` columns
   (10 layers of datasets, 100 columns each, every column read from two columns of the layer above):
   tags written on the columns of a first-layer dataset (the same fold a server runs), and the time
   until search finds the propagated value on the last layer (``catalog_propagated``, kept by the
   fold); against a full rebuild of every propagated value (what reindex and a changed template do).

Before each of steps 3-5, what the steps before wrote is flushed to disk (``sync``; on PostgreSQL a
``CHECKPOINT`` first), so that a step is timed on its own writes (see :func:`settle_disk`). The
process runs the store's code with the collector tuned as a server tunes its own (``main``).

Usage::

    .venv/bin/python benchmarks/catalog.py [--backend sqlite|postgresql|both] [--entries 100000]
        [--templates 20] [--tags 500000] [--queries 50] [--batch-tags 5000] [--apply-tags 10000]
        [--propagation-columns 10000] [--only search,batch,apply,propagation]

Targets (issue 16): search p50 <= 20 ms and p95 <= 100 ms; batch tag writes >= 2,000 tags/s; applying
an unchanged 10,000-tag file < 2 s; propagation over 10,000 columns up to date within 1 s of the write.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import yaml  # noqa: E402
from sqlalchemy import text  # noqa: E402

from ingest import PG_BASE, free_port  # noqa: E402
from threadline.catalog.changes import change_events, entry_name, group_name, template_name  # noqa: E402
from threadline.catalog.query import parse  # noqa: E402
from threadline.catalog.search import load_docs, load_template_kinds, matches, search  # noqa: E402
from threadline.collector import collect_less_often  # noqa: E402
from threadline.openlineage.catalog_changes import ENTRY, GROUP, TAG, TEMPLATE, UPSERT, CatalogChange  # noqa: E402
from threadline.openlineage.events import parse_event  # noqa: E402
from threadline.projection import project_all  # noqa: E402
from threadline.store.sql import SqlStore, open_store  # noqa: E402

TYPES = ["TABLE", "FILESET", "DATA_STREAM", "MODEL", "VIEW"]
LEVELS = ["GOLD", "SILVER", "RAW"]
GROUPS = 10
VOCABULARY = [
    f"{a}{b}"
    for a in ("al", "be", "ga", "de", "ep", "ze", "et", "th", "io", "ka")
    for b in (
        "ron",
        "tis",
        "mar",
        "nex",
        "sol",
        "vir",
        "dan",
        "pel",
        "qua",
        "rho",
        "sig",
        "tor",
        "ulm",
        "vex",
        "wyn",
        "xan",
        "yor",
        "zed",
        "bri",
        "cal",
    )
]  # 200 words: a word is in ~4% of the entries
TARGET_P50_MS, TARGET_P95_MS, TARGET_TAGS_PER_S, TARGET_APPLY_S = 20.0, 100.0, 2_000.0, 2.0
TARGET_PROPAGATION_S = 1.0


def template_body() -> dict[str, Any]:
    return {
        "fields": {
            "score": {"type": {"primitiveType": "DOUBLE"}},
            "level": {"type": {"enumType": {"allowedValues": [{"displayName": v} for v in LEVELS]}}},
            "note": {"type": {"primitiveType": "STRING"}},
            "ok": {"type": {"primitiveType": "BOOL"}},
            "at": {"type": {"primitiveType": "TIMESTAMP"}},
        }
    }


def tag_fields(rng: random.Random) -> dict[str, Any]:
    return {
        "score": {"doubleValue": float(rng.randrange(100))},
        "level": {"enumValue": {"displayName": rng.choice(LEVELS)}},
        "note": {"stringValue": " ".join(rng.choices(VOCABULARY, k=3))},
        "ok": {"boolValue": rng.random() < 0.5},
        "at": {"timestampValue": f"20{rng.randrange(20, 26)}-0{rng.randrange(1, 10)}-15T00:00:00Z"},
    }


def generate(entries: int, templates: int, tags: int, seed: int = 16) -> list[CatalogChange]:
    """The catalog's changes (valid by construction, so written without the planner's checks)."""
    rng = random.Random(seed)
    changes = [
        CatalogChange(TEMPLATE, UPSERT, template_name(f"t{k:02d}"), template_body()) for k in range(templates)
    ]
    changes += [
        CatalogChange(GROUP, UPSERT, group_name(f"g{g:02d}"), {"displayName": f"Group {g}"})
        for g in range(GROUPS)
    ]
    for i in range(entries):
        body = {
            "type": rng.choice(TYPES),
            "displayName": " ".join(rng.choices(VOCABULARY, k=2)),
            "description": " ".join(rng.choices(VOCABULARY, k=6)),
            "schema": {
                "columns": [{"column": w, "type": "STRING"} for w in set(rng.choices(VOCABULARY, k=3))]
            },
        }
        changes.append(CatalogChange(ENTRY, UPSERT, entry_name(f"g{i % GROUPS:02d}", f"e{i}"), body))
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < min(tags, entries * templates):
        pairs.add((rng.randrange(entries), rng.randrange(templates)))
    for i, k in sorted(pairs):
        name = f"{entry_name(f'g{i % GROUPS:02d}', f'e{i}')}/tags/t{k:02d}"
        body = {"template": template_name(f"t{k:02d}"), "fields": tag_fields(rng)}
        changes.append(CatalogChange(TAG, UPSERT, name, body, "USER"))
    return changes


def load(store: SqlStore, changes: list[CatalogChange], chunk: int = 5000) -> float:
    started = time.perf_counter()
    for start in range(0, len(changes), chunk):
        store.append([parse_event(raw) for raw in change_events(changes[start : start + chunk])])
        project_all(store, batch_size=50)
    if store.backend == "postgresql":
        # the planner's statistics and the visibility map, as autovacuum keeps them after a bulk load
        # (without the map, search's index-only scans of tags read every tag's heap row as well)
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE catalog_objects")
            connection.exec_driver_sql("VACUUM ANALYZE catalog_tag_values")
    return time.perf_counter() - started


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50": statistics.median(ordered),
        "p95": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
        "max": ordered[-1],
    }


def queries(kind: str, count: int, templates: int, rng: random.Random) -> list[str]:
    if kind == "free text":
        return [rng.choice(VOCABULARY) for _ in range(count)]
    if kind == "tag:T.F=value":
        return [f"tag:t{rng.randrange(templates):02d}.score={rng.randrange(100)}" for _ in range(count)]
    return [
        f"({rng.choice(VOCABULARY)} OR {rng.choice(VOCABULARY)}) type=TABLE "
        f"-tag:t{rng.randrange(templates):02d}"
        for _ in range(count)
    ]


def sizes(store: SqlStore) -> str:
    """The catalog table's size and, on PostgreSQL, its buffer cache: a search reads its matches'
    rows, from PostgreSQL's own cache when it holds them, else from the operating system's."""
    with store.read() as connection:
        if store.backend == "postgresql":
            table, buffers = connection.exec_driver_sql(
                "SELECT pg_size_pretty(pg_relation_size('catalog_objects')), "
                "current_setting('shared_buffers')"
            ).one()
            return f"catalog_objects {table}, shared_buffers {buffers}"
        pages = connection.exec_driver_sql("PRAGMA page_count").scalar_one()
        size = connection.exec_driver_sql("PRAGMA page_size").scalar_one()
        return f"the store's file {pages * size / 2**20:,.0f} MiB"


def settle(store: SqlStore) -> float:
    """What a store does by itself after a bulk load, done now: on PostgreSQL ``VACUUM ANALYZE`` of
    the catalog's tables (autovacuum's work, which otherwise runs beside the first searches); nothing
    on SQLite. Returns the seconds it took."""
    started = time.perf_counter()
    if store.backend == "postgresql":
        with store.engine.connect() as opened:
            connection = opened.execution_options(isolation_level="AUTOCOMMIT")
            for table in ("catalog_objects", "catalog_tag_values", "catalog_history"):
                connection.exec_driver_sql(f"VACUUM ANALYZE {table}")
    return time.perf_counter() - started


def settle_disk(backend: str) -> dict[str, float]:
    """Flush to disk what the phases before wrote, before a phase that writes is timed, so that it is
    timed on its own writes: the kernel's dirty pages (``sync``) and, on PostgreSQL, the buffers its
    checkpointer would otherwise write beside the phase (``CHECKPOINT``). Returns how much the kernel
    held dirty and how long flushing took (both printed)."""
    dirty_kib = 0.0
    with contextlib.suppress(OSError), open("/proc/meminfo", encoding="ascii") as meminfo:
        for line in meminfo:
            if line.startswith("Dirty:"):
                dirty_kib = float(line.split()[1])
    started = time.perf_counter()
    if backend == "postgresql":
        import psycopg

        with psycopg.connect(PG_BASE, autocommit=True) as connection:
            connection.execute("CHECKPOINT")
    os.sync()
    return {"dirty_mib": dirty_kib / 1024, "seconds": time.perf_counter() - started}


def bench_search(store: SqlStore, templates: int, count: int) -> dict[str, Any]:
    out = search_pass(store, templates, count)
    out["settle_s"] = settle(store)
    out["settled"] = search_pass(store, templates, count)["kinds"]
    return out


def search_pass(store: SqlStore, templates: int, count: int) -> dict[str, Any]:
    rng = random.Random(7)
    with store.read() as connection:
        started = time.perf_counter()
        docs = load_docs(connection)
        kinds = load_template_kinds(connection)
        scan_load_s = time.perf_counter() - started
        out: dict[str, Any] = {"brute_force_load_s": scan_load_s, "kinds": {}}
        for kind in ("free text", "tag:T.F=value", "three-clause boolean"):
            index_ms, brute_ms, sizes = [], [], []
            for query in queries(kind, count, templates, rng):
                started = time.perf_counter()
                answer = search(connection, query, page_size=10)
                index_ms.append((time.perf_counter() - started) * 1000)
                tree = parse(query)
                started = time.perf_counter()
                found = [d.name for d in docs if matches(tree, d, kinds)]
                brute_ms.append((time.perf_counter() - started) * 1000)
                if answer["totalSize"] != len(found):
                    msg = f"{query!r}: the index found {answer['totalSize']}, the brute force {len(found)}"
                    raise SystemExit(msg)
                sizes.append(len(found))
            out["kinds"][kind] = {
                "index": percentiles(index_ms),
                "brute_force": percentiles(brute_ms),
                "median_hits": statistics.median(sizes),
            }
    return out


def bench_batch(url: str, batch_tags: int, entries: int) -> dict[str, Any]:
    port = free_port()
    code = (
        "from threadline.server import run_server; from threadline.settings import ServerConfig; "
        f"run_server(ServerConfig(store={url!r}, host='127.0.0.1', port={port}, auth='none', "
        "max_body_bytes=1 << 26, max_batch_events=10000, log_level='warning'))"
    )
    store = open_store(url)
    store.append(
        [
            parse_event(r)
            for r in change_events([CatalogChange(TEMPLATE, UPSERT, template_name("batch"), template_body())])
        ]
    )
    project_all(store)
    store.close()
    rng = random.Random(3)
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen([sys.executable, "-c", code], stdout=log, stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while True:
                try:
                    urllib.request.urlopen(f"{base}/api/v1/health", timeout=1).read()
                    break
                except OSError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        log.seek(0)
                        raise RuntimeError(log.read().decode(errors="replace")) from None
                    time.sleep(0.2)
            chosen = rng.sample(range(entries), min(batch_tags, entries))
            started = time.perf_counter()
            for start in range(0, len(chosen), 1000):
                body = {
                    "tags": [
                        {
                            "entry": entry_name(f"g{i % GROUPS:02d}", f"e{i}"),
                            "tag": {"template": "tagTemplates/batch", "fields": tag_fields(rng)},
                        }
                        for i in chosen[start : start + 1000]
                    ]
                }
                request = urllib.request.Request(
                    f"{base}/api/v1/catalog/tags:batch",
                    data=json.dumps(body).encode(),
                    headers={"Content-Type": "application/json"},
                    method="POST",
                )
                urllib.request.urlopen(request, timeout=600).read()
            seconds = time.perf_counter() - started
            return {"tags": len(chosen), "seconds": seconds, "tags_per_s": len(chosen) / seconds}
        finally:
            process.terminate()
            process.wait(30)


def bench_apply(url: str, apply_tags: int) -> dict[str, Any]:
    templates, per_entry = 5, 5
    doc = {
        "tagTemplates": [
            {
                "id": f"a{k}",
                "fields": {
                    "score": {"type": "DOUBLE"},
                    "note": {"type": "STRING"},
                    "level": {"type": {"enum": LEVELS}},
                },
            }
            for k in range(templates)
        ],
        "entryGroups": [
            {
                "id": "applied",
                "entries": [
                    {
                        "id": f"e{i}",
                        "type": "TABLE",
                        "description": f"entry {i}",
                        "tags": [
                            {
                                "template": f"a{k}",
                                "fields": {"score": i % 100, "note": f"note {i}", "level": LEVELS[i % 3]},
                            }
                            for k in range(per_entry)
                        ],
                    }
                    for i in range(apply_tags // per_entry)
                ],
            }
        ],
    }
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "catalog.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        as_json = Path(folder) / "catalog.json"
        as_json.write_text(json.dumps(doc))
        command = [
            str(Path(sys.executable).parent / "threadline"),
            "catalog",
            "apply",
            str(path),
            "--store",
            url,
        ]
        # As an installed threadline runs: with its modules' compiled bytecode cached. This machine
        # sets PYTHONDONTWRITEBYTECODE, and the source checkout's modules (an editable install) would
        # then be compiled again by every command, ~0.8 s of the unchanged apply's 2.1 s. The first
        # apply writes the caches.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        timings, cpu = [], []
        for run in range(3):
            if run == 2:
                command[3] = str(as_json)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
            timings.append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            if result.returncode != 0:
                raise RuntimeError(result.stderr)
        started = time.perf_counter()
        subprocess.run([command[0], "--version"], capture_output=True, check=True, env=env)
        return {
            "tags": apply_tags,
            "first_s": timings[0],
            "unchanged_s": timings[1],
            "first_cpu_s": cpu[0],
            "unchanged_cpu_s": cpu[1],
            "unchanged_json_s": timings[2],
            "startup_s": time.perf_counter() - started,
            "said": result.stderr.strip(),
        }


_COLUMN_LINEAGE = "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json"
LAYERS, PER_LAYER = 10, 10


def lineage_graph(columns: int) -> list[bytes]:
    """Run events whose column lineage makes ``columns`` columns in :data:`LAYERS` layers of
    :data:`PER_LAYER` datasets: column c of dataset (layer, i) reads column c of datasets
    (layer - 1, i) and (layer - 1, i + 1)."""
    width = max(1, columns // (LAYERS * PER_LAYER))
    events = []
    for layer in range(1, LAYERS):
        for i in range(PER_LAYER):
            sources = [f"l{layer - 1}.d{i}", f"l{layer - 1}.d{(i + 1) % PER_LAYER}"]
            fields = {
                f"c{c}": {
                    "inputFields": [
                        {
                            "namespace": "bench",
                            "name": source,
                            "field": f"c{c}",
                            "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}],
                        }
                        for source in sources
                    ]
                }
                for c in range(width)
            }
            facet = {"_producer": "bench", "_schemaURL": _COLUMN_LINEAGE, "fields": fields}
            doc = {
                "eventType": "COMPLETE",
                "eventTime": "2026-01-01T00:00:00Z",
                "run": {"runId": str(uuid.UUID(int=layer * 1000 + i + 1))},
                "job": {"namespace": "bench", "name": f"job.l{layer}.d{i}"},
                "inputs": [{"namespace": "bench", "name": source} for source in sources],
                "outputs": [
                    {"namespace": "bench", "name": f"l{layer}.d{i}", "facets": {"columnLineage": facet}}
                ],
                "producer": "bench",
                "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
            }
            events.append(json.dumps(doc).encode())
    return events


def bench_propagation(url: str, columns: int) -> dict[str, Any]:
    from threadline.catalog import local
    from threadline.projection.propagation import rebuild

    width = max(1, columns // (LAYERS * PER_LAYER))
    store = open_store(url)
    try:
        store.append([parse_event(raw) for raw in lineage_graph(columns)])
        project_all(store)
        template = {
            "fields": {
                "kind": {
                    "type": {"enumType": {"allowedValues": [{"displayName": v} for v in ("EMAIL", "PHONE")]}},
                    "propagate": "downstream",
                }
            }
        }
        changes = [
            CatalogChange(TEMPLATE, UPSERT, template_name("pii"), template),
            CatalogChange(GROUP, UPSERT, group_name("lake"), {}),
        ]
        changes += [
            CatalogChange(
                ENTRY,
                UPSERT,
                entry_name("lake", f"l{layer}-d{i}"),
                {"type": "TABLE", "linkedResource": f"dataset:bench:l{layer}.d{i}"},
            )
            for layer in range(LAYERS)
            for i in range(PER_LAYER)
        ]
        local.commit(store, changes)

        def write(value: str, tags: int) -> tuple[float, int]:
            """Tag ``tags`` columns of dataset (0, 0) with ``value``; seconds until search finds
            the value on the last layer, and the propagated rows holding it."""
            batch = [
                CatalogChange(
                    TAG,
                    UPSERT,
                    f"{entry_name('lake', 'l0-d0')}/tags/pii@c{c}",
                    {
                        "template": template_name("pii"),
                        "column": f"c{c}",
                        "fields": {"kind": {"enumValue": {"displayName": value}}},
                    },
                    "USER",
                )
                for c in range(tags)
            ]
            started = time.perf_counter()
            local.commit(store, batch)
            with store.read() as connection:
                found = search(connection, f"tag:pii.kind={value} parent:lake", page_size=100)
                names = {r["relativeResourceName"] for r in found["results"]}
                held = connection.execute(
                    text("SELECT count(*) FROM catalog_propagated WHERE text_value = :v"),
                    {"v": value.lower()},
                ).scalar_one()
            seconds = time.perf_counter() - started
            if entry_name("lake", f"l{LAYERS - 1}-d0") not in names:
                raise SystemExit(f"propagation: the last layer does not hold {value} after the write")
            return seconds, int(held)

        one_s, one_rows = write("EMAIL", 1)
        all_s, all_rows = write("PHONE", width)
        with store.write() as connection:
            started = time.perf_counter()
            rebuild(connection)
            rebuild_s = time.perf_counter() - started
        return {
            "columns": LAYERS * PER_LAYER * width,
            "one_tag_s": one_s,
            "one_tag_rows": one_rows,
            "dataset_tags": width,
            "dataset_s": all_s,
            "dataset_rows": all_rows,
            "rebuild_s": rebuild_s,
        }
    finally:
        store.close()


def fresh_url(backend: str, folder: Path, label: str) -> tuple[str, str | None]:
    if backend == "sqlite":
        return f"sqlite:///{folder / f'{label}.db'}", None
    import psycopg

    schema = f"bench_catalog_{label}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_BASE, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    return f"{PG_BASE}?options=-csearch_path%3D{schema}", schema


def drop(schema: str | None) -> None:
    if schema is None:
        return
    import psycopg

    with psycopg.connect(PG_BASE, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def bench_backend(backend: str, args: argparse.Namespace, changes: list[CatalogChange]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url, schema = fresh_url(backend, folder, "main")
        apply_url, apply_schema = fresh_url(backend, folder, "apply")
        propagation_url, propagation_schema = fresh_url(backend, folder, "propagation")
        try:
            result: dict[str, Any] = {"backend": backend, "load": os.getloadavg()}
            if {"search", "batch"} & args.only:
                store = open_store(url)
                result["load_s"], result["changes"] = load(store, changes), len(changes)
                result["sizes"] = sizes(store)
                if "search" in args.only:
                    result["search"] = bench_search(store, args.templates, args.queries)
                store.close()
            result["settled_disk"] = settled = {}
            if "batch" in args.only:
                settled["batch"] = settle_disk(backend)
                result["batch"] = bench_batch(url, args.batch_tags, args.entries)
            if "apply" in args.only:
                settled["apply"] = settle_disk(backend)
                result["apply"] = bench_apply(apply_url, args.apply_tags)
            if "propagation" in args.only:
                settled["propagation"] = settle_disk(backend)
                result["propagation"] = bench_propagation(propagation_url, args.propagation_columns)
            result["load_after"] = os.getloadavg()
            return result
        finally:
            drop(schema)
            drop(apply_schema)
            drop(propagation_schema)


def report(results: list[dict[str, Any]]) -> None:
    for r in results:
        load_before = ", ".join(f"{x:.1f}" for x in r["load"])
        load_after = ", ".join(f"{x:.1f}" for x in r["load_after"])
        print(f"\n== {r['backend']} (load average {load_before} before, {load_after} after) ==")
        if "search" in r:
            s = r["search"]
            print(f"{r['changes']:,} changes loaded in {r['load_s']:.1f} s; {r['sizes']}")
            print(f"brute force: every entry's document read in {s['brute_force_load_s']:.2f} s (once)")
            print(
                f"{'query':<22} {'hits':>6} {'p50 ms':>8} {'p95 ms':>8} {'brute p50':>10} "
                f"{'brute/index':>12}  target"
            )
            for label, measured in (("right after the load", s["kinds"]), ("settled", s["settled"])):
                if label == "settled":
                    how = "VACUUM ANALYZE, " if r["backend"] != "sqlite" else ""
                    print(f"again once the store settled ({how}{s['settle_s']:.1f} s):")
                for kind, k in measured.items():
                    ratio = k["brute_force"]["p50"] / max(k["index"]["p50"], 1e-9)
                    met = k["index"]["p50"] <= TARGET_P50_MS and k["index"]["p95"] <= TARGET_P95_MS
                    print(
                        f"{kind:<22} {k['median_hits']:>6.0f} {k['index']['p50']:>8.1f} "
                        f"{k['index']['p95']:>8.1f} {k['brute_force']['p50']:>10.1f} {ratio:>11.1f}x  "
                        f"{'met' if met else 'NOT met'}"
                    )
        if r.get("settled_disk"):
            print(
                "before each phase that writes, what the phases before wrote was flushed (sync"
                + (", CHECKPOINT" if r["backend"] == "postgresql" else "")
                + "): "
                + "; ".join(
                    f"{phase} {d['dirty_mib']:,.0f} MiB dirty, {d['seconds']:.1f} s"
                    for phase, d in r["settled_disk"].items()
                )
            )
        if "batch" in r:
            b = r["batch"]
            print(
                f"tags:batch over HTTP: {b['tags']:,} tags in {b['seconds']:.2f} s = "
                f"{b['tags_per_s']:,.0f} tags/s (target {TARGET_TAGS_PER_S:,.0f}: "
                f"{'met' if b['tags_per_s'] >= TARGET_TAGS_PER_S else 'NOT met'})"
            )
        if "apply" in r:
            a = r["apply"]
            print(
                f"catalog apply, {a['tags']:,} tags: first {a['first_s']:.2f} s, unchanged "
                f"{a['unchanged_s']:.2f} s (target < {TARGET_APPLY_S} s: "
                f"{'met' if a['unchanged_s'] < TARGET_APPLY_S else 'NOT met'}; {a['said']}); "
                f"unchanged as JSON {a['unchanged_json_s']:.2f} s"
            )
            print(
                f"  CPU time of the command: first {a['first_cpu_s']:.2f} s, "
                f"unchanged {a['unchanged_cpu_s']:.2f} s; "
                f"`threadline --version` alone takes {a['startup_s']:.2f} s here"
            )
        if "propagation" in r:
            p = r["propagation"]
            met = max(p["one_tag_s"], p["dataset_s"]) <= TARGET_PROPAGATION_S
            print(
                f"propagation over {p['columns']:,} columns: one tag -> {p['one_tag_rows']:,} columns "
                f"in {p['one_tag_s']:.2f} s; {p['dataset_tags']} tags -> {p['dataset_rows']:,} columns "
                f"in {p['dataset_s']:.2f} s, searchable (target {TARGET_PROPAGATION_S} s: "
                f"{'met' if met else 'NOT met'}); a full rebuild {p['rebuild_s']:.2f} s "
                f"({p['rebuild_s'] / max(p['dataset_s'], 1e-9):.1f}x the write)"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--templates", type=int, default=20)
    parser.add_argument("--tags", type=int, default=500_000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--batch-tags", type=int, default=5_000)
    parser.add_argument("--apply-tags", type=int, default=10_000)
    parser.add_argument("--propagation-columns", type=int, default=10_000)
    parser.add_argument(
        "--only", default="search,batch,apply,propagation", help="Which parts to run (comma-separated)."
    )
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    args = parser.parse_args(argv)
    args.only = set(args.only.split(","))
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    changes = generate(args.entries, args.templates, args.tags) if {"search", "batch"} & args.only else []
    # The store's code runs in this process (the load, search, propagation's fold) as a server runs it:
    # with the collector tuned as the server tunes its own (threadline.collector), the generated
    # catalog frozen out of every scan. Without it, the first collections after the generation scan
    # its 600,000 changes: propagation's fold took 0.96 s right after it, 0.25-0.29 s later or frozen.
    collect_less_often(freeze=True)
    results = []
    for backend in backends:
        results.append(bench_backend(backend, args, changes))
        if args.json:  # kept as each backend finishes
            args.json.write_text(json.dumps(results, indent=2))
    report(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
