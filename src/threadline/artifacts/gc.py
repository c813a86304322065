"""Garbage collection: remove the objects that nothing to keep needs.

``keep`` is the set of ids still wanted (today given by the user; later the ids referenced by runs in
the store). A kept directory id keeps its manifest and every file it lists. If the manifest of a kept
directory is missing or corrupt, what it keeps cannot be known and nothing is removed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from threadline.artifacts.object_id import ObjectId
from threadline.artifacts.objects import ObjectDB
from threadline.artifacts.tree import reachable
from threadline.errors import ArtifactError, CorruptObject, ObjectNotFound


@dataclass
class GcReport:
    """What :func:`gc` removed (or, in a dry run, would remove) and the bytes that frees."""

    removed: list[ObjectId] = field(default_factory=list)
    bytes_freed: int = 0
    kept: int = 0
    dry_run: bool = False
    stale_tmp_removed: int = 0


def gc(odb: ObjectDB, keep: Iterable[ObjectId], *, dry_run: bool = False) -> GcReport:
    """Remove every stored object not reachable from ``keep``; with ``dry_run`` only report them.

    Also removes temporary files that crashed writers left behind a day or more ago.
    """
    try:
        wanted = reachable(odb, keep)
    except (ObjectNotFound, CorruptObject) as exc:
        msg = (
            f"garbage collection stopped, nothing was removed: {exc.message}. A kept directory's "
            "manifest is needed to know which files it keeps: pull it, or drop that id from the ids to keep"
        )
        raise ArtifactError(msg) from exc
    report = GcReport(dry_run=dry_run)
    for oid in sorted(odb.iter_ids()):
        if oid in wanted:
            report.kept += 1
            continue
        try:
            size = odb.size(oid)
        except ObjectNotFound:
            continue
        if dry_run or odb.remove(oid):
            report.removed.append(oid)
            report.bytes_freed += size
    if not dry_run:
        report.stale_tmp_removed = odb.clean_tmp()
    return report
