"""Reading tracked runs back from the projections: parameters, metric series, inputs, outputs, code
and environment, as the ``runs``, ``snapshot``, ``restore`` and ``diff`` commands need them.

Everything comes from the projection tables (``runs``, ``jobs``, ``run_io``, ``datasets`` and the latest
value of each facet in ``facets``), never from the raw log, so these reads cost a few indexed queries.
A run's own inputs are those of its ``run_io`` rows; for a pipeline run, :func:`tree_inputs` gathers
the inputs of the whole tree of runs below it that no run of the tree wrote itself.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from threadline.errors import NotFound
from threadline.store import schema

#: Facets whose values name objects of the artifact store that runs need.
_OBJECT_FACETS = ("threadline_artifact", "threadline_snapshot", "threadline_environment", "version")


@dataclass
class RunInfo:
    """A run as the projections know it, with its run facets decoded."""

    id: str
    job_namespace: str
    job_name: str
    state: str | None
    created_at: int
    started_at: int | None
    ended_at: int | None
    parent_run_id: str | None
    facets: dict[str, Any] = field(default_factory=dict)

    @property
    def params(self) -> dict[str, Any]:
        """Parameters (``threadline_params``)."""
        return dict((self.facets.get("threadline_params") or {}).get("params") or {})

    @property
    def metrics(self) -> dict[str, list[list[Any]]]:
        """Metric series: name to ``[step, value, timestamp ms]`` points (``threadline_metrics``)."""
        return dict((self.facets.get("threadline_metrics") or {}).get("metrics") or {})

    @property
    def final_metrics(self) -> dict[str, Any]:
        """The last value of each metric series."""
        return {name: points[-1][1] for name, points in self.metrics.items() if points}

    @property
    def environment(self) -> dict[str, Any]:
        """The ``threadline_environment`` facet (Python, packages object, host, command line, git)."""
        return dict(self.facets.get("threadline_environment") or {})

    @property
    def git(self) -> dict[str, Any]:
        """Commit, branch, dirty flag and remote of the code, when it was in git."""
        return dict(self.environment.get("git") or {})

    @property
    def snapshot(self) -> list[dict[str, Any]]:
        """The objects of the run's latest snapshot (``threadline_snapshot``), if any."""
        return list((self.facets.get("threadline_snapshot") or {}).get("objects") or [])

    @property
    def error(self) -> str | None:
        """The message of the error that failed the run."""
        return (self.facets.get("errorMessage") or {}).get("message")

    @property
    def duration_micros(self) -> int | None:
        """Microseconds from START to the end state, when both are known."""
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at


@dataclass
class RunDataset:
    """An input or output of a run: its dataset, the content id the run saw, and what is known of it."""

    run_id: str
    direction: str
    dataset_id: int
    namespace: str
    name: str
    version: str | None
    facets: dict[str, Any] = field(default_factory=dict)
    io_facets: dict[str, Any] = field(default_factory=dict)

    @property
    def local_path(self) -> str | None:
        """The local path of a ``file`` dataset."""
        return self.name if self.namespace == "file" else None

    @property
    def object_id(self) -> str | None:
        """The content id the run saw (``blake3:…``), when it was hashed."""
        return self.version if self.version and self.version.startswith("blake3:") else None

    @property
    def size(self) -> int | None:
        """Bytes read or written, from the input or output statistics."""
        stats = self.io_facets.get("inputStatistics") or self.io_facets.get("outputStatistics") or {}
        return stats.get("size")

    @property
    def label(self) -> str:
        """``namespace/name`` for people, or the path of a local file."""
        return self.name if self.namespace == "file" else f"{self.namespace}/{self.name}"


def _facets_of(connection: Connection, entity_type: str, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
    """``{entity key: {facet name: value}}`` for the given entities."""
    wanted = list(keys)
    found: dict[str, dict[str, Any]] = {key: {} for key in wanted}
    facets = schema.facets
    for start in range(0, len(wanted), 400):
        rows = connection.execute(
            select(facets.c.entity_key, facets.c.name, facets.c.value).where(
                facets.c.entity_type == entity_type, facets.c.entity_key.in_(wanted[start : start + 400])
            )
        )
        for key, name, value in rows:
            try:
                found[key][name] = json.loads(value)
            except ValueError:
                continue
    return found


def _run_query():
    runs, jobs = schema.runs, schema.jobs
    return select(
        runs.c.id,
        jobs.c.namespace,
        jobs.c.display_namespace,
        jobs.c.name,
        runs.c.state,
        runs.c.created_at,
        runs.c.started_at,
        runs.c.ended_at,
        runs.c.parent_run_id,
    ).join(jobs, jobs.c.id == runs.c.job_id)


def _runs_from_rows(connection: Connection, rows: Sequence[Any]) -> list[RunInfo]:
    facets = _facets_of(connection, "run", [row.id for row in rows])
    return [
        RunInfo(
            id=row.id,
            job_namespace=row.display_namespace or row.namespace,
            job_name=row.name,
            state=row.state,
            created_at=row.created_at,
            started_at=row.started_at,
            ended_at=row.ended_at,
            parent_run_id=row.parent_run_id,
            facets=facets.get(row.id, {}),
        )
        for row in rows
    ]


def get_run(connection: Connection, run_id: str) -> RunInfo:
    """The run with this full id (resolve prefixes first with ``store.run_ids.resolve_run_id``)."""
    row = connection.execute(_run_query().where(schema.runs.c.id == run_id)).first()
    if row is None:
        msg = f"no run {run_id}; `threadline runs` lists them"
        raise NotFound(msg)
    return _runs_from_rows(connection, [row])[0]


def list_runs(
    connection: Connection, *, job_ids: Collection[int] | None = None, limit: int = 20
) -> list[RunInfo]:
    """The newest runs (that have events), optionally only those of the jobs ``job_ids`` (a pipeline's:
    ``projection.readers.pipelines.pipeline_job_ids``)."""
    runs = schema.runs
    query = _run_query().where(runs.c.has_events.is_(True))
    if job_ids is not None:
        query = query.where(runs.c.job_id.in_(list(job_ids)))
    query = query.order_by(runs.c.created_at.desc(), runs.c.id).limit(limit)
    return _runs_from_rows(connection, connection.execute(query).all())


def descendants(connection: Connection, run_id: str) -> list[str]:
    """Every run below ``run_id`` (children, their children, …), breadth first."""
    runs = schema.runs
    found: list[str] = []
    frontier = [run_id]
    seen = {run_id}
    while frontier:
        children = connection.scalars(select(runs.c.id).where(runs.c.parent_run_id.in_(frontier))).all()
        frontier = [child for child in children if child not in seen]
        seen.update(frontier)
        found.extend(frontier)
    return found


def run_datasets(
    connection: Connection, run_ids: Iterable[str], direction: str | None = None
) -> list[RunDataset]:
    """The inputs and outputs (or only ``direction``: ``in`` or ``out``) of the given runs."""
    ids = list(run_ids)
    run_io, datasets = schema.run_io, schema.datasets
    query = (
        select(
            run_io.c.run_id,
            run_io.c.direction,
            run_io.c.dataset_id,
            run_io.c.version,
            datasets.c.namespace,
            datasets.c.display_namespace,
            datasets.c.name,
        )
        .join(datasets, datasets.c.id == run_io.c.dataset_id)
        .where(run_io.c.run_id.in_(ids))
        .order_by(run_io.c.run_id, run_io.c.direction, datasets.c.name)
    )
    if direction is not None:
        query = query.where(run_io.c.direction == direction)
    rows = connection.execute(query).all()
    dataset_facets = _facets_of(connection, "dataset", {str(row.dataset_id) for row in rows})
    io_keys = {f"{row.run_id}/{row.dataset_id}": row for row in rows}
    inputs = _facets_of(connection, "input", [k for k, r in io_keys.items() if r.direction == "in"])
    outputs = _facets_of(connection, "output", [k for k, r in io_keys.items() if r.direction == "out"])
    result = []
    for row in rows:
        key = f"{row.run_id}/{row.dataset_id}"
        result.append(
            RunDataset(
                run_id=row.run_id,
                direction=row.direction,
                dataset_id=row.dataset_id,
                namespace=row.display_namespace or row.namespace,
                name=row.name,
                version=row.version,
                facets=dataset_facets.get(str(row.dataset_id), {}),
                io_facets=(inputs if row.direction == "in" else outputs).get(key, {}),
            )
        )
    return result


def tree_inputs(connection: Connection, run_id: str) -> list[RunDataset]:
    """The inputs a run (with every run below it) read that no run of that tree wrote itself.

    For a step, its own inputs; for a pipeline run, the data that came from outside the pipeline:
    what restoring it needs to re-run the whole pipeline. One entry per dataset and content id.
    """
    tree = [run_id, *descendants(connection, run_id)]
    entries = run_datasets(connection, tree)
    written = {(e.dataset_id, e.version) for e in entries if e.direction == "out"}
    chosen: dict[tuple[int, str | None], RunDataset] = {}
    for entry in entries:
        if entry.direction != "in" or (entry.dataset_id, entry.version) in written:
            continue
        chosen.setdefault((entry.dataset_id, entry.version), entry)
    return sorted(chosen.values(), key=lambda e: (e.namespace, e.name, e.version or ""))


def tree_runs(connection: Connection, run_id: str) -> list[RunInfo]:
    """The run and every run below it."""
    ids = [run_id, *descendants(connection, run_id)]
    rows = connection.execute(_run_query().where(schema.runs.c.id.in_(ids))).all()
    found = {info.id: info for info in _runs_from_rows(connection, rows)}
    return [found[i] for i in ids if i in found]


def referenced_objects(connection: Connection) -> set[str]:
    """Every object id that runs in the store refer to: content ids of dataset versions and run inputs
    and outputs, ``threadline_artifact`` hashes, snapshot objects and package lists."""
    ids: set[str] = set()
    for column in (schema.dataset_versions.c.version, schema.run_io.c.version):
        ids.update(
            value for value in connection.scalars(select(column).where(column.like("blake3:%"))) if value
        )
    facets = schema.facets
    rows = connection.execute(select(facets.c.name, facets.c.value).where(facets.c.name.in_(_OBJECT_FACETS)))
    for name, value in rows:
        try:
            data = json.loads(value)
        except ValueError:
            continue
        if name == "threadline_artifact":
            ids.add(str(data.get("hash", "")))
        elif name == "version":
            ids.add(str(data.get("datasetVersion", "")))
        elif name == "threadline_environment":
            ids.add(str(data.get("packages_object") or ""))
        elif name == "threadline_snapshot":
            ids.update(
                str(item.get("object", "")) for item in data.get("objects") or () if isinstance(item, dict)
            )
    return {value for value in ids if value.startswith("blake3:")}
