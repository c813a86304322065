"""What the command line says when the input is wrong: one line that points at a command, shows the
expected form, and offers the nearest names; never an HTTP endpoint, a traceback or a blank line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import Run, error_lines
from tests.conftest import EXAMPLE_EVENTS

BLAKE3 = "blake3:" + "a" * 64


@pytest.fixture
def store(run: Run, tmp_path: Path) -> str:
    """A store with the example ML pipeline's events (namespaces s3://acme-lake, threadline-examples…)."""
    url = f"sqlite:///{tmp_path / 'threadline.db'}"
    assert run("ingest", str(EXAMPLE_EVENTS), "--store", url).exit_code == 0
    return url


def _error(run: Run, *args: str) -> str:
    result = run(*args)
    assert result.exit_code == 1, result.output
    (line,) = error_lines(result)
    return line


def test_an_unknown_namespace_offers_the_nearest_not_an_endpoint(run: Run, store: str) -> None:
    line = _error(run, "datasets", "--namespace", "nosuch", "--store", store)
    assert "/api/" not in line
    assert "s3://acme-lake" in line  # the namespaces there are
    line = _error(run, "jobs", "--namespace", "threadline-example", "--store", store)
    assert "did you mean threadline-examples?" in line


def test_a_node_id_without_a_name_shows_the_form_with_its_namespace(run: Run, store: str) -> None:
    line = _error(run, "lineage", "dataset:s3://acme-lake", "--store", store)
    assert "'//acme-lake'" not in line
    assert "write dataset:s3://acme-lake:NAME" in line
    assert "threadline datasets --namespace s3://acme-lake" in line
    line = _error(run, "lineage", "datasetField:s3://acme-lake:tenure_days", "--store", store)
    assert "write datasetField:s3://acme-lake:DATASET:FIELD" in line


def test_a_typo_in_a_node_id_offers_the_nearest_nodes(run: Run, store: str) -> None:
    line = _error(run, "lineage", "dataset:s3://acme-lake:raw/churn/customer.parquet", "--store", store)
    assert "did you mean dataset:s3://acme-lake:raw/churn/customers.parquet" in line
    line = _error(run, "impact", "job:threadline-examples:churn_pipeline.trian", "--store", store)
    assert "did you mean job:threadline-examples:churn_pipeline.train" in line
    line = _error(run, "show", "dataset:s4://acme-lake:raw/churn/customers.parquet", "--store", store)
    assert "no namespace 's4://acme-lake'; did you mean s3://acme-lake" in line


def test_artifacts_push_to_a_server_names_threadline_push(run: Run, tmp_path: Path) -> None:
    assert run("init").exit_code == 0
    assert run("remote", "add", "origin", "http://127.0.0.1:1").exit_code == 0
    line = _error(run, "artifacts", "push", "origin")
    assert "aiohttp" not in line
    assert "origin (http://127.0.0.1:1) is a threadline server" in line
    assert "`threadline push --artifacts origin`" in line
    assert "`threadline pull --artifacts origin`" in _error(run, "artifacts", "pull", "origin", BLAKE3)


#: Wrong arguments, typo'd ids and missing files, on every kind of command.
BAD: list[tuple[str, ...]] = [
    ("ingest", "/nonexistent/events.jsonl"),
    ("show", "nosuchrun"),
    ("show", "dataset:nope"),
    ("lineage", "job:threadline-examples:churn_pipeline.train", "--depth", "x"),
    ("lineage", "job:threadline-examples:churn_pipeline.train", "--as-of", "yesterday"),
    ("lineage", "job:threadline-examples:churn_pipeline.train", "--format", "png"),
    ("impact", "run:abc"),
    ("diff", "abcd", "abce"),
    ("snapshot", "abcd"),
    ("restore", "abcd", "--to", "out"),
    ("token", "revoke", "nobody"),
    ("artifacts", "add", "/nonexistent"),
    ("artifacts", "checkout", "blake3:zz", "out"),
    ("remote", "remove", "nope"),
    ("push", "nope"),
    ("pull", "nope"),
]


@pytest.mark.parametrize("args", BAD, ids=" ".join)
def test_bad_input_is_one_error_line_and_nothing_else(run: Run, store: str, args: tuple[str, ...]) -> None:
    takes_store = args[0] not in ("artifacts", "remote")
    result = run(*args, *(("--store", store) if takes_store else ()))
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert len(error_lines(result)) == 1, result.stderr
    assert "" not in [line.strip() for line in lines], f"a blank line: {result.stderr!r}"
    assert not result.stderr.endswith("\n\n")
