"""The per-process tracker: settings, the content reader, and the background thread that builds and
delivers events.

The user's thread only fills records and puts them on a queue (no I/O, no lock but the queue's). One
daemon thread, ``threadline-tracking``, takes everything queued, writes what the content reader left
for it (the bytes of inputs and outputs to store, then the batch's hash-cache entries in one
transaction), builds the OpenLineage events, and hands them to the transport. Nothing it does can
raise into user code: a failure is logged once, as a warning, and tracking goes on.

Processes: after ``fork`` the child gets a tracker of its own, made on first use (the parent's thread,
queue, store connections and hash cache stay the parent's: ``os.register_at_fork`` drops them in the
child without closing them). A child made by ``multiprocessing`` flushes when it ends (it exits
without running ``atexit``, so a ``multiprocessing`` finalizer does it). Spawned processes start
fresh and learn their parent run from the environment (``THREADLINE_PARENT``).
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from threadline.errors import ThreadlineError
from threadline.tracking.config import TrackingConfig, disabled_by_env, load_config
from threadline.tracking.records import EventRecord

log = logging.getLogger("threadline.tracking")

#: Records taken off the queue at once (one store transaction, one journal segment group).
BATCH_RECORDS = 1000
#: The tracking thread waits for the queue to be quiet this long before building events, so that a
#: burst of runs is handled in one batch and the user's thread has the interpreter to itself meanwhile...
QUIET_SECONDS = 0.02
#: ... but never holds records longer than this.
MAX_DELAY_SECONDS = 1.0
#: How often a flush at exit looks whether the tracking thread still makes progress.
STALL_CHECK_SECONDS = 0.25
_warned: set[str] = set()
_warn_lock = threading.Lock()


def warn_once(key: str, message: str, *args: Any) -> None:
    """Log ``message`` as a warning the first time ``key`` is seen in this process."""
    with _warn_lock:
        if key in _warned:
            return
        _warned.add(key)
    log.warning("threadline: " + message, *args)


@dataclass
class _Flush:
    """A marker: set ``done`` once everything queued before it has been handed to the transport."""

    done: threading.Event = field(default_factory=threading.Event)
    retry: bool = False


_STOP = object()


class Tracker:
    """Tracking for one process: settings, content hashing, the queue and its thread."""

    def __init__(self, config: TrackingConfig | None) -> None:
        self.config = config
        self.disabled = config is None
        self.pid = os.getpid()
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._reader: Any = None
        self._artifacts: Any = None
        self._transport: Any = None
        self._facts: Any = None
        self._facts_done = False
        self._closed = False
        self._urgent = threading.Event()
        #: When the tracking thread last got something done (``time.monotonic()``), for the exit's flush.
        self._progress = 0.0
        #: The events the tracking thread is handing to the transport, until it has.
        self._in_flight: list[bytes] | None = None

    # ---- the user's side ------------------------------------------------------------------------

    @property
    def namespace(self) -> str:
        """The job namespace of this process's runs."""
        return self.config.namespace if self.config is not None else "default"

    def setting(self, name: str) -> Any:
        """A resolved tracking setting."""
        return self.config[name] if self.config is not None else None

    def submit(self, record: EventRecord) -> None:
        """Queue a record for the background thread (starting it on first use)."""
        if self.disabled or self._closed:
            return
        if self._thread is None:
            self._start()
        self._queue.put(record)

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            thread = threading.Thread(target=self._loop, name="threadline-tracking", daemon=True)
            thread.start()
            self._thread = thread

    def flush(self, timeout: float | None = None, *, retry: bool = False, stalled: bool = False) -> bool:
        """Wait until everything queued so far has reached the transport; ``False`` on time-out.

        With ``retry``, the transport also tries once more to send what waits in its journal. With
        ``stalled``, ``timeout`` counts only time in which the tracking thread got nothing done: a slow
        store or a busy machine that still makes progress is waited for (the exit's flush: giving up
        there loses events), one that is stuck is not.
        """
        if self.disabled or self._thread is None or not self._thread.is_alive():
            return True
        marker = _Flush(retry=retry)
        self._queue.put(marker)
        self._urgent.set()
        if not stalled or timeout is None:
            return marker.done.wait(timeout)
        started = time.monotonic()
        while not marker.done.wait(min(STALL_CHECK_SECONDS, timeout)):
            if not self._thread.is_alive():
                return marker.done.is_set()
            if time.monotonic() - max(started, self._progress) > timeout:
                return False
        return True

    def reader(self) -> Any:
        """The content reader (hash cache and object store of the tracking folder), opened on first use."""
        if self._reader is None:
            with self._lock:
                if self._reader is None:
                    from threadline.tracking.content import ContentReader

                    artifacts = self.artifacts()
                    self._reader = ContentReader(artifacts.hash_cache, artifacts.odb, defer=True)
        return self._reader

    def artifacts(self) -> Any:
        """The artifact store of the tracking folder (created on first use in the global folder)."""
        if self._artifacts is None:
            from threadline.artifacts.store import ArtifactStore

            assert self.config is not None
            self.config.folder.mkdir(parents=True, exist_ok=True)
            self._artifacts = ArtifactStore.for_project(self.config.folder)
        return self._artifacts

    def transport(self) -> Any:
        """The transport, made on first use (on the tracking thread, or by ``journal flush``)."""
        if self._transport is None:
            from threadline.tracking.journal import Journal
            from threadline.tracking.transports import make_transport

            config = self.config
            assert config is not None
            if config.is_global:
                config.folder.mkdir(parents=True, exist_ok=True)
            self._transport = make_transport(
                config.transport,
                journal=Journal(config.journal_dir),
                store_url=config.store_url,
                url=config["url"],
                api_key=config["api_key"],
                timeout=config["timeout"],
                file=config.events_file,
            )
            self._transport.progress = self._note_progress
        return self._transport

    def _note_progress(self) -> None:
        self._progress = time.monotonic()

    def spill(self) -> int:
        """Write what the tracking thread has not delivered (the events it is handing over, and the
        records still queued) to the journal; how many events. For the exit, when the thread made no
        progress for ``flush_timeout``: the events wait on disk for ``threadline journal flush``
        instead of being lost. An event both spilled and delivered is stored once (by its id)."""
        from threadline.tracking.events import build_event, to_bytes
        from threadline.tracking.journal import Journal

        assert self.config is not None
        events = list(self._in_flight or [])
        odb = self._artifacts.odb if self._artifacts is not None else None
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, EventRecord):
                events.append(to_bytes(build_event(item, self._facts, odb)))
        if events:
            Journal(self.config.journal_dir).write(events)
        return len(events)

    def close(self, timeout: float | None = None) -> None:
        """End what depends on this tracker (the SDK's implicit pipeline runs), flush, stop the thread
        and release the transport and hash cache."""
        if self.disabled or self._closed:
            return
        for hook in _close_hooks:
            _quietly("ending pipeline runs", functools.partial(hook, self))
        self.flush(timeout)
        self._closed = True
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(_STOP)
            self._urgent.set()
            self._thread.join(timeout)
        if self._transport is not None:
            _quietly("closing the transport", self._transport.close)
        if self._artifacts is not None:
            _quietly("closing the hash cache", self._artifacts.close)

    # ---- the tracking thread --------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            wait = None
            if self._transport is not None:
                wait = _quietly("asking the transport", self._transport.retry_in)
            try:
                item = self._queue.get() if wait is None else self._queue.get(timeout=max(wait, 0.05))
            except queue.Empty:
                _quietly("sending queued events", self._transport.retry)
                continue
            items = self._collect(item)
            self._progress = time.monotonic()
            records = [i for i in items if isinstance(i, EventRecord)]
            if records:
                self._deliver(records)
            for marker in items:
                if isinstance(marker, _Flush):
                    if marker.retry:
                        _quietly("sending queued events", lambda: self.transport().retry(force=True))
                    marker.done.set()
            if any(i is _STOP for i in items):
                return

    def _collect(self, first: Any) -> list[Any]:
        """``first`` and what follows it until the queue is quiet, a marker comes, or time is up."""
        # Sleep rather than wait on the queue: a put does not wake this thread, so the user's thread
        # is not interrupted once per record. A flush or close cuts the wait short.
        deadline = time.monotonic() + MAX_DELAY_SECONDS
        if isinstance(first, EventRecord):
            seen = self._queue.qsize()
            while seen < BATCH_RECORDS and time.monotonic() < deadline:
                if self._urgent.wait(QUIET_SECONDS):
                    break
                now_queued = self._queue.qsize()
                if now_queued == seen:
                    break
                seen = now_queued
        self._urgent.clear()
        items = [first]
        while len(items) < BATCH_RECORDS:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return items

    def _environment(self) -> Any:
        if not self._facts_done:
            self._facts_done = True
            try:
                from threadline.tracking.environment import current_environment
                from threadline.tracking.events import EnvironmentFacts

                odb = None
                try:
                    odb = self.artifacts().odb
                except Exception as exc:
                    warn_once(
                        "odb", "cannot open the artifact store (%s); the package list is not stored", exc
                    )
                self._facts = EnvironmentFacts(current_environment(), odb)
            except Exception as exc:
                warn_once("environment", "cannot capture the environment (%s)", exc)
        return self._facts

    def _deliver(self, records: list[EventRecord]) -> None:
        try:
            from threadline.tracking.events import build_event, to_bytes
        except Exception as exc:
            warn_once("import", "cannot build events (%s: %s); tracking is off", exc.__class__.__name__, exc)
            return
        facts = self._environment()
        odb = self._artifacts.odb if self._artifacts is not None else None
        reader = self._reader
        events = []
        for record in records:
            if reader is not None:
                for ref in (*record.inputs, *record.outputs):
                    if ref.pending is not None:
                        _quietly("storing an input or output", functools.partial(reader.settle, ref))
            try:
                events.append(to_bytes(build_event(record, facts, odb)))
                self._progress = time.monotonic()
            except Exception as exc:
                warn_once(
                    f"build:{exc.__class__.__name__}",
                    "cannot build an event (%s: %s)",
                    type(exc).__name__,
                    exc,
                )
        if reader is not None:
            _quietly("writing the hash cache", reader.remember_pending)
        if not events:
            return
        self._in_flight = events
        try:
            self.transport().emit(events)
        except Exception as exc:
            warn_once(
                f"emit:{exc.__class__.__name__}", "events were lost: %s: %s", exc.__class__.__name__, exc
            )
        finally:
            self._in_flight = None


def _quietly(what: str, call: Callable[[], Any]) -> Any:
    try:
        return call()
    except Exception as exc:
        warn_once(f"{what}:{exc.__class__.__name__}", "%s failed: %s: %s", what, exc.__class__.__name__, exc)
        return None


# ---- the process's tracker --------------------------------------------------------------------------

_tracker: Tracker | None = None
_tracker_lock = threading.Lock()
_explicit: dict[str, Any] = {}
#: Objects a forked child inherited from its parent: kept referenced so that they are never closed
#: (closing the parent's SQLite connections from the child would corrupt the parent's view).
_inherited: list[Any] = []


def get_tracker() -> Tracker:
    """This process's tracker, made on first use from the settings (a no-op one when disabled)."""
    tracker = _tracker
    if tracker is not None:
        return tracker
    return _make_tracker()


def _make_tracker() -> Tracker:
    global _tracker  # noqa: PLW0603 - one tracker per process
    with _tracker_lock:
        if _tracker is not None:
            return _tracker
        config = None
        if not disabled_by_env():
            try:
                config = load_config(**_explicit)
            except ThreadlineError as exc:
                warn_once("config", "tracking is off: %s", exc.message)
            except Exception as exc:
                warn_once("config", "tracking is off: %s: %s", exc.__class__.__name__, exc)
            if config is not None and config["disabled"]:
                config = None
        _tracker = Tracker(config)
        return _tracker


def configure(**options: Any) -> None:
    """Set tracking options for this process (they win over the config file and the environment).

    Options are the tracking settings (``transport``, ``url``, ``api_key``, ``namespace``,
    ``store_outputs``, …). Events already queued are delivered with the previous settings first.
    Raises :class:`~threadline.errors.ConfigError` for an unknown option or a bad value.
    """
    global _tracker
    if not disabled_by_env():
        load_config(**options)  # validate now: a typo here is the caller's to fix
    with _tracker_lock:
        old, _tracker = _tracker, None
        _explicit.clear()
        _explicit.update({k: v for k, v in options.items() if v is not None})
    if old is not None and old.pid == os.getpid():
        old.close(old.setting("flush_timeout") if not old.disabled else None)


def reset() -> None:
    """Deliver what is queued, then forget the process's tracker, options and warnings.

    The next run reads the settings afresh (tests use it between cases; so may a notebook after
    editing the config file).
    """
    global _tracker
    with _tracker_lock:
        old, _tracker = _tracker, None
        _explicit.clear()
    if old is not None and old.pid == os.getpid():
        old.close(old.setting("flush_timeout") if not old.disabled else None)
    with _warn_lock:
        _warned.clear()


def flush(timeout: float | None = None) -> bool:
    """Wait until every event so far has been handed to the transport (stored, journaled or sent).

    Returns ``False`` if ``timeout`` seconds passed first.
    """
    tracker = _tracker
    if tracker is None or tracker.pid != os.getpid():
        return True
    return tracker.flush(timeout, retry=True)


def _after_fork_in_child() -> None:
    global _tracker  # noqa: PLW0603
    if _tracker is not None:
        _inherited.append(_tracker)
    _tracker = None
    global _tracker_lock, _warn_lock  # noqa: PLW0603 - another thread may have held them at the fork
    _tracker_lock = threading.Lock()
    _warn_lock = threading.Lock()
    mp_util = sys.modules.get("multiprocessing.util")
    if mp_util is not None:
        # multiprocessing children leave through os._exit, past atexit; its finalizers still run.
        mp_util.Finalize(None, _at_exit, exitpriority=100)


_exit_hooks: list[Callable[[], None]] = []
_close_hooks: list[Callable[[Tracker], None]] = []


def on_close(hook: Callable[[Tracker], None]) -> None:
    """Run ``hook(tracker)`` when a tracker closes, before its last flush (the run module ends the
    pipeline runs it opened for that tracker there)."""
    _close_hooks.append(hook)


def on_exit(hook: Callable[[], None]) -> None:
    """Run ``hook`` at process exit before the final flush (the run module ends open runs there)."""
    _exit_hooks.append(hook)


def _at_exit() -> None:
    tracker = _tracker
    for hook in _exit_hooks:
        _quietly("ending open runs", hook)
    if tracker is None or tracker.disabled or tracker.pid != os.getpid():
        return
    timeout = tracker.setting("flush_timeout")
    if not tracker.flush(timeout, stalled=True):
        spilled = _quietly("keeping undelivered events in the journal", tracker.spill)
        if spilled:
            log.warning(
                "threadline: the store made no progress for flush_timeout (%.0f s) at exit: %d events "
                "wait in the journal %s (`threadline journal flush` delivers them)",
                timeout,
                spilled,
                tracker.config.journal_dir if tracker.config is not None else "",
            )
        elif spilled is None:
            warn_once("exit", "some events were not delivered at exit and are lost")
        return
    _quietly("closing tracking", lambda: tracker.close(timeout))


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_at_exit)
