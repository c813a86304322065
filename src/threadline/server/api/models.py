"""The answers of the HTTP API as pydantic models: what ``/api/openapi.json`` documents for each route.

Handlers build their answers as plain dicts (``shapes.py``, the readers) and encode them with msgspec
(``state.json_response``); a route's ``response_model`` is one of these models, which FastAPI uses
for the OpenAPI document only (an answer returned as a ``Response`` is not validated again, which
would double the cost of every list). ``tests/server/test_api_contract.py`` checks the real answers
against these schemas, so the documentation cannot drift from what is sent.

Field names are written in snake case and sent in camelCase (``created_at`` is ``createdAt``), as
Marquez's API and the UI's spell them. Facets are free-form JSON objects (``dict[str, Any]``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

Facets = dict[str, Any]


class Model(BaseModel):
    """Camel-case on the wire; extra keys allowed (a newer server may send more)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")


# ---- errors ------------------------------------------------------------------------------------------


class ErrorAnswer(Model):
    """Every error answer (``server.api.errors``)."""

    status: int = Field(description="The HTTP status.")
    code: str = Field(description="Machine-readable: not_found, invalid_parameter, ambiguous_run_id, ...")
    message: str = Field(description="What is wrong and what to do, for people.")
    error: str = Field(description="The message again, under the name older clients read.")
    field: str | None = Field(None, description="The parameter or event field at fault, when one is.")


#: The error answers every route documents beside its own.
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorAnswer, "description": description}
    for status, description in (
        (400, "A parameter or the body is invalid"),
        (401, "No API key, or an unknown one"),
        (403, "The API key's scope is too low"),
        (404, "Not found"),
        (503, "The store cannot be used now"),
    )
}

#: A lineage answer drawn as text (``format=dot`` or ``mermaid``).
DRAWING: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "JSON (format=json), or the graph drawn as Graphviz DOT or Mermaid text",
        "content": {
            "text/vnd.graphviz": {"schema": {"type": "string"}},
            "text/plain": {"schema": {"type": "string"}},
        },
    }
}


def raw(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route answering bytes of ``media_type``."""
    return {200: {"description": description, "content": {media_type: {"schema": {"type": "string"}}}}}


# ---- Marquez's shapes (shapes.py) --------------------------------------------------------------------


class NamespaceOut(Model):
    name: str
    created_at: str | None
    updated_at: str | None
    owner_name: str
    description: str | None
    is_hidden: bool


class NamespaceList(Model):
    namespaces: list[NamespaceOut]
    total_count: int


class SourceOut(Model):
    type: str | None
    name: str
    created_at: str | None
    updated_at: str | None
    connection_url: str | None
    description: str | None
    dataset_count: int


class SourceList(Model):
    sources: list[SourceOut]
    total_count: int


class DatasetId(Model):
    namespace: str
    name: str


class VersionId(DatasetId):
    version: str | None


class FieldOut(Model):
    name: str
    type: str | None
    tags: list[str]
    description: str | None


class Alias(Model):
    namespace: str
    name: str
    type: str | None


class DatasetOut(Model):
    id: DatasetId
    type: str | None
    name: str
    physical_name: str
    created_at: str | None
    updated_at: str | None
    namespace: str
    source_name: str | None
    fields: list[FieldOut]
    tags: list[str]
    last_modified_at: str | None
    last_lifecycle_state: str | None
    description: str | None
    current_version: str | None
    column_lineage: Any = None
    facets: Facets
    deleted: bool
    owners: Any
    aliases: list[Alias]


class DatasetList(Model):
    datasets: list[DatasetOut]
    total_count: int


class DatasetVersionRef(Model):
    dataset_version_id: VersionId
    facets: Facets


class StateChange(Model):
    state: str | None
    time: str | None
    event_id: str | None


class RunOut(Model):
    id: str
    created_at: str | None
    updated_at: str | None
    nominal_start_time: str | None
    nominal_end_time: str | None
    state: str | None
    started_at: str | None
    ended_at: str | None
    duration_ms: int | None
    args: dict[str, Any]
    job_version: VersionId
    input_dataset_versions: list[DatasetVersionRef]
    output_dataset_versions: list[DatasetVersionRef]
    context: dict[str, Any]
    facets: Facets
    parent_run_id: str | None
    event_type: str | None
    states: list[StateChange]


class RunList(Model):
    runs: list[RunOut]
    total_count: int


class RunFacets(Model):
    run_id: str
    facets: Facets


class DatasetVersionOut(Model):
    id: VersionId
    type: str | None
    name: str
    physical_name: str
    created_at: str | None
    version: str | None
    namespace: str
    source_name: str | None
    fields: list[FieldOut]
    tags: list[str]
    lifecycle_state: str | None
    description: str | None
    created_by_run: RunOut | None
    facets: Facets


class DatasetVersionList(Model):
    versions: list[DatasetVersionOut]
    total_count: int


class JobOut(Model):
    id: DatasetId
    type: str | None
    name: str
    simple_name: str | None
    parent_job_name: str | None
    parent_job_uuid: str | None
    created_at: str | None
    updated_at: str | None
    namespace: str
    inputs: list[DatasetId]
    outputs: list[DatasetId]
    location: str | None
    description: str | None
    latest_run: RunOut | None
    latest_runs: list[RunOut]
    facets: Facets
    current_version: str | None
    labels: list[str]
    tags: list[str]
    owners: Any


class JobList(Model):
    jobs: list[JobOut]
    total_count: int


class JobVersionOut(Model):
    id: VersionId
    name: str
    version: str | None
    created_at: str | None
    updated_at: str | None
    namespace: str
    inputs: list[DatasetId]
    outputs: list[DatasetId]
    location: str | None
    latest_run: RunOut | None
    facets: Facets
    run_count: int


class JobVersionList(Model):
    versions: list[JobVersionOut]
    total_count: int


class TagOut(Model):
    name: str
    description: str | None


class TagList(Model):
    tags: list[TagOut]
    total_count: int


class TagDescription(Model):
    """The body of ``PUT``/``POST /api/v1/tags/{tag}`` (optional)."""

    description: str | None = None


class SearchHit(Model):
    type: str
    name: str
    updated_at: str | None
    namespace: str
    node_id: str
    match: Any = None


class SearchResults(Model):
    total_count: int
    results: list[SearchHit]


# ---- lineage (lineage.py) ----------------------------------------------------------------------------


class EdgeOut(Model):
    origin: str
    destination: str


class LineageNode(Model):
    id: str
    type: str
    data: dict[str, Any] | None
    in_edges: list[EdgeOut]
    out_edges: list[EdgeOut]
    distance: int


class LineageGraph(Model):
    graph: list[LineageNode]
    direction: str
    depth: int | None
    as_of: str | None


class ColumnLineageGraph(Model):
    graph: list[LineageNode]
    direction: str
    depth: int | None


class Impacted(Model):
    id: str
    type: str
    namespace: str
    name: str
    distance: int
    latest_run_state: str | None
    owners: list[Any]
    fields: list[str] | None = None


class Impact(Model):
    node_id: str
    impacted: list[Impacted]
    owners: Any
    failing_jobs: list[str]
    total_count: int


class LineagePath(Model):
    from_: str = Field(alias="from")
    to: str
    relation: str
    nodes: list[str]
    edges: list[EdgeOut]


class RunLineageGraph(Model):
    run_id: str
    direction: str
    depth: int | None
    graph: dict[str, Any] = Field(description="Nodes and edges, as threadline's JSON export draws them.")
    children: int | None = None


# ---- ingest and the log (ingest.py, events.py) -------------------------------------------------------


class Ingested(Model):
    id: str
    status: str = Field(description="created, or duplicate (already stored)")
    problems: list[dict[str, Any]]


class FailedEvent(Model):
    index: int
    reason: str
    field: str | None
    retriable: bool


class BatchSummary(Model):
    received: int
    successful: int
    failed: int
    retriable: int
    non_retriable: int


class StoredEntry(Model):
    index: int
    id: str
    status: str
    problems: list[dict[str, Any]]


class BatchAnswer(BaseModel):
    """OpenLineage-api.yml's batch answer (snake-case keys, as the spec spells them)."""

    status: str = Field(description="success or partial_success")
    summary: BatchSummary
    failed_events: list[FailedEvent]
    events: list[StoredEntry]


class EventList(Model):
    events: list[dict[str, Any]] = Field(description="OpenLineage events, exactly as received")
    total_count: int


class EventSummary(Model):
    id: str
    event_time: str | None
    received_at: str | None
    problems: Any
    event: dict[str, Any]


class ProblemEventList(Model):
    events: list[EventSummary]
    total_count: int


# ---- health, sync, objects ---------------------------------------------------------------------------


class Health(Model):
    status: str = Field(description="ok, or read-only; the rest only with a read key")
    version: str | None = None
    store: dict[str, Any] | None = None
    events: int | None = None
    projection_lag: int | None = None
    writer: dict[str, Any] | None = None
    lineage_index: dict[str, Any] | None = None
    objects: str | None = None
    federation: dict[str, Any] | None = None


class SyncInfo(Model):
    site_id: str
    protocol: int
    version: str
    last_seq: int
    max_batch_events: int
    max_body_bytes: int
    max_object_bytes: int


class PushAnswer(Model):
    received: int
    stored: int
    duplicates: int
    failed: list[dict[str, Any]]


class PullAnswer(Model):
    site_id: str
    scope: str
    entities: str
    events: list[dict[str, Any]]
    next: int
    more: bool


class SyncStatus(Model):
    behind: int
    last_seq: int


class ObjectIds(Model):
    """The body of ``POST /api/v1/objects/missing``."""

    ids: list[str]


class MissingObjects(Model):
    missing: list[str]


class StoredObject(Model):
    id: str
    stored: bool
    size: int | None = None


# ---- the web UI's (insights.py, ui_lineage.py, ui_pages.py) -----------------------------------------


class RunSummary(Model):
    id: str
    short_id: str
    node_id: str
    namespace: str
    job: str
    job_node_id: str
    state: str | None
    created_at: str | None
    started_at: str | None
    ended_at: str | None
    duration_ms: int | None
    parent_run_id: str | None
    parent_short_id: str | None
    error_message: str | None
    job_type: dict[str, Any] | None


class RunSummaryList(Model):
    runs: list[RunSummary]
    total_count: int


class Timespan(Model):
    first_event_time: str | None
    last_event_time: str | None


class Counts(Model):
    namespaces: int
    datasets: int
    jobs: int
    runs: int
    failed_runs: int
    running_runs: int
    events: int


class Overview(Timespan):
    counts: Counts
    recent_runs: list[RunSummary]
    recent_failures: list[RunSummary]


class UiEvent(Model):
    id: str
    event_time: str | None
    received_at: str | None
    kind: str | None
    event_type: str | None
    run_id: str | None
    run_short_id: str | None
    job_namespace: str | None
    job_name: str | None
    producer: str | None
    has_problems: bool


class UiEventList(Model):
    events: list[UiEvent]
    total_count: int


class DatasetRun(RunSummary):
    version: str | None
    seen_at: str | None
    facets: Facets


class DatasetRuns(Model):
    node_id: str
    writes: list[DatasetRun]
    reads: list[DatasetRun]


class ColumnHit(Model):
    node_id: str
    namespace: str
    dataset: str
    field: str
    type: str | None


class ColumnHits(Model):
    total_count: int
    results: list[ColumnHit]


class NodeTag(Model):
    """A catalog tag of a lineage node (its badge): the template's display name, or the producer's tag."""

    name: str
    source: str = Field(description="CATALOG (a catalog entry's tag) or INTEGRATION (sent by a producer).")
    template: str | None = None
    entry: str | None = Field(None, description="The catalog entry that holds the tag.")
    via: str | None = Field(None, description="filePattern: the entry names the dataset by its patterns.")
    columns: list[str] | None = Field(None, description="The columns it is on, if any.")
    on_entry: bool | None = Field(None, description="Whether it is on the entry (the node) itself.")


class CompactNode(Model):
    id: str
    type: str
    name: str
    namespace: str
    distance: int
    out_edges: list[str]
    tags: list[NodeTag] | None = None


class CompactLineage(Timespan):
    graph: list[CompactNode]
    direction: str
    depth: int | None
    as_of: str | None


class RunPage(Model):
    run: RunOut
    short_ids: dict[str, str]
    job_facets: Facets
    children: RunSummaryList
    job_runs: dict[str, Any]
    comparison: dict[str, Any] | None
    compare_error: str | None


class JobPage(Model):
    job: JobOut
    runs: RunSummaryList
    steps: list[DatasetId]


class DatasetPage(Model):
    dataset: DatasetOut
    versions: dict[str, Any]
    runs: DatasetRuns


# ---- pipelines (``pipelines.py``) ----------------------------------------------------------------


class PipelineVersion(Model):
    namespace: str
    name: str
    node_id: str
    version: str | None = Field(description="The version the stage read or wrote.")
    rows: int | None


class PipelineCheck(Model):
    check: str
    column: str | None
    severity: str = Field(description="error or warn.")
    status: str = Field(description="passed, warned or failed.")
    failures: int
    quarantined: int | None = None
    message: str
    sample: list[Any] = Field(description="A sample of the failing rows.")


class PipelineStage(Model):
    id: str
    short_id: str
    stage: str = Field(description="extract.T, load.T, validate.T, transform.T or promote.")
    job: str
    state: str | None
    error: str | None
    started_at: str | None
    ended_at: str | None
    rows: Any
    counts: dict[str, int] = Field(description="How many checks passed, warned and failed.")
    checks: list[PipelineCheck]
    inputs: list[PipelineVersion]
    outputs: list[PipelineVersion]


class PipelineVersions(Model):
    staging: list[PipelineVersion]
    production: list[PipelineVersion]


class PipelineApproval(Model):
    status: str = Field(description="awaiting or approved.")
    requested_at: str | None = Field(description="When every check had passed and the run began to wait.")
    approved_by: str | None = Field(
        description="The name of the API key (or null from the CLI) that approved."
    )
    approved_at: str | None
    tables: list[str] = Field(description="The tables the approval promotes.")


class PipelineNotification(Model):
    id: str = Field(description="The run that recorded the delivery (``<pipeline>.notify``).")
    event: str | None = Field(description="failed, awaiting_approval or promoted.")
    url: str | None = Field(description="The webhook, without its query; null when its variable is unset.")
    status: str = Field(description="delivered, failed or not sent.")
    attempts: int = 0
    problem: str | None = None
    time: str | None = None


class PipelineRunDetail(Model):
    id: str
    short_id: str
    pipeline: str
    namespace: str
    env: str
    state: str | None
    approval: PipelineApproval | None = Field(
        description="The approval gate: null when the run's environment has none."
    )
    error: str | None
    started_at: str | None
    ended_at: str | None
    stages: list[PipelineStage] = Field(description="The stages in the order they ran.")
    versions: PipelineVersions
    notifications: list[PipelineNotification] = Field(
        default_factory=list, description="The webhook deliveries of the run, oldest first."
    )


class PipelineRunList(Model):
    pipeline: str
    runs: list[PipelineRunDetail]


class PipelineLastRun(Model):
    id: str
    short_id: str
    env: str
    state: str | None
    approval: str | None = Field(
        default=None, description="awaiting or approved when its environment has an approval gate."
    )
    started_at: str | None


class PipelineSummary(Model):
    name: str
    runs: int
    last_run: PipelineLastRun


class PipelineList(Model):
    pipelines: list[PipelineSummary]


class QualityResult(Model):
    run_id: str
    short_id: str
    job: str
    state: str | None
    time: str | None
    version: str | None
    passed: int
    failed: int
    assertions: list[dict[str, Any]] = Field(description="The dataQualityAssertions facet's assertions.")


class DatasetQuality(Model):
    node_id: str
    history: list[QualityResult]
