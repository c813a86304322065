"""Small builders of OpenLineage events for the server tests."""

from __future__ import annotations

import json
import uuid

PRODUCER = "https://example.com/threadline-tests"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"


def make_event(
    *,
    event_time: str = "2024-05-01T12:00:00Z",
    job: str = "job",
    namespace: str = "tests",
    run_id: str | None = None,
    event_type: str = "COMPLETE",
    **extra: object,
) -> bytes:
    """A minimal valid RunEvent as JSON bytes; every call gets a fresh runId unless one is given."""
    doc = {
        "eventType": event_type,
        "eventTime": event_time,
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
        "run": {"runId": run_id or str(uuid.uuid4())},
        "job": {"namespace": namespace, "name": job},
        "inputs": [],
        "outputs": [],
        **extra,
    }
    return json.dumps(doc).encode()


JSON = {"Content-Type": "application/json"}
