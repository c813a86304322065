"""The object endpoints have size limits and never buffer a whole body (issue 13, item 8).

The report: ``PUT /api/v1/objects/{id}`` accepted any size, and ``POST /api/v1/objects/missing``
buffered the whole body (+510 MB of memory for a 225 MB body, with a read key only).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import ServerProcess, free_port
from threadline.artifacts.hashing import hash_bytes
from threadline.server.api.objects import MAX_IDS, MISSING_BODY_BYTES

pytestmark = pytest.mark.slow

LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("objects-server")
    options = {"auth": "none", "objects": str(folder / "objects"), "max_object_bytes": LIMIT}
    running = ServerProcess(
        f"sqlite:///{folder / 'threadline.db'}", free_port(), folder / "server.log", options
    )
    yield running.start()
    running.stop()
    assert "Traceback" not in running.log(), running.log()


def _id(data: bytes) -> str:
    return f"blake3:{hash_bytes(data)}"


def _chunks(data: bytes, size: int = 8192) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def _spooled(server: ServerProcess) -> list[Path]:
    return [path for path in (Path(server.options["objects"]) / "tmp").glob("*") if path.is_file()]


@pytest.mark.parametrize(
    ("size", "how", "status"),
    [
        (LIMIT, "content-length", 201),
        (LIMIT, "chunked", 201),
        (LIMIT + 1, "content-length", 413),
        (LIMIT + 1, "chunked", 413),
        (10 * LIMIT, "chunked", 413),
    ],
)
def test_an_object_over_max_object_bytes_is_413_and_nothing_is_kept(
    server: ServerProcess, size: int, how: str, status: int
) -> None:
    unique = f"{how}-{size}:".encode()
    data = (unique + bytes(range(256)) * (size // 256 + 1))[:size]
    content: bytes | Iterator[bytes] = data if how == "content-length" else _chunks(data)
    with server.client() as client:
        response = client.put(
            f"/api/v1/objects/{_id(data)}",
            content=content,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert response.status_code == status, response.text
        if status == 413:
            assert "max_object_bytes" in response.json()["error"]
            assert client.get(f"/api/v1/objects/{_id(data)}").status_code == 404
        else:
            assert client.get(f"/api/v1/objects/{_id(data)}").content == data
        assert client.get("/api/v1/health").status_code == 200
    assert _spooled(server) == []


def test_resending_a_stored_object_is_bounded_too(server: ServerProcess) -> None:
    data = b"stored once" * 100
    with server.client() as client:
        assert client.put(f"/api/v1/objects/{_id(data)}", content=data).status_code == 201
        again = client.put(f"/api/v1/objects/{_id(data)}", content=_chunks(b"y" * (2 * LIMIT)))
        assert again.status_code == 413
        assert client.put(f"/api/v1/objects/{_id(data)}", content=data).status_code == 200


def _ids_body(count: int) -> bytes:
    return json.dumps({"ids": [_id(str(i).encode()) for i in range(count)]}).encode()


@pytest.mark.parametrize(
    ("body", "encoding"),
    [
        (b'{"ids": [' + b'"' + b"a" * (MISSING_BODY_BYTES + 10) + b'"]}', None),
        (b" " * (MISSING_BODY_BYTES + 1), None),
        (gzip.compress(b'{"ids": [' + b" " * (MISSING_BODY_BYTES * 4) + b"]}"), "gzip"),
    ],
    ids=["one huge string", "white space", "a gzip bomb"],
)
@pytest.mark.parametrize("chunked", [False, True])
def test_a_missing_question_over_its_limit_is_413_and_not_buffered(
    server: ServerProcess, body: bytes, encoding: str | None, chunked: bool
) -> None:
    headers = {"Content-Type": "application/json", **({"Content-Encoding": encoding} if encoding else {})}
    with server.client() as client:
        content = _chunks(body) if chunked else body
        response = client.post("/api/v1/objects/missing", content=content, headers=headers)
        assert response.status_code == 413, response.text[:300]
        assert "ask about fewer ids" in response.json()["error"]


def test_a_missing_question_of_the_most_ids_is_answered(server: ServerProcess) -> None:
    body = _ids_body(MAX_IDS)
    assert len(body) < MISSING_BODY_BYTES
    with server.client() as client:
        response = client.post(
            "/api/v1/objects/missing", content=body, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 200, response.text[:300]
    assert len(response.json()["missing"]) == MAX_IDS


def test_the_report_a_225_mb_missing_body_is_refused_at_once(server: ServerProcess) -> None:
    def endless() -> Iterator[bytes]:
        yield b'{"ids": ["'
        for _ in range(225 * 16):  # 225 MB, if the server read it all
            yield b"a" * 65536

    with server.client() as client:
        try:
            response = client.post(
                "/api/v1/objects/missing", content=endless(), headers={"Content-Type": "application/json"}
            )
        except httpx.WriteError:  # the server answered and closed while we were still sending
            return
        assert response.status_code == 413
