"""Jobs: their current inputs and outputs, latest runs, versions and facets.

A job's *current* inputs and outputs are those of its current run (``jobs.current_run_id``: its latest
completed run, else its latest run); a job that never ran (only JobEvents) has those of ``job_io``.
The rule is the lineage graph's (:mod:`threadline.graph.edges`); :func:`current_io` reads it through
the same read (:meth:`~threadline.store.lineage_reads.LineageReads.current_edges_of`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import Connection, Row, func, select

from threadline.errors import NotFound
from threadline.projection.readers.common import (
    CATALOG_NAMESPACE,
    Page,
    check_page,
    get_namespace,
    load_facets,
)
from threadline.projection.readers.datasets import dataset_refs, owners_of
from threadline.projection.readers.runs import Run, load_runs
from threadline.projection.readers.tags import Tag, TagOverlay, load_overlays, parse_tags
from threadline.projection.readers.versions import job_version, location_of
from threadline.store import schema
from threadline.store.ids import job_id
from threadline.store.lineage_sql import lineage_reads
from threadline.store.lookups import batches, sql_text

#: How many recent runs a job listing carries per job (Marquez's ``latestRuns``).
LATEST_RUNS = 10
#: Jobs per statement of :func:`_latest_run_ids` (one ``LIMIT``-ed select each).
_JOBS_PER_STATEMENT = 100

_COLUMNS = (
    schema.jobs.c.id,
    schema.jobs.c.namespace,
    schema.jobs.c.display_namespace,
    schema.jobs.c.name,
    schema.jobs.c.created_at,
    schema.jobs.c.updated_at,
    schema.jobs.c.parent_job_id,
    schema.jobs.c.current_run_id,
)


class JobIO(NamedTuple):
    """A job's current input and output dataset ids, each sorted."""

    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


def current_io(connection: Connection, job_ids: Iterable[int]) -> dict[int, JobIO]:
    """The current inputs and outputs (dataset ids) of each job of ``job_ids`` that exists: the edges
    the lineage graph shows for it (see :mod:`threadline.graph.edges`), each side sorted."""
    found: dict[int, JobIO] = {}
    for jid, edges in lineage_reads(connection).current_edges_of(sorted(set(job_ids))).items():
        inputs = tuple(sorted(dataset for dataset, direction in edges if direction == "in"))
        outputs = tuple(sorted(dataset for dataset, direction in edges if direction == "out"))
        found[jid] = JobIO(inputs, outputs)
    return found


@dataclass(slots=True)
class DatasetRef:
    """A dataset named by its shown namespace and name."""

    id: int
    namespace: str
    name: str


@dataclass(slots=True)
class Job:
    """A job as the projections know it now."""

    id: int
    namespace: str  # the spelling seen first
    canonical_namespace: str
    name: str
    created_at: int
    updated_at: int
    parent: tuple[str, str] | None  # (namespace, name) of the parent job
    current_run_id: str | None
    facets: dict[str, Any]
    inputs: list[DatasetRef]
    outputs: list[DatasetRef]
    current_version: str
    latest_runs: list[Run] = field(default_factory=list)
    #: The tag changes made through the API, laid over the ``tags`` facet.
    tag_overlay: TagOverlay | None = None

    @property
    def latest_run(self) -> Run | None:
        """The newest run."""
        return self.latest_runs[0] if self.latest_runs else None

    @property
    def type(self) -> str:
        """Marquez's job type: STREAM for a streaming job (``jobType`` facet), else BATCH."""
        facet = self.facets.get("jobType")
        kind = facet.get("processingType") if isinstance(facet, dict) else None
        return "STREAM" if isinstance(kind, str) and kind.upper().startswith("STREAM") else "BATCH"

    @property
    def description(self) -> str | None:
        """From the ``documentation`` facet."""
        facet = self.facets.get("documentation")
        value = facet.get("description") if isinstance(facet, dict) else None
        return value if isinstance(value, str) else None

    @property
    def location(self) -> str | None:
        """The ``sourceCodeLocation`` facet's URL."""
        return location_of(self.facets)

    @property
    def tags(self) -> list[Tag]:
        """From the ``tags`` facet, with the changes made through the API."""
        tags = parse_tags(self.facets.get("tags"))
        return self.tag_overlay.apply(tags) if self.tag_overlay is not None else tags

    @property
    def owners(self) -> list[dict[str, Any]]:
        """From the ``ownership`` facet."""
        return owners_of(self.facets)

    @property
    def simple_name(self) -> str:
        """The name without its parent's prefix (``dag.task`` under ``dag`` is ``task``)."""
        if self.parent is not None and self.name.startswith(self.parent[1] + "."):
            return self.name[len(self.parent[1]) + 1 :]
        return self.name


def _job_row(connection: Connection, namespace: str, name: str) -> Row[*tuple[Any, ...]]:
    row = connection.execute(select(*_COLUMNS).where(schema.jobs.c.id == job_id(namespace, name))).first()
    if row is None:
        get_namespace(connection, namespace)  # an unknown namespace is the clearer message
        msg = f"no job {name!r} in namespace {namespace!r}"
        raise NotFound(msg)
    return row


def get_job(connection: Connection, namespace: str, name: str) -> Job:
    """Job ``namespace``/``name`` (any spelling of the namespace); :class:`NotFound` if unknown."""
    return load_jobs(connection, [_job_row(connection, namespace, name)])[0]


def list_jobs(
    connection: Connection, namespace: str | None = None, *, limit: int = 100, offset: int = 0
) -> Page[Job]:
    """Jobs of a namespace (any spelling; all namespaces when ``None``), sorted by name."""
    check_page(limit, offset)
    jobs = schema.jobs
    order: tuple[Any, ...]
    if namespace is not None:
        where = jobs.c.namespace == get_namespace(connection, namespace).name
        order = (jobs.c.name,)
    else:
        where = jobs.c.namespace != CATALOG_NAMESPACE
        order = (jobs.c.namespace, jobs.c.name)
    rows = connection.execute(
        select(*_COLUMNS).where(where).order_by(*order).limit(limit).offset(offset)
    ).all()
    total = connection.scalar(select(func.count()).select_from(jobs).where(where)) or 0
    return Page(load_jobs(connection, rows), total)


def _latest_run_ids(connection: Connection, ids: Sequence[int], count: int) -> dict[int, list[str]]:
    """The ``count`` newest runs of each job, newest first: one statement per 100 jobs, a ``UNION ALL``
    of one ``LIMIT``-ed select per job, each served by the (job, time) index however many runs the job
    has. (Written as SQL text: SQLAlchemy would compile a 100-part union anew for every page size.)"""
    found: dict[int, list[str]] = {}
    for part in batches(ids, _JOBS_PER_STATEMENT):
        template = " UNION ALL ".join(
            "SELECT * FROM (SELECT job_id, id, created_at FROM {runs} WHERE job_id = {p} "
            f"ORDER BY created_at DESC, id DESC LIMIT {int(count)}) AS r{i}"
            for i in range(len(part))
        )
        sql = sql_text(connection, template)
        rows = sorted(connection.exec_driver_sql(sql, tuple(part)), key=lambda r: (r[0], -r[2], r[1]))
        newest: dict[int, list[tuple[int, str]]] = {}
        for jid, run_id, created in rows:
            newest.setdefault(jid, []).append((created, run_id))
        for jid, entries in newest.items():
            found[jid] = [run_id for _, run_id in sorted(entries, reverse=True)]
    return found


def load_jobs(
    connection: Connection, rows: Sequence[Row[*tuple[Any, ...]]], *, latest: int = LATEST_RUNS
) -> list[Job]:
    """Jobs from their projected rows, with facets, current inputs and outputs and latest runs."""
    if not rows:
        return []
    ids = [row.id for row in rows]
    facets = load_facets(connection, "job", [str(i) for i in ids])
    overlays = load_overlays(connection, "job", [str(i) for i in ids])
    io = current_io(connection, ids)
    refs = dataset_refs(connection, [d for pair in io.values() for side in pair for d in side])
    parents = {row.parent_job_id for row in rows if row.parent_job_id is not None}
    parent_names = _job_names(connection, parents)
    latest_ids = _latest_run_ids(connection, ids, latest) if latest else {}
    runs = {run.id: run for run in load_runs(connection, [r for rs in latest_ids.values() for r in rs])}
    result = []
    for row in rows:
        own = facets.get(str(row.id), {})
        ins, outs = io.get(row.id, JobIO((), ()))
        result.append(
            Job(
                id=row.id,
                namespace=row.display_namespace or row.namespace,
                canonical_namespace=row.namespace,
                name=row.name,
                created_at=row.created_at,
                updated_at=row.updated_at,
                parent=parent_names.get(row.parent_job_id) if row.parent_job_id is not None else None,
                current_run_id=row.current_run_id,
                facets=own,
                inputs=_refs(ins, refs),
                outputs=_refs(outs, refs),
                current_version=job_version(row.namespace, row.name, ins, outs, location_of(own)),
                latest_runs=[runs[r] for r in latest_ids.get(row.id, []) if r in runs],
                tag_overlay=overlays.get(str(row.id)),
            )
        )
    return result


def jobs_by_id(connection: Connection, ids: Sequence[int], *, latest: int = LATEST_RUNS) -> list[Job]:
    """The jobs with these ids (unknown ids are skipped), as :func:`load_jobs` reads them."""
    rows: list[Any] = []
    for part in batches(ids):
        rows += connection.execute(select(*_COLUMNS).where(schema.jobs.c.id.in_(part))).all()
    return load_jobs(connection, rows, latest=latest)


def child_jobs(connection: Connection, job_id: int) -> list[tuple[str, str]]:
    """The jobs right under a job (a pipeline's steps): ``(namespace as first spelled, name)``, by name."""
    jobs = schema.jobs
    rows = connection.execute(
        select(func.coalesce(jobs.c.display_namespace, jobs.c.namespace), jobs.c.name)
        .where(jobs.c.parent_job_id == job_id)
        .order_by(jobs.c.name)
    )
    return [(namespace, name) for namespace, name in rows]


def _refs(ids: Iterable[int], names: dict[int, tuple[str, str]]) -> list[DatasetRef]:
    """Datasets by id as references, sorted by namespace and name."""
    return sorted(
        (DatasetRef(d, *names[d]) for d in ids if d in names), key=lambda ref: (ref.namespace, ref.name)
    )


def _job_names(connection: Connection, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    jobs = schema.jobs
    found: dict[int, tuple[str, str]] = {}
    for part in batches(sorted(set(ids))):
        rows = connection.execute(
            select(jobs.c.id, jobs.c.namespace, jobs.c.display_namespace, jobs.c.name).where(
                jobs.c.id.in_(part)
            )
        )
        found.update({r.id: (r.display_namespace or r.namespace, r.name) for r in rows})
    return found


def list_job_runs(
    connection: Connection, namespace: str, name: str, *, limit: int = 100, offset: int = 0
) -> Page[Run]:
    """Runs of a job, newest first (by creation time, then id)."""
    check_page(limit, offset)
    row = _job_row(connection, namespace, name)
    runs = schema.runs
    where = runs.c.job_id == row.id
    ids = connection.scalars(
        select(runs.c.id)
        .where(where)
        .order_by(runs.c.created_at.desc(), runs.c.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    total = connection.scalar(select(func.count()).select_from(runs).where(where)) or 0
    return Page(load_runs(connection, ids), total)


# ---- versions -------------------------------------------------------------------------------------


@dataclass(slots=True)
class JobVersion:
    """One shape a job ran with (see :mod:`threadline.projection.readers.versions`) and its runs."""

    namespace: str
    name: str
    version: str
    created_at: int  # its first run's creation
    updated_at: int  # its latest run's last update
    inputs: list[DatasetRef]
    outputs: list[DatasetRef]
    location: str | None
    facets: dict[str, Any]
    run_count: int
    latest_run: Run | None


def _versions(connection: Connection, namespace: str, name: str) -> tuple[Job, list[dict[str, Any]]]:
    """Every version of a job, newest first, as plain data (its runs are grouped in Python: the
    projections keep no job versions, see the report in ``catalog/versions.py``)."""
    job = get_job(connection, namespace, name)
    runs, io = schema.runs, schema.run_io
    rows = connection.execute(
        select(runs.c.id, runs.c.created_at, runs.c.updated_at, io.c.dataset_id, io.c.direction)
        .outerjoin(io, io.c.run_id == runs.c.id)
        .where(runs.c.job_id == job.id)
    )
    shapes: dict[str, dict[str, Any]] = {}
    for run_id, created, updated, dataset, direction in rows:
        shape = shapes.setdefault(run_id, {"created": created, "updated": updated, "in": set(), "out": set()})
        if dataset is not None:
            shape[direction].add(dataset)
    location = job.location
    versions: dict[str, dict[str, Any]] = {}
    for run_id, shape in shapes.items():
        version = job_version(job.canonical_namespace, job.name, shape["in"], shape["out"], location)
        entry = versions.get(version)
        if entry is None:
            versions[version] = entry = {
                "version": version,
                "created": shape["created"],
                "updated": shape["updated"],
                "in": sorted(shape["in"]),
                "out": sorted(shape["out"]),
                "runs": 0,
                "latest": (shape["created"], run_id),
            }
        entry["runs"] += 1
        entry["created"] = min(entry["created"], shape["created"])
        entry["updated"] = max(entry["updated"], shape["updated"])
        entry["latest"] = max(entry["latest"], (shape["created"], run_id))
    if not versions:  # a job that never ran has one version: its declared inputs and outputs
        version = job_version(
            job.canonical_namespace,
            job.name,
            [d.id for d in job.inputs],
            [d.id for d in job.outputs],
            location,
        )
        versions[version] = {
            "version": version,
            "created": job.created_at,
            "updated": job.updated_at,
            "in": [d.id for d in job.inputs],
            "out": [d.id for d in job.outputs],
            "runs": 0,
            "latest": None,
        }
    ordered = sorted(versions.values(), key=lambda v: (v["created"], v["version"]), reverse=True)
    return job, ordered


def _job_versions(connection: Connection, job: Job, entries: list[dict[str, Any]]) -> list[JobVersion]:
    refs = dataset_refs(connection, [d for e in entries for d in (*e["in"], *e["out"])])
    runs = {run.id: run for run in load_runs(connection, [e["latest"][1] for e in entries if e["latest"]])}
    return [
        JobVersion(
            namespace=job.namespace,
            name=job.name,
            version=e["version"],
            created_at=e["created"],
            updated_at=e["updated"],
            inputs=_refs(e["in"], refs),
            outputs=_refs(e["out"], refs),
            location=job.location,
            facets=job.facets,
            run_count=e["runs"],
            latest_run=runs.get(e["latest"][1]) if e["latest"] else None,
        )
        for e in entries
    ]


def list_job_versions(
    connection: Connection, namespace: str, name: str, *, limit: int = 100, offset: int = 0
) -> Page[JobVersion]:
    """Versions of a job, newest first (by their first run, then version)."""
    check_page(limit, offset)
    job, entries = _versions(connection, namespace, name)
    return Page(_job_versions(connection, job, entries[offset : offset + limit]), len(entries))


def get_job_version(connection: Connection, namespace: str, name: str, version: str) -> JobVersion:
    """One version of a job; :class:`NotFound` when the job never ran with that version."""
    job, entries = _versions(connection, namespace, name)
    chosen = [e for e in entries if e["version"] == version.lower()]
    if not chosen:
        msg = f"job {name!r} in namespace {namespace!r} has no version {version!r}"
        raise NotFound(msg)
    return _job_versions(connection, job, chosen)[0]
