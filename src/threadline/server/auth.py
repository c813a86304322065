"""API-key authentication: bearer tokens checked against the store, scopes, and the auth mode."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import secrets
import time
from collections.abc import Mapping
from typing import Literal

from starlette.concurrency import run_in_threadpool

from threadline.errors import ConfigError, Forbidden, Unauthorized
from threadline.store.base import ApiKey, Store

#: ``token``: every request needs a key. ``none``: no request does. ``auto`` (a loopback server under
#: ``--auth auto``): keys are needed whenever an active key exists in the store, re-checked at most
#: every :data:`KEYS_CHECK_SECONDS`, so a key created after the server started (by ``threadline token
#: create``, or through another server sharing the store) turns checking on within that time.
AuthMode = Literal["token", "none", "auto"]
AUTH_MODES: tuple[AuthMode, ...] = ("token", "none", "auto")

#: How long a verified key is trusted without asking the store again. A revoked key stops working
#: within this time.
CACHE_SECONDS = 2.0
#: How long the answer to "does any active key exist?" is trusted (``auto`` mode).
KEYS_CHECK_SECONDS = 1.0
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
    """Decide how the server checks tokens. ``auto`` means token whenever any active key exists: on a
    loopback address that is decided per request (mode ``auto``: open until a key is created); on any
    other address the server must have a key before it starts, and then always checks (``token``), so
    it never becomes open, not even when every key is revoked.

    Refuses (``ConfigError``) to serve a non-loopback address without authentication unless ``none``
    is asked for explicitly, and to require tokens when no key exists.
    """
    requested = requested.strip().lower()
    if requested not in ("auto", "token", "none"):
        msg = f"auth must be auto, token or none, got {requested!r}"
        raise ConfigError(msg)
    if requested == "none":
        return "none"
    if requested == "auto" and is_loopback(host):
        return "auto"
    if store.has_api_keys():
        return "token"
    if requested == "token":
        msg = (
            "--auth token needs an API key and there is none: create one with "
            "`threadline token create --name NAME --scope write`"
        )
        raise ConfigError(msg)
    msg = (
        f"refusing to listen on {host} without authentication: create a key with "
        "`threadline token create --name NAME --scope write` or pass --auth none"
    )
    raise ConfigError(msg)


class Authenticator:
    """Checks ``Authorization: Bearer <key>`` and the key's scope, with a short-lived cache."""

    def __init__(
        self,
        store: Store,
        mode: AuthMode,
        cache_seconds: float = CACHE_SECONDS,
        keys_check_seconds: float = KEYS_CHECK_SECONDS,
    ) -> None:
        if mode not in AUTH_MODES:
            msg = f"auth mode must be one of {', '.join(AUTH_MODES)}, got {mode!r}"
            raise ConfigError(msg)
        self.store = store
        self.mode = mode
        self.cache_seconds = cache_seconds
        self.keys_check_seconds = keys_check_seconds
        self._cache: dict[str, tuple[ApiKey, float]] = {}
        #: ``auto`` mode: whether an active key existed when last asked, and until when that holds.
        self._keys_exist = False
        self._keys_checked_until = 0.0
        self._keys_lock: asyncio.Lock | None = None
        #: A read key that lives only in this process, for its own requests (``server.warmup``): never
        #: stored, never shown, different at every start.
        self.internal_secret = f"{_INTERNAL_PREFIX}{secrets.token_urlsafe(32)}"
        self._internal_key = ApiKey("internal", "server warm-up", "read", created_at=0, revoked_at=None)

    async def require(self, headers: Mapping[str, str], scope: str) -> ApiKey | None:
        """The key a request's ``headers`` carry if it has ``scope``; raise 401 (no or bad key) or
        403 (scope too low)."""
        if self.mode == "none" or (self.mode == "auto" and not await self.keys_exist()):
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

    async def keys_exist(self) -> bool:
        """Whether any active key exists in the store: asked at most once per ``keys_check_seconds``
        (one query for all the requests waiting on it), so the check costs no query per request."""
        now = time.monotonic()
        if now < self._keys_checked_until:
            return self._keys_exist
        if self._keys_lock is None:
            self._keys_lock = asyncio.Lock()
        async with self._keys_lock:
            if time.monotonic() >= self._keys_checked_until:  # nobody asked while we waited
                self._keys_exist = await run_in_threadpool(self.store.has_api_keys)
                self._keys_checked_until = time.monotonic() + self.keys_check_seconds
        return self._keys_exist

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
