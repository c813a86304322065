"""Limits on the size of one event: inputs, outputs, schema fields and column-lineage edges.

Every later step costs in proportion to these numbers (the projection writes a row per dataset, field
and edge, the lineage index holds a node per dataset), so one event of 300,000 inputs held up every
other event for half a minute while it was folded. A server refuses an event over a limit with 413,
naming the limit and its setting (``max_event_inputs``, ``max_event_outputs``, ``max_event_fields``,
``max_event_column_edges``); in a batch, that event is one of the ``failed_events`` and the others are
stored. Counting walks the decoded document once, without recursion, so it costs less than the parse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from threadline.errors import InvalidEvent
from threadline.settings import default


class EventTooLarge(InvalidEvent):
    """One event is over a size limit (HTTP 413); ``field`` names what is too long."""

    status = 413


@dataclass(frozen=True, slots=True)
class EventLimits:
    """The most one event may hold (see the module docstring); the defaults are the settings'."""

    inputs: int = default("max_event_inputs")
    outputs: int = default("max_event_outputs")
    fields: int = default("max_event_fields")
    column_edges: int = default("max_event_column_edges")

    def could_exceed(self, size: int) -> bool:
        """Whether an event of ``size`` bytes can be over a limit at all: a JSON array of ``n`` items
        takes at least ``2n + 1`` bytes, so a smaller event needs no counting (most events)."""
        return size > 2 * min(self.inputs, self.outputs, self.fields, self.column_edges)

    def check(self, doc: Any) -> None:
        """Raise :class:`EventTooLarge` when the decoded event ``doc`` is over a limit."""
        if not isinstance(doc, dict):
            return  # not an event at all: validation says so
        datasets: list[Any] = []
        for key, limit, setting in (
            ("inputs", self.inputs, "max_event_inputs"),
            ("outputs", self.outputs, "max_event_outputs"),
        ):
            listed = doc.get(key)
            if not isinstance(listed, list):
                continue
            if len(listed) > limit:
                msg = (
                    f"{key} lists {len(listed):,} datasets; an event may list at most {limit:,} ({setting}): "
                    f"split the job's {key} over several events or raise {setting}"
                )
                raise EventTooLarge(msg, key)
            datasets += listed
        if isinstance(doc.get("dataset"), dict):
            datasets.append(doc["dataset"])
        fields = edges = 0
        for dataset in datasets:
            facets = dataset.get("facets") if isinstance(dataset, dict) else None
            if not isinstance(facets, dict):
                continue
            fields += _schema_fields(facets.get("schema"))
            edges += _column_edges(facets.get("columnLineage"))
        if fields > self.fields:
            msg = (
                f"the event's schemas hold {fields:,} fields; an event may hold at most {self.fields:,} "
                "(max_event_fields): send the schemas in several events or raise max_event_fields"
            )
            raise EventTooLarge(msg, "schema.fields")
        if edges > self.column_edges:
            msg = (
                f"the event's column lineage has {edges:,} edges; an event may have at most "
                f"{self.column_edges:,} (max_event_column_edges): raise max_event_column_edges"
            )
            raise EventTooLarge(msg, "columnLineage.fields")


def _schema_fields(schema: Any) -> int:
    """Fields of a ``schema`` facet, nested ones included (a ``struct`` field's ``fields``)."""
    if not isinstance(schema, dict):
        return 0
    count = 0
    pending = [schema.get("fields")]
    while pending:
        fields = pending.pop()
        if not isinstance(fields, list):
            continue
        count += len(fields)
        pending.extend(field.get("fields") for field in fields if isinstance(field, dict))
    return count


def _column_edges(facet: Any) -> int:
    """Input fields of every output field of a ``columnLineage`` facet, and its dataset-level ones."""
    if not isinstance(facet, dict):
        return 0
    count = 0
    fields = facet.get("fields")
    if isinstance(fields, dict):
        for entry in fields.values():
            inputs = entry.get("inputFields") if isinstance(entry, dict) else None
            count += len(inputs) if isinstance(inputs, list) else 0
    dataset = facet.get("dataset")
    count += len(dataset) if isinstance(dataset, list) else 0
    return count
