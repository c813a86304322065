"""Building events by hand and feeding them to a store."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any

from threadline.openlineage.events import parse_event
from threadline.projection import project_all
from threadline.store import schema
from threadline.store.ids import dataset_id, job_id

PRODUCER = "https://example.com/tests"


def run_id(n: int) -> str:
    return str(uuid.UUID(int=0xABC0000 + n))


def t(second: int) -> str:
    return f"2024-05-01T12:{second // 60:02d}:{second % 60:02d}Z"


def micros(second: int) -> int:
    from threadline.openlineage.timestamps import parse_time

    return parse_time(t(second))


def ds(name: str, namespace: str = "db", **facets: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"namespace": namespace, "name": name}
    if facets:
        out["facets"] = {
            key: {"_producer": PRODUCER, "_schemaURL": "s", **value} for key, value in facets.items()
        }
    return out


def run_event(
    event_type: str | None,
    second: int,
    run: int = 1,
    *,
    job: str = "job",
    namespace: str = "ns",
    inputs: list | None = None,
    outputs: list | None = None,
    run_facets: dict | None = None,
    job_facets: dict | None = None,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "eventTime": t(second),
        "run": {"runId": run_id(run)},
        "job": {"namespace": namespace, "name": job},
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }
    if event_type is not None:
        doc["eventType"] = event_type
    if inputs is not None:
        doc["inputs"] = inputs
    if outputs is not None:
        doc["outputs"] = outputs
    if run_facets:
        doc["run"]["facets"] = run_facets
    if job_facets:
        doc["job"]["facets"] = job_facets
    return doc


def parent_facet(run: int, job: str, namespace: str = "ns") -> dict[str, Any]:
    return {
        "parent": {
            "_producer": PRODUCER,
            "_schemaURL": "https://openlineage.io/spec/facets/1-1-0/ParentRunFacet.json",
            "run": {"runId": run_id(run)},
            "job": {"namespace": namespace, "name": job},
        }
    }


def feed(store, docs: Iterable[dict[str, Any] | bytes], *, project: bool = True) -> list[str]:
    events = [parse_event(doc if isinstance(doc, bytes) else json.dumps(doc).encode()) for doc in docs]
    store.append(events)
    if project:
        project_all(store)
    return [event.id for event in events]


def state(store) -> dict[str, list[dict[str, Any]]]:
    return {table.name: store.table_rows(table.name) for table in schema.PROJECTION_TABLES}


def run_row(store, n: int) -> dict[str, Any]:
    rows = [row for row in store.table_rows("runs") if row["id"] == run_id(n)]
    assert len(rows) == 1, rows
    return rows[0]


def job_row(store, name: str, namespace: str = "ns") -> dict[str, Any]:
    rows = [row for row in store.table_rows("jobs") if row["id"] == job_id(namespace, name)]
    assert len(rows) == 1, rows
    return rows[0]


def dataset_row(store, name: str, namespace: str = "db") -> dict[str, Any]:
    rows = [row for row in store.table_rows("datasets") if row["id"] == dataset_id(namespace, name)]
    assert len(rows) == 1, rows
    return rows[0]


def edges(store, n: int) -> set[tuple[str, str]]:
    """(direction, dataset name) of run ``n``'s inputs and outputs."""
    names = {row["id"]: row["name"] for row in store.table_rows("datasets")}
    return {
        (row["direction"], names[row["dataset_id"]])
        for row in store.table_rows("run_io")
        if row["run_id"] == run_id(n)
    }
