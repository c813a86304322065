"""Reading request bodies safely: a size limit, gzip or zstd with a limit after decompression, JSON only.

Decompression takes time in proportion to the body and no more: a gzip body may be many members
(concatenated gzip files), and each member is fed to its decompressor in steps that start small and
double, so what zlib copies when a member ends (``unused_data``, the input not yet used) is at most
twice the member itself, never the rest of the body (a body of 100,000 one-byte members took 21 s that
way). A body holds at most :data:`MAX_GZIP_MEMBERS` members. Bodies of :data:`OFF_LOOP_BYTES` or more
are decompressed in a thread (zlib and zstd release the GIL while they work), so the event loop keeps
answering other requests meanwhile.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Mapping

import zstandard
from starlette.concurrency import run_in_threadpool

from threadline.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

_GZIP_WBITS = 16 + zlib.MAX_WBITS
#: Most gzip members one body may hold (a client compresses a body as one member; a few more are
#: allowed, for bodies made by concatenating gzip files).
MAX_GZIP_MEMBERS = 10_000
#: Compressed bodies at least this large are decompressed in a thread rather than on the event loop.
OFF_LOOP_BYTES = 64 * 1024
#: The first and the largest step of input fed to a member's decompressor, bytes.
_FIRST_STEP = 256
_MAX_STEP = 256 * 1024


def check_content_type(headers: Mapping[str, str]) -> None:
    """Accept ``application/json``, ``application/*+json`` or no content type; refuse the rest (415)."""
    content_type = headers.get("content-type")
    if content_type is None:
        return
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/json" or (media.startswith("application/") and media.endswith("+json")):
        return
    msg = f"Content-Type {media or content_type!r} is not accepted: send Content-Type: application/json"
    raise UnsupportedMediaType(msg)


#: What a 413 of an ingest body advises.
_INGEST_ADVICE = "(max_body_bytes); send fewer events per request"


def _too_large(limit: int, what: str = "the request body", advice: str = _INGEST_ADVICE) -> PayloadTooLarge:
    return PayloadTooLarge(f"{what} is larger than {limit} bytes {advice}")


def _encoding(headers: Mapping[str, str]) -> str | None:
    encoding = headers.get("content-encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return "gzip"
    if encoding == "zstd":
        return "zstd"
    msg = f"Content-Encoding {encoding!r} is not supported; send the body plain, with gzip or with zstd"
    raise UnsupportedMediaType(msg)


def gunzip(data: bytes, limit: int, max_members: int = MAX_GZIP_MEMBERS) -> bytes:
    """Decompress gzip ``data`` (one or more members, at most ``max_members``), refusing more than
    ``limit`` bytes of output; in time linear in ``len(data)`` (see the module docstring)."""
    view = memoryview(data)
    end = len(view)
    out = bytearray()
    position = 0
    members = 0
    while True:
        if members and (position >= end or view[position] == 0):
            # After the last member only zero padding may follow (some writers pad to a block).
            if bytes(view[position:]).strip(b"\0"):
                msg = "body is not valid gzip: bytes that are not a gzip member follow zero padding"
                raise BadRequest(msg)
            return bytes(out)
        members += 1
        if members > max_members:
            msg = (
                f"the gzip body has more than {max_members} members (concatenated gzip streams); "
                "compress the body as one gzip stream"
            )
            raise PayloadTooLarge(msg)
        decompressor = zlib.decompressobj(_GZIP_WBITS)
        step = _FIRST_STEP
        while not decompressor.eof:
            chunk = view[position : position + step]
            if not chunk:
                msg = "body is not valid gzip: the compressed data is truncated"
                raise BadRequest(msg)
            try:
                out += decompressor.decompress(chunk, limit + 1 - len(out))
            except zlib.error as exc:
                msg = "body is not valid gzip (Content-Encoding: gzip was sent)"
                raise BadRequest(msg) from exc
            if len(out) > limit:
                raise _too_large(limit, "the decompressed request body")
            # At the member's end, unused_data is what of this chunk belongs to the next one.
            position += len(chunk) - len(decompressor.unused_data)
            step = min(step * 2, _MAX_STEP)


def unzstd(data: bytes, limit: int) -> bytes:
    """Decompress zstd ``data`` (one or more frames), refusing more than ``limit`` bytes of output."""
    reader = zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=True)
    out = bytearray()
    try:
        while chunk := reader.read(min(1 << 20, limit + 1 - len(out))):
            out += chunk
            if len(out) > limit:
                raise _too_large(limit, "the decompressed request body")
    except zstandard.ZstdError as exc:
        msg = f"body is not valid zstd (Content-Encoding: zstd was sent): {exc}"
        raise BadRequest(msg) from exc
    return bytes(out)


async def read_body(
    headers: Mapping[str, str],
    stream: AsyncIterator[bytes],
    limit: int,
    *,
    advice: str = _INGEST_ADVICE,
    expected: str = "an OpenLineage event as JSON",
) -> bytes:
    """A request body (its ``headers``, and its ``stream`` of chunks as they arrive) as JSON bytes:
    content type checked, size limited, gzip undone. ``advice`` follows the limit in a 413 (which
    setting, what to do); ``expected`` says what to send instead of an empty body."""
    check_content_type(headers)
    encoding = _encoding(headers)
    declared = headers.get("content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            msg = f"Content-Length {declared!r} is not a number"
            raise BadRequest(msg) from None
        if length > limit:
            raise _too_large(limit, advice=advice)
    chunks: list[bytes] = []
    size = 0
    async for chunk in stream:
        size += len(chunk)
        if size > limit:
            raise _too_large(limit, advice=advice)
        chunks.append(chunk)
    body = b"".join(chunks)
    if encoding is not None:
        undo = gunzip if encoding == "gzip" else unzstd
        # A large body is undone in a thread: the event loop keeps serving others meanwhile.
        try:
            body = (
                await run_in_threadpool(undo, body, limit)
                if len(body) >= OFF_LOOP_BYTES
                else undo(body, limit)
            )
        except PayloadTooLarge as exc:
            raise PayloadTooLarge(exc.message.replace(_INGEST_ADVICE, advice)) from None
    if not body.strip():
        msg = f"the request body is empty; send {expected}"
        raise BadRequest(msg)
    return body
