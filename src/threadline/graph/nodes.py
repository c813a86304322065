"""Node ids: the strings that name a dataset, a job, a dataset field or a run, as Marquez writes them.

The forms are ``dataset:<namespace>:<name>``, ``job:<namespace>:<name>``,
``datasetField:<namespace>:<dataset>:<field>`` and ``run:<uuid>``; a dataset, job or field id may end
in ``#<version>``. Namespaces hold colons of their own (``postgres://db:5432``, ``kafka://b:9092``), so
the grammar is Marquez's (``NodeId.parts()``): when splitting at every ``:`` gives exactly the parts
the kind needs, those are the parts; otherwise a ``:`` followed by ``//`` or by a digit is part of a
URL (``scheme://`` or ``host:port``), not a delimiter, and the last part takes the rest of the id, so a
name may contain any ``:``. The version is what follows the last ``#``.

Names are kept exactly as producers send them, so some do not fit that grammar: a ``#`` anywhere, a
``:`` in a namespace that the rule would take for a delimiter (``a:b``), or a name after a URL-like
namespace that starts with a digit. :func:`format_node_id` writes such a node with escapes, ``%23``
for ``#``, ``%3A`` for ``:`` and ``%25`` for a ``%`` that would otherwise read as one of those; it
uses the plain form whenever that reads back as the same node, so every id Marquez would write stays
as it was. :func:`parse_node_id` always reads those three escapes (in either case); nothing else is
decoded, so ``a%20b`` is a name with a percent sign in it. Ids are taken as given: no whitespace is
trimmed, since a name may begin or end with it.

This module is pure: nothing here reads the store.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Literal

from threadline.errors import BadRequest

NodeKind = Literal["dataset", "job", "datasetField", "run"]
KINDS: tuple[str, ...] = ("dataset", "job", "datasetField", "run")
#: How many ``:``-separated parts follow the kind.
_PARTS = {"dataset": 2, "job": 2, "datasetField": 3, "run": 1}
# A ':' that is not the start of '//' (scheme://) nor followed by a digit (host:port) separates parts.
_DELIMITER = re.compile(r":(?!//|\d)")
# The escapes node ids use, and a '%' in a name that would read as one of them.
_ESCAPE = re.compile(r"%(?:23|25|3[Aa])")
_UNESCAPED = {"%23": "#", "%25": "%", "%3A": ":", "%3a": ":"}
# A part without these is written plain when the parts split back as they were.
_HASH_OR_PERCENT = re.compile(r"[#%]")
EXPECTED_FORMS = (
    "dataset:<namespace>:<name>, job:<namespace>:<name>, "
    "datasetField:<namespace>:<dataset>:<field> or run:<uuid> "
    "(a dataset, job or field id may end in #<version>)"
)


@dataclass(frozen=True, slots=True)
class NodeId:
    """A parsed node id. ``namespace`` is as written (not normalized); ``str()`` formats it back."""

    kind: NodeKind
    namespace: str | None = None
    name: str | None = None
    field: str | None = None
    run_id: str | None = None
    version: str | None = None

    @classmethod
    def dataset(cls, namespace: str, name: str, version: str | None = None) -> NodeId:
        """The id of dataset ``namespace``/``name`` (at ``version``)."""
        return cls("dataset", namespace, name, version=version)

    @classmethod
    def job(cls, namespace: str, name: str, version: str | None = None) -> NodeId:
        """The id of job ``namespace``/``name`` (at ``version``)."""
        return cls("job", namespace, name, version=version)

    @classmethod
    def dataset_field(cls, namespace: str, dataset: str, field: str, version: str | None = None) -> NodeId:
        """The id of column ``field`` of dataset ``namespace``/``dataset`` (at ``version``)."""
        return cls("datasetField", namespace, dataset, field=field, version=version)

    @classmethod
    def run(cls, run_id: str) -> NodeId:
        """The id of a run."""
        return cls("run", run_id=str(run_id).lower())

    @property
    def is_dataset(self) -> bool:
        """Whether this names a dataset (not a field of one)."""
        return self.kind == "dataset"

    @property
    def is_job(self) -> bool:
        """Whether this names a job."""
        return self.kind == "job"

    @property
    def is_field(self) -> bool:
        """Whether this names a dataset field."""
        return self.kind == "datasetField"

    @property
    def is_run(self) -> bool:
        """Whether this names a run."""
        return self.kind == "run"

    def without_version(self) -> NodeId:
        """The same node with no version."""
        return NodeId(self.kind, self.namespace, self.name, self.field, self.run_id)

    def __str__(self) -> str:
        return format_node_id(self)


def _escape(part: str, *, colons: bool) -> str:
    """``part`` with ``#`` (and with ``colons``, ``:``) escaped, and any ``%`` that reads as an escape."""
    escaped = _ESCAPE.sub(lambda match: "%25" + match.group()[1:], part).replace("#", "%23")
    return escaped.replace(":", "%3A") if colons else escaped


def _unescape(part: str) -> str:
    return _ESCAPE.sub(lambda match: _UNESCAPED[match.group()], part) if "%" in part else part


def _joined(node: NodeId, parts: list[str], version: str | None) -> str:
    text = f"{node.kind}:{':'.join(parts)}"
    return f"{text}#{version}" if version is not None else text


def format_node_id(node: NodeId) -> str:
    """The text form of ``node`` (what :func:`parse_node_id` reads back as the same node).

    Marquez's plain form when it reads back; otherwise ``#`` and ``%`` escaped, then also ``:`` in
    every part but the last, then in every part (the last always reads back: no part holds a ``:``).
    """
    if node.kind == "run":
        return f"run:{node.run_id}"
    parts = [node.namespace or "", node.name or ""]
    if node.kind == "datasetField":
        parts.append(node.field or "")
    version = node.version
    plain = _joined(node, parts, version)
    plain_reads_back = _split(":".join(parts), len(parts)) == parts
    if plain_reads_back and not any(_HASH_OR_PERCENT.search(text) for text in (*parts, version or "")):
        return plain  # as Marquez writes it
    escaped_version = None if version is None else _escape(version, colons=False)
    candidates = (
        plain,
        _joined(node, [_escape(part, colons=False) for part in parts], escaped_version),
        _joined(node, [_escape(p, colons=i < len(parts) - 1) for i, p in enumerate(parts)], escaped_version),
        _joined(node, [_escape(part, colons=True) for part in parts], escaped_version),
    )
    for candidate in candidates:
        try:
            if parse_node_id(candidate) == node:
                return candidate
        except BadRequest:
            continue
    return candidates[-1]


def namespace_only_hint(node: NodeId) -> str | None:
    """What to write instead, when ``node`` was most likely meant as a URL namespace with no name after
    it (``dataset:s3://bucket`` reads, as Marquez reads it, as the dataset ``//bucket`` of namespace
    ``s3``); ``None`` when it reads as meant. For the message of a node that does not exist: a name
    may really start with ``//``, so the id itself is not refused."""
    if node.kind == "run" or not (node.name or "").startswith("//"):
        return None
    namespace = f"{node.namespace}:{node.name}"
    if node.kind == "datasetField":
        what, example = "dataset name and field", f"datasetField:{namespace}:DATASET:FIELD"
    else:
        what, example = f"{node.kind} name", f"{node.kind}:{namespace}:NAME"
    command = "threadline jobs" if node.kind == "job" else "threadline datasets"
    return (
        f"{namespace!r} reads as a namespace with no {what} after it; write {example} "
        f"({command} --namespace {namespace} lists the names)"
    )


def _bad(text: str, why: str) -> BadRequest:
    return BadRequest(f"bad node id {text!r}: {why}; expected {EXPECTED_FORMS}")


def _split(body: str, count: int) -> list[str] | None:
    """``body`` cut into ``count`` parts by Marquez's rule, or ``None`` when it has too few."""
    simple = body.split(":")
    if len(simple) == count:
        return simple
    if len(simple) < count:
        return None
    cuts = [match.start() for match in _DELIMITER.finditer(body)][: count - 1]
    if len(cuts) < count - 1:
        return None
    parts, start = [], 0
    for cut in cuts:
        parts.append(body[start:cut])
        start = cut + 1
    parts.append(body[start:])
    return parts


def parse_node_id(text: str) -> NodeId:
    """Parse a node id; raise :class:`BadRequest` naming the expected forms when it is malformed."""
    if not isinstance(text, str) or not text.strip():
        raise _bad(str(text), "it is empty")
    kind, colon, body = text.partition(":")
    if not colon or kind not in _PARTS:
        raise _bad(text, "it must start with dataset:, job:, datasetField: or run:")
    if kind == "run":
        try:
            return NodeId.run(str(uuid.UUID(body)))
        except ValueError:
            raise _bad(text, f"{body!r} is not a run id (a UUID)") from None
    version = None
    if "#" in body:
        body, _, version = body.rpartition("#")
        if not version:
            raise _bad(
                text, "nothing follows '#': give the version or leave '#' out (a '#' in a name is %23)"
            )
        version = _unescape(version)
    parts = _split(body, _PARTS[kind])
    if parts is None or not all(parts):
        needed = "namespace, dataset and field" if kind == "datasetField" else "namespace and name"
        raise _bad(text, f"a {kind} id needs a {needed}, separated by ':'")
    parts = [_unescape(part) for part in parts]
    if kind == "datasetField":
        return NodeId.dataset_field(parts[0], parts[1], parts[2], version)
    return NodeId(kind, parts[0], parts[1], version=version)  # type: ignore[arg-type]
