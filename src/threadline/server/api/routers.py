"""Every router of the HTTP API, in the order the application includes them (read by ``server.app``).

The order matters where paths overlap: a route of a router earlier in :data:`ROUTERS` is tried first
(Marquez's ``/api/v1/jobs/runs/{id}`` before ``/api/v1/jobs/...``). A new endpoint goes into a module
of this package, and a new module's router into this list.
"""

from __future__ import annotations

from fastapi import APIRouter

from threadline.server.api import (
    catalog,
    catalog_files,
    datasets,
    events,
    ingest,
    insights,
    jobs,
    lineage,
    namespaces,
    objects,
    pipelines,
    runs,
    search,
    sources,
    status,
    sync,
    tags,
    ui_lineage,
    ui_pages,
)

#: threadline's own API: ingest, the event log, health, lineage, sync between sites, objects.
OWN: tuple[APIRouter, ...] = (
    ingest.router,
    events.router,
    status.router,
    lineage.router,
    sync.router,
    objects.router,
)
#: Marquez's read API, so that Marquez's web UI and clients work unchanged.
MARQUEZ: tuple[APIRouter, ...] = (
    namespaces.router,
    sources.router,
    datasets.router,
    runs.router,
    jobs.router,
    tags.router,
    search.router,
)
#: The Data Catalog (``/api/v1/catalog/``, in Data Catalog v1's JSON).
CATALOG: tuple[APIRouter, ...] = (catalog.router, catalog_files.router)
#: The web UI's API (its pages and files are served by ``server.web.WebUI``).
UI: tuple[APIRouter, ...] = (insights.router, ui_lineage.router, ui_pages.router, pipelines.router)

ROUTERS: tuple[APIRouter, ...] = (*OWN, *MARQUEZ, *CATALOG, *UI)
