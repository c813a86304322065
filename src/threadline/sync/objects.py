"""Artifacts with sync: push and pull the objects that runs refer to, to and from a threadline server.

``threadline push --artifacts`` and ``pull --artifacts`` move, besides events, the objects the runs of
the store refer to (the content of their inputs and outputs, snapshots, package lists: what
:func:`~threadline.projection.readers.objects.referenced_objects` finds). Only objects the other side
lacks move: the server is asked which of a list it is missing (``POST /api/v1/objects/missing``),
never for a listing of everything it holds. Every object is verified on both ends: a site checks each object
before it leaves, the server checks the bytes it receives against the id before keeping them, and a
pulled object is hashed while it is stored. Inputs that were hashed but never stored (``store=False``)
exist nowhere to be sent; they are counted as *unavailable*, not as failures.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import httpx

from threadline.artifacts.hashing import hash_file
from threadline.artifacts.object_id import ObjectId
from threadline.artifacts.objects import ObjectDB
from threadline.artifacts.remote import TransferReport, transfer
from threadline.artifacts.tree import load_manifest
from threadline.errors import (
    ArtifactError,
    InvalidObjectId,
    ObjectNotFound,
    RemoteRefused,
    SyncError,
)
from threadline.store.sql import SqlStore
from threadline.sync.client import SyncClient
from threadline.sync.limits import Transfer

#: Ids per ``missing`` question (the server's limit).
MISSING_CHUNK = 10_000
#: Bytes per chunk of an upload.
UPLOAD_CHUNK = 1024 * 1024
#: Largest folder manifest pulled (some seven million files); it is read whole to list the files.
MAX_MANIFEST_BYTES = 1024 * 1024 * 1024
#: Disk space a pull of objects leaves free.
DISK_RESERVE = 1024 * 1024 * 1024
#: Bytes of an object of unknown size between two looks at the free space.
DISK_CHECK_BYTES = 64 * 1024 * 1024

#: Called with (objects done, objects to transfer).
Progress = Callable[[int, int], None]


@dataclass
class ObjectsReport:
    """What an object push or pull did (``unavailable``: referenced, but on neither side)."""

    transfer: TransferReport = field(default_factory=TransferReport)
    unavailable: int = 0

    @property
    def transferred(self) -> int:
        """Objects copied."""
        return len(self.transfer.transferred)


def referenced(store: SqlStore) -> set[ObjectId]:
    """The ids (files and folders) the runs of ``store`` refer to."""
    from threadline.projection.readers.objects import referenced_objects

    with store.read() as connection:
        texts = referenced_objects(connection)
    found = set()
    for text in texts:
        try:
            found.add(ObjectId.parse(text))
        except InvalidObjectId:
            continue
    return found


def _listed(odb: ObjectDB, ids: Iterable[ObjectId]) -> dict[ObjectId, int | None]:
    """Plain ids of ``ids`` and, for folders whose manifest is here, of the files they list, each with
    the size its manifest gives (None when no manifest here lists it)."""
    found: dict[ObjectId, int | None] = {}
    for oid in ids:
        found.setdefault(oid.file_id, None)
        if oid.is_dir and odb.has(oid.file_id):
            try:
                manifest = load_manifest(odb, oid)
            except ArtifactError:
                continue  # a damaged manifest: the manifest itself still counts, and check reports it
            for entry in manifest.entries:
                found[entry.oid] = entry.size
    return found


def _expand(odb: ObjectDB, ids: Iterable[ObjectId]) -> set[ObjectId]:
    """Plain ids of ``ids`` and, for folders whose manifest is here, of the files they list."""
    return set(_listed(odb, ids))


def _chunks(ids: list[ObjectId], size: int) -> Iterator[list[ObjectId]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def missing_on_server(client: SyncClient, ids: Iterable[ObjectId]) -> set[ObjectId]:
    """Which of ``ids`` the server lacks."""
    lacking: set[ObjectId] = set()
    for chunk in _chunks(sorted(ids), MISSING_CHUNK):
        response = client._request(
            "POST", "/api/v1/objects/missing", json={"ids": [str(oid) for oid in chunk]}
        )
        data = client._json(response, "/api/v1/objects/missing")
        listed = data.get("missing") if isinstance(data, dict) else None
        if not isinstance(listed, list) or not all(isinstance(text, str) for text in listed):
            msg = f'remote {client.remote} answered /api/v1/objects/missing without a "missing" list of ids'
            raise SyncError(msg)
        lacking.update(ObjectId.parse(text) for text in listed)
    return lacking


def upload(client: SyncClient, odb: ObjectDB, oid: ObjectId) -> int:
    """Send one local object to the server, after checking it; its size."""
    path = odb.path_of(oid)
    actual, size = hash_file(path)
    if actual != oid.value:
        msg = f"local object {oid} at {path} is corrupt; run `threadline artifacts check --remove`"
        raise ArtifactError(msg)

    def chunks() -> Iterator[bytes]:
        with open(path, "rb") as fh:
            while block := fh.read(UPLOAD_CHUNK):
                yield block

    client._request(
        "PUT",
        f"/api/v1/objects/{oid}",
        content=chunks(),
        headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
    )
    return size


def download(
    client: SyncClient, odb: ObjectDB, oid: ObjectId, size: int | None = None, *, limit: int | None = None
) -> int:
    """Fetch one object from the server into ``odb``, verified while stored; its size.

    ``size`` is the object's size when known (from its folder's manifest); otherwise the remote's
    ``Content-Length``, at most ``limit`` (default: the remote's ``max_object_bytes``), bounds it.
    Reading stops as soon as the bound is passed; bytes that do not hash to ``oid`` are not kept.
    """
    path = f"/api/v1/objects/{oid}"
    limits = client.limits
    with client.stream("GET", path, headers={"Accept-Encoding": "identity"}) as response:
        if response.status_code != 200:
            response.close()
            if response.status_code == 404:
                msg = f"object {oid} is not on remote {client.remote}"
                raise ObjectNotFound(msg, str(oid))
            msg = f"remote {client.remote} answered GET {path} with HTTP {response.status_code}"
            raise SyncError(msg)
        most = min(limit, limits.max_object_bytes) if limit is not None else limits.max_object_bytes
        bound = size if size is not None else most
        setting = "the size its folder's manifest gives" if size is not None else "max_object_bytes"
        transfer = Transfer(client.remote, limits, f"object {oid}", bound, setting)
        announced = _content_length(client, response, oid)
        if announced is not None:
            if size is not None and announced != size:
                msg = (
                    f"remote {client.remote} announced {announced:,} bytes for object {oid}, "
                    f"whose folder's manifest gives {size:,}"
                )
                raise SyncError(msg)
            if announced > bound:
                raise transfer.too_large(announced)
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding != "identity":
            msg = f"remote {client.remote} sent object {oid} encoded ({encoding}), not as stored"
            raise SyncError(msg)
        space = _Space(odb, oid, announced if announced is not None else size)
        chunks = response.iter_raw()
        pending = memoryview(b"")

        def readinto(buffer: memoryview) -> int:
            nonlocal pending
            while not pending:
                block = next(chunks, b"")
                if not block:
                    return 0
                transfer.count(len(block), bound)
                space.use(len(block))
                pending = memoryview(block)
            count = min(len(buffer), len(pending))
            buffer[:count] = pending[:count]
            pending = pending[count:]
            return count

        _, stored = odb.add_stream(readinto, source=f"remote {client.remote}", expected=oid)
    return stored


class _Space:
    """Keeps a download from filling the object store's disk: an object that does not fit beside
    :data:`DISK_RESERVE` is refused before it is fetched, and one of unknown size is stopped when free
    space falls to the reserve (looked at every :data:`DISK_CHECK_BYTES`)."""

    def __init__(self, odb: ObjectDB, oid: ObjectId, size: int | None) -> None:
        self.folder = next(folder for folder in (odb.root, *odb.root.parents) if folder.exists())
        self.oid = oid
        self.unknown = size is None
        self.since_check = 0
        free = shutil.disk_usage(self.folder).free
        if size is not None and size > free - DISK_RESERVE:
            msg = (
                f"not enough disk space for object {oid} ({size:,} bytes): {free:,} bytes are free in "
                f"{self.folder}, and {DISK_RESERVE:,} are kept free"
            )
            raise ArtifactError(msg)

    def use(self, count: int) -> None:
        """Note ``count`` more bytes written."""
        self.since_check += count
        if self.unknown and self.since_check >= DISK_CHECK_BYTES:
            self.since_check = 0
            free = shutil.disk_usage(self.folder).free
            if free < DISK_RESERVE:
                msg = (
                    f"object {self.oid} was stopped: only {free:,} bytes are left free in {self.folder} "
                    f"(the least kept free is {DISK_RESERVE:,})"
                )
                raise ArtifactError(msg)


def _content_length(client: SyncClient, response: httpx.Response, oid: ObjectId) -> int | None:
    text = response.headers.get("content-length")
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        msg = f"remote {client.remote} sent object {oid} with a malformed Content-Length {text[:40]!r}"
        raise SyncError(msg) from None


def push_objects(
    store: SqlStore,
    odb: ObjectDB,
    client: SyncClient,
    *,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> ObjectsReport:
    """Send the server every object the runs of ``store`` refer to that is here and not there."""
    wanted = _expand(odb, referenced(store))
    here = {oid for oid in wanted if odb.has(oid)}
    report = ObjectsReport(unavailable=len(wanted - here))
    todo = sorted(missing_on_server(client, here)) if here else []
    report.transfer.already_present = len(here) - len(todo)
    transfer(todo, lambda oid: upload(client, odb, oid), report.transfer, jobs, progress)
    return report


def pull_objects(
    store: SqlStore,
    odb: ObjectDB,
    client: SyncClient,
    *,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> ObjectsReport:
    """Fetch every object the runs of ``store`` refer to that is not here and is on the server.

    Folders come in two rounds: their manifests first, then the files the manifests list, each
    bounded by the size its manifest gives. Once the server has misbehaved (an object larger than
    allowed, a stalled transfer), the objects still to fetch are not asked for.
    """
    ids = referenced(store)
    report = ObjectsReport()
    manifests = {oid.file_id for oid in ids if oid.is_dir}
    sizes: dict[ObjectId, int | None] = {oid.file_id: None for oid in ids}
    misbehaved: list[SyncError] = []

    def fetch(oid: ObjectId) -> int:
        if misbehaved:
            msg = f"not fetched: remote {client.remote} misbehaved before ({misbehaved[0].message})"
            raise SyncError(msg)
        limit = MAX_MANIFEST_BYTES if oid in manifests else None
        try:
            return download(client, odb, oid, sizes.get(oid), limit=limit)
        except SyncError as exc:
            misbehaved.append(exc)
            raise

    wanted = set(sizes)
    for round_number in range(2):
        absent = sorted(oid for oid in wanted if not odb.has(oid))
        lacking = missing_on_server(client, absent) if absent else set()
        todo = [oid for oid in absent if oid not in lacking]
        report.unavailable += len(lacking)
        transfer(todo, fetch, report.transfer, jobs, progress)
        if round_number == 0:
            report.transfer.already_present = len(wanted) - len(absent)
            sizes = _listed(odb, ids)
            wanted = set(sizes) - wanted
    return report


@dataclass(frozen=True)
class ObjectsStatus:
    """Objects the runs here refer to: here and not on the server (ahead), the other way (behind)."""

    ahead: int
    behind: int
    unavailable: int


def objects_status(store: SqlStore, odb: ObjectDB, client: SyncClient) -> ObjectsStatus | None:
    """Compare the objects the runs here refer to with the server's; None if it keeps no objects."""
    wanted = _expand(odb, referenced(store))
    if not wanted:
        return ObjectsStatus(0, 0, 0)
    try:
        lacking = missing_on_server(client, wanted)
    except RemoteRefused as exc:
        if exc.remote_status == 404:  # this server keeps no objects (code no_object_store)
            return None
        raise
    here = {oid for oid in wanted if odb.has(oid)}
    ahead = len(here & lacking)
    behind = len((wanted - here) - lacking)
    return ObjectsStatus(ahead, behind, len((wanted - here) & lacking))
