"""The events the SDK writes: valid OpenLineage 2-0-2, standard facets without problems, and custom
facets that match the JSON Schemas shipped in the package (where their ``_schemaURL`` points)."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource

import threadline
from tests.tracking.conftest import events_of, write_old
from threadline.openlineage.events import parse_event
from threadline.store import SqlStore
from threadline.tracking.events import build_event, to_bytes
from threadline.tracking.facets import CUSTOM_FACETS, SCHEMA_BASE_URL, schema_path, schema_url
from threadline.tracking.records import EventRecord, RunRef

SPEC_ID = "https://openlineage.io/spec/2-0-2/OpenLineage.json"


@pytest.fixture(scope="module")
def registry(conformance: Path) -> Registry:
    spec = json.loads((conformance / "spec" / "2-0-2" / "OpenLineage.json").read_text())
    resources = [(SPEC_ID, Resource.from_contents(spec))]
    for path in Path(schema_path(SCHEMA_BASE_URL)).glob("*/*.json"):
        document = json.loads(path.read_text())
        resources.append((document["$id"], Resource.from_contents(document)))
    return Registry().with_resources(resources)


def _validate(instance: Any, url: str, registry: Registry) -> None:
    validator = jsonschema.Draft202012Validator({"$ref": url}, registry=registry)
    errors = sorted(validator.iter_errors(instance), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]


def _sample_events(project: Path, store: SqlStore) -> list[dict[str, Any]]:
    write_old(project / "in.csv", "a,b\n1,2\n")
    (project / "out").mkdir()
    (project / "out" / "part-0.csv").write_text("c\n3\n")
    with threadline.run("pipe", params={"alpha": 0.5, "nested": {"k": [1, 2]}}) as pipe:
        try:
            with threadline.run("step", tags={"owner": "ml"}) as step:
                step.input("in.csv")
                step.input("s3://bucket/key.parquet")
                step.output("out", store=True)
                step.log_metric("loss", math.nan)
                step.log_metric("loss", 0.25)
                raise RuntimeError("boom")
        except RuntimeError:
            pass
    assert threadline.flush(30)
    events = events_of(store)
    snapshot = EventRecord(
        event_type="OTHER",
        time=time.time(),
        run=RunRef(step.id, step.namespace or "", step.job_name),
        snapshot=[{"namespace": "file", "name": "/x", "object": "blake3:" + "0" * 64, "run": step.id}],
        with_environment=False,
    )
    events.append(json.loads(to_bytes(build_event(snapshot, None, None))))
    assert len(events) == 5
    assert pipe.id
    return events


def test_events_are_valid_openlineage_with_valid_facets(
    project: Path, store: SqlStore, registry: Registry
) -> None:
    events = _sample_events(project, store)
    seen: set[str] = set()
    for event in events:
        _validate(event, f"{SPEC_ID}#/$defs/RunEvent", registry)
        assert parse_event(json.dumps(event).encode()).problems == []
        places = [("run", event["run"].get("facets", {}))]
        places += [
            ("dataset", d.get("facets", {})) for d in event.get("inputs", []) + event.get("outputs", [])
        ]
        for location, facets in places:
            for name, facet in facets.items():
                if name not in CUSTOM_FACETS:
                    continue
                assert CUSTOM_FACETS[name][0] == location
                url = facet["_schemaURL"]
                assert url.startswith(SCHEMA_BASE_URL)
                assert schema_path(url).is_file(), url
                _validate(facet, url, registry)
                seen.add(name)
    assert seen == set(CUSTOM_FACETS)


def test_every_schema_url_names_a_shipped_definition() -> None:
    for _location, facet_class in CUSTOM_FACETS.values():
        url = schema_url(facet_class.__name__)
        assert facet_class._get_schema() == url
        document = json.loads(schema_path(url).read_text())
        assert facet_class.__name__ in document["$defs"]
        assert document["$id"] == url.split("#", 1)[0]
        jsonschema.Draft202012Validator.check_schema(document)
