"""File patterns with Data Catalog's glob rules, resolved against the datasets lineage knows.

Rules (as ``gcsFilesetSpec.filePatterns``): ``*`` matches any characters within one path segment,
``**`` any characters across segments, ``?`` one character other than ``/``, ``[a-m]`` (``[!a-m]``)
one character of (not of) a set; no wildcard in the scheme or the bucket. ``gs://b/dir/*`` is the
files directly in ``dir``; ``gs://b/dir/**`` every file under it.

A dataset's location is its namespace joined to its name (``gs://b`` + ``dir/part-0`` is
``gs://b/dir/part-0``), so lineage datasets named the OpenLineage way match the patterns of the
file-set entries that cover them. Hand-written because :mod:`fnmatch` lets ``*`` cross ``/`` and knows
no ``**``, and :mod:`glob` walks a local disk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from threadline.errors import BadRequest

_WILD = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class FilePattern:
    """A parsed pattern: its text, the location (``scheme://bucket``), and the compiled matcher."""

    text: str
    location: str
    regex: re.Pattern[str]

    @property
    def literal_prefix(self) -> str:
        """The pattern up to its first wildcard: every match starts with it."""
        match = _WILD.search(self.text)
        return self.text if match is None else self.text[: match.start()]

    def matches(self, uri: str) -> bool:
        """Whether ``uri`` is one of the files this pattern names."""
        return self.regex.fullmatch(uri) is not None


def _translate(rest: str, pattern: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(rest):
        char = rest[i]
        if rest.startswith("**", i):
            out.append(".*")
            i += 2
        elif char == "*":
            out.append("[^/]*")
            i += 1
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "[":
            end = rest.find("]", i + 2)
            if end < 0:
                msg = f"file pattern {pattern!r}: a [ opens a character set that no ] closes"
                raise BadRequest(msg)
            body = rest[i + 1 : end]
            negate = body.startswith("!")
            body = body[1:] if negate else body
            members = re.sub(r"([\\\]^])", r"\\\1", body)
            out.append(f"[{'^/' if negate else ''}{members}]")
            i = end + 1
        else:
            out.append(re.escape(char))
            i += 1
    return "".join(out)


@lru_cache(maxsize=4096)
def parse_pattern(pattern: str) -> FilePattern:
    """Parse ``pattern``; a 400 saying what is wrong with it."""
    scheme, sep, path = pattern.partition("://")
    if not sep or not scheme or not path:
        msg = f"file pattern {pattern!r} must be a location such as gs://bucket/path/*"
        raise BadRequest(msg)
    bucket, slash, rest = path.partition("/")
    if not bucket or _WILD.search(scheme + bucket):
        msg = f"file pattern {pattern!r}: no wildcard in the scheme or the bucket ({scheme}://{bucket})"
        raise BadRequest(msg)
    location = f"{scheme}://{bucket}"
    regex = re.escape(location + slash) + _translate(rest, pattern)
    return FilePattern(pattern, location, re.compile(regex, re.DOTALL))


def dataset_uri(namespace: str, name: str) -> str:
    """Where a lineage dataset lives: its namespace joined to its name."""
    if "://" in name:
        return name
    if namespace == "file":
        return "file://" + name
    return namespace.rstrip("/") + "/" + name.lstrip("/")


def any_matches(patterns: list[str], uri: str) -> bool:
    """Whether one of ``patterns`` names ``uri``."""
    return any(parse_pattern(p).matches(uri) for p in patterns)
