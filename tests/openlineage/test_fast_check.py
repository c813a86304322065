"""The fast typed check (``envelope.fits``) never changes what parsing decides, only how fast."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threadline.errors import InvalidEvent
from threadline.openlineage.envelope import fits
from threadline.openlineage.events import _guess_kind, parse_document


def _outcome(doc: Any, fast: bool) -> object:
    raw = json.dumps(doc).encode()
    try:
        return parse_document(copy.deepcopy(doc), raw, fast=fast)
    except InvalidEvent as exc:
        return ("rejected", exc.message, exc.field)


def _corpus(conformance: Path, example_events: list[bytes]) -> list[Any]:
    files = sorted(conformance.glob("events/**/*.json")) + sorted(
        conformance.glob("scenarios/*/events/*.json")
    )
    docs = [json.loads(path.read_bytes()) for path in files]
    return docs + [json.loads(raw) for raw in example_events]


def test_fast_and_thorough_agree_on_the_corpus(conformance: Path, example_events: list[bytes]) -> None:
    docs = _corpus(conformance, example_events)
    assert len(docs) > 50
    for doc in docs:
        assert _outcome(doc, fast=True) == _outcome(doc, fast=False), doc
    # The fast check does vouch for the well-formed events (else this test would prove nothing).
    vouched = [doc for doc in docs if isinstance(doc, dict) and fits(_guess_kind(doc) or "", doc)]
    assert len(vouched) >= len(example_events)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=3) | st.just(""),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=6,
)
# Places in an event where a producer can go wrong, and the keys found there.
_KEYS = [
    "eventTime",
    "producer",
    "schemaURL",
    "eventType",
    "run",
    "job",
    "inputs",
    "outputs",
    "dataset",
    "runId",
    "namespace",
    "name",
    "facets",
    "inputFacets",
    "outputFacets",
    "_producer",
    "_schemaURL",
    "_deleted",
    "parent",
    "schema",
    "columnLineage",
    "sql",
    "fields",
    "type",
    "nominalTime",
    "symlinks",
    "dataQualityMetrics",
    "outputStatistics",
    "errorMessage",
    "ownership",
    "custom_facet",
]


def _containers(value: Any, found: list[Any]) -> list[Any]:
    if isinstance(value, dict):
        found.append(value)
        for child in value.values():
            _containers(child, found)
    elif isinstance(value, list):
        for child in value:
            _containers(child, found)
    return found


@pytest.fixture(scope="module")
def seeds(conformance: Path, example_events: list[bytes]) -> list[Any]:
    return _corpus(conformance, example_events)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fast_and_thorough_agree_on_mutated_events(seeds: list[Any], data: st.DataObject) -> None:
    doc = copy.deepcopy(data.draw(st.sampled_from(seeds)))
    for _ in range(data.draw(st.integers(1, 3))):
        containers = _containers(doc, [])
        if not containers:
            break
        target = data.draw(st.sampled_from(containers))
        key = data.draw(st.sampled_from([*target.keys(), *_KEYS]))
        if data.draw(st.booleans()) and key in target:
            del target[key]
        else:
            target[key] = data.draw(json_values)
    assert _outcome(doc, fast=True) == _outcome(doc, fast=False)
