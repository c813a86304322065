"""``threadline catalog``: the issue's user story end to end over a real server (catalog apply from the
CLI, then the REST API), per-resource commands, apply's idempotence and dry run, export, bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cli.conftest import Run, error_lines
from tests.projection.helpers import ds, feed, run_event
from tests.server.conftest import ServerProcess, free_port
from threadline.store import open_store

EXAMPLE = Path(__file__).parents[2] / "examples" / "catalog" / "ml-pipelines.yaml"
BUCKET = "gs://your-bucket"
ENTRY = "/api/v1/catalog/entryGroups/machine-learning-pipelines/entries/ml-pipeline"


def _lineage() -> list[dict]:
    return [
        run_event(
            "COMPLETE",
            1,
            1,
            job="ml_pipeline_job",
            namespace="dataflow",
            inputs=[ds("raw/clicks.json", BUCKET)],
            outputs=[ds(f"path/to/output/data/part-{i}", BUCKET) for i in range(3)],
        ),
        run_event(
            "COMPLETE", 2, 2, job="train", namespace="ml", inputs=[ds("path/to/output/data/part-0", BUCKET)]
        ),
    ]


@pytest.fixture
def served(store_url: str, tmp_path: Path) -> Iterator[tuple[str, ServerProcess, str]]:
    """A store with the story's lineage and an admin key, and a server on it."""
    store = open_store(store_url)
    feed(store, _lineage())
    key = store.create_api_key("ml-team", "admin")[0]
    store.close()
    server = ServerProcess(store_url, free_port(), tmp_path / "server.log", {"auth": "token"}).start()
    yield store_url, server, key
    server.stop()
    assert "Traceback" not in server.log(), server.log()


def test_the_user_story_end_to_end(run: Run, served: tuple[str, ServerProcess, str], tmp_path: Path) -> None:
    url, server, key = served
    # catalog as code: the example file, applied from the command line
    dry = run("catalog", "apply", str(EXAMPLE), "--dry-run", "--store", url)
    assert dry.exit_code == 0, dry.output
    assert dry.stdout.splitlines() == [
        "+ create tag template tagTemplates/lineage_notes",
        "+ create entry group entryGroups/machine-learning-pipelines",
        "+ create entry entryGroups/machine-learning-pipelines/entries/ml-pipeline",
        "+ create tag entryGroups/machine-learning-pipelines/entries/ml-pipeline/tags/lineage_notes",
    ]
    assert "not applied" in dry.stderr
    assert run("catalog", "apply", str(EXAMPLE), "--store", url).stderr.strip() == "applied 4 changes"
    again = run("catalog", "apply", str(EXAMPLE), "--store", url)
    assert again.stdout == ""
    assert "nothing to change" in again.stderr

    # the team searches, opens the entry, sees its lineage and the datasets its patterns name
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as api:
        found = api.post(
            "/api/v1/catalog/catalog:search", json={"query": "tag:lineage_notes.usage:training"}
        ).json()
        assert [r["relativeResourceName"] for r in found["results"]] == [
            "entryGroups/machine-learning-pipelines/entries/ml-pipeline"
        ]
        entry = api.get(ENTRY).json()
        assert entry["threadline"]["matchingDatasets"] == [
            f"dataset:{BUCKET}:path/to/output/data/part-{i}" for i in range(3)
        ]
        lineage = api.get("/api/v1/lineage", params={"nodeId": entry["threadline"]["linkedNode"]}).json()
        names = {n["id"] for n in lineage["graph"]}
        assert "job:dataflow:ml_pipeline_job" in names
        assert f"dataset:{BUCKET}:path/to/output/data/part-0" in names
        tags = api.get(f"{ENTRY}/tags").json()["tags"]
        assert tags[0]["fields"]["usage"]["stringValue"] == "Model training for the churn model"
        # an edit through the API shows in the CLI, and the file's next apply puts it back
        api.patch(f"{ENTRY}", json={"description": "edited in the API"}).raise_for_status()
    shown = json.loads(
        run("catalog", "entry", "show", "machine-learning-pipelines", "ml-pipeline", "--store", url).stdout
    )
    assert shown["description"] == "edited in the API"
    drift = run("catalog", "apply", str(EXAMPLE), "--dry-run", "--store", url)
    assert drift.stdout.splitlines() == [
        "~ update entry entryGroups/machine-learning-pipelines/entries/ml-pipeline (description)"
    ]
    run("catalog", "apply", str(EXAMPLE), "--store", url)
    search = run("catalog", "search", "tag:lineage_notes.usage:training", "--store", url)
    assert "ml-pipeline" in search.stdout
    history = run("catalog", "entry", "history", "machine-learning-pipelines", "ml-pipeline", "--store", url)
    assert history.stdout.count("upsert") == 3
    assert "ml-team" in history.stdout  # the API key's name

    # export gives a file that makes the same catalog elsewhere
    exported = tmp_path / "exported.yaml"
    run("catalog", "export", "-o", str(exported), "--store", url)
    other = f"sqlite:///{tmp_path / 'other.db'}"
    assert run("catalog", "apply", str(exported), "--store", other).exit_code == 0
    assert run("catalog", "export", "--store", other).stdout == exported.read_text()


def test_commands_per_resource(run: Run, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    assert run("catalog", "group", "set", "sales", "--display-name", "Sales", "--store", url).exit_code == 0
    run(
        "catalog",
        "template",
        "set",
        "quality",
        "--field",
        "score:DOUBLE",
        "--field",
        "level:ENUM(GOLD|RAW):required",
        "--store",
        url,
    )
    schema = json.dumps({"columns": [{"column": "email", "type": "STRING"}]})
    run(
        "catalog",
        "entry",
        "set",
        "sales",
        "orders",
        "--type",
        "TABLE",
        "--schema",
        schema,
        "--label",
        "env=prod",
        "--store",
        url,
    )
    tagged = run(
        "catalog",
        "tag",
        "set",
        "sales",
        "orders",
        "quality",
        "score=0.5",
        "level=GOLD",
        "--column",
        "email",
        "--store",
        url,
    )
    assert tagged.exit_code == 0, tagged.output
    assert json.loads(tagged.stdout)["fields"]["score"] == {"doubleValue": 0.5}
    assert "orders" in run("catalog", "search", "tag:quality.score<1 label.env:prod", "--store", url).stdout
    listed = run("catalog", "tag", "list", "sales", "orders", "--store", url).stdout
    assert "email" in listed
    assert "GOLD" in listed
    # bad input: one line naming what is wrong, exit status 1, nothing written
    bad = run(
        "catalog", "tag", "set", "sales", "orders", "quality", "score=high", "level=GOLD", "--store", url
    )
    assert bad.exit_code == 1
    assert error_lines(bad) == ["error: fields.score is a DOUBLE field: 'high' is not a number"]
    bad = run("catalog", "tag", "set", "sales", "orders", "quality", "level=SILVER", "--store", url)
    assert "'SILVER' is not an allowed value" in error_lines(bad)[0]
    bad = run("catalog", "template", "set", "quality", "--field", "score:STRING", "--store", url)
    assert "a field's type never changes" in error_lines(bad)[0]
    bad = run("catalog", "template", "delete", "quality", "--store", url)
    assert "--force" in error_lines(bad)[0] or "force" in error_lines(bad)[0]
    bad = run("catalog", "search", "tag:quality.score:1", "--store", url)
    assert error_lines(bad) == [
        "error: query error at position 18: score is a DOUBLE field: use = < > <= or >="
    ]
    assert run("catalog", "template", "delete", "quality", "--force", "--store", url).exit_code == 0
    assert "no tags" in run("catalog", "tag", "list", "sales", "orders", "--store", url).stderr
    assert "1 entries" in run("catalog", "group", "delete", "sales", "--store", url).stderr


def test_a_bad_catalog_file_is_one_clear_line(run: Run, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    missing = run("catalog", "apply", str(tmp_path / "nope.yaml"), "--store", url)
    assert error_lines(missing) == [f"error: no catalog file at {tmp_path / 'nope.yaml'}"]
    broken = tmp_path / "broken.yaml"
    broken.write_text("tagTemplates: [\n")
    assert "is not valid YAML" in error_lines(run("catalog", "apply", str(broken), "--store", url))[0]
    wrong = tmp_path / "wrong.yaml"
    text = EXAMPLE.read_text().replace("usage: Model training for the churn model", "usage: 3")
    wrong.write_text(text)
    result = run("catalog", "apply", str(wrong), "--store", url)
    assert error_lines(result) == [
        "error: entryGroups[0].entries[0].tags[0].fields.usage: 3 is not a STRING value"
    ]
    # nothing of the file was written: the template before the bad tag is not there either
    assert "no tag templates" in run("catalog", "template", "list", "--store", url).stderr
