"""What every request handler needs: the store, the writer, the authenticator and the limits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from threadline.artifacts.objects import ObjectDB
from threadline.graph.index import LineageIndex
from threadline.server.auth import Authenticator
from threadline.server.freshness import ProjectionClock
from threadline.server.parsing import BatchParser
from threadline.server.writer import Writer
from threadline.store.sql import SqlStore

if TYPE_CHECKING:
    from threadline.server.federation import Federation
    from threadline.server.metrics import ServerMetrics
    from threadline.server.pressure import BackPressure

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
    #: The current lineage graph in memory, loaded on first use and kept current from the log.
    lineage_index: LineageIndex
    #: What this server acknowledged and saw folded; reads wait on it (``server.freshness``).
    clock: ProjectionClock
    #: The object store sites push artifacts to (None: this server keeps none).
    objects: ObjectDB | None = None
    #: The servers this one pulls from on a schedule (``serve --pull-from``).
    federation: Federation | None = None
    #: The largest object ``PUT /api/v1/objects/{id}`` takes (setting ``max_object_bytes``).
    max_object_bytes: int = 5 * 1024**3
    #: ``GET /metrics`` and the counters code updates (None: a server made without them, in tests).
    metrics: ServerMetrics | None = None
    #: Back-pressure on ingest (None: no limits).
    pressure: BackPressure | None = None


def state_of(request: Request) -> ServerState:
    """The :class:`ServerState` of the app serving ``request``."""
    return request.app.state.threadline


def encode_json(content: object) -> bytes:
    """JSON bytes of ``content`` (``msgspec.Raw`` values are embedded byte for byte)."""
    return _encoder.encode(content)


def json_response(content: object, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON response encoded by msgspec (``msgspec.Raw`` values are embedded byte for byte)."""
    body = encode_json(content)
    return Response(body, status_code=status, media_type="application/json", headers=headers)
