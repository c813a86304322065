"""Building OpenLineage RunEvents from records, with the ``openlineage-python`` classes and serializer.

Standard facets are used where the spec has one: ``parent`` (with ``root``), ``processing_engine``,
``errorMessage`` and ``tags`` on the run; ``jobType``, ``sourceCodeLocation`` and ``documentation``
on the job; ``version`` (the content id, so that dataset versions follow content), ``schema``,
``datasetType`` on datasets; ``inputStatistics`` and ``outputStatistics`` (rows, bytes, files) on
inputs and outputs. threadline's own data rides in ``threadline_*`` facets (see ``facets``).
"""

from __future__ import annotations

import math
import os
from datetime import UTC, datetime
from typing import Any

from openlineage.client import __version__ as openlineage_version
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    dataset_type_dataset,
    dataset_version_dataset,
    documentation_job,
    error_message_run,
    input_statistics_input_dataset,
    job_type_job,
    output_statistics_output_dataset,
    parent_run,
    processing_engine_run,
    schema_dataset,
    source_code_location_job,
    tags_run,
)
from openlineage.client.serde import Serde

from threadline import __version__
from threadline.artifacts.hashcache import FileKey
from threadline.artifacts.object_id import ObjectId
from threadline.artifacts.objects import ObjectDB
from threadline.tracking.content import DatasetRef
from threadline.tracking.environment import Environment, packages_bytes
from threadline.tracking.facets import (
    PRODUCER,
    ThreadlineArtifactDatasetFacet,
    ThreadlineEnvironmentRunFacet,
    ThreadlineMetricsRunFacet,
    ThreadlineParamsRunFacet,
    ThreadlineSnapshotRunFacet,
)
from threadline.tracking.records import EventRecord, RunRef
from threadline.tracking.tabular import describe_table

INTEGRATION = "THREADLINE"
_NON_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}


def iso_time(seconds: float) -> str:
    """An event time: ISO 8601 in UTC with microseconds, ``…Z``."""
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def json_number(value: float) -> float | str:
    """A metric value as JSON can hold it: NaN and infinities become strings."""
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else _NON_FINITE[value]


def json_param(value: Any) -> Any:
    """A parameter value as JSON can hold it: strings, finite numbers, booleans, lists and objects of
    those; anything else (None, paths, numpy scalars, objects) as its ``str``."""
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else json_number(value)
    if isinstance(value, list | tuple):
        return [json_param(item) for item in value]
    if isinstance(value, dict):
        return {str(key): json_param(item) for key, item in value.items()}
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item) and type(value).__module__ == "numpy":
        try:
            return json_param(item())
        except (TypeError, ValueError):
            pass
    return str(value)


class EnvironmentFacts:
    """The run and job facets every run of this process shares, built once."""

    def __init__(self, environment: Environment, odb: ObjectDB | None) -> None:
        self.environment = environment
        packages_object = None
        if environment.packages:
            data = packages_bytes(environment.packages)
            if odb is not None:
                try:
                    packages_object = str(odb.add_bytes(data))
                except OSError:
                    packages_object = None
            if packages_object is None:
                from threadline.artifacts.hashing import hash_bytes

                packages_object = f"blake3:{hash_bytes(data)}"
        git = environment.git
        self.run_facet = ThreadlineEnvironmentRunFacet(
            python=environment.python,
            implementation=environment.implementation,
            platform=environment.platform,
            host=environment.host,
            command_line=environment.command_line,
            packages_object=packages_object,
            packages_count=len(environment.packages),
            user=environment.user,
            cwd=environment.cwd,
            pid=environment.pid,
            git=git.to_dict() if git else None,
            producer=PRODUCER,
        )
        self.engine = processing_engine_run.ProcessingEngineRunFacet(
            version=__version__,
            name="threadline",
            openlineageAdapterVersion=openlineage_version,
            producer=PRODUCER,
        )
        self.source = None
        if git is not None:
            self.source = source_code_location_job.SourceCodeLocationJobFacet(
                type="git",
                url=git.remote or f"file://{git.root}",
                repoUrl=git.remote,
                path=git.path,
                version=git.commit,
                branch=git.branch,
                producer=PRODUCER,
            )

    def with_pid(self, pid: int) -> ThreadlineEnvironmentRunFacet:
        """The environment facet for a forked child (same environment, its own pid)."""
        facet = self.run_facet
        if facet.pid == pid:
            return facet
        return ThreadlineEnvironmentRunFacet(
            python=facet.python,
            implementation=facet.implementation,
            platform=facet.platform,
            host=facet.host,
            command_line=facet.command_line,
            packages_object=facet.packages_object,
            packages_count=facet.packages_count,
            user=facet.user,
            cwd=facet.cwd,
            pid=pid,
            git=facet.git,
            producer=PRODUCER,
        )


def _parent_facet(parent: RunRef, root: RunRef | None) -> parent_run.ParentRunFacet:
    root_ref = None
    if root is not None:
        root_ref = parent_run.Root(
            run=parent_run.RootRun(runId=root.run_id),
            job=parent_run.RootJob(namespace=root.namespace, name=root.name),
        )
    return parent_run.ParentRunFacet(
        run=parent_run.Run(runId=parent.run_id),
        job=parent_run.Job(namespace=parent.namespace, name=parent.name),
        root=root_ref,
        producer=PRODUCER,
    )


def _metrics(record: EventRecord) -> ThreadlineMetricsRunFacet:
    series = {
        name: [[step, json_number(value), int(stamp * 1000)] for step, value, stamp in points]
        for name, points in record.metrics.items()
    }
    return ThreadlineMetricsRunFacet(metrics=series, complete=record.metrics_complete, producer=PRODUCER)


def _table(ref: DatasetRef, odb: ObjectDB | None) -> Any:
    """The schema and row count of a tabular dataset, read from its stored object or its unchanged file."""
    if ref.format is None or ref.oid is None or ref.size is None or ref.oid.endswith(".dir"):
        return None
    path = ref.path
    if ref.stored and odb is not None:
        path = os.fspath(odb.path_of(ObjectId.parse(ref.oid)))
    elif path is None or ref.key is None:
        return None
    else:
        try:
            if FileKey.from_stat(path, os.stat(path)) != ref.key:  # noqa: PTH116
                return None  # changed since it was hashed: its schema now may not be the hashed content's
        except OSError:
            return None
    return describe_table(path, ref.format, ref.size, cache_key=ref.oid)


def _dataset_facets(ref: DatasetRef, odb: ObjectDB | None) -> tuple[dict[str, Any], Any]:
    facets: dict[str, Any] = {}
    info = None
    if ref.oid is not None:
        facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
            datasetVersion=ref.oid, producer=PRODUCER
        )
        facets["threadline_artifact"] = ThreadlineArtifactDatasetFacet(
            hash=ref.oid,
            size=ref.size or 0,
            kind=ref.kind,
            stored=ref.stored,
            path=ref.path,
            files=ref.files,
            producer=PRODUCER,
        )
        info = _table(ref, odb)
        if info is not None:
            facets["schema"] = schema_dataset.SchemaDatasetFacet(
                fields=[
                    schema_dataset.SchemaDatasetFacetFields(name=name, type=kind, ordinal_position=index)
                    for index, (name, kind) in enumerate(info.fields, start=1)
                ],
                producer=PRODUCER,
            )
    if ref.kind != "dataset":
        facets["datasetType"] = dataset_type_dataset.DatasetTypeDatasetFacet(
            datasetType=ref.kind.upper(), producer=PRODUCER
        )
    return facets, info


def _inputs(record: EventRecord, odb: ObjectDB | None) -> list[InputDataset]:
    datasets = []
    for ref in record.inputs:
        facets, info = _dataset_facets(ref, odb)
        io_facets: dict[str, Any] = {}
        if ref.size is not None:
            io_facets["inputStatistics"] = input_statistics_input_dataset.InputStatisticsInputDatasetFacet(
                rowCount=info.rows if info else None, size=ref.size, fileCount=ref.files, producer=PRODUCER
            )
        datasets.append(
            InputDataset(namespace=ref.namespace, name=ref.name, facets=facets, inputFacets=io_facets)
        )
    return datasets


def _outputs(record: EventRecord, odb: ObjectDB | None) -> list[OutputDataset]:
    datasets = []
    for ref in record.outputs:
        facets, info = _dataset_facets(ref, odb)
        io_facets: dict[str, Any] = {}
        if ref.size is not None:
            io_facets["outputStatistics"] = (
                output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                    rowCount=info.rows if info else None,
                    size=ref.size,
                    fileCount=ref.files,
                    producer=PRODUCER,
                )
            )
        datasets.append(
            OutputDataset(namespace=ref.namespace, name=ref.name, facets=facets, outputFacets=io_facets)
        )
    return datasets


def build_event(record: EventRecord, facts: EnvironmentFacts | None, odb: ObjectDB | None) -> RunEvent:
    """The OpenLineage RunEvent of ``record``."""
    run_facets: dict[str, Any] = {}
    job_facets: dict[str, Any] = {}
    if record.parent is not None:
        run_facets["parent"] = _parent_facet(record.parent, record.root)
    if facts is not None and record.with_environment:
        run_facets["processing_engine"] = facts.engine
        run_facets["threadline_environment"] = facts.with_pid(os.getpid())
        if facts.source is not None:
            job_facets["sourceCodeLocation"] = facts.source
    if record.params:
        run_facets["threadline_params"] = ThreadlineParamsRunFacet(
            params={name: json_param(value) for name, value in record.params.items()}, producer=PRODUCER
        )
    if record.metrics or (record.event_type in ("COMPLETE", "FAIL", "ABORT") and record.with_environment):
        run_facets["threadline_metrics"] = _metrics(record)
    if record.tags:
        run_facets["tags"] = tags_run.TagsRunFacet(
            tags=[
                tags_run.TagsRunFacetFields(key=key, value=str(value), source="USER")
                for key, value in record.tags.items()
            ],
            producer=PRODUCER,
        )
    if record.error is not None:
        message, stack = record.error
        run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=message, programmingLanguage="python", stackTrace=stack or None, producer=PRODUCER
        )
    if record.snapshot is not None:
        run_facets["threadline_snapshot"] = ThreadlineSnapshotRunFacet(
            objects=record.snapshot, taken_at=iso_time(record.time), producer=PRODUCER
        )
    if record.with_environment:
        job_facets["jobType"] = job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration=INTEGRATION, jobType=record.job_type, producer=PRODUCER
        )
    if record.description:
        job_facets["documentation"] = documentation_job.DocumentationJobFacet(
            description=record.description, contentType="text/plain", producer=PRODUCER
        )
    return RunEvent(
        eventType=RunState(record.event_type),
        eventTime=iso_time(record.time),
        run=Run(runId=record.run.run_id, facets=run_facets),
        job=Job(namespace=record.run.namespace, name=record.run.name, facets=job_facets),
        inputs=_inputs(record, odb),
        outputs=_outputs(record, odb),
        producer=PRODUCER,
    )


def to_bytes(event: RunEvent) -> bytes:
    """An event as compact JSON bytes, through ``openlineage-python``'s serializer (sorted keys, no nulls)."""
    return Serde.to_json(event, separators=(",", ":")).encode()
