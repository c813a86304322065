"""What every request handler needs: the store, the writer, the authenticator and the limits."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from threadline.server.auth import Authenticator
from threadline.server.parsing import BatchParser
from threadline.server.writer import Writer
from threadline.store.sql import SqlStore

_encoder = msgspec.json.Encoder()


@dataclass(slots=True)
class ServerState:
    """The server's shared objects, kept on ``app.state.threadline``."""

    store: SqlStore
    writer: Writer
    auth: Authenticator
    parser: BatchParser
    max_body_bytes: int
    max_batch_events: int


def state_of(request: Request) -> ServerState:
    """The :class:`ServerState` of the app serving ``request``."""
    return request.app.state.threadline


def json_response(content: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response encoded by msgspec (``msgspec.Raw`` values are embedded byte for byte)."""
    body = _encoder.encode(content)
    return Response(body, status_code=status, media_type="application/json", headers=headers)
