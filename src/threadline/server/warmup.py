"""Warming a new server up, so that its first visitors do not pay for a cold process.

A fresh server answers its first requests 2-10 times slower than later ones (measured on the demo
data: the UI's overview 22-44 ms the first time, 4 ms after; a job page 8-13 ms, then 4 ms): each
kind of request compiles its SQL statements into SQLAlchemy's cache, imports the modules it needs
and fills FastAPI's and the store's caches the first time. Right after start, the server sends
itself the requests the web UI opens with (in process, through the whole application, with a read
key that exists only in this process): the overview, the time span, search, the runs list, and a
run's, a dataset's and a job's pages and lineage. That takes well under a second; failures are logged and
ignored (an empty store simply has less to warm).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import httpx
from starlette.types import ASGIApp

log = logging.getLogger(__name__)

#: What every UI visit asks for, whatever the store holds.
FIRST_REQUESTS = (
    "/api/v1/ui/overview",
    "/api/v1/ui/timespan",
    "/api/v1/ui/runs?limit=50&offset=0",
    "/api/v1/ui/events?limit=50",
    "/api/v1/search?q=a&limit=8&sort=NAME",
    "/api/v1/ui/columns?q=a&limit=6",
    "/api/v1/namespaces",
)


async def warm_up(app: ASGIApp, secret: str) -> int:
    """Send ``app`` the UI's usual first requests, then those of the first dataset and job its
    search finds; return how many answered 2xx."""
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {secret}"}
    ok = 0
    async with httpx.AsyncClient(transport=transport, base_url="http://warm-up", headers=headers) as client:

        async def get(path: str) -> Any:
            nonlocal ok
            try:
                response = await client.get(path)
            except Exception:  # a warm-up never stops a server
                log.debug("warm-up request %s failed", path, exc_info=True)
                return None
            if response.is_success:
                ok += 1
                return response.json()
            return None

        answers = {path: await get(path) for path in FIRST_REQUESTS}
        runs = (answers.get("/api/v1/ui/runs?limit=50&offset=0") or {}).get("runs") or []
        if runs and isinstance(runs[0], dict) and isinstance(runs[0].get("id"), str):
            run_id = quote(runs[0]["id"], safe="")
            await get(f"/api/v1/ui/pages/run?runId={run_id}")
            await get(f"/api/v1/lineage/runs?runId={run_id}&direction=both&depth=2")
        for kind in ("DATASET", "JOB"):
            found = await get(f"/api/v1/search?q=a&limit=1&filter={kind}")
            results = (found or {}).get("results") or []
            first = results[0] if results and isinstance(results[0], dict) else {}
            if not (isinstance(first.get("namespace"), str) and isinstance(first.get("name"), str)):
                continue
            node = first.get("nodeId") if isinstance(first.get("nodeId"), str) else None
            namespace, name = quote(first["namespace"], safe=""), quote(first["name"], safe="")
            collection = "datasets" if kind == "DATASET" else "jobs"
            await get(f"/api/v1/namespaces/{namespace}/{collection}/{name}")
            await get(f"/api/v1/ui/pages/{kind.lower()}?namespace={namespace}&name={name}")
            if node:
                await get(f"/api/v1/ui/lineage?nodeId={quote(node, safe='')}&depth=2")
    log.debug("warm-up: %d requests answered", ok)
    return ok
