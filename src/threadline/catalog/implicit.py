"""The names of the implicit entries: every lineage dataset and job is an entry of the system group of
its namespace, ``entryGroups/@NAMESPACE`` (like Data Catalog's ``@bigquery``), without anyone
registering it.

A lineage name may hold any character (``s3://bucket``, ``/warehouse/orders.parquet``), a catalog id
only letters, digits, ``_``, ``-`` and ``.`` (it is one segment of a URL path). So an id is the name
itself when the name is a valid id, else the name with every other character as ``_``, its last 60
characters (the end of a path or a qualified name tells most), and ``~`` with the first 8 hex digits
of the name's BLAKE3 hash (``~`` is in no id a person can create, so an implicit id never takes a
registered one's place, and two names never share one). A job's id ends with ``~job``: a dataset and a
job may have the same name. What an id stands for is in its entry's ``linkedResource``;
``entries:lookup?linkedResource=`` finds the entry of a node.
"""

from __future__ import annotations

import re

import blake3

#: The prefix of a system group's id.
SYSTEM_PREFIX = "@"
_VALID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")
_OTHER = re.compile(r"[^A-Za-z0-9_.-]")
_JOB_SUFFIX = "~job"


def _id(text: str) -> str:
    if _VALID.fullmatch(text):
        return text
    digest = blake3.blake3(text.encode()).hexdigest()[:8]
    # the end of a long name tells most (the file of a path, the table of a qualified name)
    readable = _OTHER.sub("_", text)
    if len(readable) > 60:  # its last 60 characters, from a word's start
        tail = readable[-60:]
        readable = tail.partition("_")[2] or tail if "_" in tail[:20] else tail
    readable = readable.lstrip("_.-")
    return f"{readable}~{digest}"


def group_id(namespace: str) -> str:
    """The id of the system group of the lineage namespace ``namespace`` (its canonical form)."""
    return SYSTEM_PREFIX + _id(namespace)


def dataset_entry_id(name: str) -> str:
    """The id of a lineage dataset's implicit entry in its namespace's group."""
    return _id(name)


def job_entry_id(name: str) -> str:
    """The id of a lineage job's implicit entry in its namespace's group."""
    return _id(name) + _JOB_SUFFIX


def entry_name(namespace: str, name: str, *, job: bool = False) -> str:
    """``entryGroups/@NAMESPACE/entries/ID`` of a lineage dataset (or ``job``)."""
    entry = job_entry_id(name) if job else dataset_entry_id(name)
    return f"entryGroups/{group_id(namespace)}/entries/{entry}"


def is_system_group(group: str) -> bool:
    """Whether ``group`` (an id, or a name ``entryGroups/…``) is a lineage namespace's system group."""
    return group.removeprefix("entryGroups/").startswith(SYSTEM_PREFIX)


def is_implicit(name: str) -> bool:
    """Whether the entry (or tag) ``name`` lies in a system group."""
    return is_system_group(name.split("/", 2)[1]) if name.startswith("entryGroups/") else False
