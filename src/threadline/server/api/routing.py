"""Routing Marquez's paths the way Marquez does, and what every read endpoint shares.

Names in Marquez's paths are percent-encoded by its clients (``postgres%3A%2F%2Fdb%3A5432``), and an
encoded ``/`` belongs to the name. The ASGI server decodes ``%2F`` before routing, so the usual
matching cannot tell ``datasets/a%2Fversions`` (a dataset named ``a/versions``) from
``datasets/a/versions`` (the versions of ``a``). :class:`RawPathRoute` matches the path as it was sent
(``raw_path``), segment by segment, and decodes each segment afterwards, as JAX-RS does for Marquez.

Some clients send a name unencoded (Marquez's web UI does when tagging a dataset). When no route
matches segment for segment, a route whose literal segments still line up takes the extra segments
into one name (the last name first), so ``.../datasets/raw/x.csv/tags/PII`` tags ``raw/x.csv``.

Errors of these endpoints carry Marquez's ``code`` and ``message`` beside threadline's ``error``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, ClassVar, TypeVar
from urllib.parse import unquote

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import Scope

from threadline.errors import BadRequest, ThreadlineError
from threadline.projection.readers.common import check_page
from threadline.server.state import ServerState, json_response, state_of

T = TypeVar("T")

DEFAULT_LIMIT = 100


#: Where a request's segments are kept, so that the routes tried after the first do not split again.
_SEGMENTS_KEY = "threadline.segments"


def _segments(scope: Scope) -> list[str]:
    cached = scope.get(_SEGMENTS_KEY)
    if cached is not None:
        return cached
    segments = scope[_SEGMENTS_KEY] = _split(scope)
    return segments


def _split(scope: Scope) -> list[str]:
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) else scope.get("path", "")
    path = path.split("?", 1)[0]
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]  # Marquez's web UI asks for /search/?q=…
    return path.split("/")[1:]


def _decode(segment: str) -> str:
    return unquote(segment, encoding="utf-8", errors="strict")


class RawPathRoute(APIRoute):
    """An API route matched against the path as sent, each ``{name}`` one encoded segment."""

    #: Every route of this class: a name taking unencoded slashes goes to the route among them that
    #: lines up the most literal segments.
    registry: ClassVar[list[RawPathRoute]] = []

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        self.pattern = path.split("/")[1:]
        self.variables = [i for i, token in enumerate(self.pattern) if token.startswith("{")]
        self.literals = len(self.pattern) - len(self.variables)
        #: The literal segments before the first name: a path must start with them to match at all.
        self.prefix = self.pattern[: self.variables[0]] if self.variables else self.pattern
        RawPathRoute.registry.append(self)

    def _allows(self, method: str) -> bool:
        return not self.methods or method in self.methods

    def _bind(self, segments: list[str]) -> dict[str, str] | None:
        pattern = self.pattern
        if len(segments) == len(pattern):
            return self._take(pattern, [[s] for s in segments])
        extra = len(segments) - len(pattern)
        if extra <= 0 or not self.variables:
            return None
        for wide in reversed(self.variables):  # one name took the unencoded slashes: try the last first
            groups = [[s] for s in segments[:wide]]
            groups.append(segments[wide : wide + extra + 1])
            groups += [[s] for s in segments[wide + extra + 1 :]]
            bound = self._take(pattern, groups)
            if bound is not None:
                return bound
        return None

    @staticmethod
    def _take(pattern: list[str], groups: list[list[str]]) -> dict[str, str] | None:
        params: dict[str, str] = {}
        for token, group in zip(pattern, groups, strict=True):
            if token.startswith("{"):
                try:
                    value = "/".join(_decode(s) for s in group)
                except UnicodeDecodeError:
                    return None
                if not value:
                    return None
                params[token[1:-1]] = value
            elif len(group) != 1 or group[0] != token:
                return None
        return params

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """Match ``raw_path``: FULL for an exact match, PARTIAL for another method (a 405) or for a
        name that took unencoded slashes (used only when no route matches exactly)."""
        if scope["type"] != "http":
            return Match.NONE, {}
        segments = _segments(scope)
        if len(segments) < len(self.pattern) or segments[: len(self.prefix)] != self.prefix:
            return Match.NONE, {}
        method_ok = self._allows(scope["method"])
        exact = len(segments) == len(self.pattern)
        params = self._bind(segments)
        if params is None or (not exact and not method_ok):
            return Match.NONE, {}
        if not exact:
            rivals = [
                route.literals
                for route in RawPathRoute.registry
                if len(route.pattern) < len(segments)
                and route._allows(scope["method"])
                and route._bind(segments) is not None
            ]
            if self.literals < max(rivals):
                return Match.NONE, {}
        child = {"endpoint": self.endpoint, "path_params": params, "route": self}
        return (Match.FULL if exact and method_ok else Match.PARTIAL), child

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The handler, answering expected errors in threadline's and Marquez's shape at once."""
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except ThreadlineError as exc:
                return error_response(exc)

        return guarded


def error_response(exc: ThreadlineError) -> Response:
    """``{"error", "code", "message"}``: threadline's key and Marquez's two."""
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    content = {"error": exc.message, "code": exc.status, "message": exc.message}
    return json_response(content, status=exc.status, headers=headers)


def new_router() -> APIRouter:
    """A router whose routes are :class:`RawPathRoute`."""
    return APIRouter(route_class=RawPathRoute)


def int_param(request: Request, name: str, default: int) -> int:
    """An integer query parameter (``default`` when absent); 400 when it is not an integer."""
    text = request.query_params.get(name)
    if text is None or not text.strip():
        return default
    try:
        return int(text)
    except ValueError:
        msg = f"{name} must be an integer, got {text!r}"
        raise BadRequest(msg) from None


def page_params(request: Request, default_limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
    """``limit`` and ``offset`` of a list request, checked here at the edge (400 when out of range,
    before any SQL sees a number too large for it)."""
    limit, offset = int_param(request, "limit", default_limit), int_param(request, "offset", 0)
    check_page(limit, offset)
    return {"limit": limit, "offset": offset}


async def read(request: Request, work: Callable[..., T], *args: Any, scope: str = "read", **kwargs: Any) -> T:
    """Check the key's scope, then run ``work(connection, *args, **kwargs)`` in a read transaction."""
    state = state_of(request)
    await state.auth.require(request.headers, scope)
    return await run_in_threadpool(_in_read, state, work, args, kwargs)


def _in_read(state: ServerState, work: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
    with state.store.read() as connection:
        return work(connection, *args, **kwargs)
