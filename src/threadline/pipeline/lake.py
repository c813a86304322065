"""The lake: raw extracts as Parquet under ``staging/raw_{table}/created_at=<timestamp>/``, and
(when the environment asks for it) the production tables under ``production/``, on any fsspec
filesystem (a local folder by default, ``s3://`` and the like).

A partition is immutable: it is written under a temporary name and moved into place, and writing to a
partition that exists is refused. Its file is named after its content hash, so the same rows landed
twice are recognisably the same version.

Production is versioned: a promotion writes every table under ``production/v=<version>/`` (a folder
no reader looks at yet), then switches the pointer file ``production/CURRENT.json``, which names the
version and each table's file, in one atomic step: on a local filesystem the pointer is written to a
temporary file and renamed over the old one (``os.replace``); on an object store it is one PUT, which
readers see whole or not at all. A reader that reads the pointer, then the files it names, sees every
table of one version: all old or all new. The previous version is kept for readers that read the
pointer just before the switch; older ones are removed.
"""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from threadline.errors import PipelineError
from threadline.pipeline.warehouse import pause_point

if TYPE_CHECKING:
    import pyarrow as pa

#: The pointer file naming the production version, under the lake's root.
POINTER = "production/CURRENT.json"


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

    # ---- production -----------------------------------------------------------------------------

    @property
    def _local(self) -> bool:
        protocol = self.fs.protocol[0] if isinstance(self.fs.protocol, tuple) else self.fs.protocol
        return protocol in ("file", "local")

    def write_version(
        self,
        version: str,
        tables: Mapping[str, pa.Table | Callable[[], pa.Table | pa.RecordBatchReader]],
    ) -> dict[str, Any]:
        """Write each table (an Arrow table, or a function returning one or a stream of record
        batches, called when its turn comes) as ``production/v=<version>/<table>.parquet``; returns
        the pointer that :meth:`switch` makes current. Nothing a reader sees changes yet."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        folder = f"{self._base}/production/v={version}"
        if self.fs.exists(folder):
            msg = f"the lake version {self._url(folder)} exists already; versions are immutable"
            raise PipelineError(msg)
        self.fs.makedirs(folder, exist_ok=True)
        files: dict[str, str] = {}
        try:
            for table, source in tables.items():
                data = source if isinstance(source, pa.Table) else source()
                path = f"{folder}/{table}.parquet"
                with self.fs.open(path, "wb") as handle, pq.ParquetWriter(handle, data.schema) as writer:
                    if isinstance(data, pa.Table):
                        writer.write_table(data)
                    else:
                        for batch in data:
                            writer.write_batch(batch)
                files[table] = f"v={version}/{table}.parquet"
        except OSError as exc:
            msg = f"cannot write the lake version {self._url(folder)}: {exc}"
            raise PipelineError(msg) from exc
        pause_point("lake:written")
        return {"version": version, "tables": files, "written_at": time.time()}

    def switch(self, pointer: Mapping[str, Any]) -> None:
        """Make ``pointer`` (from :meth:`write_version`) the production version, atomically, then
        remove the versions older than the one it replaces."""
        body = json.dumps(dict(pointer), sort_keys=True, indent=1).encode()
        previous = self.current()
        final = f"{self._base}/{POINTER}"
        try:
            if self._local:
                temporary = Path(f"{final}.{os.getpid()}.tmp")
                with temporary.open("wb") as handle:
                    handle.write(body)
                    handle.flush()
                    os.fsync(handle.fileno())
                pause_point("lake:pointer-written")
                temporary.replace(final)  # atomic: readers open the old pointer or the new one
            else:
                self.fs.pipe_file(final, body)  # one PUT: readers get the old object or the new one
        except OSError as exc:
            msg = f"cannot switch the lake's production pointer {self._url(final)}: {exc}"
            raise PipelineError(msg) from exc
        pause_point("lake:switched")
        keep = {f"v={pointer['version']}"}
        if previous is not None:
            keep.add(f"v={previous['version']}")  # for readers that read the pointer just before
        folder = f"{self._base}/production"
        for path in self.fs.ls(folder, detail=False):
            name = path.rstrip("/").rsplit("/", 1)[-1]
            if name.startswith("v=") and name not in keep:
                self.fs.rm(path, recursive=True)

    def put_atomically(self, relative: str, body: bytes) -> None:
        """Write the file ``relative`` (to the lake's root) whole or not at all: a temporary file
        renamed into place on a local filesystem, one PUT on an object store."""
        final = f"{self._base}/{relative}"
        try:
            if self._local:
                temporary = Path(f"{final}.{os.getpid()}.tmp")
                temporary.parent.mkdir(parents=True, exist_ok=True)
                with temporary.open("wb") as handle:
                    handle.write(body)
                    handle.flush()
                    os.fsync(handle.fileno())
                temporary.replace(final)
            else:
                self.fs.pipe_file(final, body)
        except OSError as exc:
            msg = f"cannot write {self._url(final)}: {exc}"
            raise PipelineError(msg) from exc

    def read_json(self, relative: str) -> Any:
        """The JSON file ``relative`` (to the lake's root), or ``None`` when there is none."""
        try:
            with self.fs.open(f"{self._base}/{relative}", "rb") as handle:
                return json.loads(handle.read())
        except FileNotFoundError:
            return None

    def remove(self, relative: str) -> None:
        """Remove the file or folder ``relative`` (to the lake's root) if it exists."""
        path = f"{self._base}/{relative}"
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)

    def current(self) -> dict[str, Any] | None:
        """The production pointer (``version``, ``tables``), or ``None`` before the first promotion."""
        try:
            with self.fs.open(f"{self._base}/{POINTER}", "rb") as handle:
                found: dict[str, Any] = json.loads(handle.read())
        except FileNotFoundError:
            return None
        return found

    def production(self, table: str) -> str | None:
        """The current production file of ``table`` (local path or fsspec URL), or ``None``."""
        pointer = self.current()
        if pointer is None or table not in pointer["tables"]:
            return None
        return self._url(f"{self._base}/production/{pointer['tables'][table]}")
