"""Pipelines: a job and every job under it, whoever produced them.

A *pipeline* is a job whose runs have child runs: the children's events name the pipeline's run in the
OpenLineage ``parent`` facet, and the projections record each child job's parent job
(``jobs.parent_job_id``). An Airflow DAG is one (its tasks are under it), a dbt invocation is one (its
models), and so is what the threadline SDK records for ``pipeline="etl"``: a run of the job ``etl``
with the step runs (jobs ``etl.STEP``) as its children (see ``tracking/run.py``).

So the pipeline named ``P`` is the jobs named ``P`` (in any namespace, unless one is given) and every
job below them, at any depth; its runs are the runs of those jobs. ``threadline runs --pipeline``,
``threadline pull --pipeline``, the ``pipeline`` filter of ``GET /api/v1/ui/runs`` and of the sync API
all select with :func:`pipeline_job_ids`.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from threadline.errors import NotFound
from threadline.openlineage.naming import normalize_namespace
from threadline.store import schema
from threadline.store.lookups import batches

#: What to do when no job has the name given, where the store is this one.
LIST_JOBS = "`threadline jobs` lists the jobs"


def pipeline_job_ids(
    connection: Connection, name: str, namespace: str | None = None, *, hint: str = LIST_JOBS
) -> list[int]:
    """The ids of the jobs of pipeline ``name``: the jobs so named (in ``namespace``, any spelling, or
    in any namespace) and every job under them, sorted.

    Raises :class:`NotFound` when no job has that name (its message ends with ``hint``).
    """
    jobs = schema.jobs
    where = [jobs.c.name == name]
    if namespace is not None:
        where.append(jobs.c.namespace == normalize_namespace(namespace))
    found = set(connection.scalars(select(jobs.c.id).where(*where)))
    if not found:
        where_text = f" in namespace {namespace!r}" if namespace is not None else ""
        msg = f"no pipeline {name!r}: no job{where_text} has that name; {hint}"
        raise NotFound(msg)
    frontier = sorted(found)
    while frontier:
        children: set[int] = set()
        for part in batches(frontier):
            children.update(connection.scalars(select(jobs.c.id).where(jobs.c.parent_job_id.in_(part))))
        frontier = sorted(children - found)
        found |= children
    return sorted(found)
