"""Slow and idle clients, and too many of them: header and body timeouts and a connection limit.

uvicorn times out only a keep-alive connection that is idle *after* a response; a client that sends
part of a request's headers, or a body a byte at a time, holds its connection (and a file descriptor)
for as long as it likes, and uvicorn's ``limit_concurrency`` answers 503 only once a request's headers
have arrived, so connections that never finish them are never refused (uvicorn's issue 157 lists the
missing ``--timeout-request-start`` and ``--timeout-request-complete``). An ASGI middleware cannot help:
it sees a request only when its headers are complete. So the limits are kept here, in the HTTP
protocol object uvicorn creates for each connection (:func:`guarded_protocol` wraps the httptools or
the h11 one):

- **Headers** must be complete within ``header_timeout`` seconds of connecting (on a kept-alive
  connection: of the next request's first byte), and within :data:`MAX_HEAD_BYTES`; else the client is
  answered 408 (431 for too many bytes) and the connection closed.
- **A body** may go ``body_timeout`` seconds without a byte arriving (not counted while the server
  itself is not reading: flow control, or an ``Expect: 100-continue`` not yet answered); else 408 and
  closed, and the request's handler sees the client gone. After an answer sent before its body was
  all read (a 413 for a body over a limit), uvicorn reads the rest of the body and drops it, so that
  the client, still sending, gets to read the answer and may send its next request; that is allowed
  up to :data:`DRAIN_BYTES` (and ``body_timeout`` between bytes), then the connection is closed, so no
  more of an unwanted upload is taken in than that.
- **At most ``max_connections``** are open at once. A new client beyond it makes room by closing the
  connection that has waited longest for a request's headers, if that is at least
  :data:`EVICT_AFTER_SECONDS` (an idle kept-alive connection is closed quietly, a half-sent request
  answered 408); otherwise the new client is answered 503 with ``Retry-After`` at once, before it
  sends anything, and its socket is closed, so a flood of connections costs a file descriptor each for
  an instant, and the server keeps answering those it has.

The process's open-file limit is raised (to its hard limit) to fit ``max_connections`` when it is lower.
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
import time
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from threadline.server.api.errors import error_body, http_code
from threadline.settings import default

log = logging.getLogger(__name__)

#: The most bytes a request's line and headers may take.
MAX_HEAD_BYTES = 64 * 1024
#: A connection waiting for a request's headers at least this long may be closed for a new client.
EVICT_AFTER_SECONDS = 1.0
#: How long a refused client's socket is kept half-closed so it reads its 503 (not a reset), at most.
REFUSED_LINGER_SECONDS = 1.0
#: After an answer sent before its request's body was all read (a 413, a 401), how much more of that
#: body is read and dropped (so the client gets to read the answer, as nginx's "lingering close"
#: does), at most; then the connection is closed.
DRAIN_BYTES = 64 * 1024 * 1024
#: File descriptors kept for the rest of the server (store, parse workers, logs, object files).
RESERVED_FILES = 256
#: Seconds between two warnings that clients were timed out or refused (with the counts since).
WARN_EVERY_SECONDS = 60.0

_HEAD, _BODY, _BUSY, _DRAIN = "head", "body", "busy", "drain"


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """The limits of :mod:`server.connections` (the defaults are the settings')."""

    header_timeout: float = default("header_timeout")
    body_timeout: float = default("body_timeout")
    max_connections: int = default("max_connections")


def fit_file_limit(limits: ConnectionLimits) -> ConnectionLimits:
    """Raise the open-file limit to fit ``limits.max_connections`` (as far as the hard limit allows);
    return the limits to use, ``max_connections`` lowered (with a warning) when it cannot fit."""
    needed = limits.max_connections + RESERVED_FILES
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return limits
    fitted = max(1, soft - RESERVED_FILES)
    log.warning(
        "max_connections %d needs %d open files and this process may open %d: serving at most %d "
        "connections (raise the limit with ulimit -n, or lower max_connections)",
        limits.max_connections,
        needed,
        soft,
        fitted,
    )
    return replace(limits, max_connections=fitted)


def _answer(status: int, reason: str, message: str, extra: bytes = b"") -> bytes:
    body = json.dumps(error_body(status, http_code(status), message)).encode()  # the one shape
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n"
    ).encode()
    return head + extra + b"\r\n" + body


@dataclass
class _Watch:
    """What the connections of one server share: the limits, who waits for headers, counts."""

    limits: ConnectionLimits
    #: Connections waiting for a request's headers, oldest wait first, with when it began.
    waiting: dict[Any, float] = field(default_factory=dict)
    lingering: int = 0
    timed_out: int = 0
    refused: int = 0
    evicted: int = 0
    _warned_at: float = 0.0

    def note(self) -> None:
        """Warn, at most every ``WARN_EVERY_SECONDS``, of clients timed out, evicted or refused."""
        now = time.monotonic()
        if now - self._warned_at < WARN_EVERY_SECONDS:
            return
        self._warned_at = now
        log.warning(
            "slow or surplus clients: %d timed out (header_timeout %gs, body_timeout %gs), %d closed to "
            "make room and %d refused (max_connections %d) so far",
            self.timed_out,
            self.limits.header_timeout,
            self.limits.body_timeout,
            self.evicted,
            self.refused,
            self.limits.max_connections,
        )

    def make_room(self, now: float) -> bool:
        """Close the connection waiting longest for headers, if long enough; whether one was."""
        for connection, since in self.waiting.items():
            if now - since < EVICT_AFTER_SECONDS:
                return False
            self.evicted += 1
            connection.evict()
            return True
        return False


class _Guarded:
    """The limits, mixed into uvicorn's HTTP protocol class (see :func:`guarded_protocol`)."""

    watch: ClassVar[_Watch]
    # Provided by uvicorn's protocol class:
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    cycle: Any
    flow: Any
    server_state: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._refused = False
        self._phase: str | None = None
        self._since = 0.0
        self._head_size = 0
        self._head_cycle: Any = None
        self._drained = 0
        self._timer: asyncio.TimerHandle | None = None

    # ---- the connection's life ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:
        watch = self.watch
        now = self.loop.time()
        if len(self.server_state.connections) >= watch.limits.max_connections and not watch.make_room(now):
            self._refuse(transport)
            return
        super().connection_made(transport)  # type: ignore[misc]
        self._wait_for_head(now, fresh=True)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._refused:
            self.watch.lingering -= 1
            self._cancel()
            return
        self._cancel()
        self.watch.waiting.pop(self, None)
        super().connection_lost(exc)  # type: ignore[misc]

    def eof_received(self) -> bool | None:
        if self._refused:
            self.transport.close()  # the refused client read its answer and hung up
            return None
        return super().eof_received()  # type: ignore[misc]

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # a refused client's request: not read
        now = self.loop.time()
        draining = self._phase == _DRAIN
        if draining:
            self._drained += len(data)  # the rest of an answered request's body: uvicorn drops it
            if self._drained > DRAIN_BYTES:
                self.transport.close()
                return
            self._since = now
        if self._phase == _HEAD and self._head_size == 0 and self._head_cycle is not None:
            self._since = now  # the next request on a kept-alive connection: its time starts now
            self.watch.waiting[self] = self.watch.waiting.pop(self, now)
        super().data_received(data)  # type: ignore[misc]
        if self.transport.is_closing():
            return
        if draining:  # (httptools may have ended the drained request meanwhile: on_message_complete)
            if self.cycle is not self._head_cycle:  # the next request's headers arrived too
                self._headers_done(now)
        elif self._phase == _HEAD:
            if self.cycle is not None and self.cycle is not self._head_cycle:
                self._headers_done(now)
            else:
                if self._timer is None:  # a kept-alive connection's next request began: time it
                    self._arm(self.watch.limits.header_timeout - (now - self._since))
                self._head_size += len(data)
                if self._head_size > MAX_HEAD_BYTES:
                    message = f"the request's line and headers are over {MAX_HEAD_BYTES} bytes"
                    self._close_with(_answer(431, "Request Header Fields Too Large", message))
        elif self._phase == _BODY:
            self._since = now
            if not self._reading_body():
                self._phase = _BUSY

    def on_response_complete(self) -> None:
        answered = self.cycle
        super().on_response_complete()  # type: ignore[misc]
        if self.transport.is_closing():
            return
        if (
            answered is not None
            and answered.response_complete
            and answered.more_body
            and not answered.disconnected
        ):
            self._drain()  # answered before the body was all read: drop the rest of it (bounded)
        elif self.cycle is not None and not self.cycle.response_complete:
            self._headers_done(self.loop.time())  # a pipelined request's turn: its headers are in
        else:
            self._wait_for_head(self.loop.time(), fresh=False)

    # ---- phases -------------------------------------------------------------------------------------

    def _wait_for_head(self, now: float, *, fresh: bool) -> None:
        """Wait for a request's headers: from connecting (``fresh``), timed at once; after a response,
        idle under uvicorn's keep-alive timeout, and timed from the next request's first byte, if its
        headers do not come whole (the usual case costs no timer)."""
        self._phase = _HEAD
        self._head_size = 0
        self._head_cycle = None if fresh else self.cycle
        self._since = now
        self.watch.waiting.pop(self, None)
        self.watch.waiting[self] = now
        if fresh:
            self._arm(self.watch.limits.header_timeout)
        else:
            self._cancel()

    def _headers_done(self, now: float) -> None:
        self.watch.waiting.pop(self, None)
        self._head_cycle = self.cycle
        self._since = now
        if self._reading_body():
            self._phase = _BODY
            self._arm(self.watch.limits.body_timeout)
        else:
            self._phase = _BUSY
            self._cancel()

    def _reading_body(self) -> bool:
        cycle = self.cycle
        return (
            cycle is not None and cycle.more_body and not cycle.response_complete and not cycle.disconnected
        )

    # ---- the timer ----------------------------------------------------------------------------------

    def _arm(self, delay: float) -> None:
        self._cancel()
        self._timer = self.loop.call_later(max(delay, 0.0), self._check)

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _check(self) -> None:
        self._timer = None
        if self.transport is None or self.transport.is_closing():
            return
        now = self.loop.time()
        limits = self.watch.limits
        if self._phase == _HEAD:
            left = limits.header_timeout - (now - self._since)
            if left > 0:
                self._arm(left)
            elif self._head_size == 0 and self._head_cycle is not None:
                self.transport.close()  # idle after a response: uvicorn's keep-alive timeout's job
            else:
                self._time_out(
                    f"the request's headers did not arrive within {limits.header_timeout:g} s "
                    "(header_timeout); send them at once"
                )
        elif self._phase == _DRAIN:
            left = limits.body_timeout - (now - self._since)
            if left > 0:
                self._arm(left)
            else:
                self.transport.close()  # the answer is out; the rest of the body stopped coming
        elif self._phase == _BODY:
            if not self._reading_body():
                self._phase = _BUSY
                return
            if self.flow.read_paused or self.cycle.waiting_for_100_continue:
                self._since = now  # the server is not reading: not the client's delay
            left = limits.body_timeout - (now - self._since)
            if left > 0:
                self._arm(left)
                return
            self._time_out(
                f"the request's body stalled: no byte for {limits.body_timeout:g} s (body_timeout); "
                "send it without pauses"
            )

    # ---- ending a connection ------------------------------------------------------------------------

    def _time_out(self, message: str) -> None:
        self.watch.timed_out += 1
        self.watch.note()
        cycle = self.cycle if self._phase == _BODY else None
        if cycle is not None and cycle.response_started:
            self.transport.close()
            return
        if cycle is not None:  # the handler reading the body sees the client gone, and answers nobody
            cycle.disconnected = True
            cycle.message_event.set()
        self._close_with(_answer(408, "Request Timeout", message))

    def evict(self) -> None:
        """Close this connection to make room for a new client (it waits for a request's headers)."""
        self.watch.waiting.pop(self, None)
        if self._head_size == 0:
            self.transport.close()  # idle: a client reconnects as after any keep-alive timeout
            return
        self._close_with(
            _answer(
                408, "Request Timeout", "the server is at max_connections and this request was the slowest"
            )
        )

    def _close_with(self, answer: bytes) -> None:
        self._cancel()
        self._phase = None
        self.watch.waiting.pop(self, None)
        self.transport.write(answer)
        self.transport.close()

    def _drain(self) -> None:
        """The answer is out and the body still coming: let uvicorn read it and drop it (bounded)."""
        self._phase = _DRAIN
        self._drained = 0
        self._head_cycle = self.cycle
        self._since = self.loop.time()
        self.watch.waiting.pop(self, None)
        self._arm(self.watch.limits.body_timeout)

    def on_message_complete(self) -> None:
        """(httptools) A request's end: after a drained body, the next request's headers may come."""
        super().on_message_complete()  # type: ignore[misc]
        if self._phase == _DRAIN and self.cycle is self._head_cycle and not self.transport.is_closing():
            self._wait_for_head(self.loop.time(), fresh=False)

    def _refuse(self, transport: asyncio.Transport) -> None:
        """Answer 503 at once and close, without reading the request (see the module docstring)."""
        self._refused = True
        self.transport = transport
        watch = self.watch
        watch.refused += 1
        watch.note()
        message = (
            f"the server has {watch.limits.max_connections} connections open (max_connections); "
            "retry in a moment"
        )
        transport.write(_answer(503, "Service Unavailable", message, b"retry-after: 1\r\n"))
        watch.lingering += 1
        if transport.can_write_eof() and watch.lingering <= watch.limits.max_connections:
            # Half-close: the client reads the answer and an end of stream, not a reset.
            transport.write_eof()
            self._timer = self.loop.call_later(REFUSED_LINGER_SECONDS, transport.close)
        else:
            transport.close()


def guarded_protocol(limits: ConnectionLimits, http: str) -> type:
    """uvicorn's ``http`` protocol class (``httptools`` or ``h11``) with ``limits`` kept; give it to
    ``uvicorn.Config(http=...)``."""
    base: type
    if http == "httptools":
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        base = HttpToolsProtocol
    else:
        from uvicorn.protocols.http.h11_impl import H11Protocol

        base = H11Protocol
    return type(f"Guarded{base.__name__}", (_Guarded, base), {"watch": _Watch(limits)})
