"""Incremental cursors, kept in threadline's store: the ``promote`` run of a pipeline records, as its
parameter ``cursors``, the largest cursor value of each table it promoted; the next run of the same
environment reads them back from the newest completed ``promote`` run. A run that was blocked promoted
nothing and moves no cursor, so its rows are extracted again (and merged once) by the next run.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from threadline.errors import StoreNotFound
from threadline.openlineage.naming import normalize_namespace
from threadline.projection.readers.runs import newest_runs
from threadline.store import schema
from threadline.tracking.tracker import get_tracker
from threadline.vocabulary import RunState

#: Newest promote runs looked at for the environment's last cursors.
LOOK_BACK = 500


def promote_job(pipeline: str) -> str:
    """The job name of a pipeline's promote stage."""
    return f"{pipeline}.promote"


def last_cursors(pipeline: str, env: str) -> dict[str, Any]:
    """Each table's cursor as the newest completed promotion of ``env`` left it (empty when none, or
    when runs go to a server rather than the project's own store, which this process cannot read)."""
    from threadline.store.sql import open_store

    tracker = get_tracker()
    config = tracker.config
    if tracker.disabled or config is None or config.transport != "embedded":
        return {}
    tracker.flush()
    try:
        store = open_store(config.store_url, create=False)
    except StoreNotFound:
        return {}
    try:
        with store.read() as connection:
            job_ids = list(
                connection.scalars(
                    select(schema.jobs.c.id).where(
                        schema.jobs.c.name == promote_job(pipeline),
                        schema.jobs.c.namespace == normalize_namespace(config.namespace),
                    )
                )
            )
            if not job_ids:
                return {}
            for info in newest_runs(connection, job_ids=job_ids, limit=LOOK_BACK):
                if RunState.of(info.state) == RunState.COMPLETED and info.params.get("env") == env:
                    cursors = info.params.get("cursors")
                    return dict(cursors) if isinstance(cursors, dict) else {}
    finally:
        store.close()
    return {}
