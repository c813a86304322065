"""Reading request bodies safely: a size limit, gzip with a limit after decompression, JSON only."""

from __future__ import annotations

import zlib

from starlette.requests import Request

from threadline.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

_GZIP_WBITS = 16 + zlib.MAX_WBITS


def check_content_type(request: Request) -> None:
    """Accept ``application/json``, ``application/*+json`` or no content type; refuse the rest (415)."""
    content_type = request.headers.get("content-type")
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


def _encoding(request: Request) -> str | None:
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return "gzip"
    msg = f"Content-Encoding {encoding!r} is not supported; send the body plain or with gzip"
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


async def read_body(request: Request, limit: int) -> bytes:
    """The request body as JSON bytes: content type checked, size limited, gzip undone."""
    check_content_type(request)
    encoding = _encoding(request)
    declared = request.headers.get("content-length")
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
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    body = b"".join(chunks)
    if encoding == "gzip":
        body = gunzip(body, limit)
    if not body.strip():
        msg = "the request body is empty; send an OpenLineage event as JSON"
        raise BadRequest(msg)
    return body
