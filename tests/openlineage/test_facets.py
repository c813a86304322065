"""Facet validation: the standard facets we model, the conformance fragments, and agreement with the
official JSON Schemas on broken facets."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from threadline.openlineage.events import parse_event
from threadline.openlineage.facets import STANDARD_FACETS, check_facet

BASE_TO_LOCATION = {
    "RunFacet": "run",
    "JobFacet": "job",
    "DatasetFacet": "dataset",
    "InputDatasetFacet": "input",
    "OutputDatasetFacet": "output",
}
REQUIRED_COVERAGE = {
    ("dataset", "schema"),
    ("dataset", "columnLineage"),
    ("dataset", "symlinks"),
    ("run", "parent"),
    ("job", "sql"),
    ("job", "ownership"),
    ("dataset", "ownership"),
    ("job", "documentation"),
    ("dataset", "documentation"),
    ("job", "sourceCodeLocation"),
    ("job", "jobType"),
    ("run", "errorMessage"),
    ("run", "nominalTime"),
    ("dataset", "dataSource"),
    ("dataset", "version"),
    ("dataset", "lifecycleStateChange"),
    ("input", "dataQualityMetrics"),
    ("input", "dataQualityAssertions"),
    ("output", "outputStatistics"),
    ("input", "inputStatistics"),
    ("run", "processing_engine"),
}


def facet_schema(conformance: Path, facet: str) -> dict[str, Any]:
    return json.loads((conformance / "spec" / "facets-current" / f"{facet}.json").read_text())


def placements(schema: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(location, key, definition name) of each facet a schema file defines."""
    (key,) = schema["properties"]
    for name, definition in schema["$defs"].items():
        for part in definition.get("allOf", ()):
            ref = part.get("$ref", "")
            if "OpenLineage.json#/$defs/" in ref:
                yield BASE_TO_LOCATION[ref.rsplit("/", 1)[1]], key, name


def test_the_registry_covers_the_standard_facets_we_rely_on() -> None:
    modeled = {(location, key) for location, facets in STANDARD_FACETS.items() for key in facets}
    assert modeled >= REQUIRED_COVERAGE, REQUIRED_COVERAGE - modeled


def test_the_registry_keys_are_the_spec_keys(conformance) -> None:
    """Every modeled (location, key) is one the spec defines (or a key it defines elsewhere)."""
    spec_keys = set()
    for path in (conformance / "spec" / "facets-current").glob("*.json"):
        spec_keys |= {(loc, key) for loc, key, _ in placements(json.loads(path.read_text()))}
    modeled = {(location, key) for location, facets in STANDARD_FACETS.items() for key in facets}
    # dataQualityAssertions is an input facet in the spec; we also check it on a dataset's facets.
    assert modeled - spec_keys <= {("dataset", "dataQualityAssertions")}


def fragments(conformance: Path) -> Iterator[tuple[str, Path]]:
    for folder in sorted((conformance / "facet-fragments").iterdir()):
        if folder.is_dir():
            for path in sorted(folder.glob("*.json")):
                yield folder.name, path


def test_every_facet_fragment_passes_under_its_standard_key(conformance) -> None:
    checked = set()
    for facet, path in fragments(conformance):
        schema = facet_schema(conformance, facet)
        fragment = json.loads(path.read_text())
        for location, key, _ in placements(schema):
            assert list(fragment) == [key], path
            if key not in STANDARD_FACETS[location]:
                continue  # a facet we do not model: only its base fields are checked
            assert check_facet(location, key, fragment[key], f"x.{key}") is None, path
            checked.add((location, key))
    assert len(checked) >= 25
    # The corpus has a fragment of every facet we rely on except inputStatistics.
    assert checked >= REQUIRED_COVERAGE - {("input", "inputStatistics")}


def test_the_full_example_event_of_the_fragments_is_accepted_without_problems(conformance) -> None:
    raw = (conformance / "facet-fragments" / "example_full_event.json").read_bytes()
    assert parse_event(raw).problems == []


@pytest.mark.parametrize(
    ("location", "key", "value"),
    [
        ("dataset", "schema", "not an object"),
        ("dataset", "schema", {"_producer": 1, "fields": []}),
        ("dataset", "schema", {"_schemaURL": ["x"], "fields": []}),
        ("dataset", "schema", {"fields": [{"type": "int"}]}),
        ("dataset", "schema", {"fields": [{"name": "a", "fields": [{"name": 1}]}]}),
        ("dataset", "columnLineage", {"fields": {"a": {"inputFields": [{"namespace": "n", "name": "t"}]}}}),
        ("dataset", "columnLineage", {"dataset": []}),
        ("dataset", "symlinks", {"identifiers": [{"namespace": "n", "name": "t"}]}),
        ("dataset", "lifecycleStateChange", {"lifecycleStateChange": "EXPLODE"}),
        ("dataset", "version", {"datasetVersion": 3}),
        ("run", "parent", {"run": {"runId": "not-a-uuid"}, "job": {"namespace": "n", "name": "j"}}),
        ("run", "parent", {"run": {"runId": "3f5e83fa-3480-44ff-99c5-ff943904e5e8"}, "job": {"name": "j"}}),
        ("run", "nominalTime", {"nominalEndTime": "2024-01-01T00:00:00Z"}),
        ("run", "errorMessage", {"message": "boom"}),
        ("job", "sql", {"query": 1}),
        ("job", "jobType", {"processingType": "BATCH"}),
        ("output", "outputStatistics", {"rowCount": "many"}),
        ("input", "dataQualityAssertions", {"assertions": [{"assertion": "x", "success": "yes"}]}),
    ],
)
def test_a_broken_facet_is_reported(location: str, key: str, value: Any) -> None:
    problem = check_facet(location, key, value, f"here.{key}")  # type: ignore[arg-type]
    assert problem is not None
    assert problem.path == f"here.{key}"
    assert problem.facet == key
    assert "here." in problem.message


def test_custom_facets_and_deletion_markers_are_not_checked() -> None:
    assert check_facet("run", "spark_properties", {"anything": [1, 2]}, "p") is None
    assert check_facet("dataset", "schema", {"_deleted": True}, "p") is None
    assert check_facet("run", "spark_properties", {"_producer": 3}, "p") is not None
    assert check_facet("run", "spark_properties", [1], "p") is not None


def test_facet_problems_in_an_event_name_where_they_are() -> None:
    event = {
        "eventType": "COMPLETE",
        "eventTime": "2024-05-01T12:00:00Z",
        "run": {"runId": "3f5e83fa-3480-44ff-99c5-ff943904e5e8", "facets": {"nominalTime": {}}},
        "job": {"namespace": "n", "name": "j", "facets": {"sql": {"query": 5}}},
        "inputs": [{"namespace": "d", "name": "a", "facets": {"schema": {"fields": "x"}}}],
        "outputs": [
            {"namespace": "d", "name": "b"},
            {"namespace": "d", "name": "c", "outputFacets": {"outputStatistics": {"size": "big"}}},
        ],
        "producer": "p",
    }
    parsed = parse_event(json.dumps(event).encode())
    assert sorted(p.path for p in parsed.problems) == sorted(
        [
            "run.facets.nominalTime",
            "job.facets.sql",
            "inputs[0].facets.schema",
            "outputs[1].outputFacets.outputStatistics",
        ]
    )


def test_facets_that_are_not_an_object_are_reported() -> None:
    event = {
        "eventTime": "2024-05-01T12:00:00Z",
        "producer": "p",
        "dataset": {"namespace": "d", "name": "a", "facets": ["schema"]},
    }
    parsed = parse_event(json.dumps(event).encode())
    assert [p.path for p in parsed.problems] == ["dataset.facets"]


# ---- agreement with the official schemas ------------------------------------------------------------


def _registry(conformance: Path):
    from referencing import Registry, Resource

    resources = []
    for path in [
        *(conformance / "spec").glob("*-*-*/OpenLineage.json"),
        *(conformance / "spec" / "facets-current").glob("*.json"),
    ]:
        contents = json.loads(path.read_text())
        resources.append((contents["$id"], Resource.from_contents(contents)))
    return Registry().with_resources(resources)


WRONG = {"string": 12345, "integer": "x", "number": "x", "boolean": "yes", "array": {"a": 1}, "object": "x"}


def _resolve(node: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    """The facet-level part of a schema node: local $refs followed, allOf parts merged (base skipped)."""
    if "$ref" in node and node["$ref"].startswith("#/"):
        target: Any = doc
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        return _resolve(target, doc)
    merged = {key: value for key, value in node.items() if key != "allOf"}
    for part in node.get("allOf", ()):
        if "$ref" in part and not part["$ref"].startswith("#/"):
            continue
        resolved = _resolve(part, doc)
        merged.setdefault("properties", {}).update(resolved.get("properties", {}))
        merged["required"] = [*merged.get("required", []), *resolved.get("required", [])]
        for key in ("type", "additionalProperties", "items", "enum"):
            if key in resolved:
                merged[key] = resolved[key]
    return merged


def _mutations(value: Any, node: dict[str, Any], doc: dict[str, Any], path: tuple, depth: int = 0):
    """Broken variants of ``value``: (path, mutated value at that path)."""
    node = _resolve(node, doc)
    if depth > 4:
        return
    if isinstance(value, dict):
        for key in node.get("required", []):
            if key in value and not key.startswith("_"):
                broken = {k: v for k, v in value.items() if k != key}
                yield (*path, f"-{key}"), broken
        for key, raw_sub in node.get("properties", {}).items():
            if key not in value or key.startswith("_"):
                continue
            sub = _resolve(raw_sub, doc)
            kind = sub.get("type")
            if isinstance(kind, str) and kind in WRONG:
                yield (*path, key, "!type"), {**value, key: WRONG[kind]}
            if "enum" in sub:
                yield (*path, key, "!enum"), {**value, key: "NOT_IN_ENUM"}
            for sub_path, broken in _mutations(value[key], sub, doc, (*path, key), depth + 1):
                yield sub_path, {**value, key: broken}
        extra = node.get("additionalProperties")
        if isinstance(extra, dict) and value and not node.get("properties"):
            first = next(iter(value))
            for sub_path, broken in _mutations(value[first], extra, doc, (*path, first), depth + 1):
                yield sub_path, {**value, first: broken}
    elif isinstance(value, list) and value and isinstance(node.get("items"), dict):
        for sub_path, broken in _mutations(value[0], node["items"], doc, (*path, 0), depth + 1):
            yield sub_path, [broken, *copy.deepcopy(value[1:])]


def _modeled(struct: type, where: tuple) -> bool:
    """Whether our structure for a facet models the field a mutation at ``where`` broke."""
    import msgspec.inspect as mi

    info: Any = mi.type_info(struct)
    for step in where:
        while isinstance(info, mi.UnionType):
            info = next(t for t in info.types if not isinstance(t, mi.NoneType))
        if isinstance(step, str) and step.startswith("!"):
            return True
        name = step[1:] if isinstance(step, str) and step.startswith("-") else step
        if isinstance(info, mi.StructType):
            fields = {f.name: f.type for f in info.fields}
            if name not in fields:
                return False
            info = fields[name]
        elif isinstance(info, mi.ListType) and isinstance(step, int):
            info = info.item_type
        elif isinstance(info, mi.DictType):
            info = info.value_type
        else:
            return False
    return True


def test_whenever_the_official_schema_rejects_a_broken_facet_we_report_it(conformance) -> None:
    from jsonschema import Draft202012Validator

    registry = _registry(conformance)
    checked = 0
    missed = []
    unmodeled: set[tuple[str, tuple]] = set()
    for facet, path in fragments(conformance):
        schema = facet_schema(conformance, facet)
        fragment = json.loads(path.read_text())
        for location, key, definition in placements(schema):
            if key not in STANDARD_FACETS[location]:
                continue
            validator = Draft202012Validator(
                {"$ref": f"{schema['$id']}#/$defs/{definition}"}, registry=registry
            )
            value = fragment[key]
            if not validator.is_valid(value):
                continue  # the fragment is for the other placement of a shared file
            for where, broken in _mutations(value, schema["$defs"][definition], schema, ()):
                if validator.is_valid(broken):
                    continue
                checked += 1
                if not _modeled(STANDARD_FACETS[location][key], where):
                    unmodeled.add((key, where))
                    continue
                checked += 1
                if check_facet(location, key, broken, key) is None:
                    missed.append((facet, path.name, location, where))
    # Only a few newer, optional details are outside our structures (e.g. jobType.emissionPattern).
    assert len(unmodeled) < 20, unmodeled
    assert checked >= 100
    assert missed == []
