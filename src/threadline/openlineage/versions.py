"""OpenLineage spec versions and the event kinds they define."""

from __future__ import annotations

import re

#: Every published version of the core spec that threadline accepts.
SPEC_VERSIONS: tuple[str, ...] = (
    "1-0-0",
    "1-0-1",
    "1-0-2",
    "1-0-3",
    "1-0-4",
    "1-0-5",
    "2-0-0",
    "2-0-1",
    "2-0-2",
)
RUN_EVENT, DATASET_EVENT, JOB_EVENT = "RunEvent", "DatasetEvent", "JobEvent"
EVENT_TYPES = ("START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER")
TERMINAL_TYPES = frozenset({"COMPLETE", "ABORT", "FAIL"})

_SPEC_URL = re.compile(r"/spec/(\d+-\d+-\d+)/OpenLineage\.json(?:#/(?:\$defs|definitions)/(\w+))?")


def parse_schema_url(url: str | None) -> tuple[str | None, str | None]:
    """Return ``(version, kind)`` from an event's ``schemaURL``; either may be ``None`` when absent."""
    if not url:
        return None, None
    match = _SPEC_URL.search(url)
    if match is None:
        return None, None
    return match.group(1), match.group(2)
