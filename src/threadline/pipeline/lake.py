"""The staging lake: raw extracts as Parquet under ``staging/raw_{table}/created_at=<timestamp>/``
on any fsspec filesystem (a local folder by default).

A partition is immutable: it is written under a temporary name and moved into place, and writing to a
partition that exists is refused. Its file is named after its content hash, so the same rows landed
twice are recognisably the same version.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from threadline.errors import PipelineError

if TYPE_CHECKING:
    import pyarrow as pa


def partition_stamp(at: float) -> str:
    """The ``created_at`` value of a partition made at ``at``: UTC, to the microsecond, path-safe."""
    seconds = time.strftime("%Y-%m-%dT%H-%M-%S", time.gmtime(at))
    return f"{seconds}.{int((at % 1) * 1_000_000):06d}Z"


@dataclass(frozen=True)
class Landed:
    """A raw partition written to the lake."""

    table: str
    path: str  #: the Parquet file (local path or fsspec URL)
    partition: str  #: its folder
    rows: int
    bytes: int
    content_hash: str


class Lake:
    """A lake root (local folder or fsspec URL) holding ``staging/raw_{table}/created_at=.../``."""

    def __init__(self, root: str) -> None:
        import fsspec

        self.root = root.rstrip("/")
        self.fs, self._base = fsspec.core.url_to_fs(self.root)

    def _url(self, path: str) -> str:
        protocol = self.fs.protocol[0] if isinstance(self.fs.protocol, tuple) else self.fs.protocol
        return path if protocol in ("file", "local") else f"{protocol}://{path}"

    def land(self, table: str, data: pa.Table, at: float | None = None) -> Landed:
        """Write ``data`` as the new raw partition of ``table``; refuses to overwrite one."""
        import pyarrow.parquet as pq
        from blake3 import blake3

        buffer = io.BytesIO()
        pq.write_table(data, buffer)
        body = buffer.getvalue()
        digest = blake3(body).hexdigest()
        stamp = partition_stamp(at if at is not None else time.time())
        partition = f"{self._base}/staging/raw_{table}/created_at={stamp}"
        final = f"{partition}/part-{digest[:16]}.parquet"
        if self.fs.exists(partition):
            msg = f"the lake partition {self._url(partition)} exists already; partitions are immutable"
            raise PipelineError(msg)
        self.fs.makedirs(partition, exist_ok=True)
        temporary = f"{partition}/.part-{digest[:16]}.parquet.tmp"
        try:
            with self.fs.open(temporary, "wb") as handle:
                handle.write(body)
            self.fs.mv(temporary, final)
        except OSError as exc:
            msg = f"cannot write the lake partition {self._url(partition)}: {exc}"
            raise PipelineError(msg) from exc
        return Landed(table, self._url(final), self._url(partition), data.num_rows, len(body), digest)

    def partitions(self, table: str) -> list[str]:
        """The partitions of ``table``, oldest first."""
        folder = f"{self._base}/staging/raw_{table}"
        if not self.fs.exists(folder):
            return []
        return sorted(self._url(p) for p in self.fs.ls(folder, detail=False) if "created_at=" in p)
