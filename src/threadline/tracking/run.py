"""Runs: ``with threadline.run(...) as run:``, ``@threadline.step``, and the module-level helpers.

A run lives in memory while it is open. ``log_metric`` appends a point to an in-memory list (no I/O,
no lock); ``log_param`` and ``tag`` set a dictionary entry; ``input`` hashes a local file through the
hash cache when it is declared (one ``stat`` when it is unchanged); ``output`` is hashed (and stored,
when asked) when the run ends, so it may be declared before it is written. When the run starts and
when it ends a record is queued for the background thread, which builds the START and the
COMPLETE / FAIL event (the latter carrying every parameter, the full metric series, inputs and outputs).

RUNNING events: once ``running_points`` (10,000) metric points were logged since the run's last event,
or ``running_seconds`` (300 s) have passed since it and new points exist, the next ``log_metric``
queues a RUNNING event with the points logged since the last event (``threadline_metrics`` with
``complete: false``). The final event still carries every point.

The current run is kept in a context variable, so each thread and each asyncio task sees its own
stack; a thread started without one sees the innermost run open in the process. A run started
inside another becomes its child (the OpenLineage ``parent`` facet, with the root run of the tree).

Pipelines: a run of ``pipeline="etl"`` is a step of the pipeline ``etl``, a child of a run of the job
``etl``. When no run of ``etl`` encloses it, the SDK opens one (an *implicit pipeline run*: a child of
the enclosing run, if any) and every later step of ``etl`` under the same enclosing run in this
process joins it. It ends when its enclosing run ends, else when the process ends (or the tracker is
reconfigured), at the end time of its last step: FAIL if a step failed, ABORT if one was aborted, else
COMPLETE. So what is named a pipeline is a job with its steps under it, as for Airflow or dbt
(``catalog/pipelines.py``).
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar, Token
from enum import Enum
from typing import Any, TypeVar, overload

from threadline.errors import TrackingError
from threadline.openlineage.versions import TERMINAL_TYPES, EventType
from threadline.tracking.records import PARENT_ENV, EventRecord, RunRef, error_of
from threadline.tracking.tracker import Tracker, get_tracker, on_close, on_exit, warn_once

F = TypeVar("F", bound=Callable[..., Any])

_current: ContextVar[Run | None] = ContextVar("threadline_current_run", default=None)
#: Runs open in this process, oldest first: what a thread without a current run of its own sees.
_open_runs: list[Run] = []
_open_lock = threading.Lock()
#: The implicit pipeline runs (see the module docstring), by (namespace, pipeline, enclosing run id).
_pipelines: dict[tuple[str, str, str | None], Run] = {}


class RunLife(Enum):
    """Where a :class:`Run` object is in its life in this process."""

    NEW = "new"  #: made, not started
    ACTIVE = "active"  #: started, not ended
    ENDED = "ended"
    FOREIGN = "foreign"  #: a run of the parent process, seen in a child: the parent ends it


#: Step arguments of these types are logged as parameters (strings cut to this length).
_SCALARS = (str, int, float, bool)
_MAX_ARG_TEXT = 200


class Run:
    """One run of a job: parameters, metrics, inputs, outputs and tags, sent as OpenLineage events.

    Make one with :func:`threadline.run`; use it as a context manager (or call :meth:`start` and
    :meth:`end`). ``run.id`` is the run's UUID.
    """

    __slots__ = (
        "_error",
        "_implicit",
        "_inputs",
        "_last_step_end",
        "_metrics",
        "_output_facets",
        "_outputs",
        "_pending_points",
        "_running_at",
        "_running_points",
        "_running_seconds",
        "_saved_env",
        "_sent",
        "_state",
        "_step_failure",
        "_token",
        "_tracker",
        "children",
        "description",
        "flush_on_end",
        "id",
        "name",
        "namespace",
        "params",
        "parent",
        "pid",
        "pipeline",
        "root",
        "started_at",
        "tags",
    )

    def __init__(
        self,
        name: str,
        *,
        pipeline: str | None = None,
        params: dict[str, Any] | None = None,
        tags: dict[str, Any] | None = None,
        description: str | None = None,
        parent: Run | None = None,
        namespace: str | None = None,
        flush: bool = False,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            msg = f"a run needs a non-empty name, got {name!r}"
            raise TrackingError(msg)
        self.id = str(uuid.uuid4())
        self.name = name
        self.pipeline = pipeline
        self.params: dict[str, Any] = dict(params or {})
        self.tags: dict[str, str] = {str(k): str(v) for k, v in (tags or {}).items()}
        self.description = description
        self.parent: Run | RunRef | None = parent
        self.namespace = namespace
        self.flush_on_end = flush
        self.root: RunRef | None = None
        self.children = 0
        self.pid = os.getpid()
        self.started_at: float | None = None
        self._tracker: Tracker | None = None
        self._state = RunLife.NEW
        self._metrics: dict[str, list[tuple[int, float, float]]] = {}
        self._sent: dict[str, int] = {}
        self._inputs: dict[tuple[str, str], Any] = {}
        self._outputs: dict[tuple[str, str], tuple[Any, str, bool | None]] = {}
        self._output_facets: dict[tuple[str, str], tuple[dict[str, Any] | None, dict[str, Any] | None]] = {}
        self._token: Token[Run | None] | None = None
        self._saved_env: str | None = None
        self._error: tuple[str, str] | None = None
        self._pending_points = 0
        self._running_points = 10_000
        self._running_seconds = 300.0
        self._running_at = 0.0
        self._implicit = False
        self._last_step_end: float | None = None
        self._step_failure: tuple[EventType, str, str] | None = None  # status, step, message

    def __repr__(self) -> str:
        return f"<threadline Run {self.job_name} {self.id}>"

    # ---- identity -------------------------------------------------------------------------------

    @property
    def job_name(self) -> str:
        """The OpenLineage job name: ``pipeline.name`` inside a pipeline, else ``name``."""
        if self.pipeline and self.pipeline != self.name:
            return f"{self.pipeline}.{self.name}"
        return self.name

    @property
    def ref(self) -> RunRef:
        """This run as a reference (run id, job namespace and name, pipeline)."""
        return RunRef(self.id, self.namespace or "default", self.job_name, self.pipeline or self.name)

    @property
    def active(self) -> bool:
        """Whether the run has started and not ended."""
        return self._state == RunLife.ACTIVE

    # ---- life cycle -----------------------------------------------------------------------------

    def start(self) -> Run:
        """Start the run: it becomes the current run and its START event is queued."""
        if self._state != RunLife.NEW:
            msg = f"run {self.id} was already started; make a new one with threadline.run(...)"
            raise TrackingError(msg)
        tracker = get_tracker()
        self._tracker = tracker
        enclosing = current_run() if not self._implicit else None
        if not (self._implicit and self.started_at):  # a pipeline run starts with its first step
            self.started_at = time.time()
        self._state = RunLife.ACTIVE
        if not self._implicit:  # a pipeline run the SDK opened is nobody's current run
            self._token = _current.set(self)
        self.pid = os.getpid()
        if tracker.disabled:
            return self
        try:
            _install_excepthook()
            self._resolve_parent(tracker, enclosing)
            self._running_points = tracker.setting("running_points")
            self._running_seconds = tracker.setting("running_seconds")
            self._running_at = self.started_at + self._running_seconds
            if not self._implicit:
                with _open_lock:
                    _open_runs.append(self)
            if not self._implicit and threading.current_thread() is threading.main_thread():
                # Processes started from here (spawn, subprocess) learn that they run inside this run.
                self._saved_env = os.environ.get(PARENT_ENV, "")
                os.environ[PARENT_ENV] = self.ref.to_env(self.root)
            tracker.submit(self._record(EventType.START))
        except Exception as exc:  # tracking never fails the user's code
            warn_once(f"start:{exc.__class__.__name__}", "cannot record the start of a run: %s", exc)
        return self

    def _resolve_parent(self, tracker: Tracker, enclosing: Run | None) -> None:
        parent = self.parent
        if parent is None and enclosing is not None:
            parent = self.parent = enclosing
        handed_root: RunRef | None = None
        if parent is None:  # the process that started this one may have handed its run down
            handed = RunRef.from_env()
            if handed is not None:
                parent, handed_root = handed
                self.parent = parent
                if self.pipeline is None:
                    self.pipeline = parent.pipeline
        named = self.pipeline
        if named and named != self.name and not _within_pipeline(parent, named, handed_root):
            parent = self.parent = _pipeline_run(tracker, named, parent, self.namespace, self.started_at)
        root: RunRef | None = None
        if isinstance(parent, Run):
            parent.children += 1
            if self.pipeline is None:
                self.pipeline = parent.pipeline or parent.name
            if self.namespace is None:
                self.namespace = parent.namespace
            root = parent.root or parent.ref
        elif parent is not None:
            root = handed_root or parent
        if self.namespace is None:
            self.namespace = tracker.namespace
        self.root = root

    def end(self, status: EventType | str = EventType.COMPLETE, error: BaseException | None = None) -> None:
        """End the run: ``COMPLETE``, ``FAIL`` or ``ABORT`` (``error`` gives the errorMessage facet)."""
        if self._state != RunLife.ACTIVE:
            if self._state == RunLife.NEW:
                msg = f"run {self.id} was never started"
                raise TrackingError(msg)
            return  # ended already, or a copy of a parent process's run (the parent ends it)
        if status not in TERMINAL_TYPES:
            msg = f"a run ends COMPLETE, FAIL or ABORT, not {status!r}"
            raise TrackingError(msg)
        status = EventType(status)
        tracker = self._close()
        if tracker is None or tracker.disabled:
            return
        if error is not None:
            self._error = error_of(error)
        ended = time.time()
        parent = self.parent
        if isinstance(parent, Run) and parent._implicit:
            parent._step_ended(self, status, ended)
        try:
            record = self._record(status, final=True, succeeded=status == EventType.COMPLETE, at=ended)
        except Exception as exc:  # never let tracking turn a finished run into a crash
            warn_once(f"end:{exc.__class__.__name__}", "cannot record the outputs of a run: %s", exc)
            self._outputs.clear()
            record = self._record(status, final=True, succeeded=status == EventType.COMPLETE, at=ended)
        tracker.submit(record)
        if self.flush_on_end or (
            (not isinstance(self.parent, Run) or self.parent.pid != self.pid) and _in_worker()
        ):
            tracker.flush(tracker.setting("flush_timeout"))

    def _close(self) -> Tracker | None:
        """Stop this run in this process: its implicit pipeline runs end, it is no longer current nor
        open, and the processes started from here no longer learn that they run inside it."""
        _end_pipelines(lambda pipeline: pipeline.parent is self)  # its implicit pipeline runs first
        self._state = RunLife.ENDED
        tracker = self._tracker
        if self._token is not None:
            try:
                _current.reset(self._token)
            except ValueError:  # ended in another context than it started in: just drop it
                if _current.get() is self:
                    _current.set(None)
            self._token = None
        if tracker is None or tracker.disabled:
            return tracker
        with _open_lock:
            if self in _open_runs:
                _open_runs.remove(self)
        if self._saved_env is not None and threading.current_thread() is threading.main_thread():
            if self._saved_env:
                os.environ[PARENT_ENV] = self._saved_env
            else:
                os.environ.pop(PARENT_ENV, None)
        return tracker

    def leave_open(self) -> None:
        """Stop recording this run in this process *without* ending it: a RUNNING event records its
        parameters and tags as they are now, and another process ends it later (a pipeline run
        awaiting approval: ``threadline pipeline approve`` ends it). Leaving a ``with`` block around
        it afterwards changes nothing; the process's exit does not end it either."""
        if self._state != RunLife.ACTIVE:
            msg = f"run {self.id} is not open in this process"
            raise TrackingError(msg)
        tracker = self._close()
        if tracker is None or tracker.disabled:
            return
        tracker.submit(self._record(EventType.RUNNING, at=time.time()))

    def __enter__(self) -> Run:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if exc is None or (isinstance(exc, SystemExit) and exc.code in (None, 0)):
            self.end(EventType.COMPLETE)
        elif isinstance(exc, KeyboardInterrupt | GeneratorExit):
            self.end(EventType.ABORT, exc)
        else:
            self.end(EventType.FAIL, exc)

    # ---- what a run records ---------------------------------------------------------------------

    def _usable(self, what: str) -> bool:
        if self._state == RunLife.ACTIVE:
            return True
        if self._state == RunLife.FOREIGN:
            warn_once(
                f"foreign:{what}",
                "%s on a run of the parent process is ignored in a child process; "
                "start a run in the child (it becomes a child run)",
                what,
            )
        elif self._state == RunLife.ENDED:
            warn_once(f"ended:{what}", "%s on a run that has ended is ignored", what)
        else:
            warn_once(
                f"new:{what}", "%s on a run that has not started is ignored; use `with` or start()", what
            )
        return False

    def log_param(self, name: str, value: Any) -> None:
        """Record a parameter (the last value given for a name wins)."""
        if self._state == RunLife.ACTIVE or self._usable("log_param"):
            self.params[str(name)] = value

    def log_params(self, params: dict[str, Any]) -> None:
        """Record several parameters."""
        if self._state == RunLife.ACTIVE or self._usable("log_params"):
            for name, value in params.items():
                self.params[str(name)] = value

    def log_metric(self, name: str, value: float, step: int | None = None) -> None:
        """Append a point to the metric's series; ``step`` defaults to the point's index in it."""
        if self._state != RunLife.ACTIVE and not self._usable("log_metric"):
            return
        try:
            number = float(value)
        except (TypeError, ValueError):
            warn_once(f"metric:{name}", "metric %r got %r, which is not a number; ignored", name, value)
            return
        series = self._metrics.get(name)
        if series is None:
            series = self._metrics.setdefault(name, [])
        now = time.time()
        series.append((len(series) if step is None else int(step), number, now))
        self._pending_points += 1
        if self._pending_points >= self._running_points or now >= self._running_at:
            self._running_event(now)

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        """Append a point to each metric's series."""
        for name, value in metrics.items():
            self.log_metric(name, value, step)

    def tag(self, key: str, value: Any) -> None:
        """Set a tag (the standard OpenLineage ``tags`` run facet)."""
        if self._state == RunLife.ACTIVE or self._usable("tag"):
            self.tags[str(key)] = str(value)

    def input(
        self,
        target: str | os.PathLike[str],
        kind: str = "dataset",
        *,
        facets: dict[str, Any] | None = None,
        input_facets: dict[str, Any] | None = None,
    ) -> Any:
        """Declare an input (a path or a URI); returns ``target`` unchanged, for use in place.

        A local file or folder is hashed now (through the hash cache), so the run records the content
        it read. Raises :class:`TrackingError` when a local path does not exist or cannot be read.
        ``facets`` (dataset facets) and ``input_facets`` (e.g. ``dataQualityAssertions``) are OpenLineage
        facets, as JSON documents by name, added to the dataset in the run's final event.
        """
        if self._state != RunLife.ACTIVE and not self._usable("input"):
            return target
        tracker = self._tracker
        if tracker is None or tracker.disabled:
            return target
        store = bool(tracker.setting("store_inputs"))
        ref = _describe(tracker, target, kind, store=store, role="input")
        if ref is not None:
            if facets:
                ref.facets = {**(ref.facets or {}), **facets}
            if input_facets:
                ref.io_facets = {**(ref.io_facets or {}), **input_facets}
            self._inputs[(ref.namespace, ref.name)] = ref
        return target

    def output(
        self,
        target: str | os.PathLike[str],
        kind: str = "dataset",
        store: bool | None = None,
        *,
        facets: dict[str, Any] | None = None,
        output_facets: dict[str, Any] | None = None,
    ) -> Any:
        """Declare an output; returns ``target`` unchanged. It is hashed when the run ends.

        ``store=True`` (or the ``store_outputs`` setting) also stores its bytes in the artifact store.
        ``facets`` (dataset facets, e.g. ``columnLineage``) and ``output_facets`` (e.g.
        ``outputStatistics``) are OpenLineage facets, as JSON documents by name, added to the dataset.
        """
        if self._state != RunLife.ACTIVE and not self._usable("output"):
            return target
        tracker = self._tracker
        if tracker is None or tracker.disabled:
            return target
        from threadline.tracking.content import dataset_name

        namespace, name, _ = dataset_name(target)
        self._outputs[(namespace, name)] = (target, kind, store)
        if facets or output_facets:
            self._output_facets[(namespace, name)] = (facets, output_facets)
        return target

    # ---- records --------------------------------------------------------------------------------

    def _step_ended(self, step: Run, status: EventType, when: float) -> None:
        """A step of this implicit pipeline run ended at ``when``: remember it, and the first failure."""
        self._last_step_end = when
        if status != EventType.COMPLETE and (
            self._step_failure is None or self._step_failure[0] == EventType.ABORT
        ):
            message = step._error[0] if step._error else status
            self._step_failure = (status, step.name, message)

    def _finish(self, error: BaseException | None = None) -> None:
        """End an implicit pipeline run as its steps ended (see the module docstring)."""
        if self._state != RunLife.ACTIVE:
            return
        if error is not None:
            self.end(EventType.FAIL, error)
            return
        failure = self._step_failure
        if failure is None:
            self.end(EventType.COMPLETE)
            return
        status, step, message = failure
        self._error = (f"step {step} ended {status}: {message}", "")
        self.end(status)

    def _record(
        self, event_type: EventType, *, final: bool = False, succeeded: bool = True, at: float | None = None
    ) -> EventRecord:
        now = at if at is not None else time.time()
        if final and self._implicit and self._last_step_end is not None:
            now = self._last_step_end  # a pipeline run ends with its last step
        record = EventRecord(
            event_type=event_type,
            time=now if final or event_type != EventType.START else (self.started_at or now),
            run=self.ref,
            parent=self.parent.ref if isinstance(self.parent, Run) else self.parent,
            root=self.root,
            job_type=self._job_type(),
            description=self.description,
            params=dict(self.params),
            tags=dict(self.tags),
        )
        if final:
            record.metrics = {name: list(points) for name, points in self._metrics.items()}
            record.inputs = list(self._inputs.values())
            record.outputs = self._describe_outputs(succeeded)
            record.error = self._error
        return record

    def _job_type(self) -> str:
        if self.children:
            return "PIPELINE"
        return "STEP" if self.parent is not None else "JOB"

    def _describe_outputs(self, succeeded: bool) -> list[Any]:
        tracker = self._tracker
        assert tracker is not None
        refs = []
        default_store = bool(tracker.setting("store_outputs"))
        from threadline.tracking.content import DatasetRef, dataset_name

        for key, (target, kind, store) in self._outputs.items():
            try:
                ref = _describe(
                    tracker,
                    target,
                    kind,
                    store=default_store if store is None else store,
                    role="output",
                    strict=True,
                )
            except TrackingError as exc:
                if succeeded:
                    warn_once(f"output:{exc.message}", "%s; it is recorded without its content", exc.message)
                namespace, name, path = dataset_name(target)
                ref = DatasetRef(namespace, name, kind, path=path)
            if ref is not None:
                extra, io_extra = self._output_facets.get(key, (None, None))
                if extra:
                    ref.facets = {**(ref.facets or {}), **extra}
                if io_extra:
                    ref.io_facets = {**(ref.io_facets or {}), **io_extra}
                refs.append(ref)
        return refs

    def _running_event(self, now: float) -> None:
        self._pending_points = 0
        self._running_at = now + self._running_seconds
        tracker = self._tracker
        if tracker is None or tracker.disabled:
            return
        chunk: dict[str, list[tuple[int, float, float]]] = {}
        for name, points in list(self._metrics.items()):
            start = self._sent.get(name, 0)
            if len(points) > start:
                chunk[name] = points[start:]
                self._sent[name] = len(points)
        if not chunk:
            return
        record = self._record(EventType.RUNNING)
        record.metrics = chunk
        record.metrics_complete = False
        record.time = now
        tracker.submit(record)


def _describe(
    tracker: Tracker, target: Any, kind: str, *, store: bool, role: str, strict: bool = False
) -> Any:
    """Describe a dataset; an unexpected failure is a warning and a dataset without content."""
    from threadline.tracking.content import DatasetRef, dataset_name

    try:
        return tracker.reader().describe(target, kind, store=store, role=role)
    except TrackingError:
        raise
    except Exception as exc:
        warn_once(f"describe:{exc.__class__.__name__}", "cannot hash %s %s (%s)", role, target, exc)
        if strict:
            raise TrackingError(f"cannot hash {role} {target}: {exc}") from exc
        try:
            namespace, name, path = dataset_name(target)
        except Exception:
            return None
        return DatasetRef(namespace, name, kind, path=path)


def _in_worker() -> bool:
    """Whether this process was started by ``multiprocessing``: its workers may be terminated without
    notice (``Pool.terminate``), so the outermost run of such a process delivers its events as it ends."""
    mp = sys.modules.get("multiprocessing")
    return mp is not None and mp.parent_process() is not None


def _within_pipeline(parent: Run | RunRef | None, pipeline: str, root: RunRef | None = None) -> bool:
    """Whether ``parent`` is a run of the job ``pipeline`` or one below such a run (``root``: the root
    of a run handed down by the process that started this one)."""
    while isinstance(parent, Run):
        if parent.job_name == pipeline:
            return True
        parent = parent.parent
    if isinstance(parent, RunRef):
        return pipeline in (parent.name, parent.pipeline) or (root is not None and root.name == pipeline)
    return False


def _pipeline_run(
    tracker: Tracker,
    pipeline: str,
    enclosing: Run | RunRef | None,
    namespace: str | None,
    started_at: float | None,
) -> Run:
    """The implicit run of ``pipeline`` under ``enclosing`` (see the module docstring), started the
    first time a step of it starts."""
    if namespace is None:
        namespace = enclosing.namespace if isinstance(enclosing, Run | RunRef) else None
    namespace = namespace or tracker.namespace
    enclosing_id = enclosing.id if isinstance(enclosing, Run) else enclosing.run_id if enclosing else None
    key = (namespace, pipeline, enclosing_id)
    with _open_lock:
        found = _pipelines.get(key)
        if found is not None and found._state in (RunLife.ACTIVE, RunLife.FOREIGN):
            return found
        made = Run(pipeline, pipeline=pipeline, parent=enclosing, namespace=namespace)  # type: ignore[arg-type]
        made._implicit = True
        made.started_at = started_at
        _pipelines[key] = made
    made.start()
    return made


def _end_pipelines(which: Callable[[Run], bool], error: BaseException | None = None) -> None:
    """End the implicit pipeline runs of this process that ``which`` selects."""
    with _open_lock:
        chosen = [(key, run) for key, run in _pipelines.items() if which(run)]
        for key, _ in chosen:
            del _pipelines[key]
    for _, pipeline in chosen:
        if pipeline._state == RunLife.ACTIVE and pipeline.pid == os.getpid():
            pipeline._finish(error)


def _end_tracker_pipelines(tracker: Tracker) -> None:
    """A tracker closes (``configure``, ``reset``): end the implicit pipeline runs it recorded, as their
    steps ended (an error of the process is the exit hook's to judge, see :func:`_end_open_runs`)."""
    _end_pipelines(lambda pipeline: pipeline._tracker is tracker)


def current_run() -> Run | None:
    """The innermost open run of this thread or task; else the newest open run of the process."""
    current = _current.get()
    if current is not None:
        return current
    with _open_lock:
        return _open_runs[-1] if _open_runs else None


def run(
    name: str,
    *,
    pipeline: str | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    description: str | None = None,
    parent: Run | None = None,
    namespace: str | None = None,
    flush: bool = False,
) -> Run:
    """A new run of the job ``name`` (``pipeline.name`` when a pipeline is given or inherited).

    Use it as a context manager: ``with threadline.run("train", params={"lr": 0.1}) as run:``. An
    exception inside ends the run FAIL (with the ``errorMessage`` facet) and propagates. ``parent``
    (a run) overrides the enclosing run. ``flush=True`` waits at the end until the run's
    events reached the transport (the store, the journal, …).
    """
    return Run(
        name,
        pipeline=pipeline,
        params=params,
        tags=tags,
        description=description,
        parent=parent,
        namespace=namespace,
        flush=flush,
    )


def _call_params(
    signature: inspect.Signature | None, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any]:
    if signature is None:
        return {}
    try:
        bound = signature.bind_partial(*args, **kwargs)
        bound.apply_defaults()
    except TypeError:
        return {}
    params = {}
    for key, value in bound.arguments.items():
        if isinstance(value, (_SCALARS, os.PathLike)):
            text = os.fspath(value) if isinstance(value, os.PathLike) else value
            params[key] = text[:_MAX_ARG_TEXT] if isinstance(text, str) else text
    return params


@overload
def step(func: F) -> F: ...
@overload
def step(
    step_name: str | None = None,
    /,
    *,
    pipeline: str | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    description: str | None = None,
    log_args: bool = True,
    name: str | None = None,
) -> Callable[[F], F]: ...


def step(
    func: Any = None,
    *,
    pipeline: str | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    description: str | None = None,
    log_args: bool = True,
    name: str | None = None,
) -> Any:
    """Make every call of a function a run: ``@threadline.step`` or ``@threadline.step("name", ...)``.

    The run is named after the function (or ``name``), documented by its docstring, and is a child of
    the run open where it is called (the pipeline run). With ``log_args`` (the default) the call's
    arguments that are strings, numbers, booleans or paths are logged as parameters. Works for plain
    and ``async`` functions.
    """
    if isinstance(func, str):
        name, func = func, None

    def decorate(function: F) -> F:
        run_name = name or function.__name__
        doc = description or (inspect.getdoc(function) or None)
        try:
            signature = inspect.signature(function) if log_args else None
        except (TypeError, ValueError):
            signature = None

        def make(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Run:
            merged = {**_call_params(signature, args, kwargs), **(params or {})}
            return Run(run_name, pipeline=pipeline, params=merged, tags=tags, description=doc)

        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with make(args, kwargs):
                    return await function(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with make(args, kwargs):
                return function(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate(func) if callable(func) else decorate


# ---- module-level helpers: act on the current run ---------------------------------------------------


def _current_or_warn(what: str) -> Run | None:
    current = _current.get()
    if current is None:
        current = current_run()
    if current is None:
        warn_once(
            f"norun:{what}", "threadline.%s outside a run is ignored; use `with threadline.run(...)`", what
        )
    return current


def log_param(name: str, value: Any) -> None:
    """Record a parameter on the current run."""
    current = _current_or_warn("log_param")
    if current is not None:
        current.log_param(name, value)


def log_params(params: dict[str, Any]) -> None:
    """Record parameters on the current run."""
    current = _current_or_warn("log_params")
    if current is not None:
        current.log_params(params)


def log_metric(name: str, value: float, step: int | None = None) -> None:
    """Append a point to a metric series of the current run."""
    current = _current.get()
    if current is None:
        current = _current_or_warn("log_metric")
        if current is None:
            return
    current.log_metric(name, value, step)


def log_metrics(metrics: dict[str, float], step: int | None = None) -> None:
    """Append a point to several metric series of the current run."""
    current = _current_or_warn("log_metrics")
    if current is not None:
        current.log_metrics(metrics, step)


def tag(key: str, value: Any) -> None:
    """Set a tag on the current run."""
    current = _current_or_warn("tag")
    if current is not None:
        current.tag(key, value)


def input(target: str | os.PathLike[str], kind: str = "dataset") -> Any:
    """Declare an input of the current run; returns ``target``."""
    current = _current_or_warn("input")
    return current.input(target, kind) if current is not None else target


def output(target: str | os.PathLike[str], kind: str = "dataset", store: bool | None = None) -> Any:
    """Declare an output of the current run; returns ``target``."""
    current = _current_or_warn("output")
    return current.output(target, kind, store) if current is not None else target


def _uncaught_error() -> BaseException | None:
    return getattr(sys, "last_value", None) or _uncaught[0]


def _end_open_runs() -> None:
    """At exit: runs left open (started with ``start()``) end COMPLETE, or FAIL after an uncaught error;
    then the implicit pipeline runs end."""
    with _open_lock:
        still_open = [r for r in _open_runs if r._state == RunLife.ACTIVE]
    error = _uncaught_error()
    for open_run in reversed(still_open):
        if error is not None:
            open_run.end(EventType.FAIL, error)
        else:
            open_run.end(EventType.COMPLETE)
    _end_pipelines(lambda pipeline: True, error)


_uncaught: list[BaseException | None] = [None]
_hook_installed: list[bool] = [False]


def _install_excepthook() -> None:
    """Remember an uncaught exception, so that runs left open end FAIL at exit (installed by the
    first run, chaining to the hook in place)."""
    if _hook_installed[0]:
        return
    _hook_installed[0] = True
    previous = sys.excepthook

    def hook(exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
        _uncaught[0] = exc
        previous(exc_type, exc, tb)

    sys.excepthook = hook


def _after_fork_in_child() -> None:
    """The child's copies of the parent's open runs are the parent's to record: mark them foreign.

    They still serve as parents: a run started in the child is their child run.
    """
    global _open_lock  # noqa: PLW0603 - another thread may have held it at the fork
    _open_lock = threading.Lock()
    for inherited in [*_open_runs, *_pipelines.values()]:
        if inherited._state == RunLife.ACTIVE:
            inherited._state = RunLife.FOREIGN
    current = _current.get()
    if current is not None and current._state == RunLife.ACTIVE:
        current._state = RunLife.FOREIGN


os.register_at_fork(after_in_child=_after_fork_in_child)
on_exit(_end_open_runs)
on_close(_end_tracker_pipelines)
