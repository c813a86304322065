"""What the user's thread hands to the background thread: plain records, cheap to make.

The user's thread never builds OpenLineage objects: it fills these records (copies of what it holds)
and queues them; the background thread turns them into events (``events.build_event``).
"""

from __future__ import annotations

import json
import os
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from threadline.tracking.content import DatasetRef

#: The environment variable that hands a run's identity to the processes it starts (spawn, subprocess).
PARENT_ENV = "THREADLINE_PARENT"


@dataclass(frozen=True, slots=True)
class RunRef:
    """A run by id and job: what a ``parent`` facet names."""

    run_id: str
    namespace: str
    name: str
    pipeline: str | None = None

    def to_env(self, root: RunRef | None) -> str:
        """This run (and its root) as the value of :data:`PARENT_ENV`."""
        data: dict[str, Any] = {"run": self.run_id, "namespace": self.namespace, "job": self.name}
        if self.pipeline:
            data["pipeline"] = self.pipeline
        if root is not None and root.run_id != self.run_id:
            data["root"] = {"run": root.run_id, "namespace": root.namespace, "job": root.name}
        return json.dumps(data, separators=(",", ":"))

    @staticmethod
    def from_env() -> tuple[RunRef, RunRef | None] | None:
        """The parent run (and root) that the process that started this one handed down, if any."""
        raw = os.environ.get(PARENT_ENV)
        if not raw:
            return None
        try:
            data = json.loads(raw)
            parent = RunRef(str(data["run"]), str(data["namespace"]), str(data["job"]), data.get("pipeline"))
            root_data = data.get("root")
            root = (
                RunRef(str(root_data["run"]), str(root_data["namespace"]), str(root_data["job"]))
                if isinstance(root_data, dict)
                else None
            )
        except (ValueError, KeyError, TypeError):
            return None
        return parent, root


@dataclass(slots=True)
class EventRecord:
    """One event to build: a run's state at a moment."""

    event_type: str
    time: float
    run: RunRef
    parent: RunRef | None = None
    root: RunRef | None = None
    job_type: str = "JOB"
    description: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    #: Metric name to ``(step, value, time in seconds)`` points.
    metrics: dict[str, list[tuple[int, float, float]]] = field(default_factory=dict)
    metrics_complete: bool = True
    inputs: list[DatasetRef] = field(default_factory=list)
    outputs: list[DatasetRef] = field(default_factory=list)
    #: ``(message, stack trace)`` of the exception that ended the run.
    error: tuple[str, str] | None = None
    #: Objects of a snapshot (``threadline_snapshot`` facet), for OTHER events.
    snapshot: list[dict[str, Any]] | None = None
    with_environment: bool = True


def error_of(exc: BaseException) -> tuple[str, str]:
    """``(message, stack trace)`` of an exception, for the ``errorMessage`` facet."""
    message = f"{exc.__class__.__name__}: {exc}" if str(exc) else exc.__class__.__name__
    return message, "".join(traceback.format_exception(exc))
