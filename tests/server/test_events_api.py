"""Reading events back: Marquez's /events/lineage shape, paging, time filters, totalCount."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.server.helpers import JSON, make_event

pytestmark = pytest.mark.slow

# This module's events all happen in 1999, so counts are exact on the session's shared store.
WINDOW = {"after": "1998-12-31T00:00:00Z", "before": "1999-12-31T23:59:59Z"}
TIMES = [f"1999-0{month}-01T00:00:00Z" for month in range(1, 8)]


@pytest.fixture(scope="module")
def posted(open_server) -> list[bytes]:
    """Seven events of 1999, one a month from January to July, posted in a shuffled order."""
    bodies = [make_event(job=f"paging-{i}", event_time=time) for i, time in enumerate(TIMES)]
    with open_server.client() as client:
        order = [3, 0, 6, 1, 5, 2, 4]
        batch = b"[" + b",".join(bodies[i] for i in order[:4]) + b"]"
        assert client.post("/api/v1/lineage/batch", content=batch, headers=JSON).json()["status"] == "success"
        for i in order[4:]:
            assert client.post("/api/v1/lineage", content=bodies[i], headers=JSON).status_code == 201
    return bodies


def _page(client: httpx.Client, **params: object) -> dict:
    response = client.get("/api/v1/events/lineage", params={**WINDOW, **params})
    assert response.status_code == 200, response.text
    return response.json()


def test_newest_first_with_total(client: httpx.Client, posted: list[bytes]) -> None:
    page = _page(client)
    assert page["totalCount"] == 7
    assert [event["eventTime"] for event in page["events"]] == TIMES[::-1]
    assert set(page) == {"events", "totalCount"}


def test_oldest_first(client: httpx.Client, posted: list[bytes]) -> None:
    page = _page(client, sortDirection="asc")
    assert [event["eventTime"] for event in page["events"]] == TIMES


def test_paging(client: httpx.Client, posted: list[bytes]) -> None:
    seen = []
    for offset in range(0, 7, 3):
        page = _page(client, limit=3, offset=offset)
        assert page["totalCount"] == 7
        seen += [event["eventTime"] for event in page["events"]]
    assert seen == TIMES[::-1]
    assert _page(client, limit=3, offset=100) == {"events": [], "totalCount": 7}


def test_before_and_after(client: httpx.Client, posted: list[bytes]) -> None:
    # The window is (after, before]: an event exactly at `after` is left out, one at `before` kept.
    page = _page(client, after="1999-02-01T00:00:00Z", before="1999-05-01T00:00:00Z")
    assert page["totalCount"] == 3
    assert [event["eventTime"] for event in page["events"]] == TIMES[2:5][::-1]
    # Offsets other than Z work, and an unencoded '+' (arriving as a space) is understood too.
    shifted = client.get(
        "/api/v1/events/lineage?after=1999-02-01T02:00:00%2B02:00&before=1999-05-01T02:00:00+02:00"
    )
    assert shifted.json()["totalCount"] == 3


def test_events_are_the_posted_bytes(client: httpx.Client, posted: list[bytes]) -> None:
    response = client.get("/api/v1/events/lineage", params={**WINDOW, "limit": 1})
    assert posted[-1] in response.content  # embedded byte for byte, not re-serialized
    assert response.json()["events"][0] == json.loads(posted[-1])


def test_default_and_maximum_limit(client: httpx.Client) -> None:
    assert len(client.get("/api/v1/events/lineage").json()["events"]) <= 100
    assert client.get("/api/v1/events/lineage", params={"limit": 1000}).status_code == 200


def test_event_detail(client: httpx.Client, posted: list[bytes]) -> None:
    event_id = client.post("/api/v1/lineage", content=posted[0], headers=JSON).json()["id"]
    detail = client.get(f"/api/v1/events/{event_id}").json()
    assert detail["id"] == event_id
    assert detail["eventTime"] == "1999-01-01T00:00:00.000000Z"
    assert detail["problems"] == []
    assert detail["event"] == json.loads(posted[0])
