"""How the log stores an event's bytes: as received, or compressed with Zstandard.

The log keeps every event byte for byte, but not necessarily *as stored*: an event of a few kilobytes
of JSON shrinks about threefold with zstd, which makes the log that much smaller on disk and an append
that much cheaper (fewer pages to write, to checkpoint and to sync). Reading an event undoes the
compression, so every reader sees exactly the bytes that arrived. The codec of each event is kept
beside it (``events.codec``), so that the choice can change without rewriting old events.
"""

from __future__ import annotations

import threading

import zstandard

from threadline.errors import StoreError

#: Stored as received.
PLAIN = 0
#: A Zstandard frame (with its content size) of the bytes received.
ZSTD = 1
#: Smaller events are stored as received: compression would save too little to pay for itself.
COMPRESS_FROM = 256
_LEVEL = 1  # about as small as level 3 for events, and faster

_local = threading.local()  # zstandard contexts are not thread-safe: one pair per thread


def _compressor() -> zstandard.ZstdCompressor:
    compressor = getattr(_local, "compressor", None)
    if compressor is None:
        compressor = _local.compressor = zstandard.ZstdCompressor(level=_LEVEL)
    return compressor


def _decompressor() -> zstandard.ZstdDecompressor:
    decompressor = getattr(_local, "decompressor", None)
    if decompressor is None:
        decompressor = _local.decompressor = zstandard.ZstdDecompressor()
    return decompressor


def encode(raw: bytes) -> tuple[int, bytes]:
    """The codec and the bytes to store for an event received as ``raw``."""
    if len(raw) < COMPRESS_FROM:
        return PLAIN, raw
    packed = _compressor().compress(raw)
    if len(packed) >= len(raw):
        return PLAIN, raw
    return ZSTD, packed


def decode(codec: int, stored: bytes) -> bytes:
    """The bytes an event was received as, from what the log stores."""
    if codec == PLAIN:
        return stored
    if codec == ZSTD:
        try:
            return _decompressor().decompress(stored)
        except zstandard.ZstdError as exc:
            msg = f"a stored event cannot be decompressed ({exc}); the database file is damaged"
            raise StoreError(msg) from exc
    msg = f"a stored event has codec {codec}, unknown to this threadline; upgrade threadline to read it"
    raise StoreError(msg)
