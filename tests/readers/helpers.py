"""Events for the catalog tests, beyond the projection tests' builders."""

from __future__ import annotations

from typing import Any

from tests.projection.helpers import PRODUCER, ds, t


def facet(**fields: Any) -> dict[str, Any]:
    """A facet body with the base fields."""
    return {"_producer": PRODUCER, "_schemaURL": "https://example.com/facet", **fields}


def job_event(second: int, *, job: str, namespace: str = "ns", inputs=(), outputs=(), facets=None) -> dict:
    """A JobEvent (a job's declared inputs and outputs, no run)."""
    doc: dict[str, Any] = {
        "eventTime": t(second),
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
        "job": {"namespace": namespace, "name": job},
        "inputs": list(inputs),
        "outputs": list(outputs),
    }
    if facets:
        doc["job"]["facets"] = facets
    return doc


def dataset_event(second: int, name: str, namespace: str = "db", **facets: Any) -> dict:
    """A DatasetEvent carrying ``facets``."""
    return {
        "eventTime": t(second),
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": ds(name, namespace, **facets),
    }


def schema_facet(*fields: dict[str, Any]) -> dict[str, Any]:
    """A schema facet's fields argument for :func:`ds`."""
    return {"fields": list(fields)}
