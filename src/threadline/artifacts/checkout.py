"""Materialising an object as a file, or a directory id as a folder tree.

Nothing is ever left half-written: a file is written to a hidden temporary sibling of the target and a
directory is built in a hidden temporary sibling folder, and either is renamed into place only when
every byte has been written and checked against its id. An existing target is refused unless
``force`` is given; then the old target is first renamed aside, the new one renamed into place, and
only then is the old one deleted (or renamed back if the second rename fails).

Every object is verified while it is copied out: bytes that no longer hash to their id raise
:class:`~threadline.errors.CorruptObject`, and the target is left as it was.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import stat
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from threadline.artifacts import reflink
from threadline.artifacts.add import POOL_MIN_SIZE, default_jobs
from threadline.artifacts.hashing import (
    CHUNK_SIZE,
    Progress,
    copy_hashing,
    hash_bytes,
    hash_file,
    write_all,
)
from threadline.artifacts.manifest import Manifest, ManifestEntry
from threadline.artifacts.object_id import ObjectId
from threadline.artifacts.objects import ObjectDB
from threadline.artifacts.tree import load_manifest
from threadline.errors import ArtifactError, CorruptObject, TargetExists

#: Progress is reported after this many small files.
_PROGRESS_EVERY = 256
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


def checkout(
    odb: ObjectDB,
    oid: ObjectId,
    target: str | os.PathLike[str],
    *,
    force: bool = False,
    jobs: int | None = None,
    progress: Progress | None = None,
    within: str | os.PathLike[str] | None = None,
) -> None:
    """Write object ``oid`` (a file, or a ``.dir`` id's whole tree) at ``target``.

    Refuses an existing ``target`` (file, folder or link) with :class:`TargetExists` unless ``force``.
    With ``within``, refuses (:class:`ArtifactError`) a target that is not inside that folder once
    ``..`` and links are resolved, checked before and after its parent folders are made.
    ``progress(done, total)`` counts bytes.
    """
    final = Path(target).absolute()
    if within is not None:
        _check_within(final, Path(within))
    if not force and os.path.lexists(final):
        raise _exists(final)
    manifest = load_manifest(odb, oid) if oid.is_dir else None
    if manifest is None:
        odb.size(oid)  # fail early, before any temporary file, when the object is missing
    final.parent.mkdir(parents=True, exist_ok=True)
    if within is not None:
        _check_within(final, Path(within))  # a link made meanwhile
    tmp = final.parent / f".{final.name}.threadline-tmp-{secrets.token_hex(6)}"
    try:
        if manifest is None:
            write_object(odb, oid, tmp, progress=progress)
        else:
            tmp.mkdir()
            _write_tree(odb, manifest, tmp, jobs or default_jobs(), progress)
        _place(tmp, final, force=force)
    except BaseException:
        _remove(tmp)
        raise


def write_object(
    odb: ObjectDB,
    oid: ObjectId,
    path: str | os.PathLike[str],
    *,
    executable: bool = False,
    progress: Progress | None = None,
) -> int:
    """Write object ``oid`` to the new file ``path`` (which must not exist), verifying it: its size.

    A large object is cloned where the filesystem can (see ``reflink``), and the clone hashed.

    On :class:`CorruptObject` the partly written file is left for the caller to remove.
    """
    with odb.open(oid) as src:
        size = os.fstat(src.fileno()).st_size
        fd = os.open(path, _CREATE, 0o777 if executable else 0o666)
        try:
            if size <= CHUNK_SIZE:
                data = src.read()
                actual = hash_bytes(data)
                if actual == oid.value:
                    write_all(fd, data)
                written = len(data)
            elif reflink.clone(src.fileno(), fd):
                actual, written = hash_file(path)  # verify the clone, the bytes the user gets
            else:
                actual, written = copy_hashing(src.readinto, fd, size_hint=size, progress=progress)
        finally:
            os.close(fd)
    if actual != oid.value:
        raise CorruptObject(str(oid), os.fspath(odb.path_of(oid)), actual)
    if progress is not None:
        progress(written, written)
    return written


def _write_tree(odb: ObjectDB, manifest: Manifest, root: Path, jobs: int, progress: Progress | None) -> None:
    """Write every file of ``manifest`` under ``root``: large ones in a pool, small ones here.

    As when adding (see ``add``), threads only pay off for files big enough that copying and hashing
    outweigh handing the GIL over at each short system call.
    """
    folders = sorted({entry.path.rpartition("/")[0] for entry in manifest if "/" in entry.path})
    for folder in folders:
        (root / folder).mkdir(parents=True, exist_ok=True)
    total = manifest.size
    done = 0
    if progress is not None:
        progress(0, total)

    def write(entry: ManifestEntry) -> int:
        return write_object(odb, entry.oid, root / entry.path, executable=entry.executable)

    large = [e for e in manifest if e.size >= POOL_MIN_SIZE] if jobs > 1 else []
    small = [e for e in manifest if e.size < POOL_MIN_SIZE] if large else list(manifest)
    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="threadline-checkout") as pool:
        futures = [pool.submit(write, entry) for entry in large]
        try:
            for start in range(0, len(small), _PROGRESS_EVERY):
                done += sum(write(entry) for entry in small[start : start + _PROGRESS_EVERY])
                if progress is not None:
                    progress(done, total)
            for future in futures:
                done += future.result()
                if progress is not None:
                    progress(done, total)
        finally:
            for future in futures:
                future.cancel()


def _check_within(final: Path, within: Path) -> None:
    """Refuse ``final`` unless it lies inside ``within``, ``..`` folded and links followed."""
    base = os.path.realpath(within)
    resolved = os.path.realpath(final)
    if resolved == base or os.path.commonpath([resolved, base]) != base:
        msg = f"{final} leads to {resolved}, outside {within}; nothing was written there"
        raise ArtifactError(msg)


def _exists(final: Path) -> TargetExists:
    kind = "folder" if final.is_dir() and not final.is_symlink() else "file"
    msg = (
        f"{final} already exists (a {kind}); remove it, choose another target, or pass --force to replace it"
    )
    return TargetExists(msg)


def _place(tmp: Path, final: Path, *, force: bool) -> None:
    """Rename the finished ``tmp`` to ``final``: never over an existing target without ``force``."""
    if not force:
        _place_new(tmp, final)
        return
    if not os.path.lexists(final):
        _place_new(tmp, final)
        return
    final_is_dir = final.is_dir() and not final.is_symlink()
    if not final_is_dir and not tmp.is_dir():
        tmp.replace(final)  # a file over a file or link: atomic
        return
    old = final.parent / f".{final.name}.threadline-old-{secrets.token_hex(6)}"
    final.rename(old)
    try:
        tmp.rename(final)
    except BaseException:
        old.rename(final)
        raise
    _remove(old)


def _place_new(tmp: Path, final: Path) -> None:
    if tmp.is_dir():
        try:
            tmp.rename(final)  # fails on a non-empty folder or a file created meanwhile
        except OSError as exc:
            if exc.errno in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR):
                raise _exists(final) from exc
            raise
        return
    try:
        os.link(tmp, final)  # unlike rename, never replaces a file that appeared meanwhile
    except FileExistsError as exc:
        raise _exists(final) from exc
    except OSError:  # a filesystem without hard links
        if os.path.lexists(final):
            raise _exists(final) from None
        tmp.rename(final)
        return
    tmp.unlink()


def _remove(path: Path) -> None:
    """Delete a file, link or tree, read-only folders included; quietly if it is not there."""
    if path.is_dir() and not path.is_symlink():

        def make_writable(func: Any, failed: str, _info: Any) -> None:
            parent = Path(failed).parent
            parent.chmod(parent.stat().st_mode | stat.S_IWUSR | stat.S_IXUSR)
            func(failed)

        if sys.version_info >= (3, 12):
            shutil.rmtree(path, onexc=make_writable)
        else:
            shutil.rmtree(path, onerror=make_writable)
    else:
        path.unlink(missing_ok=True)
