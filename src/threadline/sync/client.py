"""Talking to a threadline server's sync endpoints, with every failure turned into a clear message."""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec
import zstandard

from threadline import __version__
from threadline.errors import SyncError
from threadline.sync.filters import PullFilter
from threadline.sync.remotes import ServerRemote

#: The sync protocol this threadline speaks (the server's ``/api/v1/sync/info`` says its own).
PROTOCOL = 1
SITE_HEADER = "X-Threadline-Site"
_page_decoder = msgspec.json.Decoder()


@dataclass(frozen=True)
class RemoteInfo:
    """What a server says of itself."""

    site_id: str
    protocol: int
    version: str
    last_seq: int
    max_batch_events: int
    max_body_bytes: int


@dataclass(frozen=True)
class Page:
    """One page of pulled events and where to go on from."""

    events: list[bytes]
    next: int
    more: bool
    entities: str = ""


class SyncClient:
    """An HTTP client for one remote server (keep-alive; close it, or use it as a context manager)."""

    def __init__(self, remote: ServerRemote, *, timeout: float = 120.0) -> None:
        self.remote = remote
        headers = {"User-Agent": f"threadline/{__version__}", "Accept-Encoding": "zstd, gzip"}
        if remote.key:
            headers["Authorization"] = f"Bearer {remote.key}"
        self.http = httpx.Client(
            base_url=remote.url, headers=headers, timeout=timeout, verify=_may_use_tls(remote.url)
        )

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self.http.close()

    # ---- requests -------------------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            msg = f"remote {self.remote} did not answer {method} {path} in time ({exc.__class__.__name__})"
            raise SyncError(msg) from exc
        except httpx.HTTPError as exc:
            msg = (
                f"cannot reach remote {self.remote}: {exc or exc.__class__.__name__}; is the server running?"
            )
            raise SyncError(msg) from exc
        if response.status_code in (401, 403):
            msg = (
                f"remote {self.remote} refused the API key (HTTP {response.status_code}: "
                f"{_error_of(response)}); key from {self.remote.key_source}"
            )
            raise SyncError(msg)
        if response.status_code >= 400:
            status, reason = response.status_code, _error_of(response)
            msg = f"remote {self.remote} answered {method} {path} with HTTP {status}: {reason}"
            raise SyncError(msg)
        return response

    def _json(self, response: httpx.Response, path: str) -> Any:
        try:
            return _page_decoder.decode(response.content)
        except msgspec.DecodeError as exc:
            msg = f"remote {self.remote} is not a threadline server: {path} did not answer JSON"
            raise SyncError(msg) from exc

    def info(self) -> RemoteInfo:
        """Who the remote is; refuses a server that is not threadline or speaks another protocol."""
        path = "/api/v1/sync/info"
        try:
            response = self._request("GET", path)
        except SyncError as exc:
            if "HTTP 404" in exc.message or "HTTP 405" in exc.message:
                msg = f"remote {self.remote} is not a threadline server (or one without sync): no {path}"
                raise SyncError(msg) from exc
            raise
        data = self._json(response, path)
        if not isinstance(data, dict) or "siteId" not in data or "protocol" not in data:
            msg = f"remote {self.remote} is not a threadline server: {path} answered something else"
            raise SyncError(msg)
        if data["protocol"] != PROTOCOL:
            msg = (
                f"remote {self.remote} runs threadline {data.get('version')} with sync protocol "
                f"{data['protocol']}, this is threadline {__version__} with protocol {PROTOCOL}: "
                "upgrade the older one"
            )
            raise SyncError(msg)
        return RemoteInfo(
            site_id=str(data["siteId"]),
            protocol=int(data["protocol"]),
            version=str(data.get("version")),
            last_seq=int(data["lastSeq"]),
            max_batch_events=int(data.get("maxBatchEvents", 1_000)),
            max_body_bytes=int(data.get("maxBodyBytes", 16 * 1024 * 1024)),
        )

    def push(self, site: str, events: list[bytes]) -> dict[str, Any]:
        """Send events (their exact bytes) as coming from ``site``; the server's counts."""
        body = zstandard.ZstdCompressor(level=1).compress(b"[" + b",".join(events) + b"]")
        headers = {"Content-Type": "application/json", "Content-Encoding": "zstd", SITE_HEADER: site}
        response = self._request("POST", "/api/v1/sync/events", content=body, headers=headers)
        return self._json(response, "/api/v1/sync/events")

    def pull(self, after: int, limit: int, *, exclude: str, wanted: PullFilter, entities: str = "") -> Page:
        """The remote's events after its sequence number ``after``, leaving out ours; ``entities`` is
        the digest of the filtered part the previous page had (see ``server.sync``)."""
        params = {"after": str(after), "limit": str(limit), "exclude": exclude, **wanted.to_params()}
        if entities:
            params["entities"] = entities
        response = self._request("GET", "/api/v1/sync/events", params=params)
        content = response.content
        if response.headers.get("content-encoding", "").lower() == "zstd" and not content.startswith(b"{"):
            content = zstandard.ZstdDecompressor().decompress(content)
        try:
            data = msgspec.json.decode(content, type=_PageShape)
        except msgspec.DecodeError as exc:
            msg = f"remote {self.remote} answered a pull with something that is not a page of events"
            raise SyncError(msg) from exc
        return Page([bytes(raw) for raw in data.events], data.next, data.more, data.entities)

    def status(self, after: int, *, exclude: str) -> dict[str, Any]:
        """How many events the remote has after ``after`` that did not come from us."""
        response = self._request(
            "GET", "/api/v1/sync/status", params={"after": str(after), "exclude": exclude}
        )
        return self._json(response, "/api/v1/sync/status")


def _may_use_tls(url: str) -> bool:
    """Whether a client of ``url`` may open a TLS connection: to an https URL, or to a proxy. A plain
    http URL reached directly never does (redirects are not followed), so its client skips loading the
    CA store (``verify=False`` then has nothing to apply to): that takes 50-150 ms, most of a push that
    has nothing to send."""
    return url.lower().startswith("https://") or bool(urllib.request.getproxies())


class _PageShape(msgspec.Struct):
    events: list[msgspec.Raw]
    next: int
    more: bool
    entities: str = ""


def _error_of(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200].strip() or response.reason_phrase
    if isinstance(data, dict):
        return str(data.get("error") or data.get("message") or data)[:300]
    return str(data)[:300]
