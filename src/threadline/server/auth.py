"""API-key authentication: bearer tokens checked against the store, scopes, and the auth mode."""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import time
from collections.abc import Mapping
from typing import Literal

from starlette.concurrency import run_in_threadpool

from threadline.errors import ConfigError, Forbidden, Unauthorized
from threadline.store.base import ApiKey, Store

AuthMode = Literal["token", "none"]

#: How long a verified key is trusted without asking the store again. A revoked key stops working
#: within this time.
CACHE_SECONDS = 2.0
_CACHE_MAX = 10_000
#: How the in-process key starts (real keys start with ``tl_``, so the two never meet).
_INTERNAL_PREFIX = "tlinternal_"


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve_auth_mode(store: Store, host: str, requested: str) -> AuthMode:
    """Decide whether the server checks tokens: ``auto`` means token when any key exists.

    Refuses (``ConfigError``) to serve a non-loopback address without authentication unless ``none``
    is asked for explicitly, and to require tokens when no key exists.
    """
    requested = requested.strip().lower()
    if requested not in ("auto", "token", "none"):
        msg = f"auth must be auto, token or none, got {requested!r}"
        raise ConfigError(msg)
    if requested == "none":
        return "none"
    if store.has_api_keys():
        return "token"
    if requested == "token":
        msg = (
            "--auth token needs an API key and there is none: create one with "
            "`threadline token create --name NAME --scope write`"
        )
        raise ConfigError(msg)
    if is_loopback(host):
        return "none"
    msg = (
        f"refusing to listen on {host} without authentication: create a key with "
        "`threadline token create --name NAME --scope write` or pass --auth none"
    )
    raise ConfigError(msg)


class Authenticator:
    """Checks ``Authorization: Bearer <key>`` and the key's scope, with a short-lived cache."""

    def __init__(self, store: Store, mode: AuthMode, cache_seconds: float = CACHE_SECONDS) -> None:
        self.store = store
        self.mode = mode
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[ApiKey, float]] = {}
        #: A read key that lives only in this process, for its own requests (``server.warmup``): never
        #: stored, never shown, different at every start.
        self.internal_secret = f"{_INTERNAL_PREFIX}{secrets.token_urlsafe(32)}"
        self._internal_key = ApiKey("internal", "server warm-up", "read", created_at=0, revoked_at=None)

    async def require(self, headers: Mapping[str, str], scope: str) -> ApiKey | None:
        """The key a request's ``headers`` carry if it has ``scope``; raise 401 (no or bad key) or
        403 (scope too low)."""
        if self.mode == "none":
            return None
        header = headers.get("authorization")
        if not header:
            msg = "this server needs an API key: send Authorization: Bearer <key>"
            raise Unauthorized(msg)
        kind, _, secret = header.partition(" ")
        secret = secret.strip()
        if kind.lower() != "bearer" or not secret:
            msg = "the Authorization header must be: Bearer <key>"
            raise Unauthorized(msg)
        internal = secret.startswith(_INTERNAL_PREFIX) and hmac.compare_digest(
            secret.encode(), self.internal_secret.encode()
        )
        key = self._internal_key if internal else await self._verify(secret)
        if key is None:
            msg = "the API key is unknown or revoked; `threadline token list` shows the active ones"
            raise Unauthorized(msg)
        if not key.allows(scope):
            msg = f"the API key {key.name!r} has scope {key.scope}; this needs {scope}"
            raise Forbidden(msg)
        return key

    async def _verify(self, secret: str) -> ApiKey | None:
        now = time.monotonic()
        cached = self._cache.get(secret)
        if cached is not None and cached[1] > now:
            return cached[0]
        key = await run_in_threadpool(self.store.verify_api_key, secret)
        if key is None:
            self._cache.pop(secret, None)
            return None
        if len(self._cache) >= _CACHE_MAX:
            self._cache.clear()
        self._cache[secret] = (key, now + self.cache_seconds)
        return key
