"""The query parameters of the HTTP API, declared once as annotated types that handlers take.

A handler writes ``depth: Depth`` or ``page: Page`` and gets the value parsed and checked by
:mod:`threadline.params` (the parsing the CLI uses too), with the parameter documented in
``/api/openapi.json`` (name, type, bounds, default, description). Each is a FastAPI dependency over
the raw text rather than a plain typed ``Query``, so that what is accepted (blank is absent, an
unencoded ``+`` in a time, ``all`` for no depth limit) and the words of a refusal stay exactly
threadline's, and refusals answer in the one error shape (``invalid_parameter``, naming the
parameter in ``field``). Every dependency is ``async``: FastAPI runs a plain ``def`` dependency in
its thread pool, a thread hop per parameter per request that cost about a millisecond a request under
load; these only parse text, so they run on the event loop.

The factories below build their dependencies as closures whose annotations use the factory's
arguments, so this module does without ``from __future__ import annotations``: FastAPI reads the
annotations of a closure at run time, where a string one could not see those arguments.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query

from threadline import params
from threadline.errors import InvalidParameter
from threadline.graph.export import FORMATS
from threadline.graph.traverse import DEFAULT_DEPTH

#: Marquez's default page size.
DEFAULT_LIMIT = 100


def _shown(default: int | None) -> str:
    return params.NO_LIMIT if default is None else str(default)


def _depth_schema(default: int | None) -> dict[str, Any]:
    return {
        "anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "enum": [params.NO_LIMIT]}],
        "default": params.NO_LIMIT if default is None else default,
    }


def depth_param(default: int | None) -> Callable[..., Awaitable[int | None]]:
    """The dependency reading ``depth`` (``default`` when absent; ``None``: no limit)."""

    async def depth(
        depth: Annotated[
            str | None,
            Query(
                description=f"{params.DEPTH_HELP} Default: {_shown(default)}.",
                json_schema_extra=_depth_schema(default),
            ),
        ] = None,
    ) -> int | None:
        return params.parse_depth(depth, default)

    return depth


#: ``depth``: edges away, default :data:`~threadline.graph.traverse.DEFAULT_DEPTH`.
Depth = Annotated[int | None, Depends(depth_param(DEFAULT_DEPTH))]
#: ``depth``: edges away, no limit by default.
DepthNoLimit = Annotated[int | None, Depends(depth_param(None))]
#: ``depth`` of run lineage: runs away, default 10.
RunDepth = Annotated[int | None, Depends(depth_param(10))]


def as_of_param(what: str) -> Callable[..., Awaitable[int | None]]:
    """The dependency reading ``asOf``: ``what`` (the graph, the catalog) as it was at that time."""

    async def as_of(
        as_of: Annotated[
            str | None,
            Query(
                alias="asOf",
                description=f"{what} as it was at this time. {params.TIME_HELP}",
                json_schema_extra={"format": "date-time"},
            ),
        ] = None,
    ) -> int | None:
        return params.parse_moment(as_of, "asOf")

    return as_of


#: ``asOf``: a time in microseconds, ``None`` for now.
AsOf = Annotated[int | None, Depends(as_of_param("The graph"))]


def time_param(name: str, description: str) -> Callable[..., Awaitable[int | None]]:
    """The dependency reading the date-time parameter ``name`` (``None`` when absent)."""

    async def moment(
        text: Annotated[
            str | None,
            Query(
                alias=name,
                description=f"{description} {params.TIME_HELP}",
                json_schema_extra={"format": "date-time"},
            ),
        ] = None,
    ) -> int | None:
        return params.parse_moment(text, name)

    return moment


def direction_param(choices: tuple[str, ...], default: str, what: str = "") -> Callable[..., Awaitable[str]]:
    """The dependency reading ``direction``: one of ``choices``, ``default`` when absent."""
    schema = {"enum": list(choices), "default": default}

    async def direction(
        direction: Annotated[
            str | None,
            Query(
                description=f"Which way to walk from the node. Default: {default}.", json_schema_extra=schema
            ),
        ] = None,
    ) -> str:
        return params.parse_choice(direction, "direction", choices, default, what)

    return direction


#: ``direction`` of a lineage graph: Marquez's undirected neighbourhood by default.
Direction = Annotated[str, Depends(direction_param(params.DIRECTIONS, "undirected"))]


def node_param(name: str) -> Callable[..., Awaitable[str]]:
    """The dependency reading the required node id ``name``, as given (a name may begin or end with
    spaces)."""

    async def node(value: Annotated[str, Query(alias=name, description=params.NODE_ID_HELP)]) -> str:
        return params.required(value, name, "a node id such as dataset:<namespace>:<name>")

    return node


#: ``nodeId`` (required), as given: a name may begin or end with spaces.
NodeIdParam = Annotated[str, Depends(node_param("nodeId"))]


async def _format(
    fmt: Annotated[
        str | None,
        Query(
            alias="format",
            description="json (the default), or a drawing: dot (Graphviz) or mermaid.",
            json_schema_extra={"enum": list(FORMATS), "default": "json"},
        ),
    ] = None,
) -> str:
    return params.parse_choice(fmt, "format", FORMATS, "json")


#: ``format``: ``json`` (default), ``dot`` or ``mermaid``.
Format = Annotated[str, Depends(_format)]


def flag_param(name: str, description: str) -> Callable[..., Awaitable[bool]]:
    """The dependency reading the flag ``name`` (true: ``true``, ``1`` or ``yes``)."""

    async def flag(
        text: Annotated[
            str | None,
            Query(
                alias=name, description=description, json_schema_extra={"type": "boolean", "default": False}
            ),
        ] = None,
    ) -> bool:
        return params.parse_flag(text)

    return flag


@dataclass(frozen=True, slots=True)
class PageParams:
    """``limit`` and ``offset`` of a list request, checked."""

    limit: int
    offset: int

    def kwargs(self) -> dict[str, int]:
        """``limit=…, offset=…`` for a reader."""
        return {"limit": self.limit, "offset": self.offset}


def limit_param(default: int, low: int = 0, high: int = params.MAX_LIMIT) -> Callable[..., Awaitable[int]]:
    """The dependency reading ``limit``: ``low``..``high``, ``default`` when absent."""
    schema = {"type": "integer", "minimum": low, "maximum": high, "default": default}

    async def limit(
        limit: Annotated[
            str | None,
            Query(
                description=f"Most items in the answer ({low} to {high}). Default: {default}.",
                json_schema_extra=schema,
            ),
        ] = None,
    ) -> int:
        return params.parse_int(limit, "limit", default, low, high)

    return limit


def int_param(
    name: str, description: str, default: int, low: int, high: int
) -> Callable[..., Awaitable[int]]:
    """The dependency reading the whole number ``name``: ``low``..``high``, ``default`` when absent."""
    schema = {"type": "integer", "minimum": low, "maximum": high, "default": default}

    async def number(
        text: Annotated[
            str | None,
            Query(
                alias=name,
                description=f"{description} ({low} to {high}). Default: {default}.",
                json_schema_extra=schema,
            ),
        ] = None,
    ) -> int:
        return params.parse_int(text, name, default, low, high)

    return number


_OFFSET_SCHEMA = {"type": "integer", "minimum": 0, "maximum": params.MAX_OFFSET, "default": 0}


async def _offset(
    offset: Annotated[
        str | None,
        Query(description="How many items to skip (paging). Default: 0.", json_schema_extra=_OFFSET_SCHEMA),
    ] = None,
) -> int:
    return params.parse_int(offset, "offset", 0, 0, params.MAX_OFFSET)


def page_param(
    default: int, low: int = 0, high: int = params.MAX_LIMIT
) -> Callable[..., Awaitable[PageParams]]:
    """The dependency reading ``limit`` and ``offset``."""
    read_limit = limit_param(default, low, high)

    async def page(
        limit: Annotated[int, Depends(read_limit)], offset: Annotated[int, Depends(_offset)]
    ) -> PageParams:
        return PageParams(limit, offset)

    return page


#: ``limit`` (default 100, at most :data:`~threadline.params.MAX_LIMIT`) and ``offset``.
Page = Annotated[PageParams, Depends(page_param(DEFAULT_LIMIT))]


def text_param(name: str, description: str, *, strip: bool = True) -> Callable[..., Awaitable[str | None]]:
    """The dependency reading the optional text ``name`` (``None`` when absent or blank; stripped of
    surrounding spaces unless ``strip`` is false: a name may begin or end with them)."""

    async def text(
        value: Annotated[str | None, Query(alias=name, description=description)] = None,
    ) -> str | None:
        if value is None or not value.strip():
            return None
        return value.strip() if strip else value

    return text


def name_param(name: str, description: str, example: str) -> Callable[..., Awaitable[str]]:
    """The dependency reading the required name ``name`` exactly as given: a name may be spaces, or
    begin or end with them, so only an absent or empty one is refused."""

    async def value(text: Annotated[str, Query(alias=name, description=description)]) -> str:
        if not text:
            msg = f"the query parameter {name} is required ({example})"
            raise InvalidParameter(msg, name)
        return text

    return value
