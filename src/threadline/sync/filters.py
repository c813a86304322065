"""What part of a store a pull asks for: a pipeline, a namespace, a node's lineage, events since a time.

A filter names jobs and datasets; the pull sends every event of those (all runs of each job, the
job's own JobEvents, the datasets' DatasetEvents), so the lineage of what was asked is complete in the
pulling store: a node pulled with its upstream to depth 3 has, locally, the same upstream to depth 3.

Each distinct filter is a *scope*: the pulling store keeps a mark per remote and scope, so that pulling
one part, then another, then the first again each sends only what is new to that scope.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import blake3
from sqlalchemy import Connection

from threadline.errors import BadRequest, ConfigError, NotFound
from threadline.graph.resolve import resolve_node
from threadline.graph.traverse import lineage
from threadline.openlineage.canonical import canonical_json
from threadline.openlineage.timestamps import format_time
from threadline.params import parse_depth, parse_moment
from threadline.projection.readers.namespaces import namespace_members
from threadline.projection.readers.pipelines import pipeline_job_ids
from threadline.settings import PULL_FILTER_KEYS

if TYPE_CHECKING:
    from threadline.graph.index import LineageIndex

DIRECTIONS = ("upstream", "downstream", "both")
#: The keys of a filter in query form (:meth:`PullFilter.from_query`).
QUERY_KEYS = PULL_FILTER_KEYS


@dataclass(frozen=True)
class PullFilter:
    """Which events a pull wants; empty, everything."""

    pipeline: str | None = None
    namespace: str | None = None
    node: str | None = None
    direction: str = "upstream"
    depth: int | None = None
    since: int | None = None

    def __post_init__(self) -> None:
        chosen = [name for name in ("pipeline", "namespace", "node") if getattr(self, name)]
        if len(chosen) > 1:
            msg = f"pull one of pipeline, namespace or node at a time, not {' and '.join(chosen)}"
            raise BadRequest(msg)
        if self.direction not in DIRECTIONS:
            msg = f"direction must be one of {', '.join(DIRECTIONS)}, got {self.direction!r}"
            raise BadRequest(msg)
        if self.depth is not None and self.depth < 0:
            msg = f"depth must be 0 or more, got {self.depth}"
            raise BadRequest(msg)

    @property
    def selects_entities(self) -> bool:
        """Whether it names jobs and datasets (else it is every event, maybe since a time)."""
        return bool(self.pipeline or self.namespace or self.node)

    def to_params(self) -> dict[str, str]:
        """The filter as query parameters (what :meth:`from_params` reads back)."""
        params: dict[str, str] = {}
        if self.pipeline:
            params["pipeline"] = self.pipeline
        if self.namespace:
            params["namespace"] = self.namespace
        if self.node:
            params["node"] = self.node
            params["direction"] = self.direction
            params["depth"] = "all" if self.depth is None else str(self.depth)
        if self.since is not None:
            params["since"] = format_time(self.since) or ""
        return params

    @classmethod
    def from_query(cls, text: str | None) -> PullFilter:
        """Read a filter from query text such as ``node=dataset:db:t&depth=3`` (the ``pull_filter``
        setting); none or "" is everything. Unknown keys are a :class:`ConfigError` naming the known."""
        if not text:
            return cls()
        pairs = urllib.parse.parse_qsl(text, keep_blank_values=True, strict_parsing=False)
        unknown = sorted({key for key, _ in pairs} - set(QUERY_KEYS))
        if unknown or not pairs:
            msg = f"setting pull_filter takes {', '.join(QUERY_KEYS)} as key=value&…, got {text!r}"
            raise ConfigError(msg)
        return cls.from_params(dict(pairs))

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> PullFilter:
        """Read a filter from query parameters; bad values are a :class:`BadRequest` naming them."""
        since_micros = parse_moment(params.get("since"), "since")
        depth_value = parse_depth(params.get("depth"), None)  # the API's one spelling of depths
        return cls(
            pipeline=params.get("pipeline") or None,
            namespace=params.get("namespace") or None,
            node=params.get("node") or None,
            direction=params.get("direction") or "upstream",
            depth=depth_value,
            since=since_micros,
        )

    @property
    def scope(self) -> str:
        """A short name of the filter for pull marks ("" for everything)."""
        params = self.to_params()
        if not params:
            return ""
        return blake3.blake3(canonical_json(params)).hexdigest()[:32]

    def describe(self) -> str:
        """The filter in words, for messages."""
        parts = [f"{key}={value}" for key, value in self.to_params().items()]
        return ", ".join(parts) or "everything"

    def entities(self, connection: Connection, index: LineageIndex | None = None) -> list[int]:
        """The ids of the jobs and datasets whose events the filter selects."""
        if self.node:
            start = resolve_node(connection, self.node)
            graph = lineage(index or connection, start, direction=self.direction, depth=self.depth)
            return sorted(node.id for node in graph.distances)
        if self.namespace:
            return namespace_members(connection, self.namespace)
        if self.pipeline:
            return _pipeline_jobs(connection, self.pipeline)
        return []


def entity_digest(entities: list[int]) -> str:
    """A short digest of a set of job and dataset ids (sorted), to tell when a filtered part grows."""
    data = ",".join(str(entity) for entity in sorted(entities)).encode()
    return blake3.blake3(data).hexdigest()[:32]


def _pipeline_jobs(connection: Connection, pipeline: str) -> list[int]:
    """The jobs of the pipeline ``pipeline`` (see :mod:`threadline.projection.readers.pipelines`)."""
    try:
        return pipeline_job_ids(connection, pipeline, hint="`threadline jobs` on the remote lists them")
    except NotFound as exc:
        raise BadRequest(exc.message) from None
