"""Reading request bodies safely: a size limit, gzip or zstd with a limit after decompression, JSON only."""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Mapping

import zstandard

from threadline.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

_GZIP_WBITS = 16 + zlib.MAX_WBITS


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


def _too_large(limit: int, what: str = "the request body") -> PayloadTooLarge:
    return PayloadTooLarge(
        f"{what} is larger than {limit} bytes (max_body_bytes); send fewer events per request"
    )


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


def gunzip(data: bytes, limit: int) -> bytes:
    """Decompress gzip ``data`` (one or more members), refusing more than ``limit`` bytes of output."""
    out = bytearray()
    while True:
        decompressor = zlib.decompressobj(_GZIP_WBITS)
        try:
            out += decompressor.decompress(data, limit + 1 - len(out))
        except zlib.error as exc:
            msg = "body is not valid gzip (Content-Encoding: gzip was sent)"
            raise BadRequest(msg) from exc
        if len(out) > limit:
            raise _too_large(limit, "the decompressed request body")
        if not decompressor.eof:
            msg = "body is not valid gzip: the compressed data is truncated"
            raise BadRequest(msg)
        data = decompressor.unused_data
        if not data.strip(b"\0"):  # trailing zero padding is allowed after the last member
            return bytes(out)


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


async def read_body(headers: Mapping[str, str], stream: AsyncIterator[bytes], limit: int) -> bytes:
    """A request body (its ``headers``, and its ``stream`` of chunks as they arrive) as JSON bytes:
    content type checked, size limited, gzip undone."""
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
            raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in stream:
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    body = b"".join(chunks)
    if encoding == "gzip":
        body = gunzip(body, limit)
    elif encoding == "zstd":
        body = unzstd(body, limit)
    if not body.strip():
        msg = "the request body is empty; send an OpenLineage event as JSON"
        raise BadRequest(msg)
    return body
