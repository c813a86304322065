"""Compressed request bodies: decompression that is exact, bounded and linear (issue 13, item 5).

The report: a gzip body of 100,000 small members (2.1 MB) took 20.9 s to decompress, on the event
loop, so health answered after 20.8 s: each member copied the rest of the body.
"""

from __future__ import annotations

import gzip
import zlib

import httpx
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.server.conftest import SMALL_BODY_LIMIT
from tests.server.helpers import JSON, make_event
from threadline.errors import BadRequest, PayloadTooLarge
from threadline.server.bodies import MAX_GZIP_MEMBERS, gunzip, unzstd

LIMIT = 1 << 20


def _members(payload: bytes, cuts: list[int], level: int) -> bytes:
    points = sorted({min(cut, len(payload)) for cut in cuts})
    pieces = [payload[a:b] for a, b in zip([0, *points], [*points, len(payload)], strict=True)]
    return b"".join(gzip.compress(piece, compresslevel=level) for piece in pieces)


@settings(max_examples=200, deadline=None)
@given(
    payload=st.binary(max_size=5000) | st.text(max_size=3000).map(str.encode),
    cuts=st.lists(st.integers(0, 5000), max_size=40),
    level=st.integers(0, 9),
    padding=st.integers(0, 600),
)
def test_any_split_into_members_decompresses_to_the_payload(
    payload: bytes, cuts: list[int], level: int, padding: int
) -> None:
    body = _members(payload, cuts, level) + b"\0" * padding
    assert gunzip(body, LIMIT) == payload
    if payload:
        with pytest.raises(PayloadTooLarge, match="max_body_bytes"):
            gunzip(body, len(payload) - 1)


@settings(max_examples=100, deadline=None)
@given(payload=st.binary(min_size=1, max_size=3000), cuts=st.lists(st.integers(0, 3000), max_size=10))
def test_a_truncated_or_corrupted_body_is_400(payload: bytes, cuts: list[int]) -> None:
    body = _members(payload, cuts, 6)
    # Cut inside the last member (its 8-byte trailer and more), or followed by what is not gzip.
    for broken in (body[:-1], body[:-9], body + b"\0\0garbage", body + b"\x1f\x8b\x08"):
        with pytest.raises(BadRequest, match="gzip"):
            gunzip(broken, LIMIT)


def test_members_up_to_the_limit_are_accepted_and_one_more_is_413() -> None:
    member = gzip.compress(b" ")
    assert gunzip(member * MAX_GZIP_MEMBERS, LIMIT) == b" " * MAX_GZIP_MEMBERS
    with pytest.raises(PayloadTooLarge, match=f"more than {MAX_GZIP_MEMBERS} members"):
        gunzip(member * (MAX_GZIP_MEMBERS + 1), LIMIT)


def test_the_report_100000_members_is_refused_after_reading_only_the_allowed_ones() -> None:
    with pytest.raises(PayloadTooLarge, match="members"):
        gunzip(gzip.compress(b" ") * 100_000, 16 << 20)


def test_one_large_member_and_raw_deflate_streams() -> None:
    payload = bytes(range(256)) * 40_000
    assert gunzip(gzip.compress(payload), 16 << 20) == payload
    deflate = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)
    body = deflate.compress(payload) + deflate.flush()
    assert gunzip(body, 16 << 20) == payload
    with pytest.raises(PayloadTooLarge):
        gunzip(body, len(payload) - 1)


@settings(max_examples=50, deadline=None)
@given(payload=st.binary(max_size=4000), cuts=st.lists(st.integers(0, 4000), max_size=30))
def test_zstd_frames_decompress_to_the_payload(payload: bytes, cuts: list[int]) -> None:
    points = sorted({min(cut, len(payload)) for cut in cuts})
    pieces = [payload[a:b] for a, b in zip([0, *points], [*points, len(payload)], strict=True)]
    body = b"".join(zstandard.ZstdCompressor().compress(piece) for piece in pieces)
    assert unzstd(body, LIMIT) == payload
    if payload:
        with pytest.raises(PayloadTooLarge):
            unzstd(body, len(payload) - 1)


# ---- every endpoint that takes a body, on the real server ------------------------------------------------

ENDPOINTS = [
    ("POST", "/api/v1/lineage"),
    ("POST", "/api/v1/lineage/batch"),
    ("POST", "/api/v1/sync/events"),
    ("PUT", "/api/v1/tags/gzip-members"),
]
SITE = {"X-Threadline-Site": "7d0d3c57-94a5-4b8e-8c1e-5e0f4a1f9a01"}


@pytest.mark.slow
@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_too_many_members_is_413_on_every_endpoint(client: httpx.Client, method: str, path: str) -> None:
    body = gzip.compress(b" ") * (MAX_GZIP_MEMBERS + 1)
    assert len(body) < SMALL_BODY_LIMIT
    headers = {**JSON, **SITE, "Content-Encoding": "gzip"}
    response = client.request(method, path, content=body, headers=headers)
    assert response.status_code == 413, response.text
    assert f"more than {MAX_GZIP_MEMBERS} members" in response.json()["error"]
    assert client.get("/api/v1/health").status_code == 200


@pytest.mark.slow
def test_an_event_in_many_members_is_stored_byte_for_byte(client: httpx.Client) -> None:
    event = make_event(job="many-members")
    body = _members(event, list(range(0, len(event), 7)), 6)
    response = client.post("/api/v1/lineage", content=body, headers={**JSON, "Content-Encoding": "gzip"})
    assert response.status_code == 201, response.text
    assert client.get(f"/api/v1/events/{response.json()['id']}/raw").content == event
