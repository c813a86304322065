"""Core validation of OpenLineage events: what is rejected, with which field, and what is accepted."""

from __future__ import annotations

import copy
import json
from typing import Any
from uuid import UUID

import pytest

from threadline.errors import InvalidEvent
from threadline.openlineage.events import RUN_ID_NAMESPACE, parse_document, parse_event
from threadline.openlineage.versions import DATASET_EVENT, JOB_EVENT, RUN_EVENT, SPEC_VERSIONS

RUN_ID = "3f5e83fa-3480-44ff-99c5-ff943904e5e8"


def run_event(**changes: Any) -> dict[str, Any]:
    """A minimal valid RunEvent, with top-level keys replaced by ``changes``."""
    event: dict[str, Any] = {
        "eventType": "START",
        "eventTime": "2024-05-01T12:00:00Z",
        "run": {"runId": RUN_ID},
        "job": {"namespace": "ns", "name": "job"},
        "inputs": [{"namespace": "db", "name": "in0"}, {"namespace": "db", "name": "in1"}],
        "outputs": [{"namespace": "db", "name": "out"}],
        "producer": "https://example.com/producer",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }
    event.update(changes)
    return event


def encode(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def rejected_field(doc: Any) -> str:
    with pytest.raises(InvalidEvent) as info:
        parse_event(encode(doc))
    assert info.value.status == 400
    assert info.value.field in info.value.message or info.value.field == "$"
    return info.value.field


def without(doc: dict[str, Any], *path: str | int) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    container: Any = doc
    for step in path[:-1]:
        container = container[step]
    del container[path[-1]]
    return doc


def replaced(doc: dict[str, Any], value: Any, *path: str | int) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    container: Any = doc
    for step in path[:-1]:
        container = container[step]
    container[path[-1]] = value
    return doc


def test_the_minimal_event_is_accepted() -> None:
    parsed = parse_event(encode(run_event()))
    assert parsed.kind == RUN_EVENT
    assert parsed.run_id == RUN_ID
    assert (parsed.job_namespace, parsed.job_name) == ("ns", "job")
    assert parsed.event_type == "START"
    assert parsed.problems == []
    assert parsed.event_time == 1714564800 * 1_000_000


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        pytest.param(without(run_event(), "eventTime"), "eventTime", id="eventTime-missing"),
        pytest.param(run_event(eventTime="yesterday"), "eventTime", id="eventTime-not-a-date"),
        pytest.param(run_event(eventTime=1714564800), "eventTime", id="eventTime-number"),
        pytest.param(without(run_event(), "producer"), "producer", id="producer-missing"),
        pytest.param(run_event(producer=""), "producer", id="producer-empty"),
        pytest.param(run_event(producer=7), "producer", id="producer-number"),
        pytest.param(without(run_event(), "run"), "run", id="run-missing"),
        pytest.param(run_event(run="abc"), "run", id="run-not-object"),
        pytest.param(without(run_event(), "run", "runId"), "run.runId", id="runId-missing"),
        pytest.param(replaced(run_event(), 42, "run", "runId"), "run.runId", id="runId-number"),
        pytest.param(replaced(run_event(), None, "run", "runId"), "run.runId", id="runId-null"),
        pytest.param(without(run_event(), "job"), "job", id="job-missing"),
        pytest.param(without(run_event(), "job", "namespace"), "job.namespace", id="job-namespace"),
        pytest.param(replaced(run_event(), 1, "job", "namespace"), "job.namespace", id="job-namespace-int"),
        pytest.param(without(run_event(), "job", "name"), "job.name", id="job-name"),
        pytest.param(without(run_event(), "inputs", 1, "name"), "inputs[1].name", id="inputs-1-name"),
        pytest.param(
            without(run_event(), "inputs", 0, "namespace"), "inputs[0].namespace", id="inputs-0-namespace"
        ),
        pytest.param(without(run_event(), "outputs", 0, "name"), "outputs[0].name", id="outputs-0-name"),
        pytest.param(replaced(run_event(), "x", "inputs", 1), "inputs[1]", id="inputs-1-not-object"),
        pytest.param(run_event(inputs={"a": 1}), "inputs", id="inputs-not-array"),
        pytest.param(run_event(eventType="DONE"), "eventType", id="eventType-not-in-enum"),
        pytest.param(run_event(eventType="start"), "eventType", id="eventType-lower-case"),
        pytest.param(run_event(schemaURL=3), "schemaURL", id="schemaURL-number"),
    ],
)
def test_a_broken_core_field_is_rejected_naming_it(doc: dict[str, Any], field: str) -> None:
    assert rejected_field(doc) == field


def dataset_event(**dataset: Any) -> dict[str, Any]:
    return {
        "eventTime": "2024-05-01T12:00:00Z",
        "producer": "https://example.com/producer",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": {"namespace": "db", "name": "table", **dataset},
    }


def test_dataset_event_identity_is_checked() -> None:
    assert rejected_field(without(dataset_event(), "dataset", "namespace")) == "dataset.namespace"
    assert rejected_field(without(dataset_event(), "dataset", "name")) == "dataset.name"
    assert rejected_field(dataset_event(namespace="")) == "dataset.namespace"
    assert rejected_field(replaced(dataset_event(), [], "dataset")) == "dataset"


@pytest.mark.parametrize("doc", [[], "event", 3, None, [run_event()]], ids=repr)
def test_a_document_that_is_not_an_object_is_rejected(doc: Any) -> None:
    assert rejected_field(doc) == "$"


def test_invalid_json_is_rejected() -> None:
    with pytest.raises(InvalidEvent) as info:
        parse_event(b'{"eventTime": ')
    assert info.value.field == "$"
    assert "JSON" in info.value.message


def test_an_object_that_is_no_kind_of_event_is_rejected() -> None:
    doc = {"eventTime": "2024-05-01T12:00:00Z", "producer": "p"}
    assert rejected_field(doc) == "$"


def test_a_non_uuid_run_id_is_accepted_with_a_problem_and_a_derived_uuid() -> None:
    # A documented decision: the conformance scenario simple_run_event sends runId "run_id".
    first = parse_event(encode(replaced(run_event(), "run_id", "run", "runId")))
    again = parse_event(encode(replaced(run_event(eventType="COMPLETE"), "run_id", "run", "runId")))
    other = parse_event(encode(replaced(run_event(), "run_id_2", "run", "runId")))
    assert UUID(first.run_id).version == 5
    assert first.run_id == again.run_id != other.run_id
    assert first.run_id != "run_id"
    assert [p.path for p in first.problems] == ["run.runId"]
    assert "run_id" in first.problems[0].message
    assert first.problems[0].to_dict()["path"] == "run.runId"
    # The derivation is a fixed function of the string, not of the process.
    from uuid import uuid5

    assert first.run_id == str(uuid5(RUN_ID_NAMESPACE, "run_id"))
    # The raw event is kept as sent.
    assert b'"run_id"' in first.raw


def test_uuid_run_ids_are_normalised_to_lower_case() -> None:
    parsed = parse_event(encode(replaced(run_event(), RUN_ID.upper(), "run", "runId")))
    assert parsed.run_id == RUN_ID
    assert parsed.problems == []


@pytest.mark.parametrize(
    "text",
    [
        "2024-05-01T12:00:00Z",
        "2024-05-01T14:00:00+02:00",
        "2024-05-01T12:00:00.000000Z",
        "2024-05-01T12:00:00",
    ],
)
def test_event_times_are_utc_microseconds(text: str) -> None:
    assert parse_event(encode(run_event(eventTime=text))).event_time == 1714564800 * 1_000_000


def test_event_time_keeps_fractions() -> None:
    parsed = parse_event(encode(run_event(eventTime="2024-05-01T12:00:00.123456+00:00")))
    assert parsed.event_time == 1714564800 * 1_000_000 + 123456


# ---- every spec version -----------------------------------------------------------------------------


def _schema_url(version: str, kind: str) -> str:
    defs = "definitions" if version in ("1-0-0", "1-0-1") else "$defs"
    return f"https://openlineage.io/spec/{version}/OpenLineage.json#/{defs}/{kind}"


def minimal_event(version: str, kind: str) -> dict[str, Any]:
    base = {
        "eventTime": "2024-05-01T12:00:00.000Z",
        "producer": "https://example.com/producer",
        "schemaURL": _schema_url(version, kind),
    }
    if kind == RUN_EVENT:
        return {
            **base,
            "eventType": "COMPLETE",
            "run": {"runId": RUN_ID},
            "job": {"namespace": "ns", "name": "job"},
            "inputs": [{"namespace": "db", "name": "a"}],
            "outputs": [{"namespace": "db", "name": "b"}],
        }
    if kind == JOB_EVENT:
        return {
            **base,
            "job": {"namespace": "ns", "name": "job"},
            "inputs": [{"namespace": "db", "name": "a"}],
            "outputs": [{"namespace": "db", "name": "b"}],
        }
    return {**base, "dataset": {"namespace": "db", "name": "a"}}


VERSION_KINDS = [(version, RUN_EVENT) for version in SPEC_VERSIONS] + [
    (version, kind)
    for version in SPEC_VERSIONS
    if version.startswith("2-")
    for kind in (JOB_EVENT, DATASET_EVENT)
]


def test_spec_versions_cover_1_0_0_to_2_0_2(conformance) -> None:
    published = sorted(p.parent.name for p in (conformance / "spec").glob("*-*-*/OpenLineage.json"))
    assert sorted(SPEC_VERSIONS) == published


@pytest.mark.parametrize(("version", "kind"), VERSION_KINDS, ids=[f"{v}-{k}" for v, k in VERSION_KINDS])
def test_every_event_kind_of_every_spec_version_is_accepted(conformance, version: str, kind: str) -> None:
    import jsonschema

    doc = minimal_event(version, kind)
    spec = json.loads((conformance / "spec" / version / "OpenLineage.json").read_text())
    defs = "definitions" if "definitions" in spec else "$defs"
    # The event built here is valid under that version's own schema...
    root = {key: value for key, value in spec.items() if key not in ("oneOf", "anyOf", "$ref")}
    jsonschema.validate(doc, {**root, "$ref": f"#/{defs}/{kind}"})
    # ...and threadline accepts it as that kind and version.
    parsed = parse_event(encode(doc))
    assert parsed.kind == kind
    assert parsed.spec_version == version
    assert parsed.problems == []
    if kind == DATASET_EVENT:
        assert parsed.run_id is None
        assert parsed.job_name is None
    elif kind == JOB_EVENT:
        assert parsed.run_id is None
        assert parsed.event_type is None
        assert parsed.job_name == "job"
    else:
        assert parsed.run_id == RUN_ID


# Files of events/valid that are not events: the python client's test of a NominalTimeRunFacet.
FACET_FILES = {"client-python-nominal_time_without_end.json": ("run", "nominalTime")}
# Accepted, with a problem that is real: dataQualityMetrics requires columnMetrics in every spec version
# (1-0-0 to the current one), and this event's facet has none.
KNOWN_PROBLEMS = {
    "fluentd-event_full.json": ["inputs[0].inputFacets.dataQualityMetrics"],
    # openlineage-python's examples write datetime.now().isoformat(): a time without a zone.
    "client-python-serde_example_dataset_event.json": ["eventTime"],
    "client-python-serde_example_job_event.json": ["eventTime"],
    "client-python-serde_example_run_event.json": ["eventTime"],
}


def test_every_valid_conformance_event_is_accepted(conformance) -> None:
    from threadline.openlineage.facets import check_facet

    files = sorted((conformance / "events" / "valid").glob("*.json"))
    assert len(files) >= 7
    for path in files:
        if path.name in FACET_FILES:
            location, key = FACET_FILES[path.name]
            assert check_facet(location, key, json.loads(path.read_bytes()), key) is None
            with pytest.raises(InvalidEvent):
                parse_event(path.read_bytes())
            continue
        parsed = parse_event(path.read_bytes())
        assert [p.path for p in parsed.problems] == KNOWN_PROBLEMS.get(path.name, []), path.name
        assert parsed.raw == path.read_bytes()


def test_every_scenario_event_is_accepted(conformance) -> None:
    files = sorted((conformance / "scenarios").glob("*/events/*.json"))
    assert len(files) >= 14
    for path in files:
        parsed = parse_event(path.read_bytes())
        expected = ["run.runId"] if path.parent.parent.name == "simple_run_event" else []
        assert [p.path for p in parsed.problems] == expected, path


def test_the_example_pipeline_events_are_accepted_without_problems(example_events: list[bytes]) -> None:
    assert len(example_events) >= 40
    for raw in example_events:
        assert parse_event(raw).problems == []


def test_parse_document_keeps_the_given_bytes() -> None:
    doc = run_event()
    raw = b"  " + encode(doc) + b"\n"
    assert parse_document(doc, raw).raw == raw
