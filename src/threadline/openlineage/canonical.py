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

from decimal import Decimal
from typing import Any

import blake3
import msgspec

EVENT_ID_PREFIX = "blake3:"
_encoder = msgspec.json.Encoder(order="sorted")
_exact_encoder = msgspec.json.Encoder(order="sorted", decimal_format="number")
# Which events may hold a number a double cannot: every other event is encoded from the document as
# decoded, at the cost of one translate and a few substring searches (a regular expression over the
# event costs several times as much). A number with 15 significant digits or fewer is held exactly,
# unless it is below a double's normal range (1e-308), which takes a negative exponent of three
# digits or more. So, with digits and points as "9", "e" for "E" and everything else but "-" as a
# space, the event is read again if it holds a run of 16 "9"s, or an "e-999" with digits before it
# and no letter or digit around it (hex ids such as 9b41e-4250 hold the shape too). Text that looks
# so only costs the exact path, which gives the same bytes for numbers a double holds.
_SHAPES = bytes(
    ord("9") if chr(c) in "0123456789." else ord("e") if chr(c) in "eE" else ord("-") if c == ord("-") else 32
    for c in range(256)
)
_LONG_NUMBER = b"9" * 16
_TINY_EXPONENT = b"e-999"
_NINE = ord("9")


def _tiny_number_at(raw: bytes, shapes: bytes, at: int) -> bool:
    """Whether the ``e-999`` shape at ``at`` is the exponent of a JSON number."""
    end = at + 2
    while end < len(shapes) and shapes[end] == _NINE:
        end += 1
    start = at - 1
    while start >= 0 and shapes[start] == _NINE:
        start -= 1
    if start == at - 1 or raw[end : end + 1].isalnum():
        return False
    if raw[start : start + 1] == b"-":  # a minus sign, or the dash between two parts of an id
        start -= 1
    return start < 0 or not raw[start : start + 1].isalnum()


def may_be_inexact(raw: bytes) -> bool:
    """Whether ``raw`` may hold a number a double cannot hold exactly (see above)."""
    shapes = raw.translate(_SHAPES)
    if _LONG_NUMBER in shapes:
        return True
    at = shapes.find(_TINY_EXPONENT)
    while at >= 0:
        if _tiny_number_at(raw, shapes, at):
            return True
        at = shapes.find(_TINY_EXPONENT, at + 1)
    return False


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
    if not may_be_inexact(raw):
        return _encoder.encode(doc)
    return _exact_encoder.encode(_exact_decoder.decode(raw))


def event_id(canonical: bytes) -> str:
    """The id of an event: the BLAKE3 hash of its canonical JSON, hex, without the algorithm prefix.

    The algorithm is a property of the store format (``EVENT_ID_PREFIX``); ids are stored bare so that
    they stay compact and sort uniformly.
    """
    return blake3.blake3(canonical).hexdigest()
