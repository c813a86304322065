"""Catalog as code over HTTP: ``POST /api/v1/catalog/catalog:apply`` and ``GET …/catalog:export``.

What ``threadline catalog apply FILE [--dry-run]`` and ``threadline catalog export`` do on a store,
for a team that shares a server (``threadline catalog apply FILE --server origin``). The body of an
apply is the catalog file as JSON (``catalog.files`` reads YAML on the client); the answer lists the
changes, as ``--dry-run`` prints them, and whether they were made. A file is applied whole or not at
all, like a batch of tags.

``apply`` takes a ``write`` key; when the file changes a tag template, the key must be ``admin``, as
for the template routes. A file that only restates the templates the server has changes nothing of
them, so a write key applies a team's file of entries and tags.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from threadline.catalog import files
from threadline.catalog.changes import Planner, change_events
from threadline.errors import BadRequest, Forbidden
from threadline.openlineage.catalog_changes import TEMPLATE, CatalogChange
from threadline.server.api import params
from threadline.server.api.access import ReadKey, State, WriteKey
from threadline.server.api.catalog import PREFIX, JsonBody
from threadline.server.api.catalog_models import ApplyAnswer, CatalogFile, body
from threadline.server.api.changes import append_folded
from threadline.server.api.models import ERRORS
from threadline.server.api.routing import read
from threadline.server.state import ServerState, json_response

router = APIRouter(prefix=PREFIX, tags=["catalog"], responses=ERRORS)

DryRun = Annotated[
    bool, Depends(params.flag_param("dryRun", "Say what would change; change nothing (true, 1 or yes)."))
]


def _plan(
    state: ServerState, doc: dict[str, Any], by: str | None
) -> tuple[list[CatalogChange], list[files.Difference]]:
    with state.store.read() as connection:
        planner = Planner(connection, by=by)
        files.plan_file(planner, doc)
        return planner.changes, files.differences(connection, planner.changes)


@router.post(
    "/catalog:apply",
    response_model=ApplyAnswer,
    openapi_extra=body(CatalogFile, "A catalog file (as threadline catalog export writes it), as JSON."),
)
async def apply_file(key: WriteKey, state: State, doc: JsonBody, dry_run: DryRun) -> Response:
    """Create or update what a catalog file holds, all or nothing (``write``; ``admin`` when it changes
    a tag template); ``dryRun`` only says what would change. Applying the same file again changes
    nothing."""
    if not isinstance(doc, dict):
        msg = "the body must be a catalog file as JSON: {tagTemplates: [...], entryGroups: [...]}"
        raise BadRequest(msg)
    by = key.name if key is not None else None
    changes, diff = await run_in_threadpool(_plan, state, doc, by)
    templates = [c.name for c in changes if c.kind == TEMPLATE]
    if templates and key is not None and not key.allows("admin") and not dry_run:
        msg = (
            f"the file changes tag templates ({', '.join(templates)}): that needs a key with the admin "
            f"scope, and the API key {key.name!r} has scope {key.scope}; apply the templates with an "
            "admin key first, or leave them out of the file"
        )
        raise Forbidden(msg)
    if changes and not dry_run:
        await append_folded(state, change_events(changes))
    return json_response(
        {
            "changes": [{**asdict(d), "keys": list(d.keys), "line": d.line()} for d in diff],
            "applied": bool(changes) and not dry_run,
        }
    )


@router.get("/catalog:export", response_model=CatalogFile)
async def export_file(_key: ReadKey, state: State) -> Response:
    """The whole catalog as a catalog file (what ``catalog:apply`` takes), as JSON."""
    return json_response(await read(state, files.export))


__all__ = ["router"]
