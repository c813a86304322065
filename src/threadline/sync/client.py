"""Talking to a threadline server's sync endpoints, with every failure turned into a clear message."""

from __future__ import annotations

import json
import math
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
import msgspec
import zstandard

from threadline import __version__
from threadline.errors import RemoteRefused, SyncError
from threadline.sync.filters import PullFilter
from threadline.sync.limits import MAX_ANSWER_BYTES, SyncLimits, Transfer
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
    """An HTTP client for one remote server (keep-alive; close it, or use it as a context manager).

    Every answer is read within the remote's limits (:mod:`threadline.sync.limits`).
    """

    def __init__(self, remote: ServerRemote, *, limits: SyncLimits | None = None) -> None:
        self.remote = remote
        self.limits = limits or remote.limits
        headers = {"User-Agent": f"threadline/{__version__}", "Accept-Encoding": "zstd, gzip"}
        if remote.key:
            headers["Authorization"] = f"Bearer {remote.key}"
        self.http = httpx.Client(
            base_url=remote.url,
            headers=headers,
            timeout=self.limits.timeout,
            verify=_may_use_tls(remote.url),
        )

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self.http.close()

    # ---- requests -------------------------------------------------------------------------------------

    @contextmanager
    def stream(self, method: str, path: str, **kwargs: Any) -> Iterator[httpx.Response]:
        """Send a request and give its response with the body still to read; transport failures, before
        or during the body, become one-line sync errors."""
        answered = False
        try:
            with self.http.stream(method, path, **kwargs) as response:
                answered = True
                yield response
        except httpx.TimeoutException as exc:
            seconds, kind = f"{self.limits.timeout:g} s", exc.__class__.__name__
            if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
                msg = f"cannot reach remote {self.remote} within {seconds} ({kind}); is the server running?"
            else:
                what = "took nothing" if isinstance(exc, httpx.WriteTimeout) else "nothing came"
                msg = (
                    f"remote {self.remote} stalled: {what} for {seconds} on {method} {path} "
                    f"({kind}; the remote's timeout); stopped"
                )
            raise SyncError(msg) from exc
        except httpx.HTTPError as exc:
            reason = str(exc) or exc.__class__.__name__
            if answered:
                msg = f"remote {self.remote} broke off its answer to {method} {path}: {reason}"
            else:
                msg = f"cannot reach remote {self.remote}: {reason}; is the server running?"
            raise SyncError(msg) from exc

    def _request(
        self,
        method: str,
        path: str,
        *,
        limit: int = MAX_ANSWER_BYTES,
        what: str = "",
        setting: str | None = None,
        **kwargs: Any,
    ) -> Answer:
        what = what or f"its answer to {method} {path}"
        with self.stream(method, path, **kwargs) as response:
            transfer = Transfer(self.remote, self.limits, what, limit, setting)
            answer = Answer(response.status_code, response.headers, transfer.read(response))
        if answer.status_code < 400:
            return answer
        status, (code, reason) = answer.status_code, _error_of(answer)
        if status in (401, 403):
            msg = f"remote {self.remote} refused the API key (HTTP {status}: {reason})"
            msg += f"; key from {self.remote.key_source}"
        else:
            msg = f"remote {self.remote} answered {method} {path} with HTTP {status}: {reason}"
        raise RemoteRefused(msg, status, code, _retry_after(answer.headers.get("retry-after")))

    def _json(self, answer: Answer, path: str) -> Any:
        try:
            return _page_decoder.decode(answer.content)
        except msgspec.DecodeError as exc:
            msg = f"remote {self.remote} is not a threadline server: {path} did not answer JSON"
            raise SyncError(msg) from exc

    def info(self) -> RemoteInfo:
        """Who the remote is; refuses a server that is not threadline or speaks another protocol."""
        path = "/api/v1/sync/info"
        try:
            response = self._request("GET", path)
        except RemoteRefused as exc:
            if exc.remote_status in (404, 405):  # no such route: not threadline, or without sync
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
        try:
            shape = msgspec.convert(data, _InfoShape)
        except msgspec.ValidationError as exc:
            msg = f"remote {self.remote} answered {path} with a malformed description of itself: {exc}"
            raise SyncError(msg) from exc
        return RemoteInfo(
            shape.site_id,
            shape.protocol,
            shape.version,
            shape.last_seq,
            shape.max_batch_events,
            shape.max_body_bytes,
        )

    def push(self, site: str, events: list[bytes]) -> dict[str, Any]:
        """Send events (their exact bytes) as coming from ``site``; the server's counts.

        A server under back-pressure refuses the request (503 with ``Retry-After``, nothing of it
        stored): it is sent again after the seconds asked for, for up to the remote's ``timeout`` in
        all. Sending again is safe: events are stored once by id.
        """
        body = zstandard.ZstdCompressor(level=1).compress(b"[" + b",".join(events) + b"]")
        headers = {"Content-Type": "application/json", "Content-Encoding": "zstd", SITE_HEADER: site}
        waited = 0.0
        while True:
            try:
                response = self._request("POST", "/api/v1/sync/events", content=body, headers=headers)
            except RemoteRefused as exc:
                if exc.remote_status != 503 or exc.retry_after is None:
                    raise
                if waited >= self.limits.timeout:
                    msg = (
                        f"{exc.message} (still refused after {waited:.0f} s of retries, the remote's timeout)"
                    )
                    raise RemoteRefused(msg, exc.remote_status, exc.remote_code, exc.retry_after) from exc
                pause = min(exc.retry_after, self.limits.timeout - waited)
                time.sleep(pause)
                waited += pause
                continue
            return self._shaped(response, "/api/v1/sync/events", _PushAnswer)

    def pull(self, after: int, limit: int, *, exclude: str, wanted: PullFilter, entities: str = "") -> Page:
        """The remote's events after its sequence number ``after``, leaving out ours; ``entities`` is
        the digest of the filtered part the previous page had (see ``server.api.sync``).

        Raises :class:`~threadline.sync.limits.TooLarge` for a page over ``max_page_bytes`` (ask for
        fewer events), and :class:`SyncError` for one with more events than ``limit``.
        """
        params = {"after": str(after), "limit": str(limit), "exclude": exclude, **wanted.to_params()}
        if entities:
            params["entities"] = entities
        what = f"a page of {limit:,} event{'s' if limit != 1 else ''} after {after:,}"
        response = self._request(
            "GET",
            "/api/v1/sync/events",
            params=params,
            limit=self.limits.max_page_bytes,
            what=what,
            setting="max_page_bytes",
        )
        try:
            data = msgspec.json.decode(response.content, type=_PageShape)
        except msgspec.DecodeError as exc:
            msg = f"remote {self.remote} answered a pull with something that is not a page of events"
            raise SyncError(msg) from exc
        if len(data.events) > limit:
            msg = f"remote {self.remote} sent {len(data.events):,} events in a page of at most {limit:,}"
            raise SyncError(msg)
        return Page([bytes(raw) for raw in data.events], data.next, data.more, data.entities)

    def status(self, after: int, *, exclude: str) -> dict[str, Any]:
        """How many events the remote has after ``after`` that did not come from us."""
        response = self._request(
            "GET", "/api/v1/sync/status", params={"after": str(after), "exclude": exclude}
        )
        return self._shaped(response, "/api/v1/sync/status", _StatusAnswer)

    def _shaped(self, answer: Answer, path: str, shape: type[msgspec.Struct]) -> dict[str, Any]:
        """The JSON of ``answer``, checked to have ``shape`` (a remote's answer is not trusted)."""
        data = self._json(answer, path)
        try:
            msgspec.convert(data, shape)
        except msgspec.ValidationError as exc:
            msg = f"remote {self.remote} answered {path} unlike a threadline server: {exc}"
            raise SyncError(msg) from exc
        return data


@dataclass(frozen=True)
class Answer:
    """A response read whole (within its limit): status, headers and decoded body."""

    status_code: int
    headers: httpx.Headers
    content: bytes


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


_Count = Annotated[int, msgspec.Meta(ge=0)]
_Positive = Annotated[int, msgspec.Meta(ge=1)]


class _InfoShape(msgspec.Struct, rename="camel"):
    site_id: Annotated[str, msgspec.Meta(max_length=64)]
    protocol: int
    last_seq: _Count
    version: str = "?"
    max_batch_events: _Positive = 1_000
    max_body_bytes: _Positive = 16 * 1024 * 1024


class _PushAnswer(msgspec.Struct):
    stored: _Count = 0
    duplicates: _Count = 0
    failed: list[dict[str, Any]] = msgspec.field(default_factory=list)


class _StatusAnswer(msgspec.Struct):
    behind: _Count


def _retry_after(value: str | None) -> float | None:
    """The seconds of a ``Retry-After`` header given in seconds (from 0 to an hour); None otherwise
    (absent, or an HTTP date, which threadline's servers never send)."""
    try:
        seconds = float(value) if value is not None else math.nan
    except ValueError:
        return None
    return seconds if 0 <= seconds <= 3600 else None


def _error_of(answer: Answer) -> tuple[str, str]:
    """The ``code`` and message of an error answer (``server.api.errors``'s shape; an older server's
    ``error``, or whatever a server that is not threadline sent)."""
    try:
        data = json.loads(answer.content)
    except ValueError:
        text = answer.content[:200].decode("utf-8", "replace").strip()
        return "", " ".join(text.split()) or f"HTTP {answer.status_code}"
    if isinstance(data, dict):
        code = data.get("code")
        message = data.get("message") or data.get("error") or data
        return (code if isinstance(code, str) else ""), str(message)[:300]
    return "", str(data)[:300]
