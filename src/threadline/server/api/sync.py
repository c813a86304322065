"""The sync endpoints: another threadline store pushes its events here and pulls ours.

- ``GET /api/v1/sync/info`` (read): this store's site id, the sync protocol version, the last sequence
  number; a client checks it talks to a threadline server it understands before anything else.
- ``POST /api/v1/sync/events`` (write): a JSON array of events, as ``/api/v1/lineage/batch`` takes
  (gzip or zstd encoded), sent by the store named in the ``X-Threadline-Site`` header; the events are
  validated and stored exactly as ingested ones are, and remembered as coming from that site. A site
  pushes with one API key: the key of its first push, unless an admin binds it to another
  (``threadline token bind``); another key is refused (403).
- ``GET /api/v1/sync/events`` (read): the events after a sequence number of ours, in order, at most
  ``limit``, leaving out those that came from the site ``exclude``, optionally only a part of the
  graph (see :mod:`threadline.sync.filters`); the answer says where to go on from (``next``). For a
  part of the graph it also gives a digest of the jobs and datasets that part holds (``entities``); a
  puller sends back the digest it last saw, and when the part has grown since (a new upstream job, say)
  the answer starts again from the first event, so events of the newly included nodes that are older
  than the puller's mark are not missed.
- ``GET /api/v1/sync/status`` (read): how many events a puller lacks after its mark.
"""

from __future__ import annotations

import time
import uuid
from typing import Annotated, Any

import msgspec
import zstandard
from fastapi import APIRouter, Depends, Header, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from threadline import __version__
from threadline.errors import BadRequest, Forbidden, Overloaded, PayloadTooLarge
from threadline.openlineage.events import ParsedEvent, split_batch
from threadline.params import DEPTH_HELP, DIRECTIONS, parse_int
from threadline.server.api.access import ReadKey, State, WriteKey
from threadline.server.api.models import ERRORS, PullAnswer, PushAnswer, SyncInfo, SyncStatus
from threadline.server.api.params import limit_param
from threadline.server.bodies import read_body
from threadline.server.state import ServerState, encode_json, json_response
from threadline.store import sync
from threadline.store.sql import SqlStore
from threadline.sync.filters import PullFilter, entity_digest

router = APIRouter(responses=ERRORS)

#: The version of the sync protocol: a client refuses a server that speaks another.
PROTOCOL = 1
SITE_HEADER = "x-threadline-site"
DEFAULT_PULL_LIMIT = 5_000
MAX_PULL_LIMIT = 20_000
#: How long a filtered pull waits for the projection to fold events already stored, seconds.
PROJECTION_WAIT = 10.0


_AFTER_SCHEMA = {"type": "integer", "minimum": 0, "maximum": 2**62, "default": 0}


async def _after(
    after: Annotated[
        str | None,
        Query(description="The puller's mark: our sequence number it has.", json_schema_extra=_AFTER_SCHEMA),
    ] = None,
) -> int:
    return parse_int(after, "after", 0, 0, 2**62)


async def _exclude(
    exclude: Annotated[
        str | None, Query(description="A site id (UUID): leave out the events that came from it.")
    ] = None,
) -> str | None:
    return _site(exclude, "exclude")


After = Annotated[int, Depends(_after)]
Exclude = Annotated[str | None, Depends(_exclude)]
_text = {
    "pipeline": "Only a pipeline's part of the graph: its job and every job under it.",
    "namespace": "Only the jobs and datasets of this namespace.",
    "node": "Only the lineage of this node (node id), with direction and depth.",
    "since": "Only events after this time. An ISO 8601 date-time.",
}


async def _pull_filter(
    pipeline: Annotated[str | None, Query(description=_text["pipeline"])] = None,
    namespace: Annotated[str | None, Query(description=_text["namespace"])] = None,
    node: Annotated[str | None, Query(description=_text["node"])] = None,
    direction: Annotated[
        str | None, Query(description="With node: which way.", json_schema_extra={"enum": list(DIRECTIONS)})
    ] = None,
    depth: Annotated[str | None, Query(description="With node: " + DEPTH_HELP)] = None,
    since: Annotated[
        str | None, Query(description=_text["since"], json_schema_extra={"format": "date-time"})
    ] = None,
) -> PullFilter:
    given = {"pipeline": pipeline, "namespace": namespace, "node": node, "direction": direction}
    given |= {"depth": depth, "since": since}
    return PullFilter.from_params({name: value for name, value in given.items() if value})


def _site(text: str | None, what: str) -> str | None:
    if text is None or text == "":
        return None
    try:
        return str(uuid.UUID(text))
    except ValueError:
        msg = f"{what} must be a threadline site id (a UUID), got {text[:80]!r}"
        raise BadRequest(msg) from None


@router.get("/api/v1/sync/info", response_model=SyncInfo)
async def info(_key: ReadKey, state: State) -> Response:
    """Who this store is, for a syncing client."""

    def work() -> dict[str, Any]:
        return {
            "siteId": sync.site_id(state.store),
            "protocol": PROTOCOL,
            "version": __version__,
            "lastSeq": sync.last_seq(state.store),
            "maxBatchEvents": state.max_batch_events,
            "maxBodyBytes": state.max_body_bytes,
            "maxObjectBytes": state.max_object_bytes,
        }

    return json_response(await run_in_threadpool(work))


_PUSH_BODY = {
    "requestBody": {
        "required": True,
        "description": "A JSON array of OpenLineage events (gzip or zstd Content-Encoding allowed).",
        "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object"}}}},
    }
}


@router.post("/api/v1/sync/events", response_model=PushAnswer, openapi_extra=_PUSH_BODY)
async def push_events(
    key: WriteKey,
    state: State,
    request: Request,
    site: Annotated[
        str | None, Header(alias=SITE_HEADER, description="The pushing store's site id (a UUID).")
    ] = None,
) -> Response:
    """Store events pushed by another site; answer with counts and any rejected event."""
    if state.pressure is not None:  # as ingest: refused first, before the body is read (server.pressure)
        try:
            state.pressure.check()
        except Overloaded as exc:
            if state.metrics is not None:
                state.metrics.rejected_request("push", exc)
            raise
    origin = _site(site, f"the {SITE_HEADER} header")
    if origin is None:
        msg = f"a push names the pushing store in the {SITE_HEADER} header (its site id)"
        raise BadRequest(msg)
    if origin == await run_in_threadpool(sync.site_id, state.store):
        msg = "this is the store the events come from: a store cannot push to itself; check the remote's URL"
        raise BadRequest(msg)
    if key is not None:  # without keys (--auth none) there is nothing to bind a site to
        binding = await run_in_threadpool(sync.claim_site, state.store, origin, key.id)
        if binding.key_id != key.id:
            raise Forbidden(_claimed(origin, binding, key.name))
    # A push streams batches: tell the writer this one is coming, so that it does not take the time
    # spent reading and parsing it for a pause and run a projection step in between.
    state.writer.expect()
    try:
        body = await read_body(request.headers, request.stream(), state.max_body_bytes)
        elements = split_batch(body)
        if len(elements) > state.max_batch_events:
            msg = (
                f"a push may send at most {state.max_batch_events} events at once (max_batch_events), "
                f"got {len(elements)}; send smaller batches"
            )
            raise PayloadTooLarge(msg)
        parsed_elements, folded = await state.parser.parse_and_fold(elements)
    except BaseException:
        state.writer.unexpect()
        raise
    accepted: list[ParsedEvent] = []
    failed: list[dict[str, Any]] = []
    for index, parsed in enumerate(parsed_elements):
        if isinstance(parsed, tuple):
            failed.append({"index": index, "reason": parsed[0], "field": parsed[1]})
            continue
        parsed.origin = origin
        accepted.append(parsed)
    result = await state.writer.submit(accepted, expected=True, folded=folded)
    return json_response(
        {
            "received": len(elements),
            "stored": len(result.inserted),
            "duplicates": len(result.duplicates),
            "failed": failed,
        }
    )


def _claimed(origin: str, binding: sync.SiteBinding, key: str) -> str:
    since = ", since revoked" if binding.key_revoked else ""
    return (
        f"site {origin} is bound to another API key (the one that first pushed as it{since}); the key "
        f"{key!r} may not push as that site. If the site's key was replaced, an admin rebinds the site "
        f"on this server: `threadline token bind {origin} NEW_KEY`"
    )


def _compressed(accepted: str, body: bytes) -> Response:
    accepted = accepted.lower()
    headers = {}
    if "zstd" in accepted:
        body = zstandard.ZstdCompressor(level=3).compress(body)
        headers["Content-Encoding"] = "zstd"
    return Response(body, media_type="application/json", headers=headers)


def _projected(store: SqlStore, wait: float = PROJECTION_WAIT) -> int:
    """How far the projection has folded the log, after waiting up to ``wait`` seconds for it to
    catch up with what is already stored (a filtered pull just after a push then sees the push)."""
    target = sync.last_seq(store)
    deadline = time.monotonic() + wait
    while True:
        with store.read() as connection:
            folded = store.log_mark(connection)
        if folded >= target or time.monotonic() > deadline:
            return folded
        time.sleep(0.02)


def _pull(
    state: ServerState, after: int, limit: int, exclude: str | None, wanted: PullFilter, known: str
) -> bytes:
    store = state.store
    digest = ""
    if wanted.selects_entities:
        upto = _projected(store)  # what the projector has folded is all that is indexed
        with store.read() as connection:
            entities = wanted.entities(connection, state.lineage_index)
        digest = entity_digest(entities)
        if digest != known:  # the part asked for took in other jobs or datasets: send it all again
            after = 0
        entries = sync.read_entities_after(
            store, entities, after, limit, not_from=exclude, since=wanted.since, upto=upto
        )
    else:
        upto = sync.last_seq(store)
        entries = sync.read_after(store, after, limit, not_from=exclude, since=wanted.since, upto=upto)
    full = len(entries) == limit
    answer = {
        "siteId": sync.site_id(store),
        "scope": wanted.scope,
        "entities": digest,
        "events": [msgspec.Raw(entry.raw) for entry in entries],
        "next": entries[-1].seq if full else max(upto, after),
        "more": full,
    }
    return encode_json(answer)


@router.get("/api/v1/sync/events", response_model=PullAnswer)
async def pull_events(
    _key: ReadKey,
    state: State,
    after: After,
    limit: Annotated[int, Depends(limit_param(DEFAULT_PULL_LIMIT, 1, MAX_PULL_LIMIT))],
    exclude: Exclude,
    wanted: Annotated[PullFilter, Depends(_pull_filter)],
    entities: Annotated[
        str | None, Query(description="The digest of the filtered part the puller last saw.")
    ] = None,
    accept_encoding: Annotated[str, Header(description="zstd: the answer is zstd-compressed.")] = "",
) -> Response:
    """Events after ``after`` (our sequence numbers), for a pulling site."""
    body = await run_in_threadpool(_pull, state, after, limit, exclude, wanted, entities or "")
    return _compressed(accept_encoding, body)


@router.get("/api/v1/sync/status", response_model=SyncStatus)
async def status(_key: ReadKey, state: State, after: After, exclude: Exclude) -> Response:
    """How many of our events a site lacks after its pull mark ``after``."""

    def work() -> dict[str, Any]:
        last = sync.last_seq(state.store)
        return {"behind": sync.count_after(state.store, after, not_from=exclude, upto=last), "lastSeq": last}

    return json_response(await run_in_threadpool(work))
