"""What the facets that carry changes share (``threadline_tag_changes``, ``threadline_catalog``).

Each holds a list of changes under ``changes``, beside the facet's ``_producer`` and ``_schemaURL``;
its module defines what one change is (a msgspec struct). Read back leniently: a value that is not
such a facet holds no change, so an event carrying a malformed one changes nothing rather than failing
the fold of the events around it (the event itself was accepted and stays in the log).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, TypeVar

import msgspec

C = TypeVar("C", bound=msgspec.Struct)


class ChangesFacet(Generic[C]):
    """The facet of ``schema_url`` whose ``changes`` are of type ``change``."""

    def __init__(self, schema_url: str, change: type[C]) -> None:
        self.schema_url = schema_url
        self._changes: Any = list[change]  # type: ignore[valid-type]  # built once: decode is on the fold's path

    def facet(self, changes: Sequence[C], producer: str) -> dict[str, Any]:
        """The facet value holding ``changes``."""
        return {"_producer": producer, "_schemaURL": self.schema_url, "changes": msgspec.to_builtins(changes)}

    def decode(self, value: Any) -> list[C]:
        """The changes a facet value holds; none when it is not one (such an event changes nothing)."""
        if not isinstance(value, dict) or "changes" not in value:
            return []
        try:
            changes: list[C] = msgspec.convert(value["changes"], self._changes)
        except msgspec.ValidationError:
            return []
        return changes
