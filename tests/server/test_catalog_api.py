"""The Data Catalog's REST API against the real server, on both backends: the user story, scopes,
bad input (a clear 4xx naming the field, nothing half-written), history and as-of, lookup."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.conftest import drop_pg_schema
from tests.projection.helpers import ds, feed, run_event
from tests.server.conftest import ServerProcess, _pg_schema_url, free_port
from threadline.catalog.implicit import entry_name, group_id
from threadline.store import open_store

pytestmark = pytest.mark.slow

C = "/api/v1/catalog"
BUCKET = "gs://your-bucket"
ENTRY = f"{C}/entryGroups/machine-learning-pipelines/entries/ml-pipeline"
TEMPLATE = {
    "displayName": "Lineage notes",
    "fields": {
        "source": {
            "displayName": "Source",
            "type": {"primitiveType": "STRING"},
            "isRequired": True,
            "order": 3,
        },
        "transformation": {"displayName": "Transformation", "type": {"primitiveType": "STRING"}, "order": 2},
        "usage": {"displayName": "Usage", "type": {"primitiveType": "STRING"}, "order": 1},
    },
}
QUALITY = {
    "fields": {
        "score": {"type": {"primitiveType": "DOUBLE"}},
        "level": {"type": {"enumType": {"allowedValues": [{"displayName": "GOLD"}, {"displayName": "RAW"}]}}},
    }
}


def _lineage() -> list[dict]:
    tags = {"tags": [{"key": "pii", "value": "true", "source": "producer"}]}
    return [
        run_event(
            "COMPLETE",
            1,
            1,
            job="ml_pipeline_job",
            namespace="dataflow",
            inputs=[ds("raw/events.json", BUCKET)],
            outputs=[
                ds("path/to/output/data/part-0", BUCKET, tags=tags),
                ds("path/to/output/data/part-1", BUCKET),
                ds("path/to/output/data/sub/part-2", BUCKET),
            ],
        )
    ]


@dataclass
class Api:
    server: ServerProcess
    keys: dict[str, str]

    def client(self, scope: str | None = "read") -> httpx.Client:
        return self.server.client(self.keys[scope] if scope else None)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    if request.param == "sqlite":
        url, schema_name = f"sqlite:///{tmp_path_factory.mktemp('catalog-api') / 'threadline.db'}", None
    else:
        pg_server = request.getfixturevalue("pg_server")
        schema_name, url = _pg_schema_url(pg_server)
    store = open_store(url)
    feed(store, _lineage())
    keys = {scope: store.create_api_key(f"{scope}-key", scope)[0] for scope in ("read", "write", "admin")}
    store.close()
    log = tmp_path_factory.mktemp("catalog-api-log") / "server.log"
    server = ServerProcess(url, free_port(), log, {"auth": "token"}).start()
    yield Api(server, keys)
    server.stop()
    assert "Traceback" not in server.log(), server.log()
    if schema_name is not None:
        drop_pg_schema(request.getfixturevalue("pg_server"), schema_name)


def ok(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    return response.json()["error"]


@pytest.fixture(scope="module")
def story(api: Api) -> Api:
    """The issue's user story, through the API."""
    with api.client("admin") as admin, api.client("write") as write:
        ok(admin.post(f"{C}/tagTemplates", params={"tagTemplateId": "lineage_notes"}, json=TEMPLATE))
        ok(
            write.post(
                f"{C}/entryGroups",
                params={"entryGroupId": "machine-learning-pipelines"},
                json={"displayName": "Entry Group for Machine Learning Pipelines"},
            )
        )
        ok(
            write.post(
                f"{C}/entryGroups/machine-learning-pipelines/entries",
                params={"entryId": "ml-pipeline"},
                json={
                    "type": "DATA_STREAM",
                    "description": "Dataflow job output for ML pipeline",
                    "gcsFilesetSpec": {"filePatterns": [f"{BUCKET}/path/to/output/data/*"]},
                    "linkedResource": "job:dataflow:ml_pipeline_job",
                    "userSpecifiedSystem": "dataflow",
                    "schema": {"columns": [{"column": "user", "subcolumns": [{"column": "email"}]}]},
                },
            )
        )
        ok(
            write.post(
                f"{ENTRY}/tags",
                json={
                    "template": "tagTemplates/lineage_notes",
                    "fields": {
                        "source": {"stringValue": "Dataflow job"},
                        "transformation": {"stringValue": "Feature extraction"},
                        "usage": {"stringValue": "Model training"},
                    },
                },
            )
        )
    return api


def test_the_user_story(story: Api) -> None:
    with story.client("read") as read:
        found = ok(read.post(f"{C}/catalog:search", json={"query": "tag:lineage_notes.usage:training"}))
        assert [r["relativeResourceName"] for r in found["results"]] == [
            "entryGroups/machine-learning-pipelines/entries/ml-pipeline"
        ]
        assert found["results"][0]["searchResultSubtype"] == "entry.data_stream"
        entry = ok(read.get(ENTRY))
        assert entry["type"] == "DATA_STREAM"
        assert entry["threadline"]["linkedNode"] == "job:dataflow:ml_pipeline_job"
        # the pattern's * stays within one folder: part-0 and part-1, not sub/part-2
        assert entry["threadline"]["matchingDatasets"] == [
            f"dataset:{BUCKET}:path/to/output/data/part-0",
            f"dataset:{BUCKET}:path/to/output/data/part-1",
        ]
        tags = ok(read.get(f"{ENTRY}/tags"))["tags"]
        assert tags[0]["templateDisplayName"] == "Lineage notes"
        assert tags[0]["fields"]["usage"] == {
            "stringValue": "Model training",
            "displayName": "Usage",
            "order": 1,
        }
        assert tags[0]["source"] == "USER"
        # the dataset shows the file-set entry that covers it, and its producer's tag
        implicit = ok(
            read.get(
                f"{C}/entries:lookup",
                params={"linkedResource": f"dataset:{BUCKET}:path/to/output/data/part-0"},
            )
        )
        assert implicit["name"] == entry_name(BUCKET, "path/to/output/data/part-0")
        assert implicit["threadline"]["coveringEntries"] == [
            "entryGroups/machine-learning-pipelines/entries/ml-pipeline"
        ]
        assert [(t["source"], t["fields"]) for t in implicit["threadline"]["integrationTags"]] == [
            ("INTEGRATION", {"pii": {"stringValue": "true"}})
        ]
        linked = ok(
            read.get(f"{C}/entries:lookup", params={"linkedResource": "job:dataflow:ml_pipeline_job"})
        )
        assert linked["name"] == "entryGroups/machine-learning-pipelines/entries/ml-pipeline"


def test_lineages_own_entries_are_read_tagged_and_searched_but_not_edited(story: Api) -> None:
    part = f"{C}/{entry_name(BUCKET, 'path/to/output/data/part-1')}"
    group = f"{C}/entryGroups/{group_id(BUCKET)}"
    with story.client("read") as read, story.client("write") as write, story.client("admin") as admin:
        groups = [
            g["name"] for g in ok(read.get(f"{C}/entryGroups", params={"pageSize": 100}))["entryGroups"]
        ]
        assert f"entryGroups/{group_id(BUCKET)}" in groups
        entry = ok(read.get(part))
        assert (entry["type"], entry["displayName"]) == ("TABLE", "path/to/output/data/part-1")
        assert entry["threadline"]["linkedNode"] == f"dataset:{BUCKET}:path/to/output/data/part-1"
        assert ok(read.get(f"{part}/history", params={"tags": True}))["changes"] == []
        ok(admin.post(f"{C}/tagTemplates", params={"tagTemplateId": "reviewed"}, json=QUALITY))
        ok(
            write.post(
                f"{part}/tags",
                json={"template": "tagTemplates/reviewed", "fields": {"score": {"doubleValue": 0.5}}},
            )
        )
        found = ok(read.post(f"{C}/catalog:search", json={"query": "tag:reviewed.score<1"}))
        assert [r["relativeResourceName"] for r in found["results"]] == [part.removeprefix(f"{C}/")]
        assert [c["action"] for c in ok(read.get(f"{part}/history", params={"tags": True}))["changes"]] == [
            "upsert"
        ]
        said = error(write.post(f"{group}/entries", params={"entryId": "mine"}, json={"type": "TABLE"}), 400)
        assert "system group" in said
        assert "linkedResource" in said
        assert "system group" in error(write.patch(part, json={"description": "x"}), 400)
        assert "system group" in error(write.delete(part), 400)
        assert "system group" in error(write.delete(group, params={"force": True}), 400)
        ok(read.get(part))  # still there


def test_scopes(story: Api) -> None:
    with story.client("read") as read, story.client("write") as write, story.client(None) as anonymous:
        assert "needs write" in error(
            read.post(f"{C}/entryGroups", params={"entryGroupId": "x"}, json={}), 403
        )
        assert "needs admin" in error(
            write.post(f"{C}/tagTemplates", params={"tagTemplateId": "x"}, json=QUALITY), 403
        )
        error(anonymous.post(f"{C}/catalog:search", json={"query": "x"}), 401)
        ok(read.get(f"{C}/tagTemplates"))


def test_bad_input_names_the_field_and_writes_nothing(story: Api) -> None:
    with story.client("admin") as admin, story.client("read") as read:
        ok(admin.post(f"{C}/tagTemplates", params={"tagTemplateId": "quality"}, json=QUALITY))
        tag = {"template": "tagTemplates/quality", "fields": {"score": {"doubleValue": 1}}}
        bad = [
            (
                {"template": "tagTemplates/quality", "fields": {"score": {"stringValue": "x"}}},
                "fields.score is a DOUBLE",
            ),
            (
                {
                    "template": "tagTemplates/quality",
                    "fields": {"level": {"enumValue": {"displayName": "SILVER"}}},
                },
                "'SILVER' is not an allowed value",
            ),
            ({"template": "tagTemplates/quality", "fields": {"nope": {"doubleValue": 1}}}, "fields.nope"),
            ({"template": "tagTemplates/missing", "fields": {}}, "tagTemplates/missing does not exist"),
            ({"template": "tagTemplates/lineage_notes", "fields": {}}, "fields.source is required"),
            (
                {"template": "tagTemplates/quality", "fields": {"score": {"doubleValue": "1"}}},
                "fields.score.doubleValue",
            ),
            (
                {"template": "tagTemplates/quality", "column": "nope", "fields": {}},
                "column 'nope' is not in the entry's schema",
            ),
        ]
        for body, says in bad:
            assert says in error(admin.post(f"{ENTRY}/tags", json=body), 400), body
        # a batch with one bad tag writes none of them
        batch = {
            "tags": [
                {"entry": ENTRY.removeprefix(C + "/"), "tag": tag},
                {"entry": ENTRY.removeprefix(C + "/"), "tag": bad[0][0]},
            ]
        }
        assert "tags[1]: fields.score is a DOUBLE" in error(admin.post(f"{C}/tags:batch", json=batch), 400)
        assert [t["template"] for t in ok(read.get(f"{ENTRY}/tags"))["tags"] if t["source"] == "USER"] == [
            "tagTemplates/lineage_notes"
        ]
        assert "type 'TABEL' is not an entry type" in error(
            admin.post(
                f"{C}/entryGroups/machine-learning-pipelines/entries",
                params={"entryId": "t"},
                json={"type": "TABEL"},
            ),
            400,
        )
        assert "displayName" in error(
            admin.post(f"{C}/entryGroups", params={"entryGroupId": "g"}, json={"displayName": 3}), 400
        )
        assert "not valid" in error(
            admin.post(f"{C}/entryGroups", params={"entryGroupId": "a b"}, json={}), 400
        )
        assert "exists already" in error(
            admin.post(f"{C}/entryGroups", params={"entryGroupId": "machine-learning-pipelines"}, json={}),
            409,
        )
        assert "no wildcard in the scheme or the bucket" in error(
            admin.post(
                f"{C}/entryGroups/machine-learning-pipelines/entries",
                params={"entryId": "f"},
                json={"type": "FILESET", "gcsFilesetSpec": {"filePatterns": ["gs://buck*/x"]}},
            ),
            400,
        )
        assert "position 6" in error(read.post(f"{C}/catalog:search", json={"query": "usage)"}), 400)
        error(read.get(f"{C}/entryGroups/nope"), 404)
        typo = error(read.get(f"{C}/entryGroups/machine-learning-pipelines/entries/ml-pipelin"), 404)
        assert typo.endswith("did you mean entryGroups/machine-learning-pipelines/entries/ml-pipeline?")
        error(read.get(f"{C}/entries:lookup", params={"linkedResource": "dataset:nowhere:x"}), 404)


def test_template_evolution_rules(story: Api) -> None:
    with story.client("admin") as admin:
        path = f"{C}/tagTemplates/lineage_notes"
        fields = dict(TEMPLATE["fields"])
        changed = {**fields, "usage": {"type": {"primitiveType": "DOUBLE"}}}
        assert "a field's type never changes" in error(admin.patch(path, json={"fields": changed}), 400)
        required = {**fields, "owner": {"type": {"primitiveType": "STRING"}, "isRequired": True}}
        assert "a required field cannot be added" in error(admin.patch(path, json={"fields": required}), 400)
        optional = {**fields, "owner": {"type": {"primitiveType": "STRING"}}}
        assert "owner" in ok(admin.patch(path, json={"fields": optional}))["fields"]
        assert "delete with force" in error(admin.delete(path), 409)


def test_enum_values_are_added_or_renamed_never_removed(story: Api) -> None:
    with story.client("admin") as admin, story.client("read") as read:
        ok(
            admin.post(
                f"{C}/tagTemplates",
                params={"tagTemplateId": "tier"},
                json={"fields": {"level": QUALITY["fields"]["level"]}},
            )
        )
        ok(
            admin.post(
                f"{ENTRY}/tags",
                json={
                    "template": "tagTemplates/tier",
                    "fields": {"level": {"enumValue": {"displayName": "RAW"}}},
                },
            )
        )
        only_gold = {
            "fields": {"level": {"type": {"enumType": {"allowedValues": [{"displayName": "GOLD"}]}}}}
        }
        assert "never removed (RAW)" in error(admin.patch(f"{C}/tagTemplates/tier", json=only_gold), 400)
        ok(
            admin.post(
                f"{C}/tagTemplates/tier/fields/level/enumValues/RAW:rename",
                json={"newEnumValueDisplayName": "BRONZE"},
            )
        )
        tags = ok(read.get(f"{ENTRY}/tags"))["tags"]
        assert [t["fields"]["level"]["enumValue"] for t in tags if t["template"] == "tagTemplates/tier"] == [
            {"displayName": "BRONZE"}
        ]
        found = ok(read.post(f"{C}/catalog:search", json={"query": "tag:tier.level=bronze"}))
        assert found["totalSize"] == 1
        ok(admin.delete(f"{C}/tagTemplates/tier", params={"force": "true"}))
        assert (
            ok(read.post(f"{C}/catalog:search", json={"query": "tag:quality OR tag:lineage_notes"}))[
                "totalSize"
            ]
            == 1
        )
        assert "no tag template 'tier'" in error(
            read.post(f"{C}/catalog:search", json={"query": "tag:tier"}), 400
        )


def test_history_and_as_of(story: Api) -> None:
    with story.client("write") as write, story.client("read") as read:
        path = f"{C}/entryGroups/machine-learning-pipelines"
        before = ok(read.get(path))["dataCatalogTimestamps"]["updateTime"]
        time.sleep(0.01)
        ok(write.patch(path, json={"description": "Pipelines of the ML team"}))
        history = ok(read.get(f"{path}/history"))["changes"]
        assert [c["action"] for c in history] == ["upsert", "upsert"]
        assert history[-1]["by"] == "write-key"
        assert history[-1]["resource"]["description"] == "Pipelines of the ML team"
        old = ok(read.get(path, params={"asOf": before}))
        assert "description" not in old
        assert ok(read.get(path))["description"] == "Pipelines of the ML team"
        assert error(read.get(path, params={"asOf": "2000-01-01T00:00:00Z"}), 404).endswith("at that time")
        assert "asOf" in error(read.get(path, params={"asOf": "yesterday"}), 400)


def test_entry_history_with_its_tags(story: Api) -> None:
    """An entry's history with ``tags=true`` holds its tags' changes (a column's tag, deleted since,
    too) in the order they were made, each naming its kind, name and key; without it, the entry's."""
    column_tag = {"template": "tagTemplates/lineage_notes", "column": "user.email"}
    with story.client("write") as write, story.client("read") as read:
        ok(write.post(f"{ENTRY}/tags", json={**column_tag, "fields": {"source": {"stringValue": "signup"}}}))
        ok(write.post(f"{ENTRY}/tags", json={**column_tag, "fields": {"source": {"stringValue": "import"}}}))
        write.delete(f"{ENTRY}/tags/lineage_notes@user.email").raise_for_status()
        own = ok(read.get(f"{ENTRY}/history"))["changes"]
        assert {(c["kind"], c["name"]) for c in own} == {("entry", ENTRY.removeprefix(f"{C}/"))}
        changes = ok(read.get(f"{ENTRY}/history", params={"tags": "true"}))["changes"]
    entry = ENTRY.removeprefix(f"{C}/")
    seen = [(c["kind"], c["name"].removeprefix(entry), c["action"], c["by"]) for c in changes]
    assert seen[0] == ("entry", "", "upsert", "write-key")
    assert ("tag", "/tags/lineage_notes", "upsert", "write-key") in seen
    column = [s for s in seen if s[1] == "/tags/lineage_notes@user.email"]
    assert column == [
        ("tag", "/tags/lineage_notes@user.email", "upsert", "write-key"),
        ("tag", "/tags/lineage_notes@user.email", "upsert", "write-key"),
        ("tag", "/tags/lineage_notes@user.email", "delete", "write-key"),
    ]
    assert [c["time"] for c in changes] == sorted(c["time"] for c in changes)
    assert changes[-1]["resource"] is None  # deleted: no resource after it
