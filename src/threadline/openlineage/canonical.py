"""Canonical JSON and event ids.

The canonical form of an event is its JSON with object keys sorted and no insignificant whitespace,
encoded as UTF-8. Two events that differ only in key order or spacing have the same canonical form and
so the same id; that is what makes appending an event twice a no-op.
"""

from __future__ import annotations

from typing import Any

import blake3
import msgspec

EVENT_ID_PREFIX = "blake3:"
_encoder = msgspec.json.Encoder(order="sorted")


def canonical_json(value: Any) -> bytes:
    """Serialise ``value`` deterministically: sorted keys, compact separators, UTF-8."""
    return _encoder.encode(value)


def event_id(canonical: bytes) -> str:
    """The id of an event: the BLAKE3 hash of its canonical JSON, hex, without the algorithm prefix.

    The algorithm is a property of the store format (``EVENT_ID_PREFIX``); ids are stored bare so that
    they stay compact and sort uniformly.
    """
    return blake3.blake3(canonical).hexdigest()
