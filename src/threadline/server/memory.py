"""Giving memory back to the operating system after a large request.

Parsing a large event makes hundreds of megabytes of short-lived objects. Python frees them, but the C
allocator keeps the pages: glibc returns heap memory only from the top of the heap, and a few objects
still alive pin the rest, so a server's resident size stayed at its peak after one large event
(measured in benchmarks/README.md, "Hostile clients"). ``malloc_trim(0)`` hands every free page back
(glibc has done so for pages in the middle of the heap too since 2.8). It costs a few milliseconds, so
it is called only after requests of at least :data:`LARGE_REQUEST_BYTES`. Elsewhere than glibc it is a
no-op.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
from typing import Any

log = logging.getLogger(__name__)

#: Requests (bodies or batches) at least this large are followed by :func:`release_memory`.
LARGE_REQUEST_BYTES = 1024 * 1024


def _malloc_trim() -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to call
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_TRIM = _malloc_trim()


def release_memory_soon() -> None:
    """:func:`release_memory` in a thread of the running event loop's executor, not waited for (the
    answer to the large request need not wait for it)."""
    asyncio.get_running_loop().run_in_executor(None, release_memory)


def release_memory() -> bool:
    """Return the allocator's free pages to the operating system; whether it could."""
    if _TRIM is None:
        return False
    return bool(_TRIM(0))
