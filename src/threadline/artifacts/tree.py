"""Walking a directory into files, and following directory ids to the objects they keep.

What a scan includes:

- regular files, at any depth;
- a symbolic link to a regular file **inside** the directory: followed, stored as a file with the
  target's bytes (a manifest has no link type);
- nothing else: a link that leaves the directory, a dangling link, a link to a folder (which could
  loop or duplicate a subtree) and special files (fifos, sockets, devices) are refused with an
  :class:`~threadline.errors.ArtifactError` naming the path, so that a manifest always describes
  exactly what is there;
- folders named ``.threadline`` are skipped: that is where projects keep the object store itself.

Empty folders hold no files and are not recorded.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from threadline.artifacts.manifest import Manifest
from threadline.artifacts.object_id import ObjectId
from threadline.artifacts.objects import ObjectDB
from threadline.errors import ArtifactError, ObjectNotFound

#: Folders never descended into: the project folder that holds the object store.
SKIPPED_NAMES = frozenset({".threadline"})


@dataclass(frozen=True, slots=True)
class TreeFile:
    """One file found by :func:`scan_tree`: relative POSIX path, absolute path, its stat."""

    rel: str
    path: str
    st: os.stat_result

    @property
    def executable(self) -> bool:
        """Whether the owner may execute it (recorded in the manifest, restored on checkout)."""
        return bool(self.st.st_mode & stat.S_IXUSR)


def scan_tree(root: str | os.PathLike[str]) -> list[TreeFile]:
    """Every file under ``root`` with its stat, by the rules of the module docstring."""
    top = os.path.realpath(root)
    if not Path(top).is_dir():
        msg = f"{os.fspath(root)} is not a directory"
        raise ArtifactError(msg)
    files: list[TreeFile] = []
    pending: list[tuple[str, str]] = [(top, "")]
    while pending:
        folder, prefix = pending.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                name = entry.name
                rel = f"{prefix}{name}"
                if entry.is_symlink():
                    files.append(_followed_link(entry, rel, top))
                elif entry.is_dir(follow_symlinks=False):
                    if name not in SKIPPED_NAMES:
                        pending.append((entry.path, f"{rel}/"))
                elif entry.is_file(follow_symlinks=False):
                    _check_name(rel, entry.path)
                    files.append(TreeFile(rel, entry.path, entry.stat(follow_symlinks=False)))
                else:
                    msg = (
                        f"{entry.path} is not a regular file (a fifo, socket or device); "
                        "move it out of the tree"
                    )
                    raise ArtifactError(msg)
    return files


def _followed_link(entry: os.DirEntry[str], rel: str, top: str) -> TreeFile:
    target = os.path.realpath(entry.path)
    if os.path.commonpath([top, target]) != top:
        msg = (
            f"{entry.path} is a symbolic link to {target}, outside {top}; "
            "copy the file into the tree or remove the link"
        )
        raise ArtifactError(msg)
    try:
        st = Path(target).stat()
    except FileNotFoundError:
        msg = f"{entry.path} is a dangling symbolic link; remove it or restore its target"
        raise ArtifactError(msg) from None
    if not stat.S_ISREG(st.st_mode):
        msg = (
            f"{entry.path} is a symbolic link to a folder or special file; only links to files are "
            "followed: replace it with a copy or remove it"
        )
        raise ArtifactError(msg)
    _check_name(rel, entry.path)
    return TreeFile(rel, entry.path, st)


def _check_name(rel: str, path: str) -> None:
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        msg = f"{path!r} has a name that is not valid UTF-8; rename it"
        raise ArtifactError(msg) from None


def load_manifest(odb: ObjectDB, oid: ObjectId) -> Manifest:
    """The manifest of directory ``oid``, verified against its id."""
    if not oid.is_dir:
        msg = f"{oid} is a file id, not a directory id (those end in .dir)"
        raise ArtifactError(msg)
    try:
        data = odb.read(oid.file_id)
    except ObjectNotFound as exc:
        msg = (
            f"the manifest of directory {oid} is not in the object store; "
            f"fetch it with `threadline artifacts pull REMOTE {oid}`"
        )
        raise ObjectNotFound(msg, str(oid)) from exc
    try:
        return Manifest.from_bytes(data)
    except ArtifactError as exc:
        msg = f"object {oid.file_id} is not a directory manifest ({exc.message})"
        raise ArtifactError(msg) from exc


def store_manifest(odb: ObjectDB, manifest: Manifest) -> ObjectId:
    """Store ``manifest`` as an object; returns the directory id (the manifest's id plus ``.dir``)."""
    return ObjectId(odb.add_bytes(manifest.to_bytes()).value, is_dir=True)


def reachable(odb: ObjectDB, ids: Iterable[ObjectId]) -> set[ObjectId]:
    """The plain ids of every object that ``ids`` need: files, manifests and the files they list.

    Raises :class:`ObjectNotFound` or :class:`CorruptObject` when a directory's manifest is missing or
    damaged, since what it keeps cannot then be known.
    """
    found: set[ObjectId] = set()
    for oid in ids:
        found.add(oid.file_id)
        if oid.is_dir:
            found.update(load_manifest(odb, oid).object_ids())
    return found
