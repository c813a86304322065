"""Deterministic 64-bit ids for projected entities, derived from their natural keys."""

from __future__ import annotations

from functools import lru_cache

import blake3

from threadline.openlineage.naming import normalize_namespace

_SEP = "\x1f"


def node_id(kind: str, *parts: str) -> int:
    """A signed 64-bit id for the entity ``kind`` named by ``parts`` (never 0).

    The same name always gets the same id, on every site and backend, whatever order events came in.
    """
    digest = blake3.blake3(_SEP.join((kind, *parts)).encode()).digest(length=8)
    value = int.from_bytes(digest, "big", signed=True)
    return value or 1


@lru_cache(maxsize=1 << 16)
def job_id(namespace: str, name: str) -> int:
    """The id of job ``namespace``/``name`` (any spelling of the namespace, see ``naming``)."""
    return node_id("job", normalize_namespace(namespace), name)


@lru_cache(maxsize=1 << 16)
def dataset_id(namespace: str, name: str) -> int:
    """The id of dataset ``namespace``/``name`` (any spelling of the namespace, see ``naming``)."""
    return node_id("dataset", normalize_namespace(namespace), name)
