"""What is read of the projected lineage tables: the interface the graph and the readers read through.

The lineage graph (:mod:`threadline.graph`) walks edges, versions and column edges level by level; it
asks each level's rows of a :class:`LineageReads` and keeps the traversal, the rules that turn rows into
edges, and the answers to itself. So no package above ``store/`` holds SQL over these tables, the way
dagster's event-log storage answers its readers: each read is declared here with what it returns, and
implemented once in SQL (:mod:`threadline.store.lineage_sql`, whose
:func:`~threadline.store.lineage_sql.lineage_reads` gives the reads of a transaction).

A :class:`LineageReads` belongs to one read transaction (a connection of ``Store.read()``), so that one
answer reads one consistent snapshot. Reads by many ids take them in any number: the implementation
sends them in batches. Rows are tuples (or rows that behave as tuples) in the order their type says;
a direction is ``"in"`` (an input of the job or run) or ``"out"`` (an output); times are microseconds.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Literal

#: A job's edge: (job id, dataset id, direction).
JobEdge = tuple[int, int, str]
#: Edges by job: ``job id -> [(dataset id, direction), ...]``.
EdgesByJob = dict[int, list[tuple[int, str]]]
#: A run's edge: (run id, dataset id, direction).
RunEdge = tuple[str, int, str]
#: A state change of a run of a job: (job id, run id, state, event time, event id).
RunStateChange = tuple[int, str, str, int, str]
#: A version of a dataset: (dataset id, created at, version, id of the run that made it or ``None``).
DatasetVersion = tuple[int, int, str, str | None]
#: A run's input: (run id, dataset id, the version the producer said it read or ``None``, when the run
#: was created, that is its first event's time).
RunInput = tuple[str, int, str | None, int]
#: A run's output with its version: (run id, dataset id, version).
RunOutput = tuple[str, int, str]
#: A row of ``column_lineage``: (output dataset id, output field, input dataset id, input field,
#: transformation type, transformation subtype, description, masking, job id, first seen, last seen).
#: Field ``""`` is the dataset as a whole.
ColumnLineageRow = tuple[
    int, str, int, str, str | None, str | None, str | None, bool | None, int | None, int, int
]
#: How a job is shown: (id, canonical namespace, name, namespace as first spelled or ``None``, state of
#: its latest run with events or ``None``).
JobLabel = tuple[int, str, str, str | None, str | None]
#: How a dataset is shown: (id, canonical namespace, name, namespace as first spelled or ``None``).
DatasetLabel = tuple[int, str, str, str | None]


class LineageReads(ABC):
    """The reads of the lineage projections, within one read transaction.

    A job's *current* edges are those of its current run (``jobs.current_run_id``: its latest completed
    run, else its latest run), or of its JobEvents (``job_io``) when it never ran. *As of* a time T,
    reads see only what had been reported by T (``first_seen <= T``); see :mod:`threadline.graph.edges`.
    """

    # ---- the job graph, now ------------------------------------------------------------------------

    @abstractmethod
    def current_job_edges(self, jobs: Sequence[int], direction: str | None = None) -> list[JobEdge]:
        """The current edges of ``jobs`` (only those of ``direction``, if given)."""

    @abstractmethod
    def current_dataset_edges(self, datasets: Sequence[int], direction: str) -> list[tuple[int, int]]:
        """``(job id, dataset id)`` for every job whose current edges have one of ``datasets`` as an
        input (``direction`` ``"in"``) or an output (``"out"``)."""

    @abstractmethod
    def current_edges_of(self, jobs: Sequence[int]) -> EdgesByJob:
        """The current edges of each of ``jobs`` that exists (an empty list for one without edges;
        unknown ids are left out)."""

    @abstractmethod
    def all_current_edges(self) -> EdgesByJob:
        """Every job's current edges (jobs without edges are left out): what the in-memory lineage
        index is built from."""

    # ---- the job graph, as of a time ---------------------------------------------------------------

    @abstractmethod
    def run_states_as_of(self, jobs: Sequence[int], as_of: int) -> list[RunStateChange]:
        """Every state change at or before ``as_of`` of every run of ``jobs``, in no order."""

    @abstractmethod
    def run_edges_as_of(self, runs: Sequence[str], as_of: int, direction: str | None = None) -> list[RunEdge]:
        """The inputs and outputs ``runs`` had reported by ``as_of`` (only ``direction``'s, if given)."""

    @abstractmethod
    def job_io_as_of(self, jobs: Sequence[int], as_of: int, direction: str | None = None) -> list[JobEdge]:
        """The inputs and outputs the JobEvents of ``jobs`` had declared by ``as_of`` (only
        ``direction``'s, if given)."""

    @abstractmethod
    def jobs_touching_as_of(self, datasets: Sequence[int], direction: str, as_of: int) -> set[int]:
        """The jobs that had, by ``as_of``, a run or a JobEvent with one of ``datasets`` on side
        ``direction``: the only jobs that can have an edge there as of that time."""

    # ---- column lineage ------------------------------------------------------------------------------

    @abstractmethod
    def column_edges_into(self, datasets: Sequence[int], as_of: int | None = None) -> list[ColumnLineageRow]:
        """Every column edge whose output is a field of one of ``datasets`` (reported by ``as_of``, if
        given), whether still reported or not."""

    @abstractmethod
    def column_edges_out_of(
        self, datasets: Sequence[int], as_of: int | None = None
    ) -> list[ColumnLineageRow]:
        """Every column edge whose input is a field of one of ``datasets`` (reported by ``as_of``, if
        given), whether still reported or not."""

    @abstractmethod
    def latest_column_reports(self, outputs: Sequence[int]) -> dict[tuple[int, int | None], int]:
        """When the column lineage of each (output dataset, job) of ``outputs`` was last reported: the
        edges last seen then are the current ones."""

    @abstractmethod
    def column_fields(self, dataset: int) -> list[str]:
        """The fields of ``dataset`` that column lineage names, as an output (less ``""``, the dataset
        as a whole) or an input, once each, in no order."""

    # ---- run lineage ---------------------------------------------------------------------------------

    @abstractmethod
    def dataset_versions(self, datasets: Sequence[int]) -> list[DatasetVersion]:
        """Every version of ``datasets``, in no order."""

    @abstractmethod
    def run_inputs(self, runs: Sequence[str]) -> list[RunInput]:
        """Every input of ``runs``."""

    @abstractmethod
    def run_outputs(self, runs: Sequence[str]) -> list[RunOutput]:
        """Every output of ``runs`` that has a version."""

    @abstractmethod
    def dataset_readers(self, datasets: Sequence[int]) -> list[RunInput]:
        """Every input of every run that read one of ``datasets``."""

    @abstractmethod
    def child_runs(self, runs: Sequence[str]) -> list[str]:
        """The runs whose parent is one of ``runs`` (ordered by id within each batch of ``runs``)."""

    # ---- names ---------------------------------------------------------------------------------------

    @abstractmethod
    def find_dataset(self, namespace: str, name: str) -> int | None:
        """The id of dataset ``namespace``/``name`` (any spelling of the namespace), else of the dataset
        that name is a symlink alias of (the first seen), else ``None``."""

    @abstractmethod
    def find_job(self, namespace: str, name: str) -> int | None:
        """The id of job ``namespace``/``name`` (any spelling of the namespace) if it exists."""

    @abstractmethod
    def names(self, kind: Literal["dataset", "job"]) -> list[tuple[str, str]]:
        """``(canonical namespace, name)`` of every dataset or every job."""

    @abstractmethod
    def job_labels(self, jobs: Sequence[int]) -> list[JobLabel]:
        """How each of ``jobs`` that exists is shown, with the state of its latest run."""

    @abstractmethod
    def dataset_labels(self, datasets: Sequence[int]) -> list[DatasetLabel]:
        """How each of ``datasets`` that exists is shown."""

    @abstractmethod
    def ownership_facets(self, entity_keys: Sequence[str]) -> list[tuple[str, str, str | None]]:
        """``(entity type, entity key, facet JSON)`` of the ``ownership`` facet of every entity whose
        key (a job's or dataset's id, as text) is one of ``entity_keys``."""
