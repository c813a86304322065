"""Search over dataset and job names, as Marquez's ``/api/v1/search`` does, and a little more.

Names match case-insensitively anywhere (``%`` and ``_`` are wildcards, as in Marquez). Beyond Marquez,
a dataset also matches when one of its fields does (``match`` is ``field``), and a query that looks like
the start of a run id (8 or more hexadecimal digits and dashes) finds runs (type ``RUN``). The results
are sorted and paged in SQL; ``total`` counts every match, not only the page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, literal, select, union_all

from threadline.errors import BadRequest
from threadline.graph.nodes import NodeId
from threadline.openlineage.naming import normalize_namespace
from threadline.projection.readers.common import CATALOG_NAMESPACE, Page, check_page
from threadline.store import schema
from threadline.store.lookups import name_like

FILTERS = ("DATASET", "JOB", "RUN")
SORTS = ("NAME", "UPDATE_AT", "RELEVANCE")
_RUN_PREFIX = re.compile(r"[0-9a-f-]{8,36}")


@dataclass(slots=True)
class SearchResult:
    """One match: what it is, its name and namespace (as shown), when it changed, and why it matched."""

    type: str
    name: str
    namespace: str
    updated_at: int
    match: str  # name, field or runId

    @property
    def node_id(self) -> str:
        """The node id of the match (``dataset:…``, ``job:…`` or ``run:…``)."""
        if self.type == "DATASET":
            return str(NodeId.dataset(self.namespace, self.name))
        if self.type == "JOB":
            return str(NodeId.job(self.namespace, self.name))
        return str(NodeId.run(self.name))


def parse_filter(text: str | None) -> str | None:
    """``DATASET``, ``JOB`` or ``RUN`` (any case), or ``None`` for everything."""
    if text is None or not text.strip() or text.strip().upper() == "ALL":
        return None
    value = text.strip().upper()
    if value not in FILTERS:
        msg = f"filter must be one of {', '.join(FILTERS)}, got {text!r}"
        raise BadRequest(msg)
    return value


def parse_sort(text: str | None) -> str:
    """``NAME`` (the default), ``UPDATE_AT`` (``updated_at`` works too) or ``RELEVANCE``, any case."""
    value = (text or "NAME").strip().upper()
    if value == "UPDATED_AT":
        value = "UPDATE_AT"
    if value not in SORTS:
        msg = f"sort must be NAME, UPDATE_AT or RELEVANCE, got {text!r}"
        raise BadRequest(msg)
    return value


def search(
    connection: Connection,
    query: str,
    *,
    kind: str | None = None,
    sort: str = "NAME",
    limit: int = 10,
    offset: int = 0,
    namespace: str | None = None,
) -> Page[SearchResult]:
    """Datasets, jobs (and runs) matching ``query``; ``kind`` is a filter of :data:`FILTERS`."""
    if not query or not query.strip():
        msg = "q must not be empty: give part of a dataset or job name"
        raise BadRequest(msg)
    check_page(limit, offset)
    wanted = query.strip()
    canonical = normalize_namespace(namespace) if namespace else None
    datasets, jobs, fields, runs = schema.datasets, schema.jobs, schema.schema_fields, schema.runs
    parts = []
    if kind in (None, "DATASET"):
        shown = func.coalesce(datasets.c.display_namespace, datasets.c.namespace)
        by_name = name_like(datasets.c.name, wanted)
        base = [datasets.c.namespace != CATALOG_NAMESPACE]
        if canonical is not None:
            base.append(datasets.c.namespace == canonical)
        columns = (datasets.c.name, shown.label("namespace"), datasets.c.updated_at)
        parts.append(
            select(literal("DATASET").label("type"), *columns, literal("name").label("match")).where(
                by_name, *base
            )
        )
        with_field = select(fields.c.schema_hash).where(name_like(fields.c.name, wanted))
        parts.append(
            select(literal("DATASET").label("type"), *columns, literal("field").label("match")).where(
                ~by_name, datasets.c.schema_hash.in_(with_field), *base
            )
        )
    if kind in (None, "JOB"):
        where = [name_like(jobs.c.name, wanted)]
        if canonical is not None:
            where.append(jobs.c.namespace == canonical)
        parts.append(
            select(
                literal("JOB").label("type"),
                jobs.c.name,
                func.coalesce(jobs.c.display_namespace, jobs.c.namespace).label("namespace"),
                jobs.c.updated_at,
                literal("name").label("match"),
            ).where(*where)
        )
    prefix = query.strip().lower()
    if kind in (None, "RUN") and _RUN_PREFIX.fullmatch(prefix):
        where = [runs.c.id >= prefix, runs.c.id < prefix + "\uffff"]
        if canonical is not None:
            where.append(jobs.c.namespace == canonical)
        parts.append(
            select(
                literal("RUN").label("type"),
                runs.c.id.label("name"),
                func.coalesce(jobs.c.display_namespace, jobs.c.namespace).label("namespace"),
                runs.c.updated_at,
                literal("runId").label("match"),
            )
            .join(jobs, jobs.c.id == runs.c.job_id)
            .where(*where)
        )
    if not parts:
        return Page([], 0)
    matches = union_all(*parts).subquery()
    order: tuple[Any, ...]
    if sort == "UPDATE_AT":
        order = (matches.c.updated_at.desc(), matches.c.name, matches.c.type, matches.c.namespace)
    elif sort == "RELEVANCE":
        # What a type-ahead shows first: a match of the name before one of a field only, then the
        # shortest names (the query is most of them: `customers` before a lake partition's path
        # that holds it), then by name.
        order = (
            (matches.c.match == "field"),
            func.length(matches.c.name),
            matches.c.name,
            matches.c.type,
            matches.c.namespace,
        )
    else:
        order = (matches.c.name, matches.c.type, matches.c.namespace)
    rows = connection.execute(select(matches).order_by(*order).limit(limit).offset(offset)).all()
    total = connection.scalar(select(func.count()).select_from(matches)) or 0
    items = [SearchResult(r.type, r.name, r.namespace, r.updated_at, r.match) for r in rows]
    return Page(items, total)


@dataclass(slots=True)
class FieldHit:
    """A field of a dataset's current schema that a search found."""

    namespace: str  # the dataset's, as first spelled
    dataset: str
    path: str
    type: str | None


def search_fields(connection: Connection, query: str, limit: int) -> Page[FieldHit]:
    """Fields of current dataset schemas whose name holds ``query`` (any case), by field name then
    dataset, at most ``limit``, and how many there are."""
    fields, datasets = schema.schema_fields, schema.datasets
    namespace = func.coalesce(datasets.c.display_namespace, datasets.c.namespace)
    where = [name_like(fields.c.name, query), datasets.c.namespace != CATALOG_NAMESPACE]
    joined = fields.join(datasets, datasets.c.schema_hash == fields.c.schema_hash)
    rows = connection.execute(
        select(namespace, datasets.c.name, fields.c.path, fields.c.type)
        .select_from(joined)
        .where(*where)
        .order_by(fields.c.name, datasets.c.name, fields.c.path)
        .limit(limit)
    ).all()
    total = connection.scalar(select(func.count()).select_from(joined).where(*where)) or 0
    return Page([FieldHit(*row) for row in rows], total)
