"""The ASGI application: its routers (``server.api.routers``), the writer's lifetime, the error answers."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp

from threadline import __version__
from threadline.artifacts.objects import ObjectDB
from threadline.graph.index import SERVER_MARK_CHECK_SECONDS, LineageIndex
from threadline.openlineage.limits import EventLimits
from threadline.projection.projector import DEFAULT_BATCH, FoldAhead
from threadline.redact import redact_text
from threadline.server import web
from threadline.server.api import errors, ingest
from threadline.server.api.routers import ROUTERS
from threadline.server.auth import CACHE_SECONDS, Authenticator, AuthMode
from threadline.server.federation import Federation
from threadline.server.freshness import ProjectionClock, ReadYourWrites
from threadline.server.memory import release_memory
from threadline.server.metrics import MetricsMiddleware, ServerMetrics
from threadline.server.parsing import BatchParser
from threadline.server.pressure import BackPressure
from threadline.server.state import ServerState
from threadline.server.timing import ServerTiming
from threadline.server.warmup import warm_up
from threadline.server.writer import Writer
from threadline.settings import ServerConfig
from threadline.store.base import AppendResult
from threadline.store.sql import SqlStore
from threadline.sync.filters import PullFilter
from threadline.sync.remotes import ServerRemote

log = logging.getLogger(__name__)

PROJECTION_BATCH = DEFAULT_BATCH


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
    config: ServerConfig | None = None,
    *,
    auth_cache_seconds: float = CACHE_SECONDS,
    objects_dir: str | os.PathLike[str] | None = None,
    pull_from: list[ServerRemote] | None = None,
    pull_filter: PullFilter | None = None,
) -> FastAPI:
    """Build the server for ``store`` as ``config`` says (default: every setting's default); its
    ``auth`` is the mode to run in, ``token``, ``none`` or ``auto`` (see ``resolve_auth_mode``).

    ``objects_dir`` holds the objects sites push (none: the object endpoints say there are none);
    ``pull_from`` are servers to pull from every ``config.pull_every`` seconds, ``pull_filter`` what of
    them (see ``server.federation``); ``run_server`` works these out from ``config``.

    ``config.metrics`` is who may read ``GET /metrics`` (``auth``, ``open``, ``off``: see
    ``server.metrics``); ``config.max_writer_queue`` and ``config.max_projection_lag`` are the
    back-pressure limits (see ``server.pressure``; 0: no limit).

    ``config.read_wait`` is how long a read waits for the projections to hold what was acknowledged
    (see ``server.freshness``).
    """
    config = ServerConfig() if config is None else config
    auth_mode = cast(AuthMode, config.auth)  # one of AUTH_MODES: ServerConfig checks its choices
    lineage_index = LineageIndex(store, mark_check_seconds=SERVER_MARK_CHECK_SECONDS)

    folded_since_trim = 0
    ahead = FoldAhead(step_events=PROJECTION_BATCH)

    def project() -> int:
        nonlocal folded_since_trim
        if store.write_problem is not None:
            return 0  # a read-only store: said at start and in health, not in a traceback a second
        done, mark = ahead.step(store, batch_size=PROJECTION_BATCH)
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

    server_metrics = ServerMetrics(config.metrics)  # type: ignore[arg-type]  # checked there
    writer = Writer(
        store,
        idle_work=server_metrics.counting_failures("projection", project),
        on_append=appended,
        ahead=ahead,
    )
    clock = ProjectionClock(
        store,
        wait_seconds=config.read_wait,
        hurry=writer.hurry,
        on_folded=lambda _mark: lineage_index.changed(),
        failing=lambda: writer.projection_failing,
    )
    pressure = BackPressure(
        store,
        writer.queue_depth,
        max_queue=config.max_writer_queue,
        max_lag_seconds=config.max_projection_lag,
        on_error=lambda: server_metrics.store_error("lag_sample"),
    )
    event_limits = EventLimits(
        inputs=config.max_event_inputs,
        outputs=config.max_event_outputs,
        fields=config.max_event_fields,
        column_edges=config.max_event_column_edges,
    )
    parser = BatchParser(config.parse_workers, event_limits)

    federation = Federation(
        store, writer, pull_from or [], config.pull_every, pull_filter or PullFilter(), pressure
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await check_store_writable(store)
        writer.start()
        await parser.start()
        lineage_index.start()
        federation.start()
        pressure.start()
        warming = asyncio.create_task(warm_up(app, app.state.threadline.auth.internal_secret))
        try:
            yield
        finally:
            warming.cancel()
            pressure.stop()
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
        auth=Authenticator(store, auth_mode, auth_cache_seconds),
        parser=parser,
        max_body_bytes=config.max_body_bytes,
        max_batch_events=config.max_batch_events,
        lineage_index=lineage_index,
        clock=clock,
        objects=ObjectDB(objects_dir) if objects_dir is not None else None,
        federation=federation,
        max_object_bytes=config.max_object_bytes,
        metrics=server_metrics,
        pressure=pressure,
    )
    server_metrics.bind(app.state.threadline)
    errors.install(app)  # every error answers in one shape (server.api.errors)
    for router in ROUTERS:  # every router, in order, is listed in server.api.routers
        app.include_router(router)
    return app


def asgi_app(app: FastAPI) -> ASGIApp:
    """The application to serve: the web UI's pages and files (``server.web``) and ``app`` behind the
    ingest fast path (``server.api.ingest``), with the ``Server-Timing`` header on API answers
    (``server.timing``), reads waiting for what was acknowledged (``server.freshness``), every request
    timed and ``GET /metrics`` answered (``server.metrics``)."""
    state = app.state.threadline
    served = ServerTiming(web.WebUI(ReadYourWrites(ingest.IngestFastPath(app, state), state.clock)))
    return MetricsMiddleware(served, state)
