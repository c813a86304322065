"""Content-addressed artifact storage: files and directories stored by their BLAKE3 ids.

Layers, each importing only the ones above it:

- ``object_id``: ids (``blake3:<hex>``, ``blake3:<hex>.dir`` for directories);
- ``hashing``: BLAKE3 over bytes, files and streams, hashing while copying;
- ``reflink``: copy-on-write clones where the filesystem has them (XFS, btrfs);
- ``objects``: :class:`ObjectDB`, bytes stored by id with atomic writes, read-only objects;
- ``hashcache``: :class:`HashCache` (SQLite) and :class:`NullHashCache`;
- ``manifest`` and ``tree``: directories as manifests, scanning a folder, following directory ids;
- ``add``, ``checkout``, ``integrity``, ``gc``, ``remote``: the operations;
- ``store``: :class:`ArtifactStore`, a project's object store with every operation as a method.
"""

from __future__ import annotations

from threadline.artifacts.add import add_file, add_path, add_tree
from threadline.artifacts.checkout import checkout
from threadline.artifacts.gc import GcReport, gc
from threadline.artifacts.hashcache import FileKey, HashCache, NullHashCache
from threadline.artifacts.integrity import CheckReport, check
from threadline.artifacts.manifest import Manifest, ManifestEntry
from threadline.artifacts.object_id import ObjectId
from threadline.artifacts.objects import ObjectDB
from threadline.artifacts.remote import Remote, TransferReport, pull, push
from threadline.artifacts.store import ArtifactStore, open_remote
from threadline.artifacts.tree import load_manifest, reachable, scan_tree

__all__ = [
    "ArtifactStore",
    "CheckReport",
    "FileKey",
    "GcReport",
    "HashCache",
    "Manifest",
    "ManifestEntry",
    "NullHashCache",
    "ObjectDB",
    "ObjectId",
    "Remote",
    "TransferReport",
    "add_file",
    "add_path",
    "add_tree",
    "check",
    "checkout",
    "gc",
    "load_manifest",
    "open_remote",
    "pull",
    "push",
    "reachable",
    "scan_tree",
]
