"""``GET /metrics``: the server's metrics in Prometheus' text format, made by prometheus-client.

Each server process keeps its own registry (:class:`ServerMetrics`) and answers for itself: several
servers on one store are scraped one by one, as Prometheus does with any set of targets. What they
show (the names, labels and meaning are listed in docs/operations.md):

- ingest: events accepted (``created``, ``duplicate``), events refused inside a batch, and ingest
  requests refused whole, by reason (bad JSON, invalid event, too large, auth, back-pressure, …);
- every request's latency, in a histogram by method, *route template* (``/api/v1/namespaces/
  {namespace}/jobs/{job}``, never the raw path, so a scanner's random paths cannot grow the label set)
  and status code;
- read at scrape time, at no cost per request: the writer's queue and what it has done, the
  projection's lag in events and seconds, back-pressure, lineage-index builds; plus the process'
  CPU, memory and file descriptors (prometheus-client's own collectors);
- store errors, by operation (``append``, ``projection``, ``request``, ``lag_sample``).

The setting ``metrics`` decides who may read them: ``auth`` (the default) asks for an API key of read
scope exactly when the server asks for keys at all; ``open`` answers anyone (a private network with a
scraper that has no key); ``off`` answers 404.

The per-request cost is a clock read at each end, one dictionary lookup and a histogram observation:
:class:`MetricsMiddleware` keeps the labelled histogram children it has made, so ``labels()`` runs
once per (method, route, status).
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Literal

from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from threadline.errors import (
    BadRequest,
    ConfigError,
    Forbidden,
    InvalidEvent,
    Overloaded,
    StoreError,
    ThreadlineError,
    Unauthorized,
    UnsupportedMediaType,
)
from threadline.server.state import encode_json

if TYPE_CHECKING:
    from threadline.server.state import ServerState

MetricsMode = Literal["auth", "open", "off"]
METRICS_MODES: tuple[MetricsMode, ...] = ("auth", "open", "off")
METRICS_PATH = "/metrics"

#: Latency buckets (seconds): from a cached read (~0.3 ms) to a long batch or walk.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: The route of a request that matched no API route (404s, scanners).
UNMATCHED = "unmatched"
#: Most (method, route, status) series kept; past it (which no real route set reaches) a request of a
#: new one is counted under the route ``other``.
SERIES_MAX = 2048


def rejection_reason(exc: BaseException) -> str:
    """Why an ingest request (or one event of a batch) was refused, as a metric label."""
    if isinstance(exc, Overloaded):
        return "back_pressure"
    if isinstance(exc, Unauthorized):
        return "unauthorized"
    if isinstance(exc, Forbidden):
        return "forbidden"
    if isinstance(exc, ThreadlineError) and exc.status == 413:
        return "too_large"
    if isinstance(exc, UnsupportedMediaType):
        return "unsupported_media_type"
    if isinstance(exc, BadRequest):
        return _bad_request_reason(exc.message, isinstance(exc, InvalidEvent))
    if isinstance(exc, StoreError | SQLAlchemyError):
        return "store_unavailable"
    return "internal_error"


def _bad_request_reason(message: str, invalid_event: bool) -> str:
    if "not valid JSON" in message or "JSON is nested too deeply" in message:
        return "bad_json"
    if message.startswith("the client closed the connection"):
        return "client_disconnected"
    return "invalid_event" if invalid_event else "bad_request"


def event_rejection_reason(message: str, status: int) -> str:
    """The reason label of one event refused inside a batch (its message and status)."""
    if status == 413:
        return "too_large"
    return _bad_request_reason(message, invalid_event=True)


class ServerMetrics:
    """The metrics of one server: its own registry, the counters code updates, and the values read
    from the server's state at scrape time (:meth:`bind`)."""

    def __init__(self, mode: MetricsMode = "auth") -> None:
        if mode not in METRICS_MODES:
            msg = f"metrics must be one of {', '.join(METRICS_MODES)}, got {mode!r}"
            raise ConfigError(msg)
        self.mode = mode
        # No ``*_created`` series beside each counter and histogram (they double the series count and
        # Prometheus does not need them); a switch of prometheus-client for the whole process.
        disable_created_metrics()
        self.registry = CollectorRegistry(auto_describe=False)
        registry = self.registry
        self.events_accepted = Counter(
            "threadline_events_accepted",
            "Events stored by ingest, by status: created (new) or duplicate (already stored).",
            ["status"],
            registry=registry,
        )
        self.events_rejected = Counter(
            "threadline_events_rejected",
            "Events of a batch refused one by one (the rest of the batch stored), by reason.",
            ["reason"],
            registry=registry,
        )
        self.requests_rejected = Counter(
            "threadline_ingest_requests_rejected",
            "Ingest requests refused whole (nothing of them stored), by endpoint and reason.",
            ["endpoint", "reason"],
            registry=registry,
        )
        self.store_errors = Counter(
            "threadline_store_errors",
            "Store operations that failed, by operation: append, projection, request, lag_sample.",
            ["operation"],
            registry=registry,
        )
        self.request_seconds = LatencyHistogram()
        registry.register(self.request_seconds)
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        for status in ("created", "duplicate"):  # shown at 0 before the first event
            self.events_accepted.labels(status)
        #: The connection guard's counts (``watch_connections``), when the server runs behind it.
        self.connections: Any = None
        self._accepted_created = self.events_accepted.labels("created")
        self._accepted_duplicate = self.events_accepted.labels("duplicate")

    def watch_connections(self, watch: Any) -> None:
        """Also show what the connection guard (``server.connections``: its ``_Watch``) has closed."""
        self.connections = watch

    def bind(self, state: ServerState) -> None:
        """Read the server's writer, projection lag, back-pressure and lineage index at scrape time."""
        self.registry.register(_StateCollector(state))

    # ---- what code counts ------------------------------------------------------------------------

    def accepted(self, created: int, duplicates: int) -> None:
        """Count the events of one ingest request that were stored."""
        if created:
            self._accepted_created.inc(created)
        if duplicates:
            self._accepted_duplicate.inc(duplicates)

    def rejected_events(self, reasons: Iterable[str]) -> None:
        """Count events refused one by one inside a batch, by reason."""
        for reason in reasons:
            self.events_rejected.labels(reason).inc()

    def rejected_request(self, endpoint: str, exc: BaseException) -> None:
        """Count an ingest request refused whole, and a store error when that is why."""
        reason = rejection_reason(exc)
        self.requests_rejected.labels(endpoint, reason).inc()
        if reason == "store_unavailable":
            self.store_errors.labels("append").inc()

    def store_error(self, operation: str) -> None:
        """Count a failed store operation."""
        self.store_errors.labels(operation).inc()

    def counting_failures(self, operation: str, work: Callable[[], int]) -> Callable[[], int]:
        """``work``, with its failures counted as store errors of ``operation`` (and raised again)."""

        def counted() -> int:
            try:
                return work()
            except Exception:
                self.store_error(operation)
                raise

        return counted

    def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """The metrics in the format ``accept`` asks for (Prometheus text, or OpenMetrics), and its
        content type."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type


class LatencyHistogram:
    """``threadline_http_request_duration_seconds``: bucket counts per (method, route, status).

    Hand-written where prometheus-client's ``Histogram`` would do, for speed: its ``observe`` takes a
    lock for the sum and for the bucket (4.4 us a request on this project's CI machine under load,
    as much as the rest of a small request), while every observation here comes from the one
    event-loop thread, and so does every scrape (``GET /metrics`` renders on that thread too), so
    plain counters are safe: one ``bisect`` and two additions. prometheus-client still renders the
    series (:class:`HistogramMetricFamily`)."""

    name = "threadline_http_request_duration_seconds"
    documentation = (
        "Time from a request's arrival to the end of its answer, by method, route template and status code."
    )

    def __init__(self, bounds: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.bounds = bounds
        #: Per series: the count of each bucket (not cumulative; the last is +Inf), then the sum.
        self.series: dict[tuple[str, str, int], list[float]] = {}

    def observe(self, key: tuple[str, str, int], seconds: float) -> None:
        """Count one request of ``key`` (method, route, status) that took ``seconds``."""
        counts = self.series.get(key)
        if counts is None:
            if len(self.series) >= SERIES_MAX:
                key = (key[0], "other", key[2])
            counts = self.series.setdefault(key, [0.0] * (len(self.bounds) + 2))
        counts[bisect_left(self.bounds, seconds)] += 1
        counts[-1] += seconds

    def collect(self) -> Iterator[Metric]:
        """The histogram, cumulative as Prometheus wants it."""
        family = HistogramMetricFamily(self.name, self.documentation, labels=["method", "route", "status"])
        edges = [*(_float_text(bound) for bound in self.bounds), "+Inf"]
        for (method, route, status), counts in list(self.series.items()):
            cumulative = 0.0
            buckets = []
            for edge, count in zip(edges, counts, strict=False):
                cumulative += count
                buckets.append((edge, cumulative))
            family.add_metric([method, route, str(status)], buckets, counts[-1])
        yield family


def _float_text(value: float) -> str:
    return repr(float(value))


class _StateCollector:
    """Values the server keeps anyway, read when scraped (no cost on the request path)."""

    def __init__(self, state: ServerState) -> None:
        self.state = state

    def collect(self) -> Iterator[Metric]:
        state = self.state
        writer = state.writer
        stats = writer.stats
        yield _gauge("threadline_writer_queue_events", writer.queue_depth())
        yield _counter("threadline_writer_appended_events", stats.appended_events)
        yield _counter("threadline_writer_commits", stats.appends)
        yield _counter("threadline_writer_append_seconds", stats.append_seconds)
        yield _counter("threadline_projection_folded_events", stats.projected_events)
        yield _counter("threadline_projection_seconds", stats.projection_seconds)
        yield _counter("threadline_lineage_index_builds", state.lineage_index.builds)
        watch = state.metrics.connections if state.metrics is not None else None
        if watch is not None:
            closed = CounterMetricFamily(
                "threadline_connections_closed", _HELP["threadline_connections_closed"], labels=["reason"]
            )
            closed.add_metric(["timeout"], watch.timed_out)
            closed.add_metric(["evicted"], watch.evicted)
            closed.add_metric(["max_connections"], watch.refused)
            yield closed
            yield _gauge("threadline_connections_waiting_for_headers", len(watch.waiting))
        pressure = state.pressure
        if pressure is None:
            return
        backlog = pressure.backlog
        yield _gauge("threadline_projection_lag_events", backlog.events)
        yield _gauge("threadline_projection_lag_seconds", backlog.seconds)
        active = pressure.active()
        family = GaugeMetricFamily(
            "threadline_back_pressure", _HELP["threadline_back_pressure"], labels=["reason"]
        )
        for reason in ("writer_queue", "projection_lag"):
            family.add_metric([reason], 1.0 if active == reason else 0.0)
        yield family
        limits = GaugeMetricFamily(
            "threadline_back_pressure_limit", _HELP["threadline_back_pressure_limit"], labels=["setting"]
        )
        limits.add_metric(["max_writer_queue"], pressure.max_queue)
        limits.add_metric(["max_projection_lag"], pressure.max_lag_seconds)
        yield limits


#: The help text of the metrics :class:`_StateCollector` reads at scrape time.
_HELP = {
    "threadline_writer_queue_events": "Events waiting for the writer to commit them.",
    "threadline_writer_appended_events": "Events the writer appended (new or duplicate).",
    "threadline_writer_commits": "Group commits the writer made.",
    "threadline_writer_append_seconds": "Time the writer spent appending.",
    "threadline_projection_folded_events": "Events this server folded into the projections.",
    "threadline_projection_seconds": "Time this server spent folding events into the projections.",
    "threadline_lineage_index_builds": "Times the in-memory lineage index was built whole from the store "
    "(at start, after a reindex, and when the changes since the last build grew too many).",
    "threadline_projection_lag_events": "Events logged and not yet folded into the projections, which "
    "reads answer from (sampled every 0.5 s).",
    "threadline_projection_lag_seconds": "Age of the oldest event not yet folded into the projections "
    "(sampled every 0.5 s).",
    "threadline_connections_closed": "Connections the server closed with an answer of its own: timeout "
    "(408: headers or body too slow, header_timeout / body_timeout), evicted (the slowest waiting for "
    "its headers, to make room at max_connections), max_connections (503 at once, nothing read).",
    "threadline_connections_waiting_for_headers": "Connections waiting for a request's headers now.",
    "threadline_back_pressure": "1 while ingest is refused with 503 because this limit is reached, else 0.",
    "threadline_back_pressure_limit": "The back-pressure limits (0: none): max_writer_queue in events, "
    "max_projection_lag in seconds.",
}


def _gauge(name: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, _HELP[name], value=value)


def _counter(name: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, _HELP[name], value=value)


class MetricsMiddleware:
    """ASGI middleware, outermost: times every HTTP request into the latency histogram and answers
    ``GET /metrics`` itself (ahead of the web UI, which answers every other page path)."""

    def __init__(self, app: ASGIApp, state: ServerState) -> None:
        self.app = app
        self.state = state
        metrics = state.metrics
        assert metrics is not None
        self.metrics = metrics
        self._observe = metrics.request_seconds.observe
        #: ``metrics off``: no request is timed, ``GET /metrics`` answers 404.
        self.off = metrics.mode == "off"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.off:
            if self.off and scope["type"] == "http" and scope["path"] == METRICS_PATH:
                await self._metrics(scope, send)
                return
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an app that fails before it answers: uvicorn sends a 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            if scope["path"] == METRICS_PATH:
                await self._metrics(scope, send_status)
            else:
                await self.app(scope, receive, send_status)
        finally:
            self._observe((scope["method"], _route(scope), status), time.perf_counter() - started)

    async def _metrics(self, scope: Scope, send: Send) -> None:
        headers = Headers(scope=scope)
        mode = self.metrics.mode
        extra: list[tuple[bytes, bytes]] = []
        if scope["method"] not in ("GET", "HEAD"):
            status, body, content_type = 405, b'{"error":"GET /metrics only"}', "application/json"
            extra.append((b"allow", b"GET, HEAD"))
        elif mode == "off":
            message = b'{"error":"metrics are off on this server (setting metrics: auth, open or off)"}'
            status, body, content_type = 404, message, "application/json"
        else:
            try:
                if mode == "auth":
                    await self.state.auth.require(headers, "read")
            except ThreadlineError as exc:  # 401, 403, or a store that cannot say whether keys exist
                status, body, content_type = (
                    exc.status,
                    encode_json({"error": exc.message}),
                    "application/json",
                )
                if exc.status == 401:
                    extra.append((b"www-authenticate", b"Bearer"))
            else:
                status = 200
                body, content_type = self.metrics.exposition(headers.get("accept"))
        head = [
            (b"content-type", content_type.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
            *extra,
        ]
        await send({"type": "http.response.start", "status": status, "headers": head})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


def _route(scope: Scope) -> str:
    """The route template a request matched: FastAPI's route path, the ingest paths (served ahead of
    FastAPI), the web UI's files and pages as two routes, else :data:`UNMATCHED`."""
    route = scope.get("route")
    if route is not None:
        return getattr(route, "path", UNMATCHED)
    path = scope["path"]
    if path in _FIXED:
        return path
    if path.startswith("/static/"):
        return "/static/{file}"
    if path == "/api" or path.startswith("/api/"):
        return UNMATCHED
    return "/{page}" if scope["method"] in ("GET", "HEAD") else UNMATCHED


#: Paths served by middleware (no FastAPI route): their own route label.
_FIXED = frozenset({"/api/v1/lineage", "/api/v1/lineage/batch", METRICS_PATH, "/favicon.ico"})
