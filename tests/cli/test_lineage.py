"""``threadline lineage`` and ``threadline impact`` on the example pipeline."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.cli.conftest import Run, error_lines
from tests.conftest import EXAMPLE_EVENTS

TRAIN = "job:threadline-examples:churn_pipeline.train"
CLEAN = "dataset:s3://acme-lake:clean/churn/customers.parquet"
CUSTOMERS = "dataset:postgres://crm-db.internal:5432:crm.public.customers"


@pytest.fixture
def loaded(run: Run, sqlite_url: str) -> str:
    assert run("ingest", str(EXAMPLE_EVENTS), "--store", sqlite_url).exit_code == 0
    return sqlite_url


def _json(run: Run, store: str, *args: str) -> Any:
    result = run(*args, "--format", "json", "--store", store)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_upstream(run: Run, loaded: str) -> None:
    table = run("lineage", TRAIN, "--upstream", "--store", loaded)
    assert table.exit_code == 0, table.output
    assert "9 nodes, 8 edges" in table.stdout
    names = {node["name"] for node in _json(run, loaded, "lineage", TRAIN, "--upstream")["nodes"]}
    assert {"churn_pipeline.extract", "churn_pipeline.features", "crm.public.customers"} <= names
    assert "churn/model.pkl" not in names  # downstream of train, not upstream


def test_depth_direction_and_exports(run: Run, loaded: str) -> None:
    one = _json(run, loaded, "lineage", CLEAN, "--downstream", "--depth", "1")
    assert {node["name"] for node in one["nodes"]} == {
        "clean/churn/customers.parquet",
        "churn_pipeline.features",
    }
    dot = run("lineage", CLEAN, "--format", "dot", "--store", loaded).stdout
    assert dot.startswith("digraph lineage {")
    mermaid = run("lineage", CLEAN, "--format", "mermaid", "--store", loaded).stdout
    assert mermaid.startswith("flowchart LR")


def test_as_of_and_columns(run: Run, loaded: str) -> None:
    early = _json(run, loaded, "lineage", TRAIN, "--upstream", "--as-of", "2020-01-01T00:00:00Z")
    assert [node["name"] for node in early["nodes"]] == ["churn_pipeline.train"]
    field = "datasetField:s3://acme-lake:features/churn/customer_features.parquet:tenure_days"
    columns = _json(run, loaded, "lineage", field, "--upstream")
    assert len(columns["nodes"]) > 1
    assert all(node["type"] == "datasetField" for node in columns["nodes"])


def test_impact(run: Run, loaded: str) -> None:
    result = run("impact", CUSTOMERS, "--store", loaded)
    assert result.exit_code == 0, result.output
    assert "downstream" in result.stdout
    data = _json(run, loaded, "impact", CUSTOMERS)
    assert data["impacted"][0]["distance"] == 1
    assert "job:threadline-examples:churn_pipeline.train" in {item["id"] for item in data["impacted"]}


def test_states_are_spelled_as_everywhere(run: Run, loaded: str) -> None:
    """Marquez's words in JSON (as the HTTP API), the same in lower case in tables (as the web UI)."""
    impacted = _json(run, loaded, "impact", CUSTOMERS)["impacted"]
    states = {item["latestRunState"] for item in impacted if item["type"] == "job"}
    assert states == {"COMPLETED"}
    table = run("impact", CUSTOMERS, "--store", loaded).stdout
    assert "completed" in table
    assert "COMPLETE" not in table
    exported = _json(run, loaded, "lineage", TRAIN, "--upstream")
    assert {n["latestState"] for n in exported["nodes"] if n["type"] == "job"} == {"COMPLETED"}
    assert "completed" in run("lineage", TRAIN, "--upstream", "--store", loaded).stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["lineage", "table:x"], "bad node id"),
        (["lineage", "dataset:nowhere:nothing"], "no dataset"),
        (["lineage", CLEAN, "--depth", "deep"], "--depth"),
        (["lineage", CLEAN, "--as-of", "yesterday"], "--as-of"),
        (["lineage", CLEAN, "--format", "png"], "--format"),
        (["lineage", CLEAN, "--upstream", "--downstream"], "at most one"),
        (["impact", "job:threadline-examples:nope"], "no job"),
    ],
)
def test_bad_input_is_one_line(run: Run, loaded: str, args: list[str], words: str) -> None:
    result = run(*args, "--store", loaded)
    assert result.exit_code == 1
    (line,) = error_lines(result)
    assert words in line
