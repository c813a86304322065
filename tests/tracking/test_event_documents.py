"""The SDK builds its events as plain dictionaries; ``openlineage-python``'s classes and ``Serde`` are
the reference. Each sample record is built both ways and the two JSON documents must be equal."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

import pytest
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
from threadline.artifacts.objects import ObjectDB
from threadline.tracking import events
from threadline.tracking.content import ContentReader
from threadline.tracking.environment import Environment, GitInfo
from threadline.tracking.events import (
    EnvironmentFacts,
    build_event,
    iso_time,
    json_number,
    json_param,
    to_bytes,
)
from threadline.tracking.facets import (
    PRODUCER,
    ThreadlineArtifactDatasetFacet,
    ThreadlineEnvironmentRunFacet,
    ThreadlineMetricsRunFacet,
    ThreadlineParamsRunFacet,
    ThreadlineSnapshotRunFacet,
)
from threadline.tracking.records import EventRecord, RunRef, error_of

# ---- the reference: the event built with openlineage-python's classes ----------------------------------


def _reference(record: EventRecord, facts: EnvironmentFacts | None, odb: ObjectDB | None) -> dict[str, Any]:
    run_facets: dict[str, Any] = {}
    job_facets: dict[str, Any] = {}
    if record.parent is not None:
        parent, root = record.parent, record.root
        root_ref = None
        if root is not None:
            root_ref = parent_run.Root(
                run=parent_run.RootRun(runId=root.run_id),
                job=parent_run.RootJob(namespace=root.namespace, name=root.name),
            )
        run_facets["parent"] = parent_run.ParentRunFacet(
            run=parent_run.Run(runId=parent.run_id),
            job=parent_run.Job(namespace=parent.namespace, name=parent.name),
            root=root_ref,
            producer=PRODUCER,
        )
    if facts is not None and record.with_environment:
        env = facts.environment
        git = env.git
        run_facets["processing_engine"] = processing_engine_run.ProcessingEngineRunFacet(
            version=__version__,
            name="threadline",
            openlineageAdapterVersion=openlineage_version,
            producer=PRODUCER,
        )
        run_facets["threadline_environment"] = ThreadlineEnvironmentRunFacet(
            python=env.python,
            implementation=env.implementation,
            platform=env.platform,
            host=env.host,
            command_line=env.command_line,
            packages_object=facts.run_facet.get("packages_object"),
            packages_count=len(env.packages),
            user=env.user,
            cwd=env.cwd,
            pid=os.getpid(),
            git=git.to_dict() if git else None,
            producer=PRODUCER,
        )
        if git is not None:
            job_facets["sourceCodeLocation"] = source_code_location_job.SourceCodeLocationJobFacet(
                type="git",
                url=git.remote or f"file://{git.root}",
                repoUrl=git.remote,
                path=git.path,
                version=git.commit,
                branch=git.branch,
                producer=PRODUCER,
            )
    if record.params:
        run_facets["threadline_params"] = ThreadlineParamsRunFacet(
            params={name: json_param(value) for name, value in record.params.items()}, producer=PRODUCER
        )
    if record.metrics or (record.event_type in ("COMPLETE", "FAIL", "ABORT") and record.with_environment):
        series = {
            name: [[step, json_number(value), int(stamp * 1000)] for step, value, stamp in points]
            for name, points in record.metrics.items()
        }
        run_facets["threadline_metrics"] = ThreadlineMetricsRunFacet(
            metrics=series, complete=record.metrics_complete, producer=PRODUCER
        )
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
            message=message, programmingLanguage="python", stackTrace=stack, producer=PRODUCER
        )
    if record.snapshot is not None:
        run_facets["threadline_snapshot"] = ThreadlineSnapshotRunFacet(
            objects=record.snapshot, taken_at=iso_time(record.time), producer=PRODUCER
        )
    if record.with_environment:
        job_facets["jobType"] = job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration="THREADLINE", jobType=record.job_type, producer=PRODUCER
        )
    if record.description:
        job_facets["documentation"] = documentation_job.DocumentationJobFacet(
            description=record.description, contentType="text/plain", producer=PRODUCER
        )

    def dataset_facets(ref: Any) -> tuple[dict[str, Any], Any]:
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
            info = events._table(ref, odb)
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

    inputs = []
    for ref in record.inputs:
        facets, info = dataset_facets(ref)
        io: dict[str, Any] = {}
        if ref.size is not None:
            io["inputStatistics"] = input_statistics_input_dataset.InputStatisticsInputDatasetFacet(
                rowCount=info.rows if info else None, size=ref.size, fileCount=ref.files, producer=PRODUCER
            )
        inputs.append(InputDataset(namespace=ref.namespace, name=ref.name, facets=facets, inputFacets=io))
    outputs = []
    for ref in record.outputs:
        facets, info = dataset_facets(ref)
        io = {}
        if ref.size is not None:
            io["outputStatistics"] = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                rowCount=info.rows if info else None, size=ref.size, fileCount=ref.files, producer=PRODUCER
            )
        outputs.append(OutputDataset(namespace=ref.namespace, name=ref.name, facets=facets, outputFacets=io))
    event = RunEvent(
        eventType=RunState(record.event_type),
        eventTime=iso_time(record.time),
        run=Run(runId=record.run.run_id, facets=run_facets),
        job=Job(namespace=record.run.namespace, name=record.run.name, facets=job_facets),
        inputs=inputs,
        outputs=outputs,
        producer=PRODUCER,
    )
    return json.loads(Serde.to_json(event))


# ---- samples ------------------------------------------------------------------------------------------

RUN = RunRef("0f5c2b61-3a0e-4c55-9a5e-7c1f7e1a2b3c", "team", "churn.train", "churn")
PARENT = RunRef("5d7e3b9a-1c2d-4e5f-8a9b-0c1d2e3f4a5b", "team", "churn", "churn")
ROOT = RunRef("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "team", "nightly")


def _environment(git: GitInfo | None) -> Environment:
    return Environment(
        python="3.11.7",
        implementation="CPython",
        platform="Linux-6.1-x86_64",
        host="box",
        command_line="python train.py --fast",
        user=None,
        cwd="/work",
        pid=os.getpid(),
        packages=["numpy==2.0.0", "threadline==0.1.0"],
        git=git,
    )


def _records(folder: Path, odb: ObjectDB) -> list[EventRecord]:
    reader = ContentReader(_NoCache(), odb)
    table = folder / "features.csv"
    table.write_text("id,score\n1,0.5\n2,0.25\n")
    model = folder / "model.bin"
    model.write_bytes(b"\x00model")
    (folder / "images").mkdir()
    (folder / "images" / "a.png").write_bytes(b"A")
    try:
        raise ValueError("bad value: é")
    except ValueError as exc:
        error = error_of(exc)
    now = time.time()
    full = EventRecord(
        event_type="FAIL",
        time=now,
        run=RUN,
        parent=PARENT,
        root=ROOT,
        job_type="STEP",
        description="Trains the model.\n\nWith ünïcode.",
        params={
            "lr": 0.1,
            "name": "x",
            "flag": True,
            "n": 3,
            "nested": {"k": [1, 2.5, "z"]},
            "nan": math.nan,
        },
        tags={"owner": "ml", "tier": "1"},
        metrics={"loss": [(0, 1.0, now), (1, math.inf, now), (2, math.nan, now)], "auc": [(0, 0.9, now)]},
        inputs=[
            reader.describe(table, "dataset", store=False, role="input"),
            reader.describe("s3://bucket/key.parquet", "dataset", store=False, role="input"),
            reader.describe(folder / "images", "dataset", store=False, role="input"),
        ],
        outputs=[reader.describe(model, "model", store=True, role="output")],
        error=error,
    )
    start = EventRecord(event_type="START", time=now, run=RUN, parent=PARENT, root=None)
    running = EventRecord(
        event_type="RUNNING", time=now, run=RUN, metrics={"loss": [(5, 0.5, now)]}, metrics_complete=False
    )
    snapshot = EventRecord(
        event_type="OTHER",
        time=now,
        run=RUN,
        snapshot=[{"namespace": "file", "name": "/x", "object": "blake3:" + "0" * 64, "run": RUN.run_id}],
        with_environment=False,
    )
    bare = EventRecord(event_type="COMPLETE", time=now, run=RunRef(RUN.run_id, "default", "solo"))
    return [full, start, running, snapshot, bare]


class _NoCache:
    def get(self, key: Any) -> None:
        return None

    def get_many(self, keys: Any) -> dict[str, str]:
        return {}

    def put_many(self, items: Any, started_ns: int) -> int:
        return 0

    def close(self) -> None:
        pass


@pytest.mark.parametrize(
    "git",
    [
        None,
        GitInfo("/work", "a" * 40, "main", dirty=True, remote="https://example.com/r.git", path="src"),
        GitInfo("/work", "b" * 40, None, dirty=False, remote=None),
    ],
    ids=["no git", "git with remote", "detached without remote"],
)
def test_events_are_the_documents_openlineage_python_makes(tmp_path: Path, git: GitInfo | None) -> None:
    odb = ObjectDB(tmp_path / "objects")
    facts = EnvironmentFacts(_environment(git), odb)
    (tmp_path / "data").mkdir()
    for record in _records(tmp_path / "data", odb):
        for with_facts in (facts, None):
            ours = json.loads(to_bytes(build_event(record, with_facts, odb)))
            assert ours == _reference(record, with_facts, odb), record.event_type


def test_event_bytes_are_compact_json_with_sorted_keys(tmp_path: Path) -> None:
    record = EventRecord(event_type="START", time=0.0, run=RUN, params={"b": 1, "a": "é"})
    raw = to_bytes(build_event(record, None, None))
    document = json.loads(raw)
    assert raw == json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
