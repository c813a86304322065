"""Directory manifests: a directory as a sorted list of its files, stored as an object itself.

A manifest lists every regular file under a directory, flattened: its relative POSIX path, its object
id, its size and whether it is executable. Serialised as JSON with sorted keys and no whitespace,
entries sorted by path (by code point, so by UTF-8 bytes), the same tree always gives the same bytes
and so the same id, whatever order the files were found in::

    {"entries":[{"exec":false,"oid":"blake3:…","path":"a/b.csv","size":12},…],"version":1}

The directory's id is the manifest object's id with ``.dir`` appended (see ``object_id``). Empty
directories are not recorded (as in git and DVC): checking a manifest out creates the folders that
hold files, and the top folder itself.

Parsing is strict, because manifests may come from a remote: paths must be relative, normalised,
POSIX, without ``.`` or ``..`` parts, unique, and no path may also be a folder of another.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from threadline.artifacts.object_id import ObjectId
from threadline.errors import ArtifactError, InvalidObjectId

MANIFEST_VERSION = 1


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """One file of a directory: where it goes, what it holds, how big it is, whether it is executable."""

    path: str
    oid: ObjectId
    size: int
    executable: bool = False

    def __post_init__(self) -> None:
        check_path(self.path)

    def to_dict(self) -> dict[str, Any]:
        """The entry as it appears in a manifest's JSON."""
        return {"exec": self.executable, "oid": str(self.oid), "path": self.path, "size": self.size}

    @classmethod
    def from_dict(cls, data: Any) -> ManifestEntry:
        """Read an entry; raises :class:`ArtifactError` when it is malformed."""
        if not isinstance(data, dict) or set(data) != {"exec", "oid", "path", "size"}:
            msg = f"malformed manifest entry {data!r}: expected the keys exec, oid, path and size"
            raise ArtifactError(msg)
        path, size, executable = data["path"], data["size"], data["exec"]
        if not isinstance(path, str) or not isinstance(executable, bool):
            msg = f"malformed manifest entry {data!r}: path must be a string and exec a boolean"
            raise ArtifactError(msg)
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            msg = f"malformed manifest entry {data!r}: size must be a non-negative integer"
            raise ArtifactError(msg)
        try:
            oid = ObjectId.parse(data["oid"])
        except InvalidObjectId as exc:
            msg = f"manifest entry {path!r}: {exc.message}"
            raise ArtifactError(msg) from exc
        if oid.is_dir:
            msg = f"manifest entry {path!r} names a directory id; manifests list files only"
            raise ArtifactError(msg)
        return cls(path, oid, size, executable)


def check_path(path: str) -> None:
    """Refuse a manifest path that is not relative, normalised POSIX (it could escape the target)."""
    parts = path.split("/")
    if not path or path.startswith("/") or any(part in ("", ".", "..") for part in parts) or "\0" in path:
        msg = f"unsafe path {path!r} in a manifest: paths must be relative, without '.', '..' or '//'"
        raise ArtifactError(msg)


class Manifest:
    """An immutable, sorted list of :class:`ManifestEntry`; build it from entries in any order."""

    __slots__ = ("_by_path", "entries")

    def __init__(self, entries: Iterable[ManifestEntry]) -> None:
        self.entries: tuple[ManifestEntry, ...] = tuple(sorted(entries, key=lambda e: e.path))
        self._by_path: dict[str, ManifestEntry] | None = None
        _check_tree(self.entries)

    def __iter__(self) -> Iterator[ManifestEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Manifest) and self.entries == other.entries

    def __hash__(self) -> int:
        return hash(self.entries)

    def __repr__(self) -> str:
        return f"Manifest({len(self.entries)} entries, {self.size} bytes)"

    def get(self, path: str) -> ManifestEntry | None:
        """The entry for ``path``, or None."""
        if self._by_path is None:
            self._by_path = {entry.path: entry for entry in self.entries}
        return self._by_path.get(path)

    @property
    def size(self) -> int:
        """The total size of the files, in bytes."""
        return sum(entry.size for entry in self.entries)

    def object_ids(self) -> set[ObjectId]:
        """The ids of the files' objects (duplicates once)."""
        return {entry.oid for entry in self.entries}

    def to_dict(self) -> dict[str, Any]:
        """``{"entries": [...], "version": 1}``."""
        return {"entries": [entry.to_dict() for entry in self.entries], "version": MANIFEST_VERSION}

    def to_bytes(self) -> bytes:
        """The deterministic serialisation whose hash is the manifest's id."""
        return json.dumps(
            self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode("utf-8")

    @classmethod
    def from_dict(cls, data: Any) -> Manifest:
        """Read a manifest; raises :class:`ArtifactError` when it is malformed or unsafe."""
        if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
            msg = "malformed manifest: expected an object with an 'entries' list"
            raise ArtifactError(msg)
        if data.get("version") != MANIFEST_VERSION:
            msg = (
                f"manifest version {data.get('version')!r} is not supported (this threadline reads "
                f"version {MANIFEST_VERSION}); upgrade threadline"
            )
            raise ArtifactError(msg)
        return cls(ManifestEntry.from_dict(item) for item in data["entries"])

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        """Parse a manifest's bytes (see :meth:`from_dict`)."""
        try:
            parsed = json.loads(data)
        except (UnicodeDecodeError, ValueError) as exc:
            msg = f"malformed manifest: not JSON ({exc})"
            raise ArtifactError(msg) from exc
        return cls.from_dict(parsed)


def _check_tree(entries: Sequence[ManifestEntry]) -> None:
    """Refuse duplicate paths and a path that is also a folder of another (sorted input)."""
    folders: set[str] = set()
    previous = None
    for entry in entries:
        if entry.path == previous:
            msg = f"manifest lists {entry.path!r} twice"
            raise ArtifactError(msg)
        previous = entry.path
        parts = entry.path.split("/")
        for depth in range(1, len(parts)):
            folders.add("/".join(parts[:depth]))
    for entry in entries:
        if entry.path in folders:
            msg = f"manifest lists {entry.path!r} both as a file and as a folder"
            raise ArtifactError(msg)
