"""Job versions: a UUID for each shape a job ran with, as Marquez gives each job version one.

Marquez makes a new job version whenever a job's inputs, outputs or source code location change. The
projections keep no job versions, so threadline derives them: a run's job version is

    uuid5(JOB_VERSION_NAMESPACE, canonical JSON of
          [canonical job namespace, job name, sorted input dataset ids, sorted output dataset ids, location])

where the dataset ids are the projection's 64-bit ids (derived from canonical dataset names) and the
location is the URL of the job's ``sourceCodeLocation`` facet (empty without one). The same shape
always gives the same version, on every site and backend. The projections keep only a job's latest
facets, so the location used is the job's current one for all its runs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from threadline.openlineage.canonical import canonical_json
from threadline.openlineage.naming import normalize_namespace

JOB_VERSION_NAMESPACE = uuid.UUID("3f0b6a52-8d1e-4c47-9a1e-7c2d5b9e4f10")


def job_version(
    namespace: str, name: str, inputs: Iterable[int], outputs: Iterable[int], location: str | None
) -> str:
    """The version UUID of job ``namespace``/``name`` running with these inputs, outputs and code."""
    key = [normalize_namespace(namespace), name, sorted(set(inputs)), sorted(set(outputs)), location or ""]
    return str(uuid.uuid5(JOB_VERSION_NAMESPACE, canonical_json(key).decode()))


def location_of(facets: dict[str, Any]) -> str | None:
    """The source code URL of a job's ``sourceCodeLocation`` facet, if it has one."""
    facet = facets.get("sourceCodeLocation")
    url = facet.get("url") if isinstance(facet, dict) else None
    return url if isinstance(url, str) and url else None
