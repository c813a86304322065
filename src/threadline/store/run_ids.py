"""Run ids as people read and type them: the shortest unique prefix of each, and any unique prefix
(or whole id, or ``run:<id>``) back to the run.

UUIDv7 run ids (the OpenLineage client's, and many producers') begin with a timestamp: runs made within
a minute of each other share their first 8 digits, so a fixed-length prefix does not tell them apart.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, select

from threadline.errors import AmbiguousRunId, BadRequest, NotFound
from threadline.store import schema
from threadline.store.lookups import batches, sql_text
from threadline.vocabulary import people_time, short_id_length

#: Shorter prefixes would match too much to be useful (git asks for 4 as well).
MIN_PREFIX = 4
#: How many runs an ambiguous prefix's message names.
AMBIGUOUS_SHOWN = 5
#: Ids per statement of :func:`short_run_ids`.
_PER_STATEMENT = 100
#: A run id with the ids just before and after it: one part of :func:`short_run_ids`'s statements.
_NEIGHBOURS = (
    "SELECT CAST({p} AS VARCHAR(36)), "
    "(SELECT id FROM {runs} WHERE id < {p} ORDER BY id DESC LIMIT 1), "
    "(SELECT id FROM {runs} WHERE id > {p} ORDER BY id LIMIT 1)"
)


def resolve_run_id(connection: Connection, text: str) -> str:
    """The full id of the run named by ``text``: its id, a unique prefix of it, or ``run:<id>``.

    Raises :class:`NotFound` when no run matches and :class:`AmbiguousRunId` when several do (naming them,
    with their jobs and times) or the prefix is too short.
    """
    wanted = text.strip().lower().removeprefix("run:")
    runs = schema.runs
    if len(wanted) == 36 and connection.scalar(select(runs.c.id).where(runs.c.id == wanted)):
        return wanted
    if len(wanted) < MIN_PREFIX:
        msg = f"run id {text!r} is too short: give at least {MIN_PREFIX} characters of it"
        raise BadRequest(msg)
    matches = connection.scalars(
        select(runs.c.id)
        .where(runs.c.id >= wanted, runs.c.id < wanted + "\uffff")
        .order_by(runs.c.id)
        .limit(AMBIGUOUS_SHOWN + 1)
    ).all()
    if not matches:
        msg = f"no run with an id starting {wanted!r}; `threadline runs` lists them"
        raise NotFound(msg)
    if len(matches) > 1:
        raise AmbiguousRunId(_ambiguous(connection, wanted, list(matches)))
    return matches[0]


def _ambiguous(connection: Connection, wanted: str, matches: list[str]) -> str:
    """The message for a prefix that several runs share: each by short id, job and creation time."""
    runs, jobs = schema.runs, schema.jobs
    shown = matches[:AMBIGUOUS_SHOWN]
    rows = {
        row.id: row
        for row in connection.execute(
            select(runs.c.id, runs.c.created_at, jobs.c.name)
            .join(jobs, jobs.c.id == runs.c.job_id)
            .where(runs.c.id.in_(shown))
        )
    }
    short = short_run_ids(connection, shown)
    described = [
        f"{short[run_id]} ({rows[run_id].name}, {people_time(rows[run_id].created_at)})"
        if run_id in rows
        else short[run_id]
        for run_id in shown
    ]
    more = ", and more" if len(matches) > AMBIGUOUS_SHOWN else ""
    return (
        f"run id {wanted!r} is ambiguous: it starts {'more than ' if more else ''}{len(shown)} runs: "
        f"{'; '.join(described)}{more}. Give more of the id"
    )


def short_run_ids(connection: Connection, run_ids: Sequence[str]) -> dict[str, str]:
    """The short id of each run of ``run_ids``: the shortest prefix of its id that no other run of the
    store starts with, and at least :data:`~threadline.vocabulary.SHORT_ID_LENGTH` characters (UUIDv7
    ids of runs made within a minute share their first 8). An id no run has is told from the runs too.

    One statement per 100 ids: for each, the ids just before and after it, by the primary key.
    """
    wanted = sorted({run_id for run_id in run_ids if run_id})
    found: dict[str, str] = {}
    for part in batches(wanted, _PER_STATEMENT):
        sql = sql_text(connection, " UNION ALL ".join([_NEIGHBOURS] * len(part)))
        values = tuple(value for run_id in part for value in (run_id, run_id, run_id))
        for run_id, before, after in connection.exec_driver_sql(sql, values):
            found[run_id] = run_id[: short_id_length(run_id, (before, after))]
    return found
