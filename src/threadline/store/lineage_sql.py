"""The SQL implementation of :class:`~threadline.store.lineage_reads.LineageReads`, for both backends.

The reads a traversal repeats once per level (edges, versions, column edges) are SQL text rendered once
per template and batch size (:func:`~threadline.store.lookups.fetch_in`): building and compiling a
statement each time would cost more than running it. The one-off lookups are SQLAlchemy statements.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Literal

from sqlalchemy import Connection, select

from threadline.openlineage.naming import normalize_namespace
from threadline.store import schema
from threadline.store.ids import dataset_id, job_id
from threadline.store.lineage_reads import (
    ColumnLineageRow,
    DatasetLabel,
    DatasetVersion,
    EdgesByJob,
    JobEdge,
    JobLabel,
    LineageReads,
    RunEdge,
    RunInput,
    RunOutput,
    RunStateChange,
)
from threadline.store.lookups import fetch_in, sql_text

# ---- the job graph (``{only}``/``{only_io}``: see ``_only``) ------------------------------------------
_CURRENT_JOB_EDGES = (
    "SELECT j.id, io.dataset_id, io.direction FROM {jobs} j "
    "JOIN {run_io} io ON io.run_id = j.current_run_id WHERE j.id IN ({keys}){only_io} "
    "UNION ALL SELECT io.job_id, io.dataset_id, io.direction FROM {job_io} io "
    "JOIN {jobs} j ON j.id = io.job_id WHERE io.job_id IN ({keys}){only_io} AND j.current_run_id IS NULL"
)
_CURRENT_DATASET_EDGES = (
    "SELECT j.id, io.dataset_id FROM {run_io} io JOIN {jobs} j ON j.current_run_id = io.run_id "
    "WHERE io.dataset_id IN ({keys}) AND io.direction = {p} "
    "UNION ALL SELECT io.job_id, io.dataset_id FROM {job_io} io JOIN {jobs} j ON j.id = io.job_id "
    "WHERE io.dataset_id IN ({keys}) AND io.direction = {p} AND j.current_run_id IS NULL"
)
_ALL_CURRENT_EDGES = (
    "SELECT j.id, io.dataset_id, io.direction FROM {jobs} j JOIN {run_io} io ON io.run_id = j.current_run_id "
    "UNION ALL SELECT io.job_id, io.dataset_id, io.direction FROM {job_io} io "
    "JOIN {jobs} j ON j.id = io.job_id WHERE j.current_run_id IS NULL"
)
_JOBS = "SELECT id FROM {jobs} WHERE id IN ({keys})"
_STATES_AS_OF = (
    "SELECT r.job_id, s.run_id, s.state, s.event_time, s.event_id FROM {runs} r "
    "JOIN {run_states} s ON s.run_id = r.id WHERE r.job_id IN ({keys}) AND s.event_time <= {p}"
)
_RUN_EDGES_AS_OF = (
    "SELECT run_id, dataset_id, direction FROM {run_io} WHERE run_id IN ({keys}) AND first_seen <= {p}{only}"
)
_JOB_IO_AS_OF = (
    "SELECT job_id, dataset_id, direction FROM {job_io} WHERE job_id IN ({keys}) AND first_seen <= {p}{only}"
)
_JOBS_TOUCHING_AS_OF = (
    "SELECT DISTINCT r.job_id FROM {run_io} io JOIN {runs} r ON r.id = io.run_id "
    "WHERE io.dataset_id IN ({keys}) AND io.direction = {p} AND io.first_seen <= {p} "
    "UNION SELECT job_id FROM {job_io} WHERE dataset_id IN ({keys}) AND direction = {p} AND first_seen <= {p}"
)

# ---- column lineage -------------------------------------------------------------------------------------
_COLUMN_EDGES = (
    "SELECT output_dataset_id, output_field, input_dataset_id, input_field, transformation_type, "
    "transformation_subtype, description, masking, job_id, first_seen, last_seen "
    "FROM {column_lineage} WHERE "
)
_COLUMN_EDGES_INTO = _COLUMN_EDGES + "output_dataset_id IN ({keys})"
_COLUMN_EDGES_OUT_OF = _COLUMN_EDGES + "input_dataset_id IN ({keys})"
_REPORTED_BY = " AND first_seen <= {p}"
_LATEST_REPORTS = (
    "SELECT output_dataset_id, job_id, max(last_seen) FROM {column_lineage} "
    "WHERE output_dataset_id IN ({keys}) GROUP BY output_dataset_id, job_id"
)
_FIELDS = (
    "SELECT output_field FROM {column_lineage} WHERE output_dataset_id = {p} AND output_field <> '' "
    "UNION SELECT input_field FROM {column_lineage} WHERE input_dataset_id = {p}"
)

# ---- run lineage ----------------------------------------------------------------------------------------
_VERSIONS = (
    "SELECT dataset_id, created_at, version, run_id FROM {dataset_versions} WHERE dataset_id IN ({keys})"
)
_RUN_INPUTS = (
    "SELECT io.run_id, io.dataset_id, io.version, r.created_at FROM {run_io} io "
    "JOIN {runs} r ON r.id = io.run_id WHERE io.run_id IN ({keys}) AND io.direction = 'in'"
)
_RUN_OUTPUTS = (
    "SELECT run_id, dataset_id, version FROM {run_io} "
    "WHERE run_id IN ({keys}) AND direction = 'out' AND version IS NOT NULL"
)
_DATASET_READERS = (
    "SELECT io.run_id, io.dataset_id, io.version, r.created_at FROM {run_io} io "
    "JOIN {runs} r ON r.id = io.run_id WHERE io.dataset_id IN ({keys}) AND io.direction = 'in'"
)
_CHILD_RUNS = "SELECT id FROM {runs} WHERE parent_run_id IN ({keys}) ORDER BY id"

# ---- names ----------------------------------------------------------------------------------------------
_OWNERSHIP = (
    "SELECT entity_type, entity_key, value FROM {facets} WHERE name = 'ownership' AND entity_key IN ({keys})"
)
_JOB_LABELS = (
    "SELECT j.id, j.namespace, j.name, j.display_namespace, "
    "(SELECT r.state FROM {runs} r WHERE r.job_id = j.id AND r.has_events "
    " ORDER BY r.created_at DESC, r.id DESC LIMIT 1) FROM {jobs} j WHERE j.id IN ({keys})"
)
_DATASET_LABELS = "SELECT id, namespace, name, display_namespace FROM {datasets} WHERE id IN ({keys})"


def _only(template: str, direction: str | None) -> str:
    """``template`` limited to one direction (``{only}``: a ``direction = {p}`` more, ``{only_io}``: an
    ``io.direction = {p}`` more), or not."""
    return template.replace("{only}", " AND direction = {p}" if direction else "").replace(
        "{only_io}", " AND io.direction = {p}" if direction else ""
    )


class SqlLineageReads(LineageReads):
    """:class:`LineageReads` over a connection of ``SqlStore.read()`` (or of a write transaction)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    # ---- the job graph, now ------------------------------------------------------------------------

    def current_job_edges(self, jobs: Sequence[int], direction: str | None = None) -> list[JobEdge]:
        extra = (direction,) if direction else ()
        return fetch_in(
            self.connection,
            _only(_CURRENT_JOB_EDGES, direction),
            jobs,
            lambda batch: (*batch, *extra, *batch, *extra),
        )

    def current_dataset_edges(self, datasets: Sequence[int], direction: str) -> list[tuple[int, int]]:
        return fetch_in(
            self.connection,
            _CURRENT_DATASET_EDGES,
            datasets,
            lambda batch: (*batch, direction, *batch, direction),
        )

    def current_edges_of(self, jobs: Sequence[int]) -> EdgesByJob:
        edges: EdgesByJob = {job: [] for (job,) in fetch_in(self.connection, _JOBS, jobs)}
        for job, dataset, direction in self.current_job_edges(sorted(edges)):
            edges[job].append((dataset, direction))
        return edges

    def all_current_edges(self) -> EdgesByJob:
        edges: EdgesByJob = defaultdict(list)
        statement = sql_text(self.connection, _ALL_CURRENT_EDGES)
        for job, dataset, direction in self.connection.exec_driver_sql(statement):
            edges[job].append((dataset, direction))
        return edges

    # ---- the job graph, as of a time ---------------------------------------------------------------

    def run_states_as_of(self, jobs: Sequence[int], as_of: int) -> list[RunStateChange]:
        return fetch_in(self.connection, _STATES_AS_OF, jobs, lambda batch: (*batch, as_of))

    def run_edges_as_of(self, runs: Sequence[str], as_of: int, direction: str | None = None) -> list[RunEdge]:
        extra = (as_of, *((direction,) if direction else ()))
        return fetch_in(
            self.connection, _only(_RUN_EDGES_AS_OF, direction), runs, lambda batch: (*batch, *extra)
        )

    def job_io_as_of(self, jobs: Sequence[int], as_of: int, direction: str | None = None) -> list[JobEdge]:
        extra = (as_of, *((direction,) if direction else ()))
        return fetch_in(
            self.connection, _only(_JOB_IO_AS_OF, direction), jobs, lambda batch: (*batch, *extra)
        )

    def jobs_touching_as_of(self, datasets: Sequence[int], direction: str, as_of: int) -> set[int]:
        at = (direction, as_of)
        rows = fetch_in(
            self.connection, _JOBS_TOUCHING_AS_OF, datasets, lambda batch: (*batch, *at, *batch, *at)
        )
        return {row[0] for row in rows}

    # ---- column lineage ------------------------------------------------------------------------------

    def _column_edges(
        self, template: str, datasets: Sequence[int], as_of: int | None
    ) -> list[ColumnLineageRow]:
        if as_of is None:
            return fetch_in(self.connection, template, datasets)
        return fetch_in(self.connection, template + _REPORTED_BY, datasets, lambda batch: (*batch, as_of))

    def column_edges_into(self, datasets: Sequence[int], as_of: int | None = None) -> list[ColumnLineageRow]:
        return self._column_edges(_COLUMN_EDGES_INTO, datasets, as_of)

    def column_edges_out_of(
        self, datasets: Sequence[int], as_of: int | None = None
    ) -> list[ColumnLineageRow]:
        return self._column_edges(_COLUMN_EDGES_OUT_OF, datasets, as_of)

    def latest_column_reports(self, outputs: Sequence[int]) -> dict[tuple[int, int | None], int]:
        rows = fetch_in(self.connection, _LATEST_REPORTS, outputs)
        return {(output, job): last for output, job, last in rows}

    def column_fields(self, dataset: int) -> list[str]:
        rows = self.connection.exec_driver_sql(sql_text(self.connection, _FIELDS), (dataset, dataset))
        return [name for (name,) in rows]

    # ---- run lineage ---------------------------------------------------------------------------------

    def dataset_versions(self, datasets: Sequence[int]) -> list[DatasetVersion]:
        return fetch_in(self.connection, _VERSIONS, datasets)

    def run_inputs(self, runs: Sequence[str]) -> list[RunInput]:
        return fetch_in(self.connection, _RUN_INPUTS, runs)

    def run_outputs(self, runs: Sequence[str]) -> list[RunOutput]:
        return fetch_in(self.connection, _RUN_OUTPUTS, runs)

    def dataset_readers(self, datasets: Sequence[int]) -> list[RunInput]:
        return fetch_in(self.connection, _DATASET_READERS, datasets)

    def child_runs(self, runs: Sequence[str]) -> list[str]:
        return [row[0] for row in fetch_in(self.connection, _CHILD_RUNS, runs)]

    # ---- names ---------------------------------------------------------------------------------------

    def find_dataset(self, namespace: str, name: str) -> int | None:
        datasets = schema.datasets
        direct = dataset_id(namespace, name)
        if self.connection.scalar(select(datasets.c.id).where(datasets.c.id == direct)) is not None:
            return direct
        links = schema.dataset_symlinks
        return self.connection.scalar(
            select(links.c.dataset_id)
            .where(links.c.namespace == normalize_namespace(namespace), links.c.name == name)
            .order_by(links.c.first_seen, links.c.dataset_id)
            .limit(1)
        )

    def find_job(self, namespace: str, name: str) -> int | None:
        jobs = schema.jobs
        wanted = job_id(namespace, name)
        return self.connection.scalar(select(jobs.c.id).where(jobs.c.id == wanted))

    def names(self, kind: Literal["dataset", "job"]) -> list[tuple[str, str]]:
        table = schema.datasets if kind == "dataset" else schema.jobs
        return [
            (namespace, name)
            for namespace, name in self.connection.execute(select(table.c.namespace, table.c.name))
        ]

    def job_labels(self, jobs: Sequence[int]) -> list[JobLabel]:
        return fetch_in(self.connection, _JOB_LABELS, jobs)

    def dataset_labels(self, datasets: Sequence[int]) -> list[DatasetLabel]:
        return fetch_in(self.connection, _DATASET_LABELS, datasets)

    def ownership_facets(self, entity_keys: Sequence[str]) -> list[tuple[str, str, str | None]]:
        return fetch_in(self.connection, _OWNERSHIP, entity_keys)


def lineage_reads(connection: Connection) -> LineageReads:
    """The lineage reads of the transaction ``connection`` (of ``Store.read()``)."""
    return SqlLineageReads(connection)
