"""The OpenLineage wire format: parsing, validation, canonical JSON and event ids."""

from __future__ import annotations

from threadline.openlineage.events import ParsedEvent, parse_document, parse_event, split_batch

__all__ = ["ParsedEvent", "parse_document", "parse_event", "split_batch"]
