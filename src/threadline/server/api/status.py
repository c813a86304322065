"""``GET /api/v1/health``: whether the server is up, for anyone; what it is doing, for a read key.

Without a key (on a server that checks keys) the answer is only ``{"status": "ok"}`` or
``{"status": "read-only"}``: enough for a load balancer or a liveness probe, nothing about the store,
its paths, the servers it pulls from or their errors. With a read key (or on a server without keys)
it also gives the version, the store (backend, whether it can be written and why not), the numbers of
events and of events awaiting projection, what the writer thread has done, the lineage index, the
object folder and federation, and back-pressure (``backPressure``: whether ingest is refused now and
why, the writer queue and projection lag against their limits, the requests refused so far).
"""

from __future__ import annotations

import time
import weakref
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from threadline import __version__
from threadline.server.api.access import MayRead, State
from threadline.server.api.models import ERRORS, Health
from threadline.server.state import json_response
from threadline.store.sql import SqlStore

router = APIRouter(responses=ERRORS)

#: How often a store known to be read-only is asked again (it may have been fixed), at most.
RECHECK_SECONDS = 5.0
_last_check: weakref.WeakKeyDictionary[SqlStore, float] = weakref.WeakKeyDictionary()


async def _recheck(store: SqlStore) -> None:
    """Ask a read-only store again whether it can be written, at most every ``RECHECK_SECONDS``."""
    if store.write_problem is None:
        return
    now = time.monotonic()
    if now - _last_check.get(store, 0.0) < RECHECK_SECONDS:
        return
    _last_check[store] = now
    try:
        await run_in_threadpool(store.check_writable)
    except Exception:  # busy or down: keep what is known
        return


@router.get("/api/v1/health", response_model=Health)
async def health(state: State, may_read: MayRead) -> Response:
    """``ok`` or ``read-only``; with a read key also the version, the store, the numbers of events and
    of events awaiting projection, the writer thread, the lineage index, objects and federation."""
    store = state.store
    await _recheck(store)
    status = "ok" if store.write_problem is None else "read-only"
    if not may_read:
        return json_response({"status": status})

    def numbers() -> tuple[int, int]:
        return store.count_events(), store.projection_lag()

    events, lag = await run_in_threadpool(numbers)
    store_state: dict[str, Any] = {"backend": store.backend, "writable": store.write_problem is None}
    if store.write_problem is not None:
        store_state["reason"] = store.write_problem
    content = {
        "status": status,
        "version": __version__,
        "store": store_state,
        "events": events,
        "projectionLag": lag,
        "writer": state.writer.stats.to_dict(),
        "lineageIndex": state.lineage_index.status(),
        "backPressure": state.pressure.status() if state.pressure is not None else None,
        "readYourWrites": state.clock.status(),
        "objects": str(state.objects.root) if state.objects is not None else None,
    }
    if state.federation is not None and state.federation.remotes:
        content["federation"] = state.federation.to_dict()
    return json_response(content)
