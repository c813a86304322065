"""The conformance corpus's invalid events: accepted with the facet reported, or rejected naming the field."""

from __future__ import annotations

import pytest

from threadline.errors import InvalidEvent
from threadline.openlineage.events import parse_event

EXPECTED = {
    "fluentd-event_invalid_dataset_facet.json": ("outputs[0].facets.ownership", "ownership"),
    "fluentd-event_invalid_input_dataset_facet.json": (
        "inputs[0].inputFacets.dataQualityMetrics",
        "dataQualityMetrics",
    ),
    "fluentd-event_invalid_job_facet.json": ("job.facets.ownership", "ownership"),
    "fluentd-event_invalid_output_dataset_facet.json": (
        "outputs[0].outputFacets.outputStatistics",
        "outputStatistics",
    ),
    "fluentd-event_invalid_run_facet.json": ("run.facets.parent", "parent"),
}


def test_the_corpus_has_the_files_we_expect(conformance) -> None:
    names = {p.name for p in (conformance / "events" / "invalid").glob("*.json")}
    assert names == {*EXPECTED, "fluentd-event_no_run_id.json"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_an_event_with_a_broken_facet_is_accepted_and_the_facet_reported(conformance, name: str) -> None:
    raw = (conformance / "events" / "invalid" / name).read_bytes()
    parsed = parse_event(raw)
    path, facet = EXPECTED[name]
    assert [(p.path, p.facet) for p in parsed.problems] == [(path, facet)]
    assert path in parsed.problems[0].message
    assert parsed.raw == raw
    assert parsed.run_id == "41fb5137-f0fd-4ee5-ba5c-56f8571d1bd7"


def test_an_event_without_run_id_is_rejected_naming_run_run_id(conformance) -> None:
    raw = (conformance / "events" / "invalid" / "fluentd-event_no_run_id.json").read_bytes()
    with pytest.raises(InvalidEvent) as info:
        parse_event(raw)
    assert info.value.field == "run.runId"
    assert "run.runId" in info.value.message
