"""``threadline datasets``, ``jobs`` and ``show``: tables, JSON as the API answers, clear errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tests.cli.conftest import Run, error_lines
from tests.conftest import EXAMPLE_EVENTS
from threadline.cli import common
from threadline.cli.main import app
from threadline.store import open_store

LAKE = "s3://acme-lake"
RAW = "raw/churn/customers.parquet"
FIRST_RUN = "f67a73f9-1da3-4124-974d-72e2bc80841b"


@pytest.fixture(autouse=True)
def _wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wide terminal, so that table cells are not cut."""
    monkeypatch.setattr(common.out, "_width", 250)


@pytest.fixture
def loaded(run: Run, sqlite_url: str) -> str:
    assert run("ingest", str(EXAMPLE_EVENTS), "--store", sqlite_url).exit_code == 0
    return sqlite_url


def test_datasets_table_and_json(run: Run, loaded: str) -> None:
    result = run("datasets", "--store", loaded)
    assert result.exit_code == 0, result.output
    assert "crm.public.customers" in result.stdout
    assert "6 of 6 datasets" in result.stderr
    page = run(
        "datasets", "--namespace", "S3://ACME-LAKE", "--limit", "2", "--format", "json", "--store", loaded
    )
    doc = json.loads(page.stdout)
    assert doc["totalCount"] == 3
    assert [d["name"] for d in doc["datasets"]] == [
        "clean/churn/customers.parquet",
        "features/churn/customer_features.parquet",
    ]
    assert doc["datasets"][0]["namespace"] == LAKE


def test_jobs(run: Run, loaded: str) -> None:
    result = run("jobs", "--namespace", "threadline-examples", "--store", loaded)
    assert result.exit_code == 0, result.output
    assert "churn_pipeline.train" in result.stdout
    assert "completed" in result.stdout  # states for people: Marquez's word, in lower case
    assert "5 of 5 jobs" in result.stderr
    # (the failed run's errorMessage facet holds a stack trace, which the `run` fixture would refuse)
    doc = json.loads(CliRunner().invoke(app, ["jobs", "--format", "json", "--store", loaded]).stdout)
    assert doc["jobs"][0]["latestRun"]["state"] == "COMPLETED"


def test_show_dataset_job_run_and_field(run: Run, loaded: str) -> None:
    dataset = run("show", f"dataset:{LAKE}:{RAW}", "--store", loaded)
    assert dataset.exit_code == 0, dataset.output
    for text in (
        "schema",
        "subscription",
        "  status",
        "versions",
        "churn_pipeline.extract",
        "completed",
        "dataSource",
    ):
        assert text in dataset.stdout
    job = run("show", "job:threadline-examples:churn_pipeline.train", "--store", loaded)
    assert job.exit_code == 0, job.output
    for text in ("recent runs", "failed", "features/churn/customer_features.parquet", "team:ml-platform"):
        assert text in job.stdout
    by_prefix = run("show", FIRST_RUN[:8], "--store", loaded)
    assert by_prefix.exit_code == 0, by_prefix.output
    assert f"run {FIRST_RUN}" in by_prefix.stdout
    assert "START" in by_prefix.stdout
    assert run("show", f"run:{FIRST_RUN}", "--store", loaded).stdout == by_prefix.stdout
    assert run("show", f"run:{FIRST_RUN[:8]}", "--store", loaded).stdout == by_prefix.stdout
    field = run("show", f"datasetField:{LAKE}:{RAW}:customer_id", "--format", "json", "--store", loaded)
    assert json.loads(field.stdout)["name"] == "customer_id"


def test_show_json_is_what_the_api_answers(run: Run, loaded: str) -> None:
    doc = json.loads(run("show", f"dataset:{LAKE}:{RAW}", "--format", "json", "--store", loaded).stdout)
    assert doc["id"] == {"namespace": LAKE, "name": RAW}
    assert doc["sourceName"] == "acme-lake"
    version = doc["currentVersion"]
    at = json.loads(
        run("show", f"dataset:{LAKE}:{RAW}#{version}", "--format", "json", "--store", loaded).stdout
    )
    assert at["version"] == version
    assert at["createdByRun"]["state"] == "COMPLETED"
    # (the failed run's errorMessage facet holds a stack trace, which the `run` fixture would refuse)
    args = ["show", "job:threadline-examples:churn_pipeline.train", "-f", "json", "--store", loaded]
    job = json.loads(CliRunner().invoke(app, args).stdout)
    assert job["type"] == "BATCH"
    versioned = run(
        "show", f"job:threadline-examples:churn_pipeline.train#{job['currentVersion']}", "--store", loaded
    )
    assert "version" in versioned.stdout
    assert json.loads(run("show", FIRST_RUN, "-f", "json", "--store", loaded).stdout)["id"] == FIRST_RUN


@pytest.mark.parametrize(
    ("node", "message"),
    [
        ("dataset:nope", "bad node id"),
        ("dataset:s3://acme-lake:nope", "no dataset 'nope'"),
        ("job:nowhere:x", "no namespace 'nowhere'"),
        ("ab", "too short"),
        ("ffffffff", "no run"),
        (f"datasetField:{LAKE}:{RAW}:nope", "no field 'nope'"),
    ],
)
def test_errors_are_one_line(run: Run, loaded: str, node: str, message: str) -> None:
    result = run("show", node, "--store", loaded)
    assert result.exit_code == 1
    lines = error_lines(result)
    assert len(lines) == 1
    assert message in lines[0]


def test_empty_store(run: Run, sqlite_url: str) -> None:
    open_store(sqlite_url).close()
    result = run("datasets", "--store", sqlite_url)
    assert result.exit_code == 0
    assert "no datasets" in result.stderr
    assert "no jobs" in run("jobs", "--store", sqlite_url).stderr
    assert error_lines(run("datasets", "--namespace", "x", "--store", sqlite_url))[0].startswith(
        "error: no namespace"
    )
