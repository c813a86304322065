"""Bad requests get the right 4xx with a message, never a 500."""

from __future__ import annotations

import gzip
import json

import httpx
import pytest

from tests.server.conftest import SMALL_BATCH_LIMIT, SMALL_BODY_LIMIT
from tests.server.helpers import JSON, make_event

pytestmark = pytest.mark.slow

GZIP_JSON = {**JSON, "Content-Encoding": "gzip"}


def _error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    message = response.json()["error"]
    assert message
    return message


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (b"{not json", "$", "not valid JSON"),
        (b'{"eventTime": "2024-01-01T00:00:00Z"', "$", "not valid JSON"),
        (b"[1, 2]", "$", "JSON object"),
        (b'"a string"', "$", "JSON object"),
        (b"null", "$", "JSON object"),
        (b"{}", "eventTime", "eventTime is required"),
        (
            b'{"eventTime": "yesterday", "producer": "p", "run": {"runId": "x"}, "job": {}}',
            "eventTime",
            "ISO 8601",
        ),
        (b'{"eventTime": "2024-01-01T00:00:00Z", "producer": "p", "run": {}}', "job", "job is required"),
        (b"\xff\xfe garbage", "$", "not valid JSON"),
    ],
)
def test_invalid_events_are_400_naming_the_field(
    client: httpx.Client, body: bytes, field: str, words: str
) -> None:
    response = client.post("/api/v1/lineage", content=body, headers=JSON)
    assert words in _error(response, 400)
    assert response.json()["field"] == field


def test_empty_body(client: httpx.Client) -> None:
    assert "empty" in _error(client.post("/api/v1/lineage", content=b"", headers=JSON), 400)


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/xml", "multipart/form-data"]
)
def test_wrong_content_type_is_415(client: httpx.Client, content_type: str) -> None:
    response = client.post("/api/v1/lineage", content=make_event(), headers={"Content-Type": content_type})
    assert "application/json" in _error(response, 415)


@pytest.mark.parametrize("content_type", [None, "application/json; charset=utf-8", "application/vnd.ol+json"])
def test_json_content_types_are_accepted(client: httpx.Client, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    request = client.build_request("POST", "/api/v1/lineage", content=make_event(), headers=headers)
    assert request.headers.get("Content-Type") == content_type
    assert client.send(request).status_code == 201


def test_gzip_body_is_accepted(client: httpx.Client) -> None:
    body = make_event(job="gzipped")
    response = client.post("/api/v1/lineage", content=gzip.compress(body), headers=GZIP_JSON)
    assert response.status_code == 201, response.text
    assert client.get(f"/api/v1/events/{response.json()['id']}/raw").content == body
    batch = gzip.compress(b"[" + make_event(job="gz-batch") + b"]")
    answer = client.post("/api/v1/lineage/batch", content=batch, headers=GZIP_JSON).json()
    assert answer["status"] == "success"


def test_bad_gzip_is_400(client: httpx.Client) -> None:
    response = client.post("/api/v1/lineage", content=make_event(), headers=GZIP_JSON)
    assert "not valid gzip" in _error(response, 400)
    truncated = gzip.compress(make_event())[:-12]
    assert "gzip" in _error(client.post("/api/v1/lineage", content=truncated, headers=GZIP_JSON), 400)


def test_other_encodings_are_415(client: httpx.Client) -> None:
    headers = {**JSON, "Content-Encoding": "br"}
    assert "gzip" in _error(client.post("/api/v1/lineage", content=make_event(), headers=headers), 415)


def test_body_over_the_limit_is_413(client: httpx.Client) -> None:
    padding = "x" * (SMALL_BODY_LIMIT + 10)
    big = make_event(job="big", padding=padding)
    assert "max_body_bytes" in _error(client.post("/api/v1/lineage", content=big, headers=JSON), 413)

    def chunks():  # no Content-Length: the limit is enforced while streaming
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    assert "max_body_bytes" in _error(client.post("/api/v1/lineage", content=chunks(), headers=JSON), 413)


def test_gzip_bomb_is_413(client: httpx.Client) -> None:
    bomb = gzip.compress(b"[" + b" " * (50 * SMALL_BODY_LIMIT) + b"]")
    assert len(bomb) < SMALL_BODY_LIMIT
    response = client.post("/api/v1/lineage/batch", content=bomb, headers=GZIP_JSON)
    assert "decompressed" in _error(response, 413)


@pytest.mark.parametrize("body", [b'{"eventTime": "2024-01-01T00:00:00Z"}', b"3", b"[1,", b"not json"])
def test_batch_not_an_array_is_400(client: httpx.Client, body: bytes) -> None:
    _error(client.post("/api/v1/lineage/batch", content=body, headers=JSON), 400)


def test_batch_too_large_is_413(client: httpx.Client) -> None:
    body = b"[" + b",".join(make_event(job="too-many") for _ in range(SMALL_BATCH_LIMIT + 1)) + b"]"
    message = _error(client.post("/api/v1/lineage/batch", content=body, headers=JSON), 413)
    assert str(SMALL_BATCH_LIMIT) in message


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "1001"},
        {"limit": "ten"},
        {"offset": "-1"},
        {"before": "not-a-time"},
        {"after": "2024-13-45"},
        {"sortDirection": "sideways"},
    ],
)
def test_bad_query_parameters_are_400(client: httpx.Client, params: dict[str, str]) -> None:
    name = next(iter(params))
    assert name in _error(client.get("/api/v1/events/lineage", params=params), 400)


def test_unknown_things_are_json_404_and_405(client: httpx.Client) -> None:
    assert "no event" in _error(client.get("/api/v1/events/" + "0" * 64), 404)
    _error(client.get("/api/v1/nothing-here"), 404)
    _error(client.delete("/api/v1/lineage"), 405)
    _error(client.put("/api/v1/lineage/batch", content=b"[]"), 405)


def test_deeply_nested_json_is_not_a_server_error(client: httpx.Client) -> None:
    body = json.dumps({"eventTime": "2024-01-01T00:00:00Z"}).encode()[:-1] + b', "x": ' + b"[" * 10000
    body += b"]" * 10000 + b"}"
    assert client.post("/api/v1/lineage", content=body, headers=JSON).status_code == 400


def test_deeply_nested_batch_is_not_a_server_error(client: httpx.Client) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    assert client.post("/api/v1/lineage/batch", content=body, headers=JSON).status_code == 400
    element = b'{"x": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    response = client.post("/api/v1/lineage/batch", content=b"[" + element + b"]", headers=JSON)
    assert "nested too deeply" in _error(response, 400)
