"""The ASGI application: routes, the writer's lifetime, and turning errors into JSON answers."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from threadline import __version__, settings
from threadline.artifacts.objects import ObjectDB
from threadline.errors import ConfigError, ThreadlineError
from threadline.graph.index import SERVER_MARK_CHECK_SECONDS, LineageIndex
from threadline.openlineage.limits import EventLimits
from threadline.projection.projector import DEFAULT_BATCH, project_step
from threadline.redact import redact_text
from threadline.server import events, ingest, lineage, objects, status, sync, web
from threadline.server.api import datasets, insights, jobs, namespaces, runs, search, sources, tags, ui_pages
from threadline.server.auth import AUTH_MODES, CACHE_SECONDS, Authenticator, AuthMode
from threadline.server.federation import Federation
from threadline.server.freshness import ProjectionClock, ReadYourWrites
from threadline.server.memory import release_memory
from threadline.server.parsing import BatchParser
from threadline.server.state import ServerState, json_response
from threadline.server.timing import ServerTiming
from threadline.server.warmup import warm_up
from threadline.server.writer import INLINE_FOLD_EVENTS, Writer
from threadline.store.base import AppendResult
from threadline.store.sql import SqlStore
from threadline.sync.filters import PullFilter
from threadline.sync.remotes import ServerRemote

log = logging.getLogger(__name__)

PROJECTION_BATCH = DEFAULT_BATCH


async def _threadline_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ThreadlineError)
    content = ingest.error_content(exc)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    if exc.status >= 500:
        log.warning("%s: %s", type(exc).__name__, exc.message)
    return json_response(content, status=exc.status, headers=headers)


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    return json_response({"error": str(exc.detail)}, status=exc.status_code, headers=exc.headers)


async def _validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    parts = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ()))
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return json_response({"error": "; ".join(parts) or "invalid request"}, status=400)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    # Starlette raises the error again once this answer is sent, and uvicorn then drops the
    # connection: saying so (Connection: close) lets the client open a new one for its next request
    # instead of failing it on a reset.
    content = {"error": "internal server error; the server log has the details"}
    return json_response(content, status=500, headers={"Connection": "close"})


async def check_store_writable(store: SqlStore) -> None:
    """Say at start, in the log, when the store refuses writes (``GET /api/v1/health`` says it too)."""
    try:
        problem = await run_in_threadpool(store.check_writable)
    except Exception as exc:  # a store that is busy or down now: the first write will tell
        log.warning("could not check whether the store can be written: %s", redact_text(str(exc)))
        return
    if problem is not None:
        log.error(
            "the store is read-only: %s. Reads are served; every write is refused with 503 "
            "until the store can be written.",
            problem,
        )


def create_app(
    store: SqlStore,
    *,
    auth_mode: AuthMode | str,
    max_body_bytes: int,
    max_batch_events: int,
    auth_cache_seconds: float = CACHE_SECONDS,
    parse_workers: int = 0,
    objects_dir: str | os.PathLike[str] | None = None,
    pull_from: list[ServerRemote] | None = None,
    pull_every: float = 60.0,
    pull_filter: PullFilter | None = None,
    event_limits: EventLimits | None = None,
    max_object_bytes: int | None = None,
    read_wait: float | None = None,
) -> FastAPI:
    """Build the server for ``store``; ``auth_mode`` is ``token``, ``none`` or ``auto`` (see
    ``resolve_auth_mode``).

    ``objects_dir`` holds the objects sites push (none: the object endpoints say there are none);
    ``pull_from`` are servers to pull from every ``pull_every`` seconds (see ``server.federation``);
    ``event_limits``, ``max_object_bytes`` and ``read_wait`` (how long a read waits for the
    projections to hold what was acknowledged, see ``server.freshness``) default to their settings'
    defaults.
    """
    if auth_mode not in AUTH_MODES:
        msg = f"auth_mode must be one of {', '.join(AUTH_MODES)} (see resolve_auth_mode), got {auth_mode!r}"
        raise ConfigError(msg)
    lineage_index = LineageIndex(store, mark_check_seconds=SERVER_MARK_CHECK_SECONDS)

    folded_since_trim = 0

    def project() -> int:
        nonlocal folded_since_trim
        if store.write_problem is not None:
            return 0  # a read-only store: said at start and in health, not in a traceback a second
        done, mark = project_step(store, batch_size=PROJECTION_BATCH)
        if mark:
            clock.fold(mark)
        if done:
            lineage_index.changed()
            folded_since_trim += done
        elif folded_since_trim:  # caught up: give back the pages folding took (see server.memory)
            folded_since_trim = 0
            release_memory()
        return done

    def appended(result: AppendResult) -> None:
        clock.acknowledge(result.head)
        if result.projected:
            clock.fold(result.head)
            lineage_index.changed()

    writer = Writer(store, idle_work=project, inline_fold=INLINE_FOLD_EVENTS, on_append=appended)
    clock = ProjectionClock(
        store,
        wait_seconds=settings.default("read_wait") if read_wait is None else read_wait,
        hurry=writer.hurry,
        on_folded=lambda _mark: lineage_index.changed(),
        failing=lambda: writer.projection_failing,
    )
    parser = BatchParser(parse_workers, event_limits or EventLimits())

    federation = Federation(store, writer, pull_from or [], pull_every, pull_filter or PullFilter())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await check_store_writable(store)
        writer.start()
        await parser.start()
        lineage_index.start()
        federation.start()
        warming = asyncio.create_task(warm_up(app, app.state.threadline.auth.internal_secret))
        try:
            yield
        finally:
            warming.cancel()
            federation.stop()
            lineage_index.stop()
            parser.stop()
            writer.stop()

    app = FastAPI(
        title="threadline",
        version=__version__,
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.threadline = ServerState(
        store=store,
        writer=writer,
        auth=Authenticator(store, auth_mode, auth_cache_seconds),  # type: ignore[arg-type]
        parser=parser,
        max_body_bytes=max_body_bytes,
        max_batch_events=max_batch_events,
        lineage_index=lineage_index,
        clock=clock,
        objects=ObjectDB(objects_dir) if objects_dir is not None else None,
        federation=federation,
        max_object_bytes=max_object_bytes or settings.default("max_object_bytes"),
    )
    app.add_exception_handler(ThreadlineError, _threadline_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)
    api = (ingest, events, status, lineage, sync, objects)
    marquez = (namespaces, sources, datasets, runs, jobs, tags, search)
    for module in (*api, *marquez):
        app.include_router(module.router)
    app.include_router(insights.router)  # the web UI's API (its pages and files: web.WebUI)
    app.include_router(ui_pages.router)
    return app


def asgi_app(app: FastAPI) -> ASGIApp:
    """The application to serve: the web UI's pages and files (``server.web``) and ``app`` behind the
    ingest fast path (``server.ingest``), with the ``Server-Timing`` header on API answers
    (``server.timing``), reads waiting for what was acknowledged (``server.freshness``)."""
    state = app.state.threadline
    return ServerTiming(web.WebUI(ReadYourWrites(ingest.IngestFastPath(app, state), state.clock)))
