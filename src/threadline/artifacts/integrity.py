"""Integrity checks: re-hash stored objects and find (and optionally remove) the corrupt ones."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from threadline.artifacts.add import default_jobs
from threadline.artifacts.hashing import hash_file
from threadline.artifacts.object_id import ObjectId
from threadline.artifacts.objects import ObjectDB
from threadline.artifacts.tree import reachable
from threadline.errors import CorruptObject

#: Called with (objects checked, objects to check).
CountProgress = Callable[[int, int], None]


@dataclass
class CheckReport:
    """What :func:`check` found: how much it read, which objects are corrupt, missing or removed."""

    checked: int = 0
    bytes: int = 0
    corrupt: list[CorruptObject] = field(default_factory=list)
    missing: list[ObjectId] = field(default_factory=list)
    removed: list[ObjectId] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is corrupt or missing."""
        return not self.corrupt and not self.missing


def check(
    odb: ObjectDB,
    ids: Iterable[ObjectId] | None = None,
    *,
    remove: bool = False,
    jobs: int | None = None,
    progress: CountProgress | None = None,
) -> CheckReport:
    """Re-hash every stored object (or those that ``ids`` need) and report the corrupt ones.

    With ``ids``, a directory id covers its manifest and every file it lists; ids not stored are
    reported as missing. With ``remove``, corrupt objects are deleted so that a later pull or add can
    store them again.
    """
    report = CheckReport()
    if ids is None:
        wanted = sorted(odb.iter_ids())
    else:
        wanted = sorted(reachable(odb, ids))
        report.missing = [oid for oid in wanted if not odb.has(oid)]
        missing = set(report.missing)
        wanted = [oid for oid in wanted if oid not in missing]

    def verify(oid: ObjectId) -> tuple[ObjectId, str | None, int]:
        path = odb.path_of(oid)
        try:
            actual, size = hash_file(path)
        except FileNotFoundError:  # removed meanwhile (a concurrent gc): nothing to check
            return oid, None, 0
        return oid, (None if actual == oid.value else actual), size

    workers = max(1, jobs or default_jobs())
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="threadline-check") as pool:
        for done, (oid, bad_hash, size) in enumerate(pool.map(verify, wanted), start=1):
            report.checked += 1
            report.bytes += size
            if bad_hash is not None:
                report.corrupt.append(CorruptObject(str(oid), os.fspath(odb.path_of(oid)), bad_hash))
                if remove and odb.remove(oid):
                    report.removed.append(oid)
            if progress is not None:
                progress(done, len(wanted))
    return report
