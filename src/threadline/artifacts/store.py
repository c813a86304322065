"""The artifact store of a project: an object database plus its hash cache, with every operation.

A project keeps its objects in ``<project>/.threadline/objects`` and its hash cache beside them in
``objects/hashcache.db``; deleting the whole ``objects`` folder loses the stored objects and nothing
else. The hash cache is opened on first use (by :meth:`ArtifactStore.add`) so that read-only work
creates nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from threadline import settings
from threadline.artifacts.add import add_path
from threadline.artifacts.checkout import checkout
from threadline.artifacts.gc import GcReport, gc
from threadline.artifacts.hashcache import HashCache, HashCacheLike
from threadline.artifacts.hashing import Progress
from threadline.artifacts.integrity import CheckReport, CountProgress, check
from threadline.artifacts.object_id import ObjectId
from threadline.artifacts.objects import ObjectDB
from threadline.artifacts.remote import Remote, TransferReport, pull, push, resolve_remote
from threadline.errors import RemoteError

OBJECTS_DIR_NAME = "objects"
HASH_CACHE_FILE_NAME = "hashcache.db"


class ArtifactStore:
    """Add, check out, check, collect and transfer objects in one object database."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        hash_cache: HashCacheLike | None = None,
        fsync: bool = False,
        jobs: int | None = None,
    ) -> None:
        self.odb = ObjectDB(root, fsync=fsync)
        self.jobs = jobs
        self._hash_cache = hash_cache

    @classmethod
    def for_project(cls, project: str | os.PathLike[str] | None = None, **kwargs: Any) -> ArtifactStore:
        """The store of the project folder ``project`` (default: the nearest ``.threadline``)."""
        folder = Path(project) if project is not None else settings.project_dir()
        return cls(folder / OBJECTS_DIR_NAME, **kwargs)

    @property
    def root(self) -> Path:
        """The object database's folder."""
        return self.odb.root

    @property
    def hash_cache(self) -> HashCacheLike:
        """The hash cache, opened (and created) on first use."""
        if self._hash_cache is None:
            self._hash_cache = HashCache(self.odb.root / HASH_CACHE_FILE_NAME)
        return self._hash_cache

    def add(self, path: str | os.PathLike[str], *, progress: Progress | None = None) -> ObjectId:
        """Store a file or directory; returns its id (``blake3:….dir`` for a directory)."""
        return add_path(self.odb, path, hash_cache=self.hash_cache, jobs=self.jobs, progress=progress)

    def checkout(
        self,
        object_id: ObjectId | str,
        target: str | os.PathLike[str],
        *,
        force: bool = False,
        progress: Progress | None = None,
        within: str | os.PathLike[str] | None = None,
    ) -> None:
        """Write ``object_id`` (a file or a directory) at ``target``, verified and atomically; with
        ``within``, only if ``target`` lies inside that folder (links followed)."""
        checkout(
            self.odb, _id(object_id), target, force=force, jobs=self.jobs, progress=progress, within=within
        )

    def check(
        self,
        ids: Iterable[ObjectId | str] | None = None,
        *,
        remove: bool = False,
        progress: CountProgress | None = None,
    ) -> CheckReport:
        """Re-hash every object (or those ``ids`` need); with ``remove``, delete the corrupt ones."""
        wanted = None if ids is None else [_id(oid) for oid in ids]
        return check(self.odb, wanted, remove=remove, jobs=self.jobs, progress=progress)

    def gc(self, keep: Iterable[ObjectId | str], *, dry_run: bool = False) -> GcReport:
        """Remove every object not needed by ``keep``; with ``dry_run``, only say what would go."""
        return gc(self.odb, [_id(oid) for oid in keep], dry_run=dry_run)

    def push(
        self,
        remote: Remote | str,
        ids: Iterable[ObjectId | str] | None = None,
        *,
        jobs: int | None = None,
        progress: CountProgress | None = None,
    ) -> TransferReport:
        """Upload what the remote lacks (everything, or what ``ids`` need)."""
        wanted = None if ids is None else [_id(oid) for oid in ids]
        return push(self.odb, open_remote(remote), wanted, jobs=jobs, progress=progress)

    def pull(
        self,
        remote: Remote | str,
        ids: Iterable[ObjectId | str] | None = None,
        *,
        jobs: int | None = None,
        progress: CountProgress | None = None,
    ) -> TransferReport:
        """Download what this store lacks (everything on the remote, or what ``ids`` need)."""
        wanted = None if ids is None else [_id(oid) for oid in ids]
        return pull(self.odb, open_remote(remote), wanted, jobs=jobs, progress=progress)

    def close(self) -> None:
        """Close the hash cache if it was opened."""
        if self._hash_cache is not None:
            self._hash_cache.close()

    def __enter__(self) -> ArtifactStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_remote(remote: Remote | str, *, start: Path | None = None) -> Remote:
    """``remote`` itself, or the remote named by it in the project config, or the one at that URL."""
    if isinstance(remote, Remote):
        return remote
    url, options = resolve_remote(remote, settings.remotes(start))
    if url.lower().startswith(("http://", "https://")):
        named = remote if remote == url else f"{remote} ({url})"
        msg = (
            f"{named} is a threadline server, not an object store: objects go to a server with "
            f"`threadline push --artifacts {remote}` and come from it with "
            f"`threadline pull --artifacts {remote}`"
        )
        raise RemoteError(msg)
    return Remote.open(url, **options)


def _id(value: ObjectId | str) -> ObjectId:
    return value if isinstance(value, ObjectId) else ObjectId.parse(value)
