"""Canonical JSON and event ids.

The canonical form of an event is its JSON with object keys sorted and no insignificant whitespace,
encoded as UTF-8. Two events that differ only in key order or spacing have the same canonical form and
so the same id; that is what makes appending an event twice a no-op.

Numbers keep their value exactly. A number a double holds without loss is written as its shortest
round-trip form (``1e5`` and ``100000.0`` are one number, as they always were); one it cannot hold
(more significant digits than a double has, or an exponent beyond its range) is written with the
digits it was sent with (:class:`~decimal.Decimal`'s spelling), so that ``0.1`` and
``0.1000000000000000055511151231257827``, or ``1e-400`` and ``2e-400``, stay different events. Only
such numbers cost a second decode; every other event is encoded from the document already decoded.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import blake3
import msgspec

EVENT_ID_PREFIX = "blake3:"
_encoder = msgspec.json.Encoder(order="sorted")
_exact_encoder = msgspec.json.Encoder(order="sorted", decimal_format="number")
# A number a double may not hold exactly has 16 or more digits (with its point: 16 characters or
# more) or a three-digit exponent. Anything else in the text that matches (a long version string,
# a hash) only costs the exact path, which gives the same bytes for numbers a double holds.
_MAYBE_INEXACT = re.compile(rb"[0-9.]{16,}|[0-9][eE][+-]?[0-9]{3}")


def _exact_number(text: str) -> float | Decimal:
    """A JSON number with a fraction or exponent: a float when that loses nothing, else a Decimal."""
    value = float(text)
    exact = Decimal(text)
    if exact == Decimal(repr(value)):  # the shortest form of the float is the number as sent
        return value
    return exact


_exact_decoder = msgspec.json.Decoder(float_hook=_exact_number)


def canonical_json(value: Any) -> bytes:
    """Serialise ``value`` deterministically: sorted keys, compact separators, UTF-8."""
    return _encoder.encode(value)


def canonical_event(doc: Any, raw: bytes) -> bytes:
    """The canonical form of the event ``raw`` (already decoded as ``doc``), numbers kept exact."""
    if _MAYBE_INEXACT.search(raw) is None:
        return _encoder.encode(doc)
    return _exact_encoder.encode(_exact_decoder.decode(raw))


def event_id(canonical: bytes) -> str:
    """The id of an event: the BLAKE3 hash of its canonical JSON, hex, without the algorithm prefix.

    The algorithm is a property of the store format (``EVENT_ID_PREFIX``); ids are stored bare so that
    they stay compact and sort uniformly.
    """
    return blake3.blake3(canonical).hexdigest()
