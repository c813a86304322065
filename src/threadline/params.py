"""The parameters the HTTP API and the CLI share: how each is spelled, parsed and checked, in one place.

``server.api.params`` declares them as FastAPI parameters (documented in ``/api/openapi.json``) and
the CLI's commands parse their options with the same functions, so ``depth``, ``asOf``, ``direction``
and paging mean the same thing, are refused with the same words, and have one spelling of "no limit"
(:data:`NO_LIMIT`) wherever they are given. Nothing here imports FastAPI.

Every refusal is an :class:`~threadline.errors.InvalidParameter` naming the parameter (HTTP 400,
code ``invalid_parameter``).
"""

from __future__ import annotations

from typing import TypeVar

from threadline.errors import InvalidParameter
from threadline.openlineage.timestamps import parse_time
from threadline.projection.readers.common import MAX_LIMIT, MAX_OFFSET

__all__ = [  # paging's bounds are the readers', given here beside the other parameters
    "DEPTH_HELP",
    "DIRECTIONS",
    "MAX_LIMIT",
    "MAX_OFFSET",
    "NODE_ID_HELP",
    "NO_LIMIT",
    "ONE_WAY_OR_BOTH",
    "TIME_HELP",
    "TRUE_WORDS",
    "parse_choice",
    "parse_depth",
    "parse_flag",
    "parse_int",
    "parse_moment",
    "required",
]

S = TypeVar("S", bound=str)

#: The one spelling of "no depth limit" (any case).
NO_LIMIT = "all"
#: The directions of a lineage walk: Marquez's undirected neighbourhood, or one way, or both.
DIRECTIONS = ("upstream", "downstream", "both", "undirected")
#: The directions of a column or run lineage walk (no undirected neighbourhood there).
ONE_WAY_OR_BOTH = ("upstream", "downstream", "both")
#: Words that mean true in a flag parameter (``withDownstream=true``); anything else is false.
TRUE_WORDS = ("true", "1", "yes")

DEPTH_HELP = f"Most edges away, or {NO_LIMIT} (no limit)."
TIME_HELP = "An ISO 8601 date-time such as 2024-05-01T12:00:00Z (no offset: UTC)."
NODE_ID_HELP = (
    "A node id: dataset:<namespace>:<name>, job:<namespace>:<name>, "
    "datasetField:<namespace>:<name>:<field> or run:<id>."
)


def _blank(text: str | None) -> bool:
    return text is None or not text.strip()


def parse_depth(text: str | None, default: int | None, name: str = "depth") -> int | None:
    """A depth: a whole number of edges, 0 or more, or :data:`NO_LIMIT` (``None``); ``default`` when
    ``text`` is absent or blank."""
    if _blank(text):
        return default
    assert text is not None
    text = text.strip()
    if text.lower() == NO_LIMIT:
        return None
    try:
        depth = int(text)
    except ValueError:
        msg = f"{name} must be a whole number of edges, or {NO_LIMIT} (no limit), got {text!r}"
        raise InvalidParameter(msg, name) from None
    if depth < 0:
        msg = f"{name} must be 0 or more, or {NO_LIMIT} (no limit), got {depth}"
        raise InvalidParameter(msg, name)
    return depth


def parse_moment(text: str | None, name: str) -> int | None:
    """An ISO 8601 date-time in UTC microseconds (``None`` when absent or blank). An unencoded ``+``
    of an offset arrives in a query string as a space, and is read as the ``+`` it was."""
    if _blank(text):
        return None
    assert text is not None
    try:
        return parse_time(text.strip().replace(" ", "+"))
    except ValueError:
        msg = f"{name} must be an ISO 8601 date-time such as 2024-05-01T12:00:00Z, got {text!r}"
        raise InvalidParameter(msg, name) from None


def parse_choice(text: str | None, name: str, choices: tuple[S, ...], default: S, what: str = "") -> S:
    """One of ``choices`` (exactly as spelled there, any case given), ``default`` when absent."""
    if _blank(text):
        return default
    assert text is not None
    wanted = text.strip().lower()
    for choice in choices:
        if choice.lower() == wanted:
            return choice
    listed = ", ".join(choices[:-1]) + f" or {choices[-1]}" if len(choices) > 1 else choices[0]
    msg = f"{name} must be {listed}{f' {what}' if what else ''}, got {text!r}"
    raise InvalidParameter(msg, name)


def parse_int(text: str | None, name: str, default: int, low: int, high: int) -> int:
    """A whole number between ``low`` and ``high``, ``default`` when absent or blank."""
    if _blank(text):
        return default
    assert text is not None
    try:
        value = int(text)
    except ValueError:
        msg = f"{name} must be an integer, got {text!r}"
        raise InvalidParameter(msg, name) from None
    if not low <= value <= high:
        msg = f"{name} must be between {low} and {high}, got {value}"
        raise InvalidParameter(msg, name)
    return value


def parse_flag(text: str | None) -> bool:
    """Whether a flag parameter is set (one of :data:`TRUE_WORDS`, any case)."""
    return (text or "").strip().lower() in TRUE_WORDS


def required(text: str | None, name: str, example: str) -> str:
    """``text`` as given (a name may begin or end with spaces), refused when absent or blank."""
    if _blank(text):
        msg = f"the query parameter {name} is required ({example})"
        raise InvalidParameter(msg, name)
    assert text is not None
    return text
