"""Snapshots and restores of a run's inputs.

- :func:`snapshot_run` makes sure the artifact store holds the exact bytes of every input of a run
  (and of the runs below it, for a pipeline): an input already stored is kept, an input whose file
  still hashes to what the run recorded is added, and an input that changed since is an error naming
  it (nothing is stored then). The snapshot is recorded as an OTHER RunEvent of that run with a
  ``threadline_snapshot`` facet listing the objects, so it is in the log and syncs with it.
- :func:`restore_run` writes those bytes back, in place or under a folder, pulling what is missing
  from a remote first. Everything is checked before anything is written (targets, objects, their
  integrity); each file is written under a temporary name and renamed into place, and if one fails
  the files this restore created are removed again.

What differs between two runs is :mod:`threadline.tracking.compare`'s.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from threadline.artifacts.object_id import ObjectId
from threadline.artifacts.store import ArtifactStore
from threadline.artifacts.tree import load_manifest
from threadline.errors import (
    ArtifactError,
    CorruptObject,
    ObjectNotFound,
    RunNotReproducible,
    TargetExists,
    TrackingError,
)
from threadline.openlineage.versions import EventType
from threadline.projection.readers.runs import Run, RunDataset, get_run, load_runs, run_tree
from threadline.store.run_ids import short_run_ids
from threadline.store.sql import SqlStore
from threadline.tracking.records import EventRecord, RunRef


@dataclass(frozen=True, slots=True)
class TreeInput:
    """An input of a run tree (see :func:`tree_inputs`) and the run of the tree that read it."""

    run_id: str
    dataset: RunDataset


def tree_inputs(connection: Connection, run_id: str) -> list[TreeInput]:
    """The inputs a run (with every run below it) read that no run of that tree wrote itself.

    For a step, its own inputs; for a pipeline run, the data that came from outside the pipeline:
    what restoring it needs to re-run the whole pipeline. One entry per dataset and content id, with
    the versions the runs recorded (never one inferred: a restore promises the exact bytes).
    """
    runs = load_runs(connection, run_tree(connection, run_id), recorded_versions=True)
    written = {(entry.id, entry.version) for run in runs for entry in run.outputs}
    chosen: dict[tuple[int, str | None], TreeInput] = {}
    for run in runs:
        for entry in run.inputs:
            if (entry.id, entry.version) not in written:
                chosen.setdefault((entry.id, entry.version), TreeInput(run.id, entry))
    return sorted(
        chosen.values(), key=lambda i: (i.dataset.namespace, i.dataset.name, i.dataset.version or "")
    )


@dataclass
class SnapshotItem:
    """One input of a snapshot (and the run that read it) and what the snapshot did with it."""

    dataset: RunDataset
    run_id: str
    object_id: str | None
    action: str  # "stored already", "added", "not hashed"


@dataclass
class SnapshotResult:
    """What :func:`snapshot_run` did."""

    run: Run
    items: list[SnapshotItem] = field(default_factory=list)
    event_id: str | None = None


def _short(store: SqlStore, run_id: str) -> str:
    """The run's short id, as every listing shows it."""
    with store.read() as connection:
        return short_run_ids(connection, [run_id])[run_id]


def is_stored(artifacts: ArtifactStore, oid: ObjectId) -> bool:
    """Whether the object (with every file of a folder) is in the local store."""
    odb = artifacts.odb
    if not odb.has(oid.file_id):
        return False
    if not oid.is_dir:
        return True
    try:
        manifest = load_manifest(odb, oid)
    except ArtifactError:
        return False
    return all(odb.has(entry) for entry in manifest.object_ids())


def snapshot_run(store: SqlStore, artifacts: ArtifactStore, run_id: str) -> SnapshotResult:
    """Store the exact inputs of a run and record the snapshot as an event (see the module docstring)."""
    from threadline.tracking.content import ContentReader

    with store.read() as connection:
        info = get_run(connection, run_id)
        inputs = tree_inputs(connection, run_id)
    result = SnapshotResult(info)
    reader = ContentReader(artifacts.hash_cache, artifacts.odb)
    to_add: list[tuple[SnapshotItem, str]] = []
    problems: list[str] = []
    for found in inputs:
        dataset = found.dataset
        oid_text = dataset.object_id
        if oid_text is None:
            result.items.append(SnapshotItem(dataset, found.run_id, None, "not hashed"))
            continue
        oid = ObjectId.parse(oid_text)
        if is_stored(artifacts, oid):
            result.items.append(SnapshotItem(dataset, found.run_id, oid_text, "stored already"))
            continue
        path = dataset.local_path
        if path is None:
            problems.append(f"input {dataset.label} is not stored and is not a local file")
            continue
        try:
            now = reader.describe(path, "dataset", store=False, role="input").oid
        except TrackingError as exc:
            problems.append(f"{exc.message}, and its content {oid_text} is not in the object store")
            continue
        if now != oid_text:
            problems.append(
                f"input {path} changed since run {_short(store, run_id)} read it "
                f"(it was {oid_text[:19]}…, it is now {str(now)[:19]}…)"
            )
            continue
        item = SnapshotItem(dataset, found.run_id, oid_text, "added")
        to_add.append((item, path))
    if problems:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        msg = f"cannot snapshot run {_short(store, run_id)}: {problems[0]}{more}; nothing was stored"
        raise RunNotReproducible(msg)
    for item, path in to_add:
        added = str(artifacts.add(path))
        if added != item.object_id:
            msg = f"input {path} changed while it was being stored; run the snapshot again"
            raise RunNotReproducible(msg)
        result.items.append(item)
    objects = [
        {
            "namespace": i.dataset.namespace,
            "name": i.dataset.name,
            "object": i.object_id,
            "run": i.run_id,
        }
        for i in result.items
        if i.object_id is not None
    ]
    result.event_id = record_snapshot(store, info, objects)
    result.items.sort(key=lambda i: i.dataset.label)
    return result


def record_snapshot(store: SqlStore, info: Run, objects: list[dict[str, Any]]) -> str:
    """Append an OTHER event of the run carrying a ``threadline_snapshot`` facet; return its event id."""
    from threadline.openlineage.events import parse_event
    from threadline.projection.projector import project_all
    from threadline.tracking.events import build_event, to_bytes

    record = EventRecord(
        event_type=EventType.OTHER,
        time=time.time(),
        run=RunRef(info.id, info.job_namespace, info.job_name),
        snapshot=objects,
        with_environment=False,
    )
    parsed = parse_event(to_bytes(build_event(record, None, None)))
    store.append([parsed])
    project_all(store)
    return parsed.id


@dataclass
class RestoreItem:
    """One input to restore: its dataset, object and where it goes."""

    dataset: RunDataset
    object_id: ObjectId
    target: Path


def _under(path: str, base: str) -> bool:
    return os.path.commonpath([path, base]) == base


def _inside(path: Path, base: Path) -> bool:
    """Whether ``path`` lies in ``base``, both as written (``..`` folded) and with links followed."""
    return _under(os.path.normpath(path), os.path.normpath(base)) and _under(
        os.path.realpath(path), os.path.realpath(base)
    )


def restore_target(
    dataset: RunDataset, to: Path | None, project_root: Path | None, root: Path | None = None
) -> Path:
    """Where an input is restored: its own path, or under ``to`` (relative to the project when inside it).

    A dataset's name comes from an event, which anyone with a write key (or a remote one pulls from)
    may have written, so it is never trusted as a path: it must be absolute, ``..`` parts are folded
    away, and the target must lie in the destination, links followed: under ``to``, or in place under
    ``root`` (default: ``project_root``). Raises :class:`TrackingError` naming the input otherwise.
    """
    path = dataset.local_path
    if path is None:
        msg = f"input {dataset.label} is not a local file and cannot be restored"
        raise TrackingError(msg)
    if not Path(path).is_absolute():
        msg = f"input {path!r} is not an absolute path, so where it belongs is unknown; it cannot be restored"
        raise TrackingError(msg)
    original = Path(os.path.normpath(path))
    if to is None:
        base = root if root is not None else project_root
        if base is None:
            msg = "restoring in place needs the folder to restore under (root=) or a destination (to=)"
            raise TrackingError(msg)
        target = original
    else:
        base = to
        relative = original.relative_to(original.anchor)
        if project_root is not None and _under(str(original), os.path.normpath(project_root.absolute())):
            relative = original.relative_to(os.path.normpath(project_root.absolute()))
        target = to / relative
    base = base.absolute()
    target = target.absolute()
    if os.path.normpath(target) == os.path.normpath(base):
        msg = f"input {path} would replace {base} itself; restore it with --to DIR; nothing was restored"
        raise TrackingError(msg)
    if not _inside(target, base):
        if to is not None:
            msg = (
                f"input {path} would be restored to {target}, outside {base} (a link in it leads out); "
                "nothing was restored"
            )
        elif root is not None:
            msg = f"input {path} is outside {base} (--root); nothing was restored"
        else:
            msg = (
                f"input {path} is outside the project {base}: restore it under a folder with --to DIR, or "
                "allow restoring in place under a folder with --root ABSOLUTE_DIR; nothing was restored"
            )
        raise TrackingError(msg)
    return target


def plan_restore(
    store: SqlStore,
    run_id: str,
    to: Path | None,
    project_root: Path | None,
    root: Path | None = None,
) -> tuple[Run, list[RestoreItem], list[RunDataset]]:
    """The inputs to restore and where, and the inputs that cannot be (no content id recorded)."""
    with store.read() as connection:
        info = get_run(connection, run_id)
        inputs = [found.dataset for found in tree_inputs(connection, run_id)]
    items: list[RestoreItem] = []
    skipped: list[RunDataset] = []
    targets: dict[Path, RunDataset] = {}
    for dataset in inputs:
        if dataset.object_id is None:
            skipped.append(dataset)
            continue
        target = restore_target(dataset, to, project_root, root)
        if target in targets:
            msg = (
                f"run {_short(store, run_id)} read {dataset.label} in two versions; restore its steps "
                "one at a time (`threadline restore STEP_RUN --to DIR`)"
            )
            raise RunNotReproducible(msg)
        targets[target] = dataset
        items.append(RestoreItem(dataset, ObjectId.parse(dataset.object_id), target))
    return info, items, skipped


def restore_run(
    store: SqlStore,
    artifacts: ArtifactStore,
    run_id: str,
    *,
    to: Path | None = None,
    force: bool = False,
    remote: str | None = None,
    project_root: Path | None = None,
    root: Path | None = None,
) -> tuple[Run, list[RestoreItem], list[RunDataset]]:
    """Write the exact bytes each input of a run had when the run read it (see the module docstring).

    Every target must lie under ``to``, or in place under ``root`` (default: ``project_root``); see
    :func:`restore_target`. Each is checked again, links followed, as it is written.
    """
    info, items, skipped = plan_restore(store, run_id, to, project_root, root)
    base = (to if to is not None else root if root is not None else project_root or Path("/")).absolute()
    if not items:
        msg = f"run {_short(store, run_id)} recorded no input with a content id: there is nothing to restore"
        raise RunNotReproducible(msg)
    if not force:
        for item in items:
            if os.path.lexists(item.target):
                msg = f"{item.target} exists; give --force to replace it, or --to DIR to restore elsewhere"
                raise TargetExists(msg)
    missing = [item for item in items if not is_stored(artifacts, item.object_id)]
    if missing and remote:
        from threadline.artifacts.store import open_remote

        report = artifacts.pull(open_remote(remote), [item.object_id for item in missing])
        if report.failed:
            oid, why = sorted(report.failed.items())[0]
            msg = f"cannot pull {oid} from {remote}: {why}; nothing was restored"
            raise ObjectNotFound(msg, str(oid))
        missing = [item for item in items if not is_stored(artifacts, item.object_id)]
    if missing:
        first = missing[0]
        hint = (
            "pull it from a remote with --remote NAME" if not remote else f"{remote} does not have it either"
        )
        msg = (
            f"input {first.dataset.label} of run {_short(store, run_id)} ({first.object_id}) is not in "
            "the object store: snapshot runs with `threadline snapshot RUN` before their inputs change, "
            f"or {hint}; nothing was restored"
        )
        raise ObjectNotFound(msg, str(first.object_id))
    checked = artifacts.check([item.object_id for item in items])
    if checked.corrupt:
        problem: CorruptObject = checked.corrupt[0]
        hint = (
            "nothing was restored; remove it with `threadline artifacts check --remove`, then pull it "
            "again (--remote NAME) or snapshot the run again from unchanged files"
        )
        raise CorruptObject(problem.object_id, problem.path, problem.actual, hint=hint)
    created: list[Path] = []
    try:
        for item in items:
            existed = os.path.lexists(item.target)
            artifacts.checkout(item.object_id, item.target, force=force, within=base)
            if not existed:
                created.append(item.target)
    except BaseException:
        for path in created:
            _remove(path)
        raise
    return info, items, skipped


def _remove(path: Path) -> None:
    import shutil

    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    except OSError:
        pass
