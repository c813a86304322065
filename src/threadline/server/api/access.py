"""What a handler declares to reach the server and to be allowed: the server's state, and the API key's
scope, as FastAPI dependencies (the checking itself is :class:`threadline.server.auth.Authenticator`'s).

A handler taking ``key: ReadKey`` (or ``WriteKey``, ``AdminKey``) is answered 401 without a key and
403 with a key of too low a scope before its body runs; the key is ``None`` on a server that checks
none. ``/api/openapi.json`` documents the bearer scheme on every route that declares one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends
from fastapi.security import HTTPBearer
from starlette.requests import Request

from threadline.errors import Forbidden, Unauthorized
from threadline.server.state import ServerState, state_of
from threadline.store.base import ApiKey

#: Documents ``Authorization: Bearer <key>`` in the OpenAPI document; the checking is the
#: authenticator's (a server under ``--auth none`` takes requests without any key).
bearer = HTTPBearer(
    auto_error=False, description="An API key: `threadline token create --scope read|write|admin`"
)


async def _state(request: Request) -> ServerState:
    return state_of(request)


#: The server's shared objects (store, writer, authenticator, limits).
State = Annotated[ServerState, Depends(_state)]


def scope(name: str) -> Callable[..., Awaitable[ApiKey | None]]:
    """The dependency that lets a request through with a key of scope ``name`` (or above)."""

    async def check(request: Request, _credentials: Annotated[Any, Depends(bearer)]) -> ApiKey | None:
        return await state_of(request).auth.require(request.headers, name)

    check.__name__ = f"{name}_scope"
    return check


async def _may_read(request: Request, _credentials: Annotated[Any, Depends(bearer)]) -> bool:
    try:
        await state_of(request).auth.require(request.headers, "read")
    except (Unauthorized, Forbidden):
        return False
    return True


#: Whether the request may read (a read key, or none needed); never refuses it.
MayRead = Annotated[bool, Depends(_may_read)]
#: A key with the read scope (or none needed).
ReadKey = Annotated[ApiKey | None, Depends(scope("read"))]
#: A key with the write scope (or none needed).
WriteKey = Annotated[ApiKey | None, Depends(scope("write"))]
#: A key with the admin scope (or none needed).
AdminKey = Annotated[ApiKey | None, Depends(scope("admin"))]
