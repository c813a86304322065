"""Remotes: object stores elsewhere, reached through fsspec, and push and pull between them.

A remote is a URL: a folder path, ``file:///…``, ``s3://bucket/prefix``, ``gs://…``, ``az://…`` or any
other protocol fsspec knows (its driver package installed). It holds objects in the same ``ab/cdef…``
layout as the local store. Push and pull list the other side once (one recursive listing), transfer
only the objects missing there, several at a time, and so resume naturally after an interruption.

- Writes are atomic: on filesystems with a rename (local folders, SFTP, …) an object is written under
  ``tmp/`` on the remote and then moved into place; on object stores (S3, GCS, Azure, memory) an
  upload becomes visible only once complete, so it is written in place.
- Push verifies each local object before uploading it, so corruption never spreads; pull verifies
  each object while storing it and keeps none whose bytes do not match its id.
- Every failure of a remote becomes a :class:`~threadline.errors.RemoteError` with a message; a
  missing driver names the package to install.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from threadline.artifacts.hashing import hash_file, stream_reader
from threadline.artifacts.object_id import ObjectId
from threadline.artifacts.objects import OBJECT_MODE, ObjectDB
from threadline.artifacts.tree import load_manifest, reachable
from threadline.errors import ArtifactError, ObjectNotFound, RemoteError, ThreadlineError

#: The package that gives fsspec each protocol (fsspec's own message is the fallback).
DRIVER_PACKAGES = {
    "s3": "s3fs",
    "s3a": "s3fs",
    "gs": "gcsfs",
    "gcs": "gcsfs",
    "az": "adlfs",
    "abfs": "adlfs",
    "abfss": "adlfs",
    "adl": "adlfs",
    "sftp": "paramiko",
    "ssh": "paramiko",
    "http": "aiohttp",
    "https": "aiohttp",
    "hdfs": "pyarrow",
    "webdav": "webdav4",
    "oss": "ossfs",
}
#: Protocols whose uploads appear only once complete, and whose "rename" is a copy.
OBJECT_STORE_PROTOCOLS = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "oss", "memory"})
_LOCAL_PROTOCOLS = frozenset({"file", "local"})
_OBJECT_PATH = re.compile(r"([0-9a-f]{2})/([0-9a-f]{62})")
_TOKEN = secrets.token_hex(4)
_COUNTER = itertools.count()

#: Called with (objects done, objects to transfer).
CountProgress = Callable[[int, int], None]


def default_transfer_jobs() -> int:
    """Transfers at a time: four per core (they mostly wait on the network), at most 32."""
    return min(32, 4 * (os.cpu_count() or 1))


def _protocol_of(url: str) -> str:
    head = url.rsplit("::", 1)[-1]
    return head.split("://", 1)[0].lower() if "://" in head else "file"


class Remote:
    """An object store at a URL; open one with :meth:`Remote.open`."""

    def __init__(self, url: str, fs: Any, root: str) -> None:
        self.url = url
        self.fs = fs
        self.root = root.rstrip("/") or "/"
        protocols = fs.protocol if isinstance(fs.protocol, (tuple, list)) else (fs.protocol,)
        self.protocols = frozenset(protocols)
        self.is_local = bool(self.protocols & _LOCAL_PROTOCOLS)
        self.atomic_rename = not (self.protocols & OBJECT_STORE_PROTOCOLS)
        self._made_dirs: set[str] = set()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Remote({self.url!r})"

    @classmethod
    def open(cls, url: str, **options: Any) -> Remote:
        """Open the remote at ``url``; ``options`` go to the fsspec filesystem (e.g. ``endpoint_url``)."""
        protocol = _protocol_of(url)
        try:
            from fsspec.core import url_to_fs
        except ImportError as exc:  # pragma: no cover - fsspec is a dependency
            msg = "remotes need the fsspec package: pip install fsspec"
            raise RemoteError(msg) from exc
        try:
            fs, root = url_to_fs(url, **options)
        except ImportError as exc:
            package = DRIVER_PACKAGES.get(protocol)
            how = f"pip install {package}" if package else str(exc)
            msg = f"remote {url}: the {protocol}:// protocol needs a driver that is not installed: {how}"
            raise RemoteError(msg) from exc
        except ValueError as exc:
            if "protocol not known" in str(exc).lower():
                msg = (
                    f"remote {url}: unknown protocol {protocol!r}; give a folder path or a URL such as "
                    "file:///PATH, s3://BUCKET/PREFIX, gs://BUCKET/PREFIX or az://CONTAINER/PREFIX"
                )
            else:
                msg = f"remote {url} cannot be opened: {exc}"
            raise RemoteError(msg) from exc
        except Exception as exc:
            msg = f"remote {url} cannot be opened: {exc.__class__.__name__}: {exc}"
            raise RemoteError(msg) from exc
        remote = cls(url, fs, root)
        if remote.is_local and not Path(remote.root).is_dir():
            msg = (
                f"remote folder {remote.root} does not exist or is not a folder; "
                f"create it (mkdir -p {remote.root}) or fix the remote's URL"
            )
            raise RemoteError(msg)
        return remote

    def object_path(self, oid: ObjectId) -> str:
        """Where object ``oid`` lives on the remote."""
        return f"{self.root}/{oid.value[:2]}/{oid.value[2:]}"

    def list_ids(self) -> set[ObjectId]:
        """Every object on the remote, with one recursive listing."""
        gone = f"remote folder {self.root} has disappeared; create it again or fix the remote's URL"
        if self.is_local and not Path(self.root).is_dir():  # fsspec lists a missing folder as empty
            raise RemoteError(gone)
        try:
            paths = self.fs.find(self.root, withdirs=False, detail=False)
        except FileNotFoundError:
            if self.is_local:
                raise RemoteError(gone) from None
            return set()  # an object store prefix with nothing under it yet
        except Exception as exc:
            msg = f"cannot list remote {self.url}: {exc.__class__.__name__}: {exc}"
            raise RemoteError(msg) from exc
        prefix = self.root.rstrip("/") + "/"
        found: set[ObjectId] = set()
        for path in paths:
            relative = path[len(prefix) :] if path.startswith(prefix) else path.lstrip("/")
            match = _OBJECT_PATH.fullmatch(relative)
            if match is not None:
                found.add(ObjectId(match.group(1) + match.group(2)))
        return found

    def upload(self, odb: ObjectDB, oid: ObjectId) -> int:
        """Copy local object ``oid`` to the remote after checking it; returns its size."""
        local = os.fspath(odb.path_of(oid))
        actual, size = hash_file(local)
        if actual != oid.value:
            msg = f"local object {oid} at {local} is corrupt; run `threadline artifacts check --remove`"
            raise ArtifactError(msg)
        final = self.object_path(oid)
        if not self.atomic_rename:
            self.fs.put_file(local, final)
            return size
        tmp = f"{self.root}/tmp/{_TOKEN}-{os.getpid()}-{next(_COUNTER)}"
        self._makedirs(f"{self.root}/tmp")
        self._makedirs(final.rsplit("/", 1)[0])
        try:
            self.fs.put_file(local, tmp)
            if self.is_local:
                Path(tmp).chmod(OBJECT_MODE)
            self.fs.mv(tmp, final)
        except BaseException:
            with contextlib.suppress(Exception):  # the original error matters more than the clean-up's
                if self.fs.exists(tmp):
                    self.fs.rm_file(tmp)
            raise
        return size

    def download(self, odb: ObjectDB, oid: ObjectId) -> int:
        """Fetch object ``oid`` into ``odb``, verified by hash on the way; returns its size."""
        path = self.object_path(oid)
        with self.fs.open(path, "rb") as fh:
            size_hint = getattr(fh, "size", None) or 0
            _, size = odb.add_stream(
                stream_reader(fh), expected=oid, size_hint=size_hint, source=f"{self.url} ({path})"
            )
        return size

    def _makedirs(self, path: str) -> None:
        with self._lock:
            if path in self._made_dirs:
                return
        self.fs.makedirs(path, exist_ok=True)
        with self._lock:
            self._made_dirs.add(path)


@dataclass
class TransferReport:
    """What a push or pull did: objects copied, bytes, objects already there, and failures by id."""

    transferred: list[ObjectId] = field(default_factory=list)
    bytes: int = 0
    already_present: int = 0
    failed: dict[ObjectId, str] = field(default_factory=dict)


def push(
    odb: ObjectDB,
    remote: Remote,
    ids: Iterable[ObjectId] | None = None,
    *,
    jobs: int | None = None,
    progress: CountProgress | None = None,
) -> TransferReport:
    """Upload the local objects the remote lacks: all of them, or those that ``ids`` need."""
    if ids is None:
        wanted = set(odb.iter_ids())
    else:
        wanted = reachable(odb, ids)
        absent = sorted(oid for oid in wanted if not odb.has(oid))
        if absent:
            more = f" and {len(absent) - 1} more" if len(absent) > 1 else ""
            msg = f"cannot push {absent[0]}{more}: not in the local object store; add or pull it first"
            raise ObjectNotFound(msg, str(absent[0]))
    present = remote.list_ids()
    report = TransferReport(already_present=len(wanted & present))
    transfer(sorted(wanted - present), lambda oid: remote.upload(odb, oid), report, jobs, progress)
    return report


def pull(
    odb: ObjectDB,
    remote: Remote,
    ids: Iterable[ObjectId] | None = None,
    *,
    jobs: int | None = None,
    progress: CountProgress | None = None,
) -> TransferReport:
    """Download the objects the local store lacks: all the remote has, or those that ``ids`` need.

    A directory id brings its manifest first (if it is not already here), then the files it lists.
    """
    present = remote.list_ids()
    report = TransferReport()
    if ids is None:
        wanted = present
        local = set(odb.iter_ids())
    else:
        wanted = set()
        for oid in ids:
            wanted.add(oid.file_id)
            if not oid.is_dir:
                continue
            if not odb.has(oid.file_id):
                if oid.file_id not in present:
                    report.failed[oid.file_id] = f"directory {oid}'s manifest is not on the remote"
                    continue
                transfer([oid.file_id], lambda o: remote.download(odb, o), report, 1, None)
                if oid.file_id in report.failed:
                    continue
            wanted |= load_manifest(odb, oid).object_ids()
        local = {oid for oid in wanted if odb.has(oid)}
    report.already_present = len(wanted & local)
    todo = sorted(wanted - local)
    for oid in todo:
        if oid not in present and oid not in report.failed:
            report.failed[oid] = "not on the remote"
    todo = [oid for oid in todo if oid in present and oid not in report.failed]
    transfer(todo, lambda oid: remote.download(odb, oid), report, jobs, progress)
    return report


def transfer(
    todo: list[ObjectId],
    move: Callable[[ObjectId], int],
    report: TransferReport,
    jobs: int | None,
    progress: CountProgress | None,
) -> None:
    """Run ``move`` on every id, ``jobs`` at a time; a failure is recorded and the others go on."""

    def attempt(oid: ObjectId) -> tuple[ObjectId, int, str | None]:
        try:
            return oid, move(oid), None
        except ThreadlineError as exc:  # an artifact's or a sync remote's: its message is one line
            return oid, 0, exc.message
        except Exception as exc:  # any driver's error: the remaining objects still get their turn
            return oid, 0, f"{exc.__class__.__name__}: {exc}"

    if progress is not None:
        progress(0, len(todo))
    if not todo:
        return
    workers = max(1, min(jobs or default_transfer_jobs(), len(todo)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="threadline-transfer") as pool:
        for done, (oid, size, problem) in enumerate(pool.map(attempt, todo), start=1):
            if problem is None:
                report.transferred.append(oid)
                report.bytes += size
            else:
                report.failed[oid] = problem
            if progress is not None:
                progress(done, len(todo))


def resolve_remote(
    name_or_url: str, configured: Mapping[str, Mapping[str, Any]]
) -> tuple[str, dict[str, Any]]:
    """A remote's URL and fsspec options: a name from the config file's ``[remotes.NAME]``, else a URL.

    A configured name wins over a folder of the same name.
    """
    if name_or_url in configured:
        table = dict(configured[name_or_url])
        return str(table.pop("url")), table
    return name_or_url, {}
