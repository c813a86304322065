"""What a sync client lets a remote server do: how much it may send and how slowly.

A remote is not trusted: a faulty or hostile server must not be able to hang ``pull`` or a
federating server, or fill its memory or disk. So every answer is read as a stream, and

- an answer's size is bounded before and after decompression: a page of events by
  ``max_page_bytes``, an object by its size (known from its folder's manifest, else the size the
  remote announces, at most ``max_object_bytes``), any other answer by :data:`MAX_ANSWER_BYTES`;
  reading stops as soon as a bound is passed, so a zstd or gzip bomb costs at most the bound;
- only the encodings asked for (zstd, gzip) are accepted, and zstd frames that need a larger window
  than :data:`MAX_ZSTD_WINDOW` are refused (the window is memory the decoder must allocate);
- a transfer is *stalled* when nothing arrives for ``timeout`` seconds, or when, once it has run that
  long, it averages less than ``low_speed_limit`` bytes a second (as git's ``http.lowSpeedLimit``);
  a stalled transfer is ended.

Each limit is set per remote in its ``[remotes.NAME]`` table of ``.threadline/config.toml``. Every
failure is a :class:`~threadline.errors.SyncError` of one line that names the remote and what it did.

The decompression here is written against the raw stream rather than left to httpx, whose decoders
turn one received chunk into all of its output at once (a 65 KB zstd page became gigabytes in
memory before any check could run); ``zstandard``'s and ``gzip``'s readers give output in bounded
reads. It does not share the server's request-body code (``server.bodies``): the client must not
depend on the server package, and the two read different things (an upload against the server's own
limit, an answer against the remote's limits).
"""

from __future__ import annotations

import io
import math
import time
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from typing import IO, Any, cast

import httpx
import zstandard

from threadline.errors import ConfigError, SyncError

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
#: Largest answer other than a page of events or an object (info, status, push counts, missing ids).
MAX_ANSWER_BYTES = 16 * MiB
#: Largest zstd window accepted (the server compresses at level 3, which uses at most 2 MiB).
MAX_ZSTD_WINDOW = 32 * MiB
#: How much is read from the network, and decoded, at a time.
READ_SIZE = 64 * KiB
#: Encoded bytes allowed beyond a decoded bound (frame and block headers of incompressible data).
_SLACK = 64 * KiB
#: Most gzip members in one answer: a server or proxy sends one; each costs a decoder of its own.
MAX_GZIP_MEMBERS = 16


@dataclass(frozen=True)
class SyncLimits:
    """The limits of one remote (see the module docstring); every field is a key of the remote's table."""

    #: Seconds with nothing received (or sent) after which a transfer is stalled.
    timeout: float = 120.0
    #: Bytes per second a transfer must average once it has run ``timeout`` seconds (0: no minimum).
    low_speed_limit: int = 1 * KiB
    #: Largest page of events, decompressed; a larger one is asked for again in smaller pages.
    max_page_bytes: int = 64 * MiB
    #: Largest object whose size is not known from a manifest.
    max_object_bytes: int = 16 * GiB

    @classmethod
    def from_table(cls, table: Mapping[str, Any], where: str) -> SyncLimits:
        """The limits a remote's config table sets (the others at their defaults); ``where`` names the
        table in errors."""
        values: dict[str, Any] = {}
        for item in fields(cls):
            if item.name not in table:
                continue
            value = table[item.name]
            number = item.type == "float"
            valid = isinstance(value, int | float) if number else isinstance(value, int)
            if isinstance(value, bool) or not valid or not math.isfinite(value) or value < 0:
                kind = "a number of seconds" if number else "a whole number"
                msg = f"{where}: {item.name} must be {kind}, 0 or more, got {value!r}"
                raise ConfigError(msg)
            if item.name != "low_speed_limit" and value == 0:
                msg = f"{where}: {item.name} must be more than 0"
                raise ConfigError(msg)
            values[item.name] = float(value) if number else int(value)
        return cls(**values)


KEYS = tuple(item.name for item in fields(SyncLimits))


class TooLarge(SyncError):
    """An answer decoded to more than its bound (a page may be asked for again in smaller pieces)."""


class Transfer:
    """One answer being received: counts its bytes, ends it when it stalls or passes ``limit``.

    ``what`` says what is received (``a page of events``, ``object blake3:…``) for the messages.
    """

    def __init__(
        self, remote: object, limits: SyncLimits, what: str, limit: int, setting: str | None = None
    ) -> None:
        self.remote = remote
        self.limits = limits
        self.what = what
        self.limit = limit
        self.setting = setting
        self.received = 0
        self.started = time.monotonic()

    def too_large(self, size: int | None = None) -> TooLarge:
        """The error for an answer larger than the limit (``size`` if it announced one)."""
        where = f" ({self.setting})" if self.setting else ""
        if size is not None:
            msg = (
                f"remote {self.remote} announced {size:,} bytes for {self.what}, "
                f"more than {self.limit:,} bytes{where}"
            )
        else:
            msg = f"remote {self.remote} sent more than {self.limit:,} bytes{where} for {self.what}"
        return TooLarge(msg)

    def count(self, size: int, limit: int) -> None:
        """Note ``size`` more bytes; raise when the total passes ``limit`` or the transfer crawls."""
        self.received += size
        if self.received > limit:
            raise self.too_large()
        elapsed = time.monotonic() - self.started
        floor = self.limits.low_speed_limit
        if elapsed > self.limits.timeout and floor and self.received < floor * elapsed:
            msg = (
                f"remote {self.remote} stalled sending {self.what}: {self.received:,} bytes in "
                f"{elapsed:.0f} s, less than low_speed_limit ({floor:,} bytes/s); transfer stopped"
            )
            raise SyncError(msg)

    def chunks(self, response: httpx.Response) -> Iterator[bytes]:
        """The raw (still encoded) bytes of ``response``, counted against the limit plus some slack: an
        encoded stream that long which decodes to less is not data (empty frames or members)."""
        bound = self.limit + self.limit // 1024 + _SLACK
        for chunk in response.iter_raw():
            try:
                self.count(len(chunk), bound)
            except TooLarge:
                msg = (
                    f"remote {self.remote} sent more than {bound:,} encoded bytes for {self.what} "
                    "that decode to less; transfer stopped"
                )
                raise SyncError(msg) from None
            yield chunk

    def read(self, response: httpx.Response) -> bytes:
        """The whole answer, decoded as its ``Content-Encoding`` says, within the limit."""
        encoding = response.headers.get("content-encoding", "").strip().lower()
        raw = _ChunkReader(self.chunks(response))
        decoded: Any
        if encoding in ("", "identity"):
            decoded = raw
        elif encoding == "zstd":
            dctx = zstandard.ZstdDecompressor(max_window_size=MAX_ZSTD_WINDOW)
            decoded = dctx.stream_reader(
                cast(IO[bytes], raw), read_size=READ_SIZE, read_across_frames=True, closefd=False
            )
        elif encoding in ("gzip", "x-gzip"):
            decoded = _Gunzip(raw, f"remote {self.remote} sent {self.what}")
        else:
            msg = (
                f"remote {self.remote} sent {self.what} with Content-Encoding {encoding!r}, "
                "which it was not asked for (zstd or gzip)"
            )
            raise SyncError(msg)
        out = bytearray()
        try:
            while block := decoded.read(READ_SIZE):
                out += block
                if len(out) > self.limit:
                    raise self.too_large()
        except (zstandard.ZstdError, zlib.error, EOFError) as exc:
            reason = str(exc) or exc.__class__.__name__
            msg = f"remote {self.remote} sent {self.what} as damaged {encoding} ({reason})"
            raise SyncError(msg) from exc
        return bytes(out)


class _ChunkReader(io.RawIOBase):
    """An iterator of byte strings as a readable file (what the decompressors read from)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = next(self._chunks, b"")
            if not chunk:
                return 0
            self._pending = memoryview(chunk)
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count


class _Gunzip:
    """Gzip decoding in reads of bounded output, of at most :data:`MAX_GZIP_MEMBERS` members.

    (``gzip.GzipFile`` takes any number of members, at some microseconds each: an answer of millions
    of empty members would take minutes within its size bound.)
    """

    def __init__(self, raw: io.RawIOBase, who: str) -> None:
        self._raw = raw
        self._who = who
        self._decoder = zlib.decompressobj(zlib.MAX_WBITS | 16)
        self._members = 1
        self._input = b""

    def read(self, size: int) -> bytes:
        while True:
            if self._decoder.eof:
                rest = self._decoder.unused_data or self._raw.read(READ_SIZE)
                if not rest:
                    return b""  # the input ends after a whole member
                self._members += 1
                if self._members > MAX_GZIP_MEMBERS:
                    msg = f"{self._who} as more than {MAX_GZIP_MEMBERS} gzip members; transfer stopped"
                    raise SyncError(msg)
                self._decoder = zlib.decompressobj(zlib.MAX_WBITS | 16)
                self._input = rest
            if not self._input:
                self._input = self._raw.read(READ_SIZE) or b""
                if not self._input:
                    msg = "the gzip stream ends in the middle of a member"
                    raise EOFError(msg)
            out = self._decoder.decompress(self._input, size)
            self._input = self._decoder.unconsumed_tail
            if out:
                return out
