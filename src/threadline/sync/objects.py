"""Artifacts with sync: push and pull the objects that runs refer to, to and from a threadline server.

``threadline push --artifacts`` and ``pull --artifacts`` move, besides events, the objects the runs of
the store refer to (the content of their inputs and outputs, snapshots, package lists: what
:func:`~threadline.tracking.queries.referenced_objects` finds). Only objects the other side lacks move:
the server is asked which of a list it is missing (``POST /api/v1/objects/missing``), never for a
listing of everything it holds. Every object is verified on both ends: a site checks each object
before it leaves, the server checks the bytes it receives against the id before keeping them, and a
pulled object is hashed while it is stored. Inputs that were hashed but never stored (``store=False``)
exist nowhere to be sent; they are counted as *unavailable*, not as failures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from threadline.artifacts.hashing import hash_file
from threadline.artifacts.object_id import ObjectId
from threadline.artifacts.objects import ObjectDB
from threadline.artifacts.remote import TransferReport, transfer
from threadline.artifacts.tree import load_manifest
from threadline.errors import ArtifactError, InvalidObjectId, ObjectNotFound, SyncError, ThreadlineError
from threadline.store.sql import SqlStore
from threadline.sync.client import SyncClient

#: Ids per ``missing`` question (the server's limit).
MISSING_CHUNK = 10_000
#: Bytes per chunk of an upload.
UPLOAD_CHUNK = 1024 * 1024

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
    from threadline.tracking.queries import referenced_objects

    with store.read() as connection:
        texts = referenced_objects(connection)
    found = set()
    for text in texts:
        try:
            found.add(ObjectId.parse(text))
        except InvalidObjectId:
            continue
    return found


def _expand(odb: ObjectDB, ids: Iterable[ObjectId]) -> set[ObjectId]:
    """Plain ids of ``ids`` and, for folders whose manifest is here, of the files they list."""
    found: set[ObjectId] = set()
    for oid in ids:
        found.add(oid.file_id)
        if oid.is_dir and odb.has(oid.file_id):
            try:
                found.update(load_manifest(odb, oid).object_ids())
            except ArtifactError:
                continue  # a damaged manifest: the manifest itself still counts, and check reports it
    return found


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
        lacking.update(ObjectId.parse(text) for text in data.get("missing", []))
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


def download(client: SyncClient, odb: ObjectDB, oid: ObjectId) -> int:
    """Fetch one object from the server into ``odb``, verified while stored; its size."""
    source = f"{client.remote} (object {oid})"
    with client.http.stream("GET", f"/api/v1/objects/{oid}") as response:
        if response.status_code != 200:
            response.read()
            if response.status_code == 404:
                msg = f"object {oid} is not on remote {client.remote}"
                raise ObjectNotFound(msg, str(oid))
            msg = (
                f"remote {client.remote} answered GET /api/v1/objects/{oid} with HTTP {response.status_code}"
            )
            raise SyncError(msg)
        chunks = response.iter_raw(UPLOAD_CHUNK)
        buffered = bytearray()

        def readinto(buffer: memoryview) -> int:
            while len(buffered) < len(buffer):
                block = next(chunks, b"")
                if not block:
                    break
                buffered.extend(block)
            count = min(len(buffer), len(buffered))
            buffer[:count] = buffered[:count]
            del buffered[:count]
            return count

        _, size = odb.add_stream(readinto, source=source, expected=oid)
    return size


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

    Folders come in two rounds: their manifests first, then the files the manifests list.
    """
    ids = referenced(store)
    report = ObjectsReport()
    wanted = {oid.file_id for oid in ids}
    for round_number in range(2):
        absent = sorted(oid for oid in wanted if not odb.has(oid))
        lacking = missing_on_server(client, absent) if absent else set()
        todo = [oid for oid in absent if oid not in lacking]
        report.unavailable += len(lacking)
        transfer(todo, lambda oid: download(client, odb, oid), report.transfer, jobs, progress)
        if round_number == 0:
            report.transfer.already_present = len(wanted) - len(absent)
            wanted = _expand(odb, ids) - wanted
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
    except ThreadlineError as exc:
        if "keeps no objects" in exc.message:
            return None
        raise
    here = {oid for oid in wanted if odb.has(oid)}
    ahead = len(here & lacking)
    behind = len((wanted - here) - lacking)
    return ObjectsStatus(ahead, behind, len((wanted - here) & lacking))
