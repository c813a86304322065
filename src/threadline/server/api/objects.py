"""The server's object store: artifacts pushed and pulled by sites (``threadline push --artifacts``).

- ``POST /api/v1/objects/missing`` (read): a JSON body ``{"ids": [...]}`` (at most
  :data:`MAX_IDS`, and :data:`MISSING_BODY_BYTES`, read as it arrives and refused with 413 beyond);
  answers ``{"missing": [...]}``, the ids this server does not hold.
- ``PUT /api/v1/objects/{id}`` (write): the object's bytes, at most ``max_object_bytes`` (413 beyond,
  from the declared ``Content-Length`` before anything is read, else as soon as the bytes sent pass
  it; nothing is kept). They are spooled to the object store's temporary folder as they arrive, then
  hashed while being stored; bytes that do not hash to ``id`` are refused (400) and nothing is kept.
  201 when stored, 200 when it was already here.
- ``GET /api/v1/objects/{id}`` (read): the object's bytes, or 404.

The objects live in an :class:`~threadline.artifacts.objects.ObjectDB` (``--objects``; by default the
``objects`` folder beside a SQLite store). A server without one answers these endpoints with 404 and
says how to give it one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from threadline.artifacts.hashing import stream_reader
from threadline.artifacts.object_id import ObjectId
from threadline.artifacts.objects import ObjectDB
from threadline.errors import (
    BadRequest,
    CorruptObject,
    InvalidObjectId,
    NoObjectStore,
    ObjectNotFound,
    PayloadTooLarge,
    StoreError,
)
from threadline.server.api.access import ReadKey, State, WriteKey
from threadline.server.api.models import ERRORS, MissingObjects, ObjectIds, StoredObject, raw
from threadline.server.bodies import read_body
from threadline.server.state import ServerState, json_response

router = APIRouter(responses=ERRORS)

#: Most ids one ``missing`` request may ask about.
MAX_IDS = 10_000
#: The largest ``missing`` body: room for ``MAX_IDS`` ids (75 bytes each in JSON) and white space.
MISSING_BODY_BYTES = MAX_IDS * 100


class _Ids(msgspec.Struct):
    ids: list[str]


def _objects(state: ServerState) -> ObjectDB:
    if state.objects is None:
        msg = (
            "this server keeps no objects: start it with --objects DIR (or THREADLINE_OBJECTS) "
            "to accept artifacts"
        )
        raise NoObjectStore(msg)
    return state.objects


def _object_id(text: str) -> ObjectId:
    try:
        oid = ObjectId.parse(text)
    except InvalidObjectId as exc:
        raise BadRequest(exc.message) from None
    return oid.file_id


#: The bodies are read as streams, within their limits (``read_body``, :func:`_limited`), so they are
#: documented here rather than declared as parameters.
_IDS_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": ObjectIds.model_json_schema()}},
    }
}
_BYTES_BODY = {
    "requestBody": {
        "required": True,
        "description": "The object's bytes (at most max_object_bytes).",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}
#: ``object_id``: ``blake3:<64 hex>`` (``.dir`` for a directory's manifest).
ObjectIdPath = Annotated[
    str, PathParam(description="An object id: blake3:<64 hex digits>, .dir for a directory.")
]


@router.post("/api/v1/objects/missing", response_model=MissingObjects, openapi_extra=_IDS_BODY)
async def missing(_key: ReadKey, state: State, request: Request) -> Response:
    """Which of the ids in the body this server lacks."""
    odb = _objects(state)
    body = await read_body(
        request.headers,
        request.stream(),
        MISSING_BODY_BYTES,
        advice=f"(room for {MAX_IDS} ids); ask about fewer ids at once",
        expected='{"ids": ["blake3:…", …]}',
    )
    try:
        wanted = msgspec.json.decode(body, type=_Ids)
    except msgspec.DecodeError as exc:
        msg = f'the body must be JSON {{"ids": ["blake3:…", …]}}: {exc}'
        raise BadRequest(msg) from None
    if len(wanted.ids) > MAX_IDS:
        msg = f"ask about at most {MAX_IDS} ids at once, got {len(wanted.ids)}"
        raise BadRequest(msg)
    ids = [_object_id(text) for text in wanted.ids]

    def work() -> list[str]:
        return [str(oid) for oid in ids if not odb.has(oid)]

    return json_response({"missing": await run_in_threadpool(work)})


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the object is larger than {limit} bytes (max_object_bytes): nothing was stored; "
        "raise the server's max_object_bytes to accept it"
    )


def _check_declared_size(request: Request, limit: int) -> None:
    declared = request.headers.get("content-length")
    if declared is None:
        return
    try:
        size = int(declared)
    except ValueError:
        msg = f"Content-Length {declared!r} is not a number"
        raise BadRequest(msg) from None
    if size > limit:
        raise _too_large(limit)


async def _limited(request: Request, limit: int) -> AsyncIterator[bytes]:
    """The request's body as it arrives, refused (413) as soon as it passes ``limit`` bytes."""
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        yield chunk


@router.put(
    "/api/v1/objects/{object_id}",
    response_model=StoredObject,
    status_code=201,
    responses={200: {"model": StoredObject, "description": "Already stored here"}},
    openapi_extra=_BYTES_BODY,
)
async def put_object(_key: WriteKey, state: State, object_id: ObjectIdPath, request: Request) -> Response:
    """Store an object sent by a site, after checking its bytes hash to ``object_id``."""
    odb = _objects(state)
    oid = _object_id(object_id)
    limit = state.max_object_bytes
    _check_declared_size(request, limit)
    if await run_in_threadpool(odb.has, oid):
        async for _ in _limited(request, limit):  # read what was sent, so the connection stays usable
            pass
        return json_response({"id": str(oid), "stored": False}, status=200)
    spool_dir = odb.root / "tmp"
    try:
        spool_dir.mkdir(parents=True, exist_ok=True)
        fd, spool = tempfile.mkstemp(dir=spool_dir, prefix="upload-")
    except OSError as exc:
        msg = (
            f"the object folder {odb.root} cannot be written ({exc.strerror}): nothing was stored; "
            "make it writable by the user running threadline"
        )
        raise StoreError(msg) from exc
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in _limited(request, limit):
                await run_in_threadpool(out.write, chunk)

        def store() -> int:
            with open(spool, "rb") as fh:
                try:
                    _, size = odb.add_stream(stream_reader(fh), expected=oid, source="the uploaded bytes")
                except CorruptObject:
                    msg = f"the bytes sent do not hash to {oid}: nothing was stored; send the object again"
                    raise BadRequest(msg) from None
            return size

        size = await run_in_threadpool(store)
    finally:
        Path(spool).unlink(missing_ok=True)
    return json_response({"id": str(oid), "stored": True, "size": size}, status=201)


@router.get("/api/v1/objects/{object_id}", responses=raw("application/octet-stream", "The object's bytes"))
async def get_object(_key: ReadKey, state: State, object_id: ObjectIdPath) -> Response:
    """An object's bytes."""
    odb = _objects(state)
    oid = _object_id(object_id)
    if not await run_in_threadpool(odb.has, oid):
        msg = f"object {oid} is not on this server"
        raise ObjectNotFound(msg, str(oid))
    headers: dict[str, Any] = {"Cache-Control": "public, max-age=31536000, immutable"}
    return FileResponse(odb.path_of(oid), media_type="application/octet-stream", headers=headers)
