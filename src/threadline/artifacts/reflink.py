"""Copy-on-write clones (reflinks): a copy that costs no data I/O, on filesystems that have them.

On Linux, XFS (made with ``reflink=1``, the default for years), btrfs, bcachefs and OCFS2 can make a
file share another's blocks until either is written (``ioctl(FICLONE)``, what ``cp --reflink`` does).
A clone is a true copy: changing the source afterwards does not change the clone, so the object store
may use one where it would otherwise copy, and then hash the clone itself (the stored bytes), which
keeps an object's id exactly that of its bytes even if the source is being written meanwhile.

ext4, tmpfs and most others cannot clone; :func:`clone` then returns False and the caller copies.
"""

from __future__ import annotations

import errno
import sys

#: ``_IOW(0x94, 9, int)`` from ``<linux/fs.h>``.
FICLONE = 0x40049409

#: Errors that mean "this filesystem, or this pair of files, cannot be cloned": copy instead.
_UNSUPPORTED = frozenset(
    {errno.EOPNOTSUPP, errno.ENOTTY, errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EPERM, errno.EBADF}
)


def clone(source_fd: int, target_fd: int) -> bool:
    """Make the empty file ``target_fd`` a copy-on-write clone of ``source_fd``; False if impossible.

    Other failures (a full disk, an I/O error) are raised.
    """
    if not sys.platform.startswith("linux"):
        return False
    import fcntl

    try:
        fcntl.ioctl(target_fd, FICLONE, source_fd)
    except OSError as exc:
        if exc.errno in _UNSUPPORTED:
            return False
        raise
    return True
