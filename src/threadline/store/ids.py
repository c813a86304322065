"""Deterministic 64-bit ids for projected entities, derived from their natural keys."""

from __future__ import annotations

import blake3

_SEP = "\x1f"


def node_id(kind: str, *parts: str) -> int:
    """A signed 64-bit id for the entity ``kind`` named by ``parts`` (never 0).

    The same name always gets the same id, on every site and backend, whatever order events came in.
    """
    digest = blake3.blake3(_SEP.join((kind, *parts)).encode()).digest(length=8)
    value = int.from_bytes(digest, "big", signed=True)
    return value or 1


def job_id(namespace: str, name: str) -> int:
    """The id of job ``namespace``/``name``."""
    return node_id("job", namespace, name)


def dataset_id(namespace: str, name: str) -> int:
    """The id of dataset ``namespace``/``name``."""
    return node_id("dataset", namespace, name)
