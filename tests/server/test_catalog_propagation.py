"""Propagated tags on a real server: lineage and catalog changes ingested over HTTP are folded by the
server's own paths (a small append folded with it, a batch folded by the parse workers), which must
keep ``catalog_propagated`` as current as the projector's fold from the log does."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.catalog.test_propagation import PII, _lineage
from tests.server.conftest import ServerFactory
from tests.server.helpers import JSON

pytestmark = pytest.mark.slow

C = "/api/v1/catalog"


def _ok(response: httpx.Response) -> dict:
    assert response.status_code in (200, 201), response.text
    return response.json()


def _found(client: httpx.Client, query: str) -> dict[str, list[str] | None]:
    answer = _ok(client.post(f"{C}/catalog:search", json={"query": query, "pageSize": 100}))
    return {r["relativeResourceName"].rsplit("/", 1)[-1]: r.get("propagatedTags") for r in answer["results"]}


@pytest.mark.parametrize("lineage_first", [True, False], ids=["lineage-first", "catalog-first"])
def test_a_column_tag_set_over_http_propagates_on_the_server(
    store_url: str, start_server: ServerFactory, lineage_first: bool
) -> None:
    server = start_server(store_url, auth="none", parse_workers=2)
    body = b"[" + b",".join(json.dumps(event).encode() for event in _lineage()) + b"]"
    with server.client() as client:

        def post_lineage() -> None:
            answer = client.post("/api/v1/lineage/batch", content=body, headers=JSON)
            assert answer.status_code == 200, answer.text

        if lineage_first:
            post_lineage()
        _ok(client.post(f"{C}/tagTemplates", params={"tagTemplateId": "pii"}, json=PII))
        _ok(client.post(f"{C}/entryGroups", params={"entryGroupId": "lake"}, json={}))
        for name in ("raw", "stage", "mart", "safe", "stats"):
            entry = {"type": "TABLE", "linkedResource": f"dataset:db:{name}.users"}
            _ok(client.post(f"{C}/entryGroups/lake/entries", params={"entryId": name}, json=entry))
        tag = {
            "template": "tagTemplates/pii",
            "column": "email",
            "fields": {"kind": {"enumValue": {"displayName": "EMAIL"}}},
        }
        _ok(client.post(f"{C}/entryGroups/lake/entries/raw/tags", json=tag))
        if not lineage_first:
            post_lineage()
        # read-your-writes: the search right after the writes sees what they propagate
        found = _found(client, "parent:lake tag:pii.kind=EMAIL")
        # the datasets' own entries (lineage's, in @db) hold the propagated values too
        own = _found(client, "parent:@db tag:pii.kind=EMAIL")
    assert found == {"raw": None, "stage": ["pii.kind@email"], "mart": ["pii.kind@contact"]}
    assert own == {
        "stage.users": ["pii.kind@email"],
        "mart.users": ["pii.kind@contact"],
        "person.users": ["pii.kind@email"],
    }
