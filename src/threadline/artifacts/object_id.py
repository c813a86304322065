"""Object ids: ``blake3:<64 hex>`` for a file's bytes, ``blake3:<64 hex>.dir`` for a directory.

An id names the BLAKE3 hash of an object's bytes. A directory is stored as a manifest object (see
:mod:`threadline.artifacts.manifest`); its id is the manifest's own id with the ``.dir`` suffix, so
that an id alone tells whether checking it out gives a file or a directory (as DVC does). The
object store keeps both kinds under the bare hash; the suffix only travels with the id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from threadline.errors import InvalidObjectId

ALGORITHM = "blake3"
DIR_SUFFIX = ".dir"
HEX_LENGTH = 64

_HEX = re.compile(r"[0-9a-f]{64}")
_ID = re.compile(r"blake3:([0-9a-f]{64})(\.dir)?")


@dataclass(frozen=True, slots=True, order=True)
class ObjectId:
    """The id of one object: its BLAKE3 hex digest and whether it is a directory manifest."""

    value: str
    is_dir: bool = False

    algorithm: ClassVar[str] = ALGORITHM

    def __post_init__(self) -> None:
        if not isinstance(self.value, str) or _HEX.fullmatch(self.value) is None:
            msg = f"{self.value!r} is not a BLAKE3 digest (64 lowercase hex characters)"
            raise InvalidObjectId(msg)

    def __str__(self) -> str:
        return f"{ALGORITHM}:{self.value}{DIR_SUFFIX if self.is_dir else ''}"

    @classmethod
    def parse(cls, text: str) -> ObjectId:
        """Read ``blake3:<64 hex>`` or ``blake3:<64 hex>.dir``; raise :class:`InvalidObjectId` otherwise."""
        match = _ID.fullmatch(text.strip()) if isinstance(text, str) else None
        if match is None:
            shown = text if isinstance(text, str) and len(text) <= 100 else f"{str(text)[:100]}…"
            msg = (
                f"{shown!r} is not an object id; ids look like blake3:<64 lowercase hex> "
                "(with .dir at the end for a directory), as printed by `threadline artifacts add`"
            )
            raise InvalidObjectId(msg)
        return cls(match.group(1), match.group(2) is not None)

    @property
    def file_id(self) -> ObjectId:
        """The same hash as a plain object: the id under which a directory's manifest is stored."""
        return ObjectId(self.value) if self.is_dir else self

    def to_dict(self) -> dict[str, Any]:
        """``{"algorithm": "blake3", "value": hex, "kind": "file" | "dir"}``."""
        return {"algorithm": ALGORITHM, "value": self.value, "kind": "dir" if self.is_dir else "file"}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ObjectId:
        """The inverse of :meth:`to_dict`; raises :class:`InvalidObjectId` on anything else."""
        if not isinstance(data, dict) or data.get("algorithm") != ALGORITHM:
            msg = f"unsupported object id {data!r}: expected algorithm {ALGORITHM!r}"
            raise InvalidObjectId(msg)
        kind = data.get("kind", "file")
        if kind not in ("file", "dir"):
            msg = f"unsupported object kind {kind!r} in {data!r}: expected 'file' or 'dir'"
            raise InvalidObjectId(msg)
        return cls(data.get("value"), kind == "dir")  # type: ignore[arg-type]
