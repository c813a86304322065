"""threadline's custom OpenLineage facets, as ``openlineage-python`` facet classes.

Each facet's ``_schemaURL`` names a JSON Schema shipped in this package, under
``threadline/tracking/schemas/<version>/<Facet>.json``; a test checks that every URL points at a file
that exists and that the facets the SDK writes validate against it. The standard facets (``parent``,
``errorMessage``, ``schema``, ``version``, …) come from ``openlineage.client.facet_v2`` unchanged.

This module imports ``openlineage-python``, which takes a few hundred milliseconds: only the
background thread that builds events imports it, never ``import threadline``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attr
from openlineage.client.generated.base import DatasetFacet, RunFacet

from threadline import __version__

#: The ``producer`` of every event the SDK writes, and the ``_producer`` of every facet.
PRODUCER = f"https://github.com/threadline-dev/threadline/tree/v{__version__}/src/threadline/tracking"
#: Where the facet schemas are published: the package folder ``schemas`` in the source repository.
SCHEMA_BASE_URL = "https://github.com/threadline-dev/threadline/blob/main/src/threadline/tracking/schemas/"
#: The version of threadline's facet schemas (bumped when a facet changes shape).
FACET_VERSION = "1-0-0"
#: The folder the schemas ship in.
SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"


def schema_url(facet_class: str) -> str:
    """The ``_schemaURL`` of a threadline facet: its schema file and the definition within it."""
    return f"{SCHEMA_BASE_URL}{FACET_VERSION}/{facet_class}.json#/$defs/{facet_class}"


def schema_path(url: str) -> Path:
    """The shipped file a threadline ``_schemaURL`` points at (it may not exist if the URL is foreign)."""
    relative = url.split("#", 1)[0].removeprefix(SCHEMA_BASE_URL)
    return SCHEMA_DIR / relative


@attr.define
class ThreadlineParamsRunFacet(RunFacet):
    """The parameters a run was given: name to value (strings, numbers, booleans, lists, objects)."""

    params: dict[str, Any] = attr.field(factory=dict)

    @staticmethod
    def _get_schema() -> str:
        return schema_url("ThreadlineParamsRunFacet")


@attr.define
class ThreadlineMetricsRunFacet(RunFacet):
    """Metric series: per metric a list of ``[step, value, timestamp in ms]``.

    ``complete`` is true when the lists hold every point of the run (COMPLETE and FAIL events), false
    in a RUNNING event, which carries only the points logged since the run's previous event. Values
    that JSON cannot hold are written as the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``.
    """

    metrics: dict[str, list[list[Any]]] = attr.field(factory=dict)
    complete: bool = attr.field(default=True)

    @staticmethod
    def _get_schema() -> str:
        return schema_url("ThreadlineMetricsRunFacet")


@attr.define
class ThreadlineEnvironmentRunFacet(RunFacet):
    """Where and how a run ran: Python, installed packages (by hash), host, command line, git."""

    python: str
    implementation: str
    platform: str
    host: str
    command_line: str
    packages_object: str | None = attr.field(default=None)
    packages_count: int | None = attr.field(default=None)
    user: str | None = attr.field(default=None)
    cwd: str | None = attr.field(default=None)
    pid: int | None = attr.field(default=None)
    git: dict[str, Any] | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return schema_url("ThreadlineEnvironmentRunFacet")


@attr.define
class ThreadlineArtifactDatasetFacet(DatasetFacet):
    """The content of a file or folder as a run saw it: its object id, size and kind."""

    hash: str
    size: int
    kind: str
    stored: bool
    path: str | None = attr.field(default=None)
    files: int | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return schema_url("ThreadlineArtifactDatasetFacet")


@attr.define
class ThreadlineSnapshotRunFacet(RunFacet):
    """A snapshot of a run's inputs: each input's dataset and the stored object that restores it."""

    objects: list[dict[str, Any]] = attr.field(factory=list)
    taken_at: str | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return schema_url("ThreadlineSnapshotRunFacet")


#: Every custom facet: the key it is sent under, where it sits, and its class.
CUSTOM_FACETS: dict[str, tuple[str, type[Any]]] = {
    "threadline_params": ("run", ThreadlineParamsRunFacet),
    "threadline_metrics": ("run", ThreadlineMetricsRunFacet),
    "threadline_environment": ("run", ThreadlineEnvironmentRunFacet),
    "threadline_snapshot": ("run", ThreadlineSnapshotRunFacet),
    "threadline_artifact": ("dataset", ThreadlineArtifactDatasetFacet),
}
