"""Building OpenLineage RunEvents from records, as JSON documents.

Standard facets are used where the spec has one: ``parent`` (with ``root``), ``processing_engine``,
``errorMessage`` and ``tags`` on the run; ``jobType``, ``sourceCodeLocation`` and ``documentation``
on the job; ``version`` (the content id, so that dataset versions follow content), ``schema``,
``datasetType`` on datasets; ``inputStatistics`` and ``outputStatistics`` (rows, bytes, files) on
inputs and outputs. threadline's own data rides in ``threadline_*`` facets (see ``facets``).

Events are built as plain dictionaries and encoded by msgspec, not as ``openlineage-python`` objects
serialized by its ``Serde``: profiled on the tracking thread, those took 70% of its time (0.6 ms of
the 0.9 ms an event cost: attrs validators on every field, then ``attr.asdict``, a recursive pass
dropping nulls, and ``json.dumps``), where the dictionaries take a few microseconds. The documents are
the same as ``openlineage-python`` makes them, key for key: the facets' ``_schemaURL`` are read from
its classes, and a test builds sample events both ways and compares them.
"""

from __future__ import annotations

import math
import os
from datetime import UTC, datetime
from typing import Any

import msgspec
from openlineage.client import __version__ as openlineage_version
from openlineage.client.event_v2 import RunEvent
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

from threadline import __version__
from threadline.artifacts.hashcache import FileKey
from threadline.artifacts.object_id import ObjectId
from threadline.artifacts.objects import ObjectDB
from threadline.openlineage.versions import TERMINAL_TYPES
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
_EVENT_SCHEMA = RunEvent._get_schema()
_PARENT = parent_run.ParentRunFacet._get_schema()
_ENGINE = processing_engine_run.ProcessingEngineRunFacet._get_schema()
_SOURCE = source_code_location_job.SourceCodeLocationJobFacet._get_schema()
_ERROR = error_message_run.ErrorMessageRunFacet._get_schema()
_TAGS = tags_run.TagsRunFacet._get_schema()
_JOB_TYPE = job_type_job.JobTypeJobFacet._get_schema()
_DOCUMENTATION = documentation_job.DocumentationJobFacet._get_schema()
_SCHEMA = schema_dataset.SchemaDatasetFacet._get_schema()
_VERSION = dataset_version_dataset.DatasetVersionDatasetFacet._get_schema()
_DATASET_TYPE = dataset_type_dataset.DatasetTypeDatasetFacet._get_schema()
_INPUT_STATISTICS = input_statistics_input_dataset.InputStatisticsInputDatasetFacet._get_schema()
_OUTPUT_STATISTICS = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet._get_schema()
_PARAMS = ThreadlineParamsRunFacet._get_schema()
_METRICS = ThreadlineMetricsRunFacet._get_schema()
_ENVIRONMENT = ThreadlineEnvironmentRunFacet._get_schema()
_ARTIFACT = ThreadlineArtifactDatasetFacet._get_schema()
_SNAPSHOT = ThreadlineSnapshotRunFacet._get_schema()
_encoder = msgspec.json.Encoder(order="deterministic")


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


def facet(schema_url: str, **fields: Any) -> dict[str, Any]:
    """A facet as JSON: its fields that are not ``None``, ``_producer`` and ``_schemaURL``."""
    document = {name: value for name, value in fields.items() if value is not None}
    document["_producer"] = PRODUCER
    document["_schemaURL"] = schema_url
    return document


def _without_nulls(value: Any) -> Any:
    """``value`` with ``None`` left out of its objects and lists (as OpenLineage documents have it)."""
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value if item is not None]
    return value


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
        self.run_facet = facet(
            _ENVIRONMENT,
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
            git=_without_nulls(git.to_dict()) if git else None,
        )
        self.engine = facet(
            _ENGINE, version=__version__, name="threadline", openlineageAdapterVersion=openlineage_version
        )
        self.source = None
        if git is not None:
            self.source = facet(
                _SOURCE,
                type="git",
                url=git.remote or f"file://{git.root}",
                repoUrl=git.remote,
                path=git.path,
                version=git.commit,
                branch=git.branch,
            )

    def with_pid(self, pid: int) -> dict[str, Any]:
        """The environment facet for a forked child (same environment, its own pid)."""
        if self.run_facet.get("pid") == pid:
            return self.run_facet
        return {**self.run_facet, "pid": pid}


def _parent_facet(parent: RunRef, root: RunRef | None) -> dict[str, Any]:
    root_ref = None
    if root is not None:
        root_ref = {
            "run": {"runId": root.run_id, "facets": {}},
            "job": {"namespace": root.namespace, "name": root.name, "facets": {}},
        }
    return facet(
        _PARENT,
        run={"runId": parent.run_id, "facets": {}},
        job={"namespace": parent.namespace, "name": parent.name, "facets": {}},
        root=root_ref,
    )


def _metrics(record: EventRecord) -> dict[str, Any]:
    series = {
        name: [[step, json_number(value), int(stamp * 1000)] for step, value, stamp in points]
        for name, points in record.metrics.items()
    }
    return facet(_METRICS, metrics=series, complete=record.metrics_complete)


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
        facets["version"] = facet(_VERSION, datasetVersion=ref.oid)
        facets["threadline_artifact"] = facet(
            _ARTIFACT,
            hash=ref.oid,
            size=ref.size or 0,
            kind=ref.kind,
            stored=ref.stored,
            path=ref.path,
            files=ref.files,
        )
        info = _table(ref, odb)
        if info is not None:
            facets["schema"] = facet(
                _SCHEMA,
                fields=[
                    {"name": name, "type": kind, "ordinal_position": index, "fields": []}
                    for index, (name, kind) in enumerate(info.fields, start=1)
                ],
            )
    if ref.kind != "dataset":
        facets["datasetType"] = facet(_DATASET_TYPE, datasetType=ref.kind.upper())
    if ref.facets:
        facets.update(ref.facets)
    return facets, info


def _datasets(refs: list[DatasetRef], odb: ObjectDB | None, side: str) -> list[dict[str, Any]]:
    """Inputs (``side`` ``input``) or outputs (``output``) with their facets and statistics."""
    schema_url = _INPUT_STATISTICS if side == "input" else _OUTPUT_STATISTICS
    datasets = []
    for ref in refs:
        facets, info = _dataset_facets(ref, odb)
        io_facets: dict[str, Any] = {}
        if ref.size is not None:
            io_facets[f"{side}Statistics"] = facet(
                schema_url, rowCount=info.rows if info else None, size=ref.size, fileCount=ref.files
            )
        if ref.io_facets:
            io_facets.update(ref.io_facets)
        datasets.append(
            {"namespace": ref.namespace, "name": ref.name, "facets": facets, f"{side}Facets": io_facets}
        )
    return datasets


def build_event(record: EventRecord, facts: EnvironmentFacts | None, odb: ObjectDB | None) -> dict[str, Any]:
    """The OpenLineage RunEvent of ``record``, as a JSON document (see :func:`to_bytes`)."""
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
        run_facets["threadline_params"] = facet(
            _PARAMS, params={name: json_param(value) for name, value in record.params.items()}
        )
    if record.metrics or (record.event_type in TERMINAL_TYPES and record.with_environment):
        run_facets["threadline_metrics"] = _metrics(record)
    if record.tags:
        run_facets["tags"] = facet(
            _TAGS,
            tags=[{"key": key, "value": str(value), "source": "USER"} for key, value in record.tags.items()],
        )
    if record.error is not None:
        message, stack = record.error
        run_facets["errorMessage"] = facet(
            _ERROR, message=message, programmingLanguage="python", stackTrace=stack or None
        )
    if record.snapshot is not None:
        run_facets["threadline_snapshot"] = facet(
            _SNAPSHOT, objects=_without_nulls(record.snapshot), taken_at=iso_time(record.time)
        )
    if record.with_environment:
        job_facets["jobType"] = facet(
            _JOB_TYPE, processingType="BATCH", integration=INTEGRATION, jobType=record.job_type
        )
    if record.description:
        job_facets["documentation"] = facet(
            _DOCUMENTATION, description=record.description, contentType="text/plain"
        )
    return {
        "eventType": record.event_type,
        "eventTime": iso_time(record.time),
        "run": {"runId": record.run.run_id, "facets": run_facets},
        "job": {"namespace": record.run.namespace, "name": record.run.name, "facets": job_facets},
        "inputs": _datasets(record.inputs, odb, "input"),
        "outputs": _datasets(record.outputs, odb, "output"),
        "producer": PRODUCER,
        "schemaURL": _EVENT_SCHEMA,
    }


def to_bytes(event: dict[str, Any]) -> bytes:
    """An event as compact JSON bytes, keys sorted (as ``openlineage-python``'s ``Serde`` writes them)."""
    return _encoder.encode(event)
