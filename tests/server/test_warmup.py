"""A new server sends itself the web UI's first requests, through the whole application."""

from __future__ import annotations

import asyncio

from threadline.openlineage.events import parse_event
from threadline.projection import project_all
from threadline.server.app import create_app
from threadline.server.warmup import FIRST_REQUESTS, warm_up
from threadline.settings import ServerConfig
from threadline.store import open_store


def test_warm_up_answers_behind_token_auth(sqlite_url: str, example_events: list[bytes]) -> None:
    store = open_store(sqlite_url)
    try:
        store.append([parse_event(raw) for raw in example_events])
        project_all(store)
        app = create_app(store, ServerConfig(auth="token", max_body_bytes=1 << 20, max_batch_events=100))
        secret = app.state.threadline.auth.internal_secret
        # Every first request, the newest run's page and lineage, two searches, then a dataset's and
        # a job's Marquez page, UI page and lineage: all answered, although no key exists.
        assert asyncio.run(warm_up(app, secret)) == len(FIRST_REQUESTS) + 2 + 2 + 3 + 3
        assert asyncio.run(warm_up(app, "tl_not_a_key")) == 0
    finally:
        store.close()
