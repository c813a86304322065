"""API keys: 401 without or with a bad key, 403 for a too-low scope, revocation, auth mode choice."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.server.conftest import ServerProcess, free_port
from tests.server.helpers import JSON, make_event
from threadline.errors import ConfigError
from threadline.server.auth import CACHE_SECONDS, is_loopback, resolve_auth_mode
from threadline.store import SqlStore, open_store


@dataclass
class TokenServer:
    """A server with authentication on, and the secrets of its keys by scope."""

    server: ServerProcess
    keys: dict[str, str]

    def client(self, scope: str | None) -> httpx.Client:
        """A client that sends the key of ``scope`` (or none)."""
        return self.server.client(self.keys[scope] if scope else None)


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TokenServer]:
    """A SQLite server in token mode with a read, a write and an admin key."""
    folder = tmp_path_factory.mktemp("token-server")
    url = f"sqlite:///{folder / 'threadline.db'}"
    store = open_store(url)
    keys = {scope: store.create_api_key(f"{scope}-key", scope)[0] for scope in ("read", "write", "admin")}
    store.close()
    server = ServerProcess(url, free_port(), folder / "server.log", {"auth": "auto"}).start()
    yield TokenServer(server, keys)
    server.stop()


@pytest.mark.slow
def test_missing_token_is_401_with_challenge(token_server: TokenServer) -> None:
    with token_server.client(None) as client:
        for response in (
            client.post("/api/v1/lineage", content=make_event(), headers=JSON),
            client.get("/api/v1/events/lineage"),
        ):
            assert response.status_code == 401
            assert response.headers["WWW-Authenticate"] == "Bearer"
            assert "Authorization: Bearer" in response.json()["error"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "header", ["Bearer tl_nothere_secret", "Bearer not-even-our-format", "Basic dXNlcjpwYXNz", "Bearer"]
)
def test_wrong_token_is_401(token_server: TokenServer, header: str) -> None:
    with token_server.client(None) as client:
        response = client.post(
            "/api/v1/lineage", content=make_event(), headers={**JSON, "Authorization": header}
        )
        assert response.status_code == 401, response.text
        assert response.json()["error"]


@pytest.mark.slow
def test_a_tampered_key_is_401(token_server: TokenServer) -> None:
    secret = token_server.keys["write"]
    with token_server.server.client(secret[:-2] + "xx") as client:
        assert client.post("/api/v1/lineage", content=make_event(), headers=JSON).status_code == 401


@pytest.mark.slow
def test_scopes(token_server: TokenServer) -> None:
    with token_server.client("read") as reader:
        response = reader.post("/api/v1/lineage", content=make_event(), headers=JSON)
        assert response.status_code == 403
        assert "scope read" in response.json()["error"]
        assert reader.post("/api/v1/lineage/batch", content=b"[]", headers=JSON).status_code == 403
        assert reader.get("/api/v1/events/lineage").status_code == 200
    for scope in ("write", "admin"):
        with token_server.client(scope) as writer:
            assert writer.post("/api/v1/lineage", content=make_event(), headers=JSON).status_code == 201
            assert writer.get("/api/v1/events/lineage").status_code == 200


@pytest.mark.slow
def test_health_needs_no_token(token_server: TokenServer) -> None:
    with token_server.client(None) as client:
        assert client.get("/api/v1/health").json()["status"] == "ok"


@pytest.mark.slow
def test_revoked_key_stops_working_within_the_cache_time(token_server: TokenServer) -> None:
    store = open_store(token_server.server.store_url)
    secret, _key = store.create_api_key("short-lived", "write")
    with token_server.server.client(secret) as client:
        assert client.post("/api/v1/lineage", content=make_event(), headers=JSON).status_code == 201
        store.revoke_api_key("short-lived")
        store.close()
        time.sleep(CACHE_SECONDS + 0.3)
        response = client.post("/api/v1/lineage", content=make_event(), headers=JSON)
        assert response.status_code == 401
        assert "revoked" in response.json()["error"]


# ---- choosing the auth mode ------------------------------------------------------------------------


@pytest.fixture
def empty_store(tmp_path: Path) -> Iterator[SqlStore]:
    """A fresh SQLite store with no API key."""
    store = open_store(f"sqlite:///{tmp_path / 'threadline.db'}")
    yield store
    store.close()


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "LOCALHOST"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.com", ""])
def test_non_loopback_hosts(host: str) -> None:
    assert not is_loopback(host)


def test_auto_on_loopback_is_decided_per_request(empty_store: SqlStore) -> None:
    """Open while no key exists, keys required once one does (see test_serve_process)."""
    assert resolve_auth_mode(empty_store, "127.0.0.1", "auto") == "auto"
    assert resolve_auth_mode(empty_store, "localhost", "auto") == "auto"


@pytest.mark.parametrize("requested", ["auto", "token"])
def test_no_keys_on_a_public_address_is_refused(empty_store: SqlStore, requested: str) -> None:
    with pytest.raises(ConfigError, match="threadline token create"):
        resolve_auth_mode(empty_store, "0.0.0.0", requested)


def test_public_address_message(empty_store: SqlStore) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_auth_mode(empty_store, "0.0.0.0", "auto")
    assert caught.value.message == (
        "refusing to listen on 0.0.0.0 without authentication: create a key with "
        "`threadline token create --name NAME --scope write` or pass --auth none"
    )


def test_token_without_keys_is_refused_even_on_loopback(empty_store: SqlStore) -> None:
    with pytest.raises(ConfigError, match="needs an API key"):
        resolve_auth_mode(empty_store, "127.0.0.1", "token")


def test_none_is_honoured_anywhere(empty_store: SqlStore) -> None:
    assert resolve_auth_mode(empty_store, "0.0.0.0", "none") == "none"
    empty_store.create_api_key("k", "write")
    assert resolve_auth_mode(empty_store, "0.0.0.0", "none") == "none"


def test_any_active_key_turns_tokens_on(empty_store: SqlStore) -> None:
    empty_store.create_api_key("k", "read")
    assert resolve_auth_mode(empty_store, "127.0.0.1", "auto") == "auto"
    assert resolve_auth_mode(empty_store, "0.0.0.0", "auto") == "token"
    assert resolve_auth_mode(empty_store, "0.0.0.0", "token") == "token"
    empty_store.revoke_api_key("k")
    assert resolve_auth_mode(empty_store, "127.0.0.1", "auto") == "auto"
    with pytest.raises(ConfigError, match="refusing to listen"):
        resolve_auth_mode(empty_store, "0.0.0.0", "auto")


def test_unknown_mode_is_refused(empty_store: SqlStore) -> None:
    with pytest.raises(ConfigError, match="auto, token or none"):
        resolve_auth_mode(empty_store, "127.0.0.1", "maybe")


@pytest.mark.slow
def test_server_refuses_to_start_unprotected_on_a_public_address(tmp_path: Path) -> None:
    from threadline.server import run_server
    from threadline.settings import ServerConfig

    with pytest.raises(ConfigError, match="refusing to listen"):
        run_server(
            ServerConfig(
                store=f"sqlite:///{tmp_path / 'threadline.db'}",
                host="0.0.0.0",
                port=free_port(),
                max_body_bytes=1000,
                max_batch_events=10,
            )
        )


def test_a_made_up_internal_key_is_refused(token_server: TokenServer) -> None:
    """The warm-up's in-process key is random per start: guessing its form gets nowhere."""
    with token_server.server.client("tlinternal_" + "A" * 43) as client:
        assert client.get("/api/v1/namespaces").status_code == 401
    with token_server.server.client(None) as client:  # not ASCII: still a 401, not a 500
        headers = {"Authorization": "Bearer tlinternal_\u00e9t\u00e9".encode("latin-1")}
        assert client.get("/api/v1/namespaces", headers=headers).status_code == 401
