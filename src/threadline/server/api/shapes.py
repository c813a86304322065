"""Marquez's JSON shapes of namespaces, sources, datasets, jobs, runs, tags and search results.

The field names are Marquez's (``api/v1`` as its web UI and ``marquez-python`` read them). Namespaces
are shown with the spelling first sent. A few keys are threadline's own additions, which Marquez's
clients ignore: a run's ``parentRunId``, ``eventType`` and ``states`` (every event of the run), a
dataset's ``aliases`` and ``owners``, a job's ``owners`` and a search result's ``match``.
"""

from __future__ import annotations

from typing import Any

from threadline.openlineage.timestamps import format_time
from threadline.projection.readers.common import Namespace, Page
from threadline.projection.readers.datasets import Dataset, DatasetVersion, Field
from threadline.projection.readers.jobs import DatasetRef, Job, JobVersion
from threadline.projection.readers.runs import Run, RunDataset
from threadline.projection.readers.search import SearchResult
from threadline.projection.readers.sources import Source
from threadline.projection.readers.tags import TagInfo

#: Marquez's owner of namespaces that OpenLineage events created.
DEFAULT_OWNER = "anonymous"


def namespace_json(namespace: Namespace) -> dict[str, Any]:
    """A namespace as Marquez's ``Namespace``."""
    return {
        "name": namespace.display_name,
        "createdAt": format_time(namespace.created_at),
        "updatedAt": format_time(namespace.updated_at),
        "ownerName": DEFAULT_OWNER,
        "description": None,
        "isHidden": False,
    }


def source_json(source: Source) -> dict[str, Any]:
    """A source as Marquez's ``Source``."""
    return {
        "type": source.type,
        "name": source.name,
        "createdAt": format_time(source.created_at),
        "updatedAt": format_time(source.updated_at),
        "connectionUrl": source.connection_url,
        "description": None,
        "datasetCount": source.dataset_count,
    }


def field_json(field: Field) -> dict[str, Any]:
    """A schema field; a nested field is named by its dotted path."""
    return {
        "name": field.path,
        "type": field.type,
        "tags": [tag.name for tag in field.tags],
        "description": field.description,
    }


def dataset_json(dataset: Dataset) -> dict[str, Any]:
    """A dataset as Marquez's ``Dataset``."""
    return {
        "id": {"namespace": dataset.namespace, "name": dataset.name},
        "type": dataset.type,
        "name": dataset.name,
        "physicalName": dataset.name,
        "createdAt": format_time(dataset.created_at),
        "updatedAt": format_time(dataset.updated_at),
        "namespace": dataset.namespace,
        "sourceName": dataset.source_name,
        "fields": [field_json(field) for field in dataset.fields],
        "tags": [tag.name for tag in dataset.dataset_tags],
        "lastModifiedAt": format_time(dataset.last_modified_at),
        "lastLifecycleState": dataset.lifecycle_state,
        "description": dataset.description,
        "currentVersion": dataset.current_version,
        "columnLineage": None,
        "facets": dataset.facets,
        "deleted": False,
        "owners": dataset.owners,
        "aliases": [{"namespace": a.namespace, "name": a.name, "type": a.type} for a in dataset.aliases],
    }


def dataset_version_json(version: DatasetVersion) -> dict[str, Any]:
    """A dataset version as Marquez's ``DatasetVersion``, with the run that wrote it."""
    dataset = version.dataset
    return {
        "id": {"namespace": dataset.namespace, "name": dataset.name, "version": version.version},
        "type": dataset.type,
        "name": dataset.name,
        "physicalName": dataset.name,
        "createdAt": format_time(version.created_at),
        "version": version.version,
        "namespace": dataset.namespace,
        "sourceName": dataset.source_name,
        "fields": [field_json(field) for field in version.fields],
        "tags": [tag.name for tag in dataset.dataset_tags],
        "lifecycleState": dataset.lifecycle_state,
        "description": dataset.description,
        "createdByRun": run_json(version.created_by) if version.created_by else None,
        "facets": version.facets,
    }


def _dataset_version_ref(entry: RunDataset) -> dict[str, Any]:
    return {
        "datasetVersionId": {"namespace": entry.namespace, "name": entry.name, "version": entry.version},
        "facets": entry.facets,
    }


def run_json(run: Run) -> dict[str, Any]:
    """A run as Marquez's ``Run``."""
    return {
        "id": run.id,
        "createdAt": format_time(run.created_at),
        "updatedAt": format_time(run.updated_at),
        "nominalStartTime": run.nominal_time("nominalStartTime"),
        "nominalEndTime": run.nominal_time("nominalEndTime"),
        "state": run.marquez_state,
        "startedAt": format_time(run.started_at),
        "endedAt": format_time(run.ended_at),
        "durationMs": run.duration_ms,
        "args": {},
        "jobVersion": {"namespace": run.job_namespace, "name": run.job_name, "version": run.job_version},
        "inputDatasetVersions": [_dataset_version_ref(entry) for entry in run.inputs],
        "outputDatasetVersions": [_dataset_version_ref(entry) for entry in run.outputs],
        "context": {},
        "facets": run.facets,
        "parentRunId": run.parent_run_id,
        "eventType": run.state,
        "states": [
            {"state": change.state, "time": format_time(change.time), "eventId": change.event_id}
            for change in run.states
        ],
    }


def _refs(refs: list[DatasetRef]) -> list[dict[str, str]]:
    return [{"namespace": ref.namespace, "name": ref.name} for ref in refs]


def job_json(job: Job) -> dict[str, Any]:
    """A job as Marquez's ``Job``, with its current inputs and outputs and its latest runs."""
    latest = job.latest_run
    return {
        "id": {"namespace": job.namespace, "name": job.name},
        "type": job.type,
        "name": job.name,
        "simpleName": job.simple_name,
        "parentJobName": job.parent[1] if job.parent else None,
        "parentJobUuid": None,
        "createdAt": format_time(job.created_at),
        "updatedAt": format_time(job.updated_at),
        "namespace": job.namespace,
        "inputs": _refs(job.inputs),
        "outputs": _refs(job.outputs),
        "location": job.location,
        "description": job.description,
        "latestRun": run_json(latest) if latest else None,
        "latestRuns": [run_json(run) for run in job.latest_runs],
        "facets": job.facets,
        "currentVersion": job.current_version,
        "labels": [],
        "tags": [tag.name for tag in job.tags],
        "owners": job.owners,
    }


def job_version_json(version: JobVersion) -> dict[str, Any]:
    """A job version as Marquez's ``JobVersion``."""
    return {
        "id": {"namespace": version.namespace, "name": version.name, "version": version.version},
        "name": version.name,
        "version": version.version,
        "createdAt": format_time(version.created_at),
        "updatedAt": format_time(version.updated_at),
        "namespace": version.namespace,
        "inputs": _refs(version.inputs),
        "outputs": _refs(version.outputs),
        "location": version.location,
        "latestRun": run_json(version.latest_run) if version.latest_run else None,
        "facets": version.facets,
        "runCount": version.run_count,
    }


def tag_json(tag: TagInfo) -> dict[str, Any]:
    """A tag as Marquez's ``Tag``."""
    return {"name": tag.name, "description": tag.description}


def search_json(page: Page[SearchResult]) -> dict[str, Any]:
    """Search results in Marquez's shape; ``totalCount`` counts every match, not only this page."""
    return {
        "totalCount": page.total,
        "results": [
            {
                "type": result.type,
                "name": result.name,
                "updatedAt": format_time(result.updated_at),
                "namespace": result.namespace,
                "nodeId": result.node_id,
                "match": result.match,
            }
            for result in page.items
        ],
    }
