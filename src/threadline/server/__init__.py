"""The HTTP server: OpenLineage ingest and the read API (FastAPI on uvicorn)."""

from __future__ import annotations

from threadline.server.app import asgi_app, create_app
from threadline.server.runner import run_server

__all__ = ["asgi_app", "create_app", "run_server"]
