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
    with_tags = run(
        "catalog", "entry", "history", "machine-learning-pipelines", "ml-pipeline", "--tags", "--store", url
    ).stdout
    assert "lineage_notes" in with_tags  # the story's tag, beside the entry's own changes
    assert with_tags.count("upsert") > 3

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


def test_the_commands_over_a_server_with_its_keys(
    run: Run, served: tuple[str, ServerProcess, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, server, admin = served
    store = open_store(url)
    writer = store.create_api_key("ml-writer", "write")[0]
    reader = store.create_api_key("ml-reader", "read")[0]
    store.close()
    on = ("--server", server.url)

    # a write key applies a file of entries and tags, not of templates: those need an admin key
    monkeypatch.setenv("THREADLINE_API_KEY", writer)
    dry = run("catalog", "apply", str(EXAMPLE), "--dry-run", *on)
    assert dry.exit_code == 0, dry.output
    assert dry.stdout.splitlines()[0] == "+ create tag template tagTemplates/lineage_notes"
    refused = run("catalog", "apply", str(EXAMPLE), *on)
    assert refused.exit_code == 1
    assert "tagTemplates/lineage_notes" in error_lines(refused)[0]
    assert "admin scope" in error_lines(refused)[0]
    assert "the key from THREADLINE_API_KEY" in error_lines(refused)[0]
    assert "no tag templates" in run("catalog", "template", "list", *on).stderr  # nothing was written
    monkeypatch.setenv("THREADLINE_API_KEY", admin)
    assert run("catalog", "apply", str(EXAMPLE), *on).stderr.strip() == "applied 4 changes"
    monkeypatch.setenv("THREADLINE_API_KEY", writer)
    again = run("catalog", "apply", str(EXAMPLE), *on)
    assert (again.exit_code, again.stdout) == (0, "")
    assert "nothing to change" in again.stderr
    tagged = run(
        "catalog",
        "tag",
        "set",
        "machine-learning-pipelines",
        "ml-pipeline",
        "lineage_notes",
        "source=clicks",
        "transformation=sessions",
        "usage=scoring",
        *on,
    )
    assert tagged.exit_code == 0, tagged.output
    assert json.loads(tagged.stdout)["fields"]["usage"] == {"stringValue": "scoring"}
    assert run("catalog", "group", "set", "ops", "--description", "Operations", *on).exit_code == 0
    assert run("catalog", "entry", "set", "ops", "jobs", "--type", "SERVICE", *on).exit_code == 0
    history = run("catalog", "entry", "history", "machine-learning-pipelines", "ml-pipeline", *on).stdout
    assert "ml-team" in history  # made by the admin key's apply
    tagged = run("catalog", "entry", "history", "machine-learning-pipelines", "ml-pipeline", "--tags", *on)
    assert "lineage_notes" in tagged.stdout  # through the server's ?tags=true

    # every read answers as on the store itself
    reads = [
        ("catalog", "group", "list"),
        ("catalog", "group", "show", "ops"),
        ("catalog", "entry", "list", "machine-learning-pipelines"),
        ("catalog", "entry", "show", "machine-learning-pipelines", "ml-pipeline"),
        ("catalog", "template", "list"),
        ("catalog", "template", "show", "lineage_notes"),
        ("catalog", "tag", "list", "machine-learning-pipelines", "ml-pipeline", "--json"),
        ("catalog", "tag", "list", "machine-learning-pipelines", "ml-pipeline"),
        ("catalog", "search", "tag:lineage_notes.usage:scoring"),
        ("catalog", "lookup", "job:dataflow:ml_pipeline_job"),
        ("catalog", "group", "history", "ops"),
        ("catalog", "export"),
    ]
    for command in reads:
        remote, local = run(*command, *on), run(*command, "--store", url)
        assert (remote.exit_code, remote.stdout, remote.stderr) == (
            local.exit_code,
            local.stdout,
            local.stderr,
        )
    assert "ml-pipeline" in run("catalog", "search", "tag:lineage_notes.usage:scoring", *on).stdout

    # a read key reads, and may not write: one line saying why, and where the key came from
    monkeypatch.setenv("THREADLINE_API_KEY", reader)
    assert run("catalog", "entry", "list", "ops", *on).exit_code == 0
    refused = run("catalog", "entry", "delete", "ops", "jobs", *on)
    assert refused.exit_code == 1
    assert "has scope read; this needs write" in error_lines(refused)[0]
    assert "THREADLINE_API_KEY" in error_lines(refused)[0]
    missing = run("catalog", "entry", "show", "ops", "nope", *on)
    assert error_lines(missing) == ["error: entry entryGroups/ops/entries/nope does not exist"]
    # a mistyped id: what it may have meant, from the server as from the store
    typo = [
        "error: entry entryGroups/ops/entries/job does not exist; did you mean entryGroups/ops/entries/jobs?"
    ]
    assert error_lines(run("catalog", "entry", "show", "ops", "job", *on)) == typo
    assert error_lines(run("catalog", "entry", "show", "ops", "job", "--store", url)) == typo
    assert error_lines(run("catalog", "tag", "list", "ops", "job", *on)) == typo
    monkeypatch.delenv("THREADLINE_API_KEY")
    assert "API key" in error_lines(run("catalog", "group", "list", *on))[0]

    # a remote of the project, with its own key variable, as `threadline pull` takes it
    assert run("init").exit_code == 0
    assert run("remote", "add", "origin", server.url).exit_code == 0
    monkeypatch.setenv("THREADLINE_REMOTE_ORIGIN_KEY", writer)
    assert run("catalog", "entry", "delete", "ops", "jobs", "--server", "origin").exit_code == 0
    assert "no entries in ops" in run("catalog", "entry", "list", "ops", "--server", "origin").stderr

    # what is wrong with the command itself
    both = run("catalog", "group", "list", "--server", "origin", "--store", url)
    assert error_lines(both) == ["error: give --store or --server, not both"]
    assert (
        "no remote named 'upstream'"
        in error_lines(run("catalog", "group", "list", "--server", "upstream"))[0]
    )
    down = run("catalog", "group", "list", "--server", "http://127.0.0.1:9")
    assert "cannot reach the server" in error_lines(down)[0]
