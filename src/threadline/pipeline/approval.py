"""The approval gate: promoting a pipeline run that stopped at *awaiting approval*.

A run of an environment that needs an approval (``Pipeline(approval=...)``) ends its checks, then
leaves the pipeline run open (RUNNING) with the parameter ``approval``::

    {"status": "awaiting", "requestedAt", "tables": [...], "versions": {table: version},
     "cursors": {...}, "environment": {"lake", "warehouse", "staging_schema", "schema", "lake_production"},
     "webhook": {"url"} | {"fromEnv"} | null}

Approving it (``threadline pipeline approve RUN``, or ``POST /api/v1/pipeline-runs/{id}/approve``)
promotes the staging tables that run checked, with the pipeline's own promotion (one transaction),
and records it as that run's ``promote`` stage (a child run, inputs the staging versions, outputs the
production ones, the cursors as its parameter: the next incremental run starts from them); the
pipeline run then ends COMPLETE with ``approval.status`` ``approved`` (and ``approvedBy``,
``approvedAt``). Everything needed is in the run's record, so neither the pipeline file nor the
process that ran it is needed to approve.

Refused, with a :class:`~threadline.errors.Conflict` saying why: a run that is not awaiting approval
(promoted already, blocked, still running), and a run whose staging tables a newer run of the same
pipeline and environment has since replaced (approve that one). Approvals of one process are
serialised, so two clicks promote once.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from threadline.errors import Conflict, NotFound, PipelineError
from threadline.pipeline.config import Environment, Webhook, environment_from
from threadline.projection.readers.runs import Run, load_runs, newest_runs
from threadline.store.run_ids import resolve_run_id
from threadline.vocabulary import RunState, iso_time

#: The parameter of a pipeline run that records its approval (as ``runner.APPROVAL_PARAM``).
APPROVAL_PARAM = "approval"
#: The tag every pipeline run carries: the pipeline's name (as ``history.PIPELINE_TAG``).
PIPELINE_TAG = "threadline.pipeline"
#: Newer runs of the pipeline looked through for one that replaced the staging tables.
LOOK_BACK = 200

_lock = threading.Lock()


def run_tags(info: Run) -> dict[str, str]:
    """A run's tags (its ``tags`` facet) as a dict."""
    return {
        str(t.get("key")): str(t.get("value"))
        for t in (info.facets.get("tags") or {}).get("tags") or []
        if isinstance(t, dict)
    }


def approval_of(info: Run) -> dict[str, Any] | None:
    """The ``approval`` parameter of a pipeline run (``None`` when it has none)."""
    found = info.params.get(APPROVAL_PARAM)
    return found if isinstance(found, dict) else None


def approval_status(info: Run) -> str | None:
    """``awaiting`` or ``approved`` for a run with an approval gate, else ``None``."""
    found = approval_of(info)
    status = found.get("status") if found else None
    return str(status) if status else None


@dataclass
class Pending:
    """A pipeline run awaiting approval, with what its approval promotes."""

    run: Run
    pipeline: str
    env: str
    environment: Environment
    tables: list[str]
    versions: dict[str, str] = field(default_factory=dict)
    cursors: dict[str, Any] = field(default_factory=dict)
    webhook: Webhook | None = None
    approval: dict[str, Any] = field(default_factory=dict)


def pending_approval(connection: Connection, run_ref: str) -> Pending:
    """The run ``run_ref`` (an id or a unique prefix) if it awaits approval; else a clear error:
    ``NotFound`` (no such pipeline run) or ``Conflict`` (not awaiting, or superseded)."""
    run_id = resolve_run_id(connection, run_ref)
    found = load_runs(connection, [run_id])
    info = found[0] if found else None
    if info is None or run_tags(info).get(PIPELINE_TAG) != info.job_name:
        msg = f"run {run_ref!r} is not a pipeline run; `threadline pipeline list` lists the pipelines"
        raise NotFound(msg)
    short = run_id[:8]
    approval = approval_of(info)
    state = RunState.of(info.state)
    if approval is None or (state.is_terminal and approval.get("status") == "awaiting"):
        if state == RunState.FAILED:
            reason = "it failed (a check blocked it, or a stage failed): nothing of it can be promoted"
        elif state == RunState.RUNNING:
            reason = "it is still running"
        elif approval is None:
            reason = f"its environment has no approval gate (it is {state.label})"
        else:
            reason = f"it is {state.label}"
        msg = f"run {short} of {info.job_name} is not awaiting approval: {reason}"
        raise Conflict(msg)
    status = approval.get("status")
    if status == "approved":
        by = f" by {approval['approvedBy']}" if approval.get("approvedBy") else ""
        when = approval.get("approvedAt")
        msg = f"run {short} of {info.job_name} is not awaiting approval: it was approved{by} at {when}"
        raise Conflict(msg)
    if status != "awaiting" or state.is_terminal:
        msg = f"run {short} of {info.job_name} is not awaiting approval: it is {state.label}"
        raise Conflict(msg)
    env = str(info.params.get("env", ""))
    newer = _newer_run(connection, info, env)
    if newer is not None:
        msg = (
            f"run {short} of {info.job_name} cannot be approved: the newer run {newer.id[:8]} of the "
            f"same environment ({env}) replaced its staging tables; approve that one if it awaits approval"
        )
        raise Conflict(msg)
    try:
        environment = environment_from(env, approval.get("environment"), info.job_name)
    except Exception as exc:  # a record made by hand, or by another version
        msg = f"run {short} of {info.job_name} does not record the environment to promote into: {exc}"
        raise Conflict(msg) from exc
    tables = [str(t) for t in approval.get("tables") or []]
    versions = approval.get("versions")
    cursors = approval.get("cursors")
    return Pending(
        run=info,
        pipeline=info.job_name,
        env=env,
        environment=environment,
        tables=tables,
        versions={str(k): str(v) for k, v in versions.items()} if isinstance(versions, dict) else {},
        cursors=dict(cursors) if isinstance(cursors, dict) else {},
        webhook=Webhook.from_description(approval.get("webhook")),
        approval=approval,
    )


def _newer_run(connection: Connection, info: Run, env: str) -> Run | None:
    """A run of the same pipeline and environment that started after ``info`` (it rewrote staging)."""
    for other in newest_runs(connection, job_ids=[info.job_id], limit=LOOK_BACK):
        if other.id == info.id:
            return None
        if (
            run_tags(other).get(PIPELINE_TAG) == other.job_name
            and str(other.params.get("env", "")) == env
            and other.created_at > info.created_at
        ):
            return other
    return None


def _ref_of(part: Any) -> Any:
    """A :class:`RunRef` from a ``parent`` facet's ``{"run": {"runId"}, "job": {...}}`` (or ``None``)."""
    from threadline.tracking.records import RunRef

    if not isinstance(part, dict):
        return None
    run_id = (part.get("run") or {}).get("runId")
    job = part.get("job") or {}
    if not run_id or not job.get("name"):
        return None
    return RunRef(str(run_id), str(job.get("namespace") or "default"), str(job["name"]))


def _refs(info: Run) -> tuple[Any, Any, Any]:
    """The pipeline run's reference, its own parent and root (``None`` when it is a root run)."""
    from threadline.tracking.records import RunRef

    facet = info.facets.get("parent") or {}
    parent = _ref_of(facet)
    root = _ref_of(facet.get("root")) or parent
    return RunRef(info.id, info.job_namespace, info.job_name, info.job_name), parent, root


def promote(pending: Pending, by: str | None) -> list[bytes]:
    """Promote ``pending``'s staging tables into production and return the events recording it (the
    ``promote`` stage run and the pipeline run's end). When the warehouse cannot be opened or the
    promotion fails (it is rolled back), raises :class:`PipelineError` and records nothing: the run
    still awaits approval, and can be approved again once the cause is fixed."""
    from pathlib import Path

    from threadline.pipeline import promotion
    from threadline.pipeline.lake import Lake
    from threadline.pipeline.runner import _schema, _statistics, _version
    from threadline.pipeline.warehouse import open_warehouse
    from threadline.tracking.content import DatasetRef, dataset_name
    from threadline.tracking.records import EventRecord, RunRef

    info = pending.run
    stage = RunRef(str(uuid.uuid4()), info.job_namespace, f"{pending.pipeline}.promote", pending.pipeline)
    started = time.time()
    inputs: list[DatasetRef] = []
    outputs: list[DatasetRef] = []
    warehouse_path = pending.environment.warehouse_path
    still = f"; run {info.id[:8]} still awaits approval"
    duckdb_file = pending.environment.warehouse.startswith("duckdb:") and warehouse_path != ":memory:"
    if duckdb_file and not Path(warehouse_path).is_file():
        msg = f"the warehouse {pending.environment.warehouse} no longer exists{still}"
        raise PipelineError(msg)
    try:
        warehouse = open_warehouse(pending.environment)
    except PipelineError as exc:
        raise PipelineError(exc.message + still) from exc
    try:
        for table in pending.tables:
            namespace, name, _ = dataset_name(warehouse.uri(table))
            version = pending.versions.get(table)
            facets = {"version": _version(version)} if version else None
            inputs.append(DatasetRef(namespace, name, "dataset", facets=facets))
        try:  # as the runner: the lake's version written first, journaled, switched after
            promotion.promote(
                warehouse,
                Lake(pending.environment.lake),
                pending.tables,
                lake_production=pending.environment.lake_production,
            )
        except PipelineError as exc:
            raise PipelineError(exc.message + still) from exc
        for table in pending.tables:
            namespace, name, _ = dataset_name(warehouse.uri(table, production=True))
            facets = {
                "version": _version(pending.versions.get(table, stage.run_id)),
                "schema": _schema(warehouse.columns(table, production=True)),
            }
            statistics = _statistics(warehouse.count(table, production=True))
            outputs.append(DatasetRef(namespace, name, "dataset", facets=facets, io_facets=statistics))
    finally:
        warehouse.close()
    ended = time.time()
    pipeline_ref, own_parent, own_root = _refs(info)
    root = own_root or pipeline_ref  # the root of the stage run's tree
    stage_params: dict[str, Any] = {"env": pending.env, "tables": pending.tables, "cursors": pending.cursors}
    approval = {key: value for key, value in pending.approval.items() if value is not None}
    approval.update(status="approved", approvedAt=iso_time(int(ended * 1_000_000)))
    if by:
        stage_params["approvedBy"] = approval["approvedBy"] = by
    records = [
        EventRecord("START", started, stage, pipeline_ref, root, "STEP", params=stage_params),
        EventRecord(
            "COMPLETE",
            ended,
            stage,
            pipeline_ref,
            root,
            "STEP",
            params=stage_params,
            inputs=inputs,
            outputs=outputs,
        ),
        EventRecord(
            "COMPLETE",
            ended,
            pipeline_ref,
            own_parent,
            own_root,
            "PIPELINE",
            params={**info.params, APPROVAL_PARAM: approval},
            tags=run_tags(info),
        ),
    ]
    return _event_bytes(records)


def _event_bytes(records: list[Any]) -> list[bytes]:
    """The events of ``records`` (``EventRecord``s made here, in the server or the CLI, not by a
    tracked run: without this process's environment facets), as bytes to append."""
    from threadline.tracking.events import build_event, to_bytes

    for record in records:
        record.with_environment = False
    return [to_bytes(build_event(record, None, None)) for record in records]


def notify_approved(pending: Pending) -> list[bytes]:
    """Tell the pipeline's webhook that the approved run was promoted; return the events that record
    the delivery (a ``<pipeline>.notify`` run under the pipeline run, as a run's own deliveries are
    recorded: its page lists them under Notifications), for the caller to append; none without a
    webhook."""
    from threadline.pipeline import notify
    from threadline.pipeline.history import NOTIFY_STAGE
    from threadline.tracking.records import EventRecord, RunRef

    if pending.webhook is None:
        return []
    body = notify.notification(
        "promoted",
        pending.pipeline,
        pending.env,
        pending.run.id,
        f"approved and promoted to {pending.environment.schema}",
        tables=pending.tables,
    )
    started = time.time()
    delivery = notify.deliver(pending.webhook, body)
    if delivery is None:
        return []
    info = pending.run
    job = f"{pending.pipeline}.{NOTIFY_STAGE}"
    run = RunRef(str(uuid.uuid4()), info.job_namespace, job, pending.pipeline)
    pipeline_ref, _parent, own_root = _refs(info)
    root = own_root or pipeline_ref
    params = {"notification": delivery}
    records = [
        EventRecord("START", started, run, pipeline_ref, root, "STEP", params=params),
        EventRecord("COMPLETE", time.time(), run, pipeline_ref, root, "STEP", params=params),
    ]
    return _event_bytes(records)


def approve_in_store(store: Any, run_ref: str, by: str | None) -> Pending:
    """Approve the run ``run_ref`` of ``store`` (an open :class:`~threadline.store.SqlStore`): promote
    it, append the events and fold them. Raises the error that refused it or that failed the promotion
    (then nothing is recorded and the run still awaits approval)."""
    from threadline.openlineage.events import parse_event
    from threadline.projection.projector import project_all

    with _lock:
        with store.read() as connection:
            pending = pending_approval(connection, run_ref)
        raw = promote(pending, by)
        store.append([parse_event(event) for event in raw])
        project_all(store)
    delivered = notify_approved(pending)
    if delivered:
        store.append([parse_event(event) for event in delivered])
        project_all(store)
    return pending


def approval_lock() -> threading.Lock:
    """The lock that serialises the approvals of this process (the server takes it too)."""
    return _lock
