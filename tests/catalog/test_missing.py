"""A mistyped id: the error says the resource does not exist and names what it may have meant (a like
id beside it, or the same entry id in another group), as lineage's errors do; on both backends."""

from __future__ import annotations

import pytest

from threadline.catalog import reads
from threadline.catalog.changes import Planner
from threadline.catalog.local import change, plan
from threadline.errors import BadRequest, NotFound
from threadline.openlineage.catalog_changes import ENTRY, GROUP, TAG, TEMPLATE
from threadline.store.sql import SqlStore

NOTES = {"fields": {"usage": {"type": {"primitiveType": "STRING"}}}}
TAG_BODY = {"template": "tagTemplates/lineage_notes", "fields": {"usage": {"stringValue": "x"}}}


def _catalog(store: SqlStore) -> None:
    def build(p: Planner) -> None:
        p.put_group("machine-learning-pipelines", {})
        p.put_group("ops", {})
        p.put_template("lineage_notes", NOTES)
        for group, entry in (
            ("machine-learning-pipelines", "ml-pipeline"),
            ("ops", "jobs"),
            ("ops", "scores"),
        ):
            p.put_entry(group, entry, {"type": "TABLE"})
        p.put_tag("machine-learning-pipelines", "ml-pipeline", TAG_BODY)

    change(store, build)


def _missing(store: SqlStore, kind: str, name: str, what: str) -> str:
    with store.read() as connection:
        return reads.missing(connection, kind, name, what)


def test_a_mistyped_id_names_what_it_may_have_meant(store: SqlStore) -> None:
    _catalog(store)
    ml = "entryGroups/machine-learning-pipelines"
    assert _missing(store, ENTRY, f"{ml}/entries/ml-pipelin", "entry") == (
        f"entry {ml}/entries/ml-pipelin does not exist; did you mean {ml}/entries/ml-pipeline?"
    )
    # an entry of that id in another group
    assert _missing(store, ENTRY, "entryGroups/ops/entries/ml-pipeline", "entry") == (
        f"entry entryGroups/ops/entries/ml-pipeline does not exist; did you mean {ml}/entries/ml-pipeline?"
    )
    assert _missing(store, GROUP, "entryGroups/machine-learning", "entry group").endswith(
        f"did you mean {ml}?"
    )
    assert _missing(store, TEMPLATE, "tagTemplates/lineage_note", "tag template").endswith(
        "did you mean tagTemplates/lineage_notes?"
    )
    assert _missing(store, TAG, f"{ml}/entries/ml-pipeline/tags/lineage_note", "tag").endswith(
        f"did you mean {ml}/entries/ml-pipeline/tags/lineage_notes?"
    )
    # nothing alike: the plain message
    assert _missing(store, ENTRY, "entryGroups/ops/entries/zzz", "entry") == (
        "entry entryGroups/ops/entries/zzz does not exist"
    )


def test_writes_to_a_mistyped_resource_say_it_too(store: SqlStore) -> None:
    _catalog(store)
    with pytest.raises(NotFound, match=r"did you mean entryGroups/ops/entries/scores\?"):
        plan(store, lambda p: p.put_tag("ops", "score", TAG_BODY))
    with pytest.raises(
        BadRequest, match=r"^template: tag template tagTemplates/lineage_note does not exist; did"
    ):
        plan(store, lambda p: p.put_tag("ops", "jobs", {**TAG_BODY, "template": "tagTemplates/lineage_note"}))
    with pytest.raises(NotFound, match=r"did you mean entryGroups/ops\?"):
        plan(store, lambda p: p.put_group("opss", {"description": "x"}, create=False))
