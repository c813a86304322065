"""Storage: the event log, projections and API keys behind one interface, on SQLite or PostgreSQL."""

from __future__ import annotations

from threadline.store.base import ApiKey, AppendResult, EventPage, Store, StoredEvent
from threadline.store.sql import SqlStore, open_store

__all__ = ["ApiKey", "AppendResult", "EventPage", "SqlStore", "Store", "StoredEvent", "open_store"]
