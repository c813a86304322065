"""The HTTP server: OpenLineage ingest and the read API (FastAPI on uvicorn).

The names are loaded on first use: commands that only need the API's JSON shapes
(``threadline.server.api.shapes``) do not pay for importing FastAPI and uvicorn.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from threadline.server.app import asgi_app, create_app
    from threadline.server.runner import run_server

__all__ = ["asgi_app", "create_app", "run_server"]

_WHERE = {
    "asgi_app": "threadline.server.app",
    "create_app": "threadline.server.app",
    "run_server": "threadline.server.runner",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    msg = f"module 'threadline.server' has no attribute {name!r}"
    raise AttributeError(msg)
