"""Parsing OpenLineage events off the wire: core validation, facet checks and event ids.

An event that breaks the core structure (eventTime, producer, run.runId, job and dataset identity) is
rejected with an :class:`~threadline.errors.InvalidEvent` naming the field. A facet that does not
match its schema is reported in ``ParsedEvent.problems`` and the event is kept whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid5

import msgspec

from threadline.errors import BadRequest, InvalidEvent
from threadline.openlineage.canonical import canonical_event, event_id
from threadline.openlineage.envelope import fits
from threadline.openlineage.facets import STANDARD_FACETS, FacetProblem, Location, check_facet
from threadline.openlineage.limits import EventLimits
from threadline.openlineage.timestamps import TimeOutOfRange, parse_time_noting
from threadline.openlineage.versions import (
    DATASET_EVENT,
    EVENT_TYPES,
    JOB_EVENT,
    RUN_EVENT,
    parse_schema_url,
)

#: Namespace of the UUIDs derived for runs whose producer sent a runId that is not a UUID.
RUN_ID_NAMESPACE = UUID("5d1f0c4e-8f7a-4b7e-9a53-2f3c1e0b9a11")
_decoder = msgspec.json.Decoder()
# A JSON escape for U+0000 not preceded by an escaped backslash: PostgreSQL text cannot hold it.
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_batch_decoder = msgspec.json.Decoder(list[msgspec.Raw])
_STANDARD_KEYS = {location: frozenset(facets) for location, facets in STANDARD_FACETS.items()}
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(slots=True)
class ParsedEvent:
    """An accepted event: its id, the exact bytes received and the fields the log indexes."""

    id: str
    raw: bytes
    kind: str
    event_time: int
    producer: str
    event_type: str | None = None
    run_id: str | None = None
    job_namespace: str | None = None
    job_name: str | None = None
    schema_url: str | None = None
    problems: list[FacetProblem] = field(default_factory=list)
    #: What the log stores for ``raw`` and how (see ``threadline.store.codec``), when prepared ahead
    #: of the append (the server does it in its parse workers); otherwise the store prepares it.
    payload: bytes | None = None
    codec: int = 0
    #: The site id of the store the event came from, when it arrives by sync (none when ingested).
    origin: str | None = None

    @property
    def spec_version(self) -> str | None:
        """The spec version named by the event's ``schemaURL``, if any."""
        return parse_schema_url(self.schema_url)[0]


def _require_str(container: dict[str, Any], key: str, path: str) -> str:
    value = container.get(key)
    where = f"{path}.{key}" if path else key
    if value is None:
        msg = f"{where} is required"
        raise InvalidEvent(msg, where)
    if not isinstance(value, str) or not value:
        msg = f"{where} must be a non-empty string, got {value!r}"
        raise InvalidEvent(msg, where)
    return value


def _require_object(container: dict[str, Any], key: str, path: str = "") -> dict[str, Any]:
    value = container.get(key)
    where = f"{path}.{key}" if path else key
    if value is None:
        msg = f"{where} is required"
        raise InvalidEvent(msg, where)
    if not isinstance(value, dict):
        msg = f"{where} must be a JSON object, got {type(value).__name__}"
        raise InvalidEvent(msg, where)
    return value


def _check_facets(
    container: dict[str, Any], key: str, location: Location, path: str, problems: list[FacetProblem]
) -> None:
    facets = container.get(key)
    if facets is None:
        return
    where = f"{path}.{key}"
    if not isinstance(facets, dict):
        problems.append(FacetProblem(where, key, f"{where} must be a JSON object of facets"))
        return
    for name, value in facets.items():
        problem = check_facet(location, name, value, f"{where}.{name}")
        if problem is not None:
            problems.append(problem)


def _check_custom_facets(
    container: dict[str, Any], key: str, location: Location, path: str, problems: list[FacetProblem]
) -> None:
    """:func:`_check_facets` for an event :func:`envelope.fits` vouched for: only facets that are not
    standard are left to check (their base fields)."""
    facets = container.get(key)
    if not facets or not facets.keys() - _STANDARD_KEYS[location]:
        return
    for name, value in facets.items():
        if name not in _STANDARD_KEYS[location]:
            problem = check_facet(location, name, value, f"{path}.{key}.{name}")
            if problem is not None:
                problems.append(problem)


def _check_datasets(doc: dict[str, Any], key: str, problems: list[FacetProblem]) -> None:
    datasets = doc.get(key)
    if datasets is None:
        return
    if not isinstance(datasets, list):
        msg = f"{key} must be an array of datasets, got {type(datasets).__name__}"
        raise InvalidEvent(msg, key)
    io_key, io_location = ("inputFacets", "input") if key == "inputs" else ("outputFacets", "output")
    for index, dataset in enumerate(datasets):
        path = f"{key}[{index}]"
        if not isinstance(dataset, dict):
            msg = f"{path} must be a JSON object with namespace and name"
            raise InvalidEvent(msg, path)
        _require_str(dataset, "namespace", path)
        _require_str(dataset, "name", path)
        _check_facets(dataset, "facets", "dataset", path, problems)
        _check_facets(dataset, io_key, io_location, path, problems)  # type: ignore[arg-type]


def _run_uuid(run_id: str, problems: list[FacetProblem]) -> str:
    """The run's UUID. A producer that sends another string (some do) is not refused: its events are
    kept, the run is filed under a UUID derived from the string, and the deviation is reported."""
    if _CANONICAL_UUID.fullmatch(run_id):
        return run_id
    try:
        return str(UUID(run_id))
    except ValueError:
        derived = str(uuid5(RUN_ID_NAMESPACE, run_id))
        message = f"run.runId {run_id!r} is not a UUID as the spec requires; the run is filed as {derived}"
        problems.append(FacetProblem("run.runId", "run", message))
        return derived


def _guess_kind(doc: dict[str, Any]) -> str | None:
    if "run" in doc or "eventType" in doc:
        return RUN_EVENT
    if "job" in doc:
        return JOB_EVENT
    if "dataset" in doc:
        return DATASET_EVENT
    return None


def _kind_of(doc: dict[str, Any]) -> str:
    kind = _guess_kind(doc)
    if kind is None:
        msg = "the event has no run, job or dataset: it is not a RunEvent, JobEvent or DatasetEvent"
        raise InvalidEvent(msg, "$")
    return kind


def parse_document(doc: Any, raw: bytes, *, fast: bool = True) -> ParsedEvent:
    """Validate a decoded event and build its :class:`ParsedEvent`; ``raw`` is kept as received.

    With ``fast`` (the default) an event that passes the typed check of :mod:`envelope` skips the
    Python walk over its standard facets; the result is the same either way.
    """
    if not isinstance(doc, dict):
        msg = f"an event must be a JSON object, got {type(doc).__name__}"
        raise InvalidEvent(msg, "$")
    if fast:
        guess = _guess_kind(doc)
        if guess is not None and fits(guess, doc):
            return _parse_checked(doc, raw, guess)
    problems: list[FacetProblem] = []
    event_time = _event_time(_require_str(doc, "eventTime", ""), problems)
    producer = _require_str(doc, "producer", "")
    schema_url = doc.get("schemaURL")
    if schema_url is not None and not isinstance(schema_url, str):
        msg = "schemaURL must be a string"
        raise InvalidEvent(msg, "schemaURL")
    kind = _kind_of(doc)
    parsed = ParsedEvent(
        id="", raw=raw, kind=kind, event_time=event_time, producer=producer, schema_url=schema_url
    )
    if kind == DATASET_EVENT:
        dataset = _require_object(doc, "dataset")
        _require_str(dataset, "namespace", "dataset")
        _require_str(dataset, "name", "dataset")
        _check_facets(dataset, "facets", "dataset", "dataset", problems)
    else:
        job = _require_object(doc, "job")
        parsed.job_namespace = _require_str(job, "namespace", "job")
        parsed.job_name = _require_str(job, "name", "job")
        _check_facets(job, "facets", "job", "job", problems)
        _check_datasets(doc, "inputs", problems)
        _check_datasets(doc, "outputs", problems)
    if kind == RUN_EVENT:
        event_type = doc.get("eventType")
        if event_type is not None and event_type not in EVENT_TYPES:
            msg = f"eventType must be one of {', '.join(EVENT_TYPES)}, got {event_type!r}"
            raise InvalidEvent(msg, "eventType")
        parsed.event_type = event_type
        run = _require_object(doc, "run")
        run_id = _require_str(run, "runId", "run")
        parsed.run_id = _run_uuid(run_id, problems)
        _check_facets(run, "facets", "run", "run", problems)
    parsed.problems = problems
    parsed.id = event_id(canonical_event(doc, raw))
    return parsed


def _event_time(text: str, problems: list[FacetProblem]) -> int:
    """The event's time in UTC microseconds; a time without a zone (or a date alone) is a problem."""
    try:
        micros, note = parse_time_noting(text)
    except TimeOutOfRange as exc:
        msg = f"eventTime {exc}"
        raise InvalidEvent(msg, "eventTime") from None
    except ValueError as exc:
        msg = f"eventTime {text!r} is not an ISO 8601 date-time (for example 2024-05-01T12:00:00Z)"
        raise InvalidEvent(msg, "eventTime") from exc
    if note is not None:
        problems.append(FacetProblem("eventTime", "eventTime", f"eventTime {note}"))
    return micros


def _parse_checked(doc: dict[str, Any], raw: bytes, kind: str) -> ParsedEvent:
    """:func:`parse_document` for an event :func:`envelope.fits` vouched for: the same result, with
    only what the typed check cannot see left to do (the time, the run id, custom facets)."""
    problems: list[FacetProblem] = []
    parsed = ParsedEvent(
        id="",
        raw=raw,
        kind=kind,
        event_time=_event_time(doc["eventTime"], problems),
        producer=doc["producer"],
        schema_url=doc.get("schemaURL"),
    )
    if kind == DATASET_EVENT:
        _check_custom_facets(doc["dataset"], "facets", "dataset", "dataset", problems)
    else:
        job = doc["job"]
        parsed.job_namespace = job["namespace"]
        parsed.job_name = job["name"]
        _check_custom_facets(job, "facets", "job", "job", problems)
        for key, io_key, io_location in (
            ("inputs", "inputFacets", "input"),
            ("outputs", "outputFacets", "output"),
        ):
            for index, dataset in enumerate(doc.get(key) or ()):
                path = f"{key}[{index}]"
                _check_custom_facets(dataset, "facets", "dataset", path, problems)
                _check_custom_facets(dataset, io_key, io_location, path, problems)  # type: ignore[arg-type]
    if kind == RUN_EVENT:
        parsed.event_type = doc.get("eventType")
        run = doc["run"]
        parsed.run_id = _run_uuid(run["runId"], problems)
        _check_custom_facets(run, "facets", "run", "run", problems)
    parsed.problems = problems
    parsed.id = event_id(canonical_event(doc, raw))
    return parsed


def parse_event(raw: bytes, limits: EventLimits | None = None) -> ParsedEvent:
    """Decode and validate one event from its JSON bytes; with ``limits``, refuse an event over them
    (:class:`~threadline.openlineage.limits.EventTooLarge`) before any other work on it."""
    return parse_with_document(raw, limits)[0]


def parse_with_document(raw: bytes, limits: EventLimits | None = None) -> tuple[ParsedEvent, Any]:
    """:func:`parse_event`, and the decoded JSON document beside it (not to be changed: the parse
    workers fold it without decoding the bytes again)."""
    try:
        doc = _decoder.decode(raw)
        if limits is not None and limits.could_exceed(len(raw)):
            limits.check(doc)
        event = parse_document(doc, raw)
    except msgspec.DecodeError as exc:
        msg = f"the body is not valid JSON: {exc}"
        raise InvalidEvent(msg, "$") from exc
    except RecursionError:
        msg = "the JSON is nested too deeply to be an OpenLineage event"
        raise InvalidEvent(msg, "$") from None
    if b"\\u0000" in raw and _NUL_ESCAPE.search(raw):
        msg = "the event contains a NUL character (\\u0000), which no store can hold as text; remove it"
        raise InvalidEvent(msg, "$")
    return event, doc


def split_batch(body: bytes) -> list[bytes]:
    """Split a JSON array of events into the exact bytes of each element."""
    try:
        elements = _batch_decoder.decode(body)
    except RecursionError:
        msg = "the JSON is nested too deeply to be a batch of OpenLineage events"
        raise BadRequest(msg) from None
    except msgspec.ValidationError as exc:
        msg = "a batch must be a JSON array of events"
        raise BadRequest(msg) from exc
    except msgspec.DecodeError as exc:
        msg = f"the body is not valid JSON: {exc}"
        raise BadRequest(msg) from exc
    return [bytes(element) for element in elements]


def split_document(data: bytes) -> Iterator[bytes]:
    """Yield the events of a file: one JSON object, a JSON array of objects, or JSON lines."""
    stripped = data.lstrip()
    if stripped.startswith(b"["):
        yield from split_batch(stripped)
        return
    try:
        msgspec.json.decode(stripped, type=msgspec.Raw)
    except msgspec.DecodeError:
        pass
    else:
        if stripped.strip():
            yield stripped.rstrip()
        return
    for line in data.splitlines():
        if line.strip():
            yield line.strip()
