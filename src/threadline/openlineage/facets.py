"""The standard OpenLineage facets as typed structures, and facet validation.

Each standard facet (by the key it is sent under and where it sits in the event) has a ``msgspec``
structure that mirrors the spec's required fields and types; unknown fields are allowed, as the spec
allows them. Validating a facet is decoding it into its structure, which is fast enough to do for
every facet of every event. A facet that does not match is reported, never fatal: the event is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeVar
from uuid import UUID

import msgspec

Location = Literal["run", "job", "dataset", "input", "output"]
T = TypeVar("T")


class _Facet(msgspec.Struct, forbid_unknown_fields=False, omit_defaults=True):
    """Base of every facet: the spec's BaseFacet fields are checked separately."""


# ---- run facets -----------------------------------------------------------------------------------


class RunRef(msgspec.Struct, forbid_unknown_fields=False):
    """A reference to a run by id."""

    runId: UUID


class JobRef(msgspec.Struct, forbid_unknown_fields=False):
    """A reference to a job by namespace and name."""

    namespace: str
    name: str


class RootRef(msgspec.Struct, forbid_unknown_fields=False):
    """The root run and job of a run hierarchy (ParentRunFacet 1-1-0)."""

    run: RunRef
    job: JobRef


class ParentRunFacet(_Facet):
    """The run and job that started this run."""

    run: RunRef
    job: JobRef
    root: RootRef | None = None


class NominalTimeRunFacet(_Facet):
    """The scheduled time of a run."""

    nominalStartTime: str
    nominalEndTime: str | None = None


class ErrorMessageRunFacet(_Facet):
    """The error that made a run fail."""

    message: str
    programmingLanguage: str
    stackTrace: str | None = None


class ExternalQueryRunFacet(_Facet):
    """The id of a query in an external system."""

    externalQueryId: str
    source: str


class ExtractionError(msgspec.Struct, forbid_unknown_fields=False):
    """One error raised while extracting lineage."""

    errorMessage: str
    stackTrace: str | None = None
    task: str | None = None
    taskNumber: int | None = None


class ExtractionErrorRunFacet(_Facet):
    """Errors the integration met while extracting lineage."""

    totalTasks: int
    failedTasks: int
    errors: list[ExtractionError]


class ProcessingEngineRunFacet(_Facet):
    """The engine that ran the job."""

    version: str
    name: str | None = None
    openlineageAdapterVersion: str | None = None


class EnvironmentVariable(msgspec.Struct, forbid_unknown_fields=False):
    """One environment variable."""

    name: str
    value: str


class EnvironmentVariablesRunFacet(_Facet):
    """Environment variables of a run."""

    environmentVariables: list[EnvironmentVariable]


class ExecutionParameter(msgspec.Struct, forbid_unknown_fields=False):
    """One parameter of a run."""

    key: str
    name: str | None = None
    description: str | None = None
    value: str | None = None


class ExecutionParametersRunFacet(_Facet):
    """Parameters a run was executed with."""

    parameters: list[ExecutionParameter] | None = None


class Tag(msgspec.Struct, forbid_unknown_fields=False):
    """A key/value tag."""

    key: str
    value: str
    source: str | None = None
    field: str | None = None


class TagsFacet(_Facet):
    """Tags on a run, job or dataset."""

    tags: list[Tag] | None = None


class JobDependency(msgspec.Struct, forbid_unknown_fields=False):
    """A dependency of a run on another job's run."""

    job: JobRef
    run: RunRef | None = None


class JobDependenciesRunFacet(_Facet):
    """Upstream and downstream job dependencies."""

    upstream: list[JobDependency] | None = None
    downstream: list[JobDependency] | None = None


class TestExecution(msgspec.Struct, forbid_unknown_fields=False):
    """One test run as part of a run."""

    name: str
    status: str


class TestRunFacet(_Facet):
    """Tests executed by a run."""

    tests: list[TestExecution]


# ---- job facets -----------------------------------------------------------------------------------


class SQLJobFacet(_Facet):
    """The SQL a job runs."""

    query: str
    dialect: str | None = None


class SourceCodeJobFacet(_Facet):
    """The source code of a job."""

    language: str
    sourceCode: str


class SourceCodeLocationJobFacet(_Facet):
    """Where the source code of a job lives."""

    type: str
    url: str
    repoUrl: str | None = None
    path: str | None = None
    version: str | None = None
    tag: str | None = None
    branch: str | None = None


class DocumentationFacet(_Facet):
    """A description of a job or dataset."""

    description: str
    contentType: str | None = None


class Owner(msgspec.Struct, forbid_unknown_fields=False):
    """One owner of a job or dataset."""

    name: str
    type: str | None = None


class OwnershipFacet(_Facet):
    """Owners of a job or dataset."""

    owners: list[Owner] | None = None


class JobTypeJobFacet(_Facet):
    """The kind of job and the integration that reported it."""

    processingType: str
    integration: str
    jobType: str | None = None


# ---- dataset facets -------------------------------------------------------------------------------


class SchemaField(msgspec.Struct, forbid_unknown_fields=False, omit_defaults=True):
    """One field of a dataset schema; structs and arrays nest their fields."""

    name: str
    type: str | None = None
    description: str | None = None
    ordinal_position: int | None = None
    fields: list[SchemaField] | None = None


class SchemaDatasetFacet(_Facet):
    """The schema of a dataset."""

    fields: list[SchemaField] | None = None


class DatasourceDatasetFacet(_Facet):
    """The data source a dataset lives in."""

    name: str | None = None
    uri: str | None = None


class Transformation(msgspec.Struct, forbid_unknown_fields=False, omit_defaults=True):
    """How an input field becomes an output field (ColumnLineage 1-2-0)."""

    type: str
    subtype: str | None = None
    description: str | None = None
    masking: bool | None = None


class InputField(msgspec.Struct, forbid_unknown_fields=False, omit_defaults=True):
    """An input field that an output field or the whole dataset depends on."""

    namespace: str
    name: str
    field: str
    transformations: list[Transformation] | None = None


class ColumnLineageField(msgspec.Struct, forbid_unknown_fields=False, omit_defaults=True):
    """The inputs of one output field; the older form carries the transformation at this level."""

    inputFields: list[InputField]
    transformationDescription: str | None = None
    transformationType: str | None = None


class ColumnLineageDatasetFacet(_Facet):
    """Column-level lineage of an output dataset."""

    fields: dict[str, ColumnLineageField]
    dataset: list[InputField] | None = None


class SymlinkIdentifier(msgspec.Struct, forbid_unknown_fields=False):
    """Another name of the same dataset."""

    namespace: str
    name: str
    type: str


class SymlinksDatasetFacet(_Facet):
    """Aliases of a dataset (for example the table behind a path)."""

    identifiers: list[SymlinkIdentifier] | None = None


class PreviousIdentifier(msgspec.Struct, forbid_unknown_fields=False):
    """The name a dataset had before a rename."""

    name: str
    namespace: str


class LifecycleStateChangeDatasetFacet(_Facet):
    """A change of a dataset's lifecycle (create, drop, rename, ...)."""

    lifecycleStateChange: Literal["ALTER", "CREATE", "DROP", "OVERWRITE", "RENAME", "TRUNCATE"]
    previousIdentifier: PreviousIdentifier | None = None


class DatasetVersionDatasetFacet(_Facet):
    """The version of a dataset given by its storage system."""

    datasetVersion: str


class StorageDatasetFacet(_Facet):
    """The storage layer and file format of a dataset."""

    storageLayer: str
    fileFormat: str | None = None


class DatasetTypeDatasetFacet(_Facet):
    """The kind of dataset (TABLE, VIEW, MODEL, ...)."""

    datasetType: str
    subType: str | None = None


class CatalogDatasetFacet(_Facet):
    """The catalog a dataset is registered in."""

    framework: str
    type: str
    name: str


class HierarchyLevel(msgspec.Struct, forbid_unknown_fields=False):
    """One level of a dataset hierarchy."""

    type: str
    name: str


class HierarchyDatasetFacet(_Facet):
    """Where a dataset sits in its system's hierarchy."""

    hierarchy: list[HierarchyLevel]


class Assertion(msgspec.Struct, forbid_unknown_fields=False):
    """One data quality assertion and whether it held."""

    assertion: str
    success: bool
    column: str | None = None


class DataQualityAssertionsDatasetFacet(_Facet):
    """Data quality assertions evaluated on a dataset."""

    assertions: list[Assertion]


class ColumnMetrics(msgspec.Struct, forbid_unknown_fields=False):
    """Statistics of one column."""

    nullCount: int | None = None
    distinctCount: int | None = None
    sum: float | None = None
    count: float | None = None
    min: float | None = None
    max: float | None = None
    quantiles: dict[str, float] | None = None


class DataQualityMetricsFacet(_Facet):
    """Row count, size and column statistics of a dataset."""

    columnMetrics: dict[str, ColumnMetrics]
    rowCount: int | None = None
    bytes: int | None = None
    fileCount: int | None = None


class StatisticsFacet(_Facet):
    """Row count and size read or written."""

    rowCount: int | None = None
    size: int | None = None
    fileCount: int | None = None


_DATASET_FACETS: dict[str, type[_Facet]] = {
    "schema": SchemaDatasetFacet,
    "dataSource": DatasourceDatasetFacet,
    "documentation": DocumentationFacet,
    "ownership": OwnershipFacet,
    "columnLineage": ColumnLineageDatasetFacet,
    "symlinks": SymlinksDatasetFacet,
    "lifecycleStateChange": LifecycleStateChangeDatasetFacet,
    "version": DatasetVersionDatasetFacet,
    "storage": StorageDatasetFacet,
    "datasetType": DatasetTypeDatasetFacet,
    "catalog": CatalogDatasetFacet,
    "hierarchy": HierarchyDatasetFacet,
    "tags": TagsFacet,
    "dataQualityAssertions": DataQualityAssertionsDatasetFacet,
}

#: The structure of each standard facet, by where it sits in an event and the key it is sent under.
STANDARD_FACETS: dict[Location, dict[str, type[_Facet]]] = {
    "run": {
        "parent": ParentRunFacet,
        "nominalTime": NominalTimeRunFacet,
        "errorMessage": ErrorMessageRunFacet,
        "externalQuery": ExternalQueryRunFacet,
        "extractionError": ExtractionErrorRunFacet,
        "processing_engine": ProcessingEngineRunFacet,
        "environmentVariables": EnvironmentVariablesRunFacet,
        "executionParameters": ExecutionParametersRunFacet,
        "tags": TagsFacet,
        "jobDependencies": JobDependenciesRunFacet,
        "test": TestRunFacet,
    },
    "job": {
        "sql": SQLJobFacet,
        "sourceCode": SourceCodeJobFacet,
        "sourceCodeLocation": SourceCodeLocationJobFacet,
        "documentation": DocumentationFacet,
        "ownership": OwnershipFacet,
        "jobType": JobTypeJobFacet,
        "tags": TagsFacet,
    },
    "dataset": _DATASET_FACETS,
    "input": {
        "dataQualityMetrics": DataQualityMetricsFacet,
        "dataQualityAssertions": DataQualityAssertionsDatasetFacet,
        "inputStatistics": StatisticsFacet,
    },
    "output": {"outputStatistics": StatisticsFacet},
}


@dataclass(frozen=True)
class FacetProblem:
    """A facet that does not match its schema: where it is, which facet, and what is wrong."""

    path: str
    facet: str
    message: str

    def to_dict(self) -> dict[str, str]:
        """The problem as JSON-ready data."""
        return {"path": self.path, "facet": self.facet, "message": self.message}


def _describe(exc: msgspec.ValidationError, path: str) -> str:
    # msgspec says "... - at `$.run.runId`"; point at the facet's place in the event instead.
    # At the facet's top level msgspec names no place at all, so add it.
    text = str(exc)
    if "`$" not in text:
        return f"{text} - at `{path}`"
    return text.replace("`$", f"`{path}")


def check_facet(location: Location, key: str, value: Any, path: str) -> FacetProblem | None:
    """Validate one facet; return what is wrong with it, or ``None`` when it is fine."""
    if not isinstance(value, dict):
        return FacetProblem(path, key, f"{path} must be a JSON object, got {type(value).__name__}")
    if value.get("_deleted") is True:
        return None  # a deletion marker carries no content to validate
    for base_field in ("_producer", "_schemaURL"):
        if base_field in value and not isinstance(value[base_field], str):
            return FacetProblem(path, key, f"{path}.{base_field} must be a string")
    struct = STANDARD_FACETS[location].get(key)
    if struct is None:
        return None  # a custom facet: only the base fields are defined by the spec
    try:
        msgspec.convert(value, struct, strict=True)
    except msgspec.ValidationError as exc:
        return FacetProblem(path, key, _describe(exc, path))
    return None


def decode_facet(value: Any, struct: type[T]) -> T | None:
    """Decode a facet into its structure, or ``None`` if it does not match (it was reported at ingest)."""
    if not isinstance(value, dict) or value.get("_deleted") is True:
        return None
    try:
        return msgspec.convert(value, struct, strict=True)
    except msgspec.ValidationError:
        return None
