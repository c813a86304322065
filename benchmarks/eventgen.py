"""Realistic OpenLineage RunEvents for the benchmarks, about 2 KB each, every one unique.

The events are modelled on the shipped example (``examples/ml_pipeline/events.jsonl``): the COMPLETE
events of the ``clean``, ``features`` and ``train`` tasks of the churn pipeline, trimmed to about 2 KB of
compact JSON. Each event carries

- a ``parent`` run facet (the pipeline run; four task runs share one parent),
- a ``sql`` job facet and a ``jobType`` job facet,
- an input dataset and an output dataset with a ``schema`` facet of 8 fields, a ``columnLineage``
  facet (1-2-0, two output fields with ``transformations``) and an ``outputStatistics`` output facet.

Every event has a fresh ``run.runId`` (UUID 4) and a strictly increasing ``eventTime``, so no two events
share an id and the store never sees a duplicate. Events are returned pre-encoded as compact UTF-8 JSON
bytes, ready to be sent without any work in the timed section.

Usage::

    python benchmarks/eventgen.py [N]     # prints N (default 3) events and the mean size
"""

from __future__ import annotations

import json
import random
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

PRODUCER = "https://github.com/threadline-dev/threadline"
SPEC = "https://openlineage.io/spec"
RUN_EVENT_SCHEMA_URL = f"{SPEC}/2-0-2/OpenLineage.json#/$defs/RunEvent"
JOB_NAMESPACE = "threadline-bench"
LAKE = "s3://acme-lake"
BASE_TIME = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)


def _facet(version: str, name: str, **fields: Any) -> dict[str, Any]:
    return {
        "_producer": PRODUCER,
        "_schemaURL": f"{SPEC}/facets/{version}/{name}.json#/$defs/{name}",
        **fields,
    }


# (task, input dataset, output dataset, SQL, 8 output fields (name, type),
#  column lineage: output field -> [(input field, transformation type, subtype, masking)])
_TEMPLATES: list[dict[str, Any]] = [
    {
        "task": "clean",
        "input": "raw/customers",
        "output": "clean/customers",
        "sql": (
            "SELECT customer_id, sha256(email) AS email_sha256, iso2(country) AS country_iso2, * "
            "FROM raw_customers"
        ),
        "fields": [
            ("customer_id", "int64"),
            ("email_sha256", "string"),
            ("country_iso2", "string"),
            ("signup_date", "date32"),
            ("plan_id", "string"),
            ("tenure_days", "int32"),
            ("last_login_at", "timestamp[us]"),
            ("status", "string"),
        ],
        "lineage": {
            "customer_id": [("customer_id", "DIRECT", "IDENTITY", False)],
            "email_sha256": [("email", "DIRECT", "TRANSFORMATION", True)],
        },
    },
    {
        "task": "features",
        "input": "clean/customers",
        "output": "features/customers",
        "sql": (
            "SELECT c.*, a.days_since_login, a.is_active FROM customers c JOIN activity a USING (customer_id)"
        ),
        "fields": [
            ("customer_id", "int64"),
            ("tenure_days", "int32"),
            ("plan_id", "string"),
            ("country_iso2", "string"),
            ("days_since_login", "int32"),
            ("monthly_charges", "double"),
            ("is_active", "bool"),
            ("churned", "bool"),
        ],
        "lineage": {
            "customer_id": [("customer_id", "DIRECT", "IDENTITY", False)],
            "days_since_login": [("last_login_at", "DIRECT", "TRANSFORMATION", False)],
        },
    },
    {
        "task": "train",
        "input": "features/customers",
        "output": "models/churn_scores",
        "sql": ("SELECT * FROM predict(churn_model, customer_features) WHERE scored_at >= :nominal_time"),
        "fields": [
            ("customer_id", "int64"),
            ("model_version", "string"),
            ("churn_score", "double"),
            ("churn_label", "bool"),
            ("top_feature", "string"),
            ("scored_at", "timestamp[us]"),
            ("threshold", "double"),
            ("segment", "string"),
        ],
        "lineage": {
            "customer_id": [("customer_id", "DIRECT", "IDENTITY", False)],
            "churn_score": [("tenure_days", "DIRECT", "AGGREGATION", False)],
        },
    },
]


def _column_lineage(template: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for output_field, inputs in template["lineage"].items():
        input_fields = []
        for field, kind, subtype, masking in inputs:
            transformation: dict[str, Any] = {"type": kind, "subtype": subtype}
            if masking:
                transformation["masking"] = True
            input_fields.append(
                {
                    "namespace": LAKE,
                    "name": template["input"],
                    "field": field,
                    "transformations": [transformation],
                }
            )
        fields[output_field] = {"inputFields": input_fields}
    return _facet("1-2-0", "ColumnLineageDatasetFacet", fields=fields)


def _event(
    rng: random.Random, template: dict[str, Any], event_time: datetime, run_id: str, parent_run_id: str
) -> dict[str, Any]:
    rows = rng.randrange(40_000, 60_000)
    return {
        "eventType": "COMPLETE",
        "eventTime": event_time.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "run": {
            "runId": run_id,
            "facets": {
                "parent": _facet(
                    "1-1-0",
                    "ParentRunFacet",
                    run={"runId": parent_run_id},
                    job={"namespace": JOB_NAMESPACE, "name": "churn_pipeline"},
                ),
            },
        },
        "job": {
            "namespace": JOB_NAMESPACE,
            "name": f"churn_pipeline.{template['task']}",
            "facets": {
                "sql": _facet("1-0-1", "SQLJobFacet", query=template["sql"]),
            },
        },
        "inputs": [{"namespace": LAKE, "name": template["input"]}],
        "outputs": [
            {
                "namespace": LAKE,
                "name": template["output"],
                "facets": {
                    "schema": _facet(
                        "1-1-1",
                        "SchemaDatasetFacet",
                        fields=[{"name": name, "type": kind} for name, kind in template["fields"]],
                    ),
                    "columnLineage": _column_lineage(template),
                },
                "outputFacets": {
                    "outputStatistics": _facet(
                        "1-0-2",
                        "OutputStatisticsOutputDatasetFacet",
                        rowCount=rows - rng.randrange(0, 300),
                        size=rows * rng.randrange(60, 80),
                    ),
                },
            }
        ],
        "producer": PRODUCER,
        "schemaURL": RUN_EVENT_SCHEMA_URL,
    }


def iter_events(count: int, *, seed: int = 1, start: int = 0) -> Iterator[bytes]:
    """``count`` unique events as compact JSON bytes; ``start`` offsets the event times (and the
    pipeline grouping) so that several calls can produce disjoint, time-ordered streams."""
    rng = random.Random(seed * 1_000_003 + start)
    parent = str(uuid.uuid4())
    for index in range(start, start + count):
        if index % 4 == 0:
            parent = str(uuid.uuid4())
        template = _TEMPLATES[index % len(_TEMPLATES)]
        event_time = BASE_TIME + timedelta(milliseconds=index)
        doc = _event(rng, template, event_time, str(uuid.uuid4()), parent)
        yield json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def generate(count: int, *, seed: int = 1, start: int = 0) -> list[bytes]:
    """A list of ``count`` unique pre-encoded events (see :func:`iter_events`)."""
    return list(iter_events(count, seed=seed, start=start))


def mean_size(events: list[bytes]) -> float:
    """The mean size of ``events`` in bytes."""
    return sum(map(len, events)) / len(events) if events else 0.0


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    events = generate(count)
    for event in events[:3]:
        print(event.decode())
    print(f"{count} events, mean size {mean_size(events):.0f} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
