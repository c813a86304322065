"""The catalog's pages in headless Chromium, over the real server: the user story (search with the
grammar, open the entry, see its tags as typed cards, the datasets its patterns name and its lineage),
tagging from the page with a write key, templates, and hostile names shown as text."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import ROOT
from tests.projection.helpers import ds, feed, run_event
from tests.server.conftest import ServerProcess, free_port
from tests.web.conftest import VIEWPORT, save_screenshot
from threadline.catalog import files
from threadline.catalog.local import change, plan
from threadline.catalog.local import commit as commit_changes
from threadline.store import open_store
from threadline.store.sql import SqlStore

pytestmark = pytest.mark.slow

EXAMPLE = ROOT / "examples" / "catalog" / "ml-pipelines.yaml"
BUCKET = "gs://your-bucket"
HOSTILE = "<img src=x onerror=alert(1)>"
PRODUCER_PII = {"tags": [{"key": "PII", "value": "true", "source": "producer"}]}


def _story_store(url: str) -> SqlStore:
    """A store with the user story's lineage and catalog, a PII column tag and hostile names."""
    store = open_store(url)
    feed(
        store,
        [
            run_event(
                "COMPLETE",
                1,
                1,
                job="ml_pipeline_job",
                namespace="dataflow",
                inputs=[ds("raw/clicks.json", BUCKET)],
                outputs=[
                    ds("path/to/output/data/part-0", BUCKET, tags=PRODUCER_PII),
                    ds("path/to/output/data/part-1", BUCKET),
                ],
            )
        ],
    )
    _, changes = plan(store, lambda p: files.plan_file(p, files.load(EXAMPLE)))
    commit_changes(store, changes)
    change(
        store,
        lambda p: p.put_template(
            "quality",
            {
                "displayName": "Data quality",
                "fields": {
                    "score": {"displayName": "Score", "type": {"primitiveType": "DOUBLE"}},
                    "level": {"type": {"enumType": {"allowedValues": [{"displayName": "GOLD"}]}}},
                    "note": {"displayName": "Note", "type": {"primitiveType": "STRING"}},
                },
            },
        ),
    )

    # the input's entry: a PII tag on one of its columns, and a tag whose template has a hostile name
    def clicks(p: Any) -> None:
        text = {"type": {"primitiveType": "STRING"}}
        p.put_template("pii", {"displayName": "PII", "fields": {"kind": text}})
        p.put_template("odd", {"displayName": HOSTILE, "fields": {"note": text}})
        p.put_entry(
            "machine-learning-pipelines",
            "clicks",
            {
                "type": "FILESET",
                "displayName": "Raw clicks",
                "linkedResource": f"dataset:{BUCKET}:raw/clicks.json",
                "schema": {"columns": [{"column": "user_id"}, {"column": "email", "type": "STRING"}]},
            },
        )
        p.put_tag(
            "machine-learning-pipelines",
            "clicks",
            {"template": "tagTemplates/pii", "column": "email", "fields": {"kind": {"stringValue": "EMAIL"}}},
        )
        p.put_tag(
            "machine-learning-pipelines",
            "clicks",
            {"template": "tagTemplates/odd", "fields": {"note": {"stringValue": HOSTILE}}},
        )

    change(store, clicks)
    change(
        store,
        lambda p: p.put_entry(
            "machine-learning-pipelines",
            "hostile",
            {"type": "TABLE", "displayName": HOSTILE, "description": HOSTILE},
        ),
    )
    return store


@pytest.fixture(scope="module")
def catalog_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("catalog-web")
    url = f"sqlite:///{folder / 'threadline.db'}"
    _story_store(url).close()
    server = ServerProcess(url, free_port(), folder / "server.log", {"auth": "none"}).start()
    yield server
    server.stop()
    assert "Traceback" not in server.log(), server.log()


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str, str]]:
    """The story on a server that requires keys: with a read key and a write key for it."""
    folder = tmp_path_factory.mktemp("catalog-web-keys")
    url = f"sqlite:///{folder / 'threadline.db'}"
    store = _story_store(url)
    read_key, _ = store.create_api_key("ui-reader", "read")
    write_key, _ = store.create_api_key("ui-writer", "write")
    store.close()
    server = ServerProcess(url, free_port(), folder / "server.log", {"auth": "token"}).start()
    yield server, read_key, write_key
    server.stop()
    assert "Traceback" not in server.log(), server.log()


@pytest.fixture
def page(browser: Any, catalog_server: ServerProcess) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORT, base_url=catalog_server.url)
    opened = context.new_page()
    problems: list[str] = []
    opened.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    # an error answer the page shows (a malformed query's 400) is no problem; anything else is
    expected = "the server responded with a status of 400"
    opened.on(
        "console", lambda m: problems.append(m.text) if m.type == "error" and expected not in m.text else None
    )
    yield opened
    context.close()
    assert problems == []


def test_search_open_see_tags_and_lineage(page: Any) -> None:
    page.goto("/catalog")
    page.fill("#catalog-query", "tag:lineage_notes.usage:training")
    page.press("#catalog-query", "Enter")
    page.wait_for_selector("#catalog-results")
    assert page.locator("#catalog-results li").count() == 1
    assert "DATA_STREAM" in page.inner_text(".facets")
    save_screenshot(page, "catalog-search")
    page.click("#catalog-results a")
    page.wait_for_selector("#entry-tags .tag-card")
    card = page.inner_text("#entry-tags .tag-card")
    assert "Lineage notes" in card  # the template's display name
    assert "Usage" in card
    assert "Model training for the churn model" in card
    matching = page.inner_text("#matching-datasets")
    assert f"{BUCKET}/path/to/output/data/part-0" in matching
    assert f"{BUCKET}/path/to/output/data/part-1" in matching
    save_screenshot(page, "catalog-entry")
    page.click("#open-lineage")
    page.wait_for_url("**/lineage?**")
    page.wait_for_selector("text=ml_pipeline_job", timeout=30_000)
    page.wait_for_selector("#graph[data-state=ready]", timeout=30_000)
    # the badges: the job's entry's tag, on the job and on the datasets its file patterns name
    job = page.locator("li[data-id='job:dataflow:ml_pipeline_job']")
    job.and_(page.locator("[data-tags]")).wait_for(state="attached")  # the list comes after the drawing
    assert job.get_attribute("data-tags") == "Lineage notes"
    part = page.locator(f"li[data-id='dataset:{BUCKET}:path/to/output/data/part-0']")
    assert part.get_attribute("data-tags") == "Lineage notes, PII"  # the catalog's, then the producer's
    assert (
        page.locator(f"li[data-id='dataset:{BUCKET}:path/to/output/data/part-1']").get_attribute("data-tags")
        == "Lineage notes"
    )
    # the input's entry tags a column PII, and has a template with a hostile name: shown as text
    clicks = page.locator(f"li[data-id='dataset:{BUCKET}:raw/clicks.json']")
    assert clicks.get_attribute("data-tags") == f"{HOSTILE}, PII"
    assert HOSTILE in (clicks.text_content() or "")  # the list below the graph, folded
    assert page.locator("#graph-list img").count() == 0
    save_screenshot(page, "catalog-lineage")
    page.locator("details.graph-list-box > summary").click()
    job.locator("button").click()
    panel = page.wait_for_selector(".node-tags")
    assert "Lineage notes" in panel.inner_text()
    save_screenshot(page, "catalog-lineage-panel")
    page.click(".node-tags a")
    page.wait_for_selector("#entry-tags .tag-card")


def test_type_ahead(page: Any) -> None:
    from playwright.sync_api import expect  # only where the browser tests run

    page.goto("/catalog")
    box = page.locator("#catalog-query")
    suggestions = page.locator("#catalog-suggestions li")
    box.press_sequentially("ta", delay=20)
    expect(suggestions).to_have_count(1)  # the qualifiers offered on focus give way to tag: alone
    expect(suggestions.first).to_contain_text("tag:")
    box.press("Tab")  # takes the first: a qualifier, so it asks again
    assert box.input_value() == "tag:"
    box.press_sequentially("lin", delay=20)
    # one template matches: it, then its fields (with their display names and the operator they take)
    usage = page.locator("#catalog-suggestions li", has_text="tag:lineage_notes.usage:")
    usage.wait_for()
    assert suggestions.first.inner_text().lower().startswith("template")
    assert "Usage" in usage.inner_text()
    save_screenshot(page, "catalog-type-ahead")
    usage.click()  # takes it, and asks for the values
    assert box.input_value() == "tag:lineage_notes.usage:"
    page.wait_for_selector("#catalog-suggestions li >> text=tag:lineage_notes.usage:training")
    box.press_sequentially("tr", delay=20)
    expect(suggestions).to_have_count(1)
    expect(suggestions.first).to_contain_text("training")
    box.press("ArrowDown")
    box.press("Enter")  # takes the suggestion moved to
    assert box.input_value() == "tag:lineage_notes.usage:training "
    box.press("Enter")  # searches
    page.wait_for_selector("#catalog-results")
    assert page.locator("#catalog-results li").count() == 1
    # a word: qualifiers, templates and entries; an entry opens its page
    page.goto("/catalog")
    page.locator("#catalog-query").press_sequentially("ml", delay=20)
    page.wait_for_selector("#catalog-suggestions li >> text=ML pipeline output")
    page.click("#catalog-suggestions li >> text=ML pipeline output")
    page.wait_for_url("**/entries/ml-pipeline")
    page.wait_for_selector("#entry-tags .tag-card")
    # hostile names in suggestions are text
    page.goto("/catalog")
    page.locator("#catalog-query").press_sequentially("tag:od", delay=20)
    page.wait_for_selector("#catalog-suggestions li >> text=tag:odd")
    assert HOSTILE in page.inner_text("#catalog-suggestions")
    assert page.locator("#catalog-suggestions img").count() == 0


def test_tag_an_entry_from_its_page(page: Any) -> None:
    page.goto("/catalog/entryGroups/machine-learning-pipelines/entries/ml-pipeline")
    page.wait_for_selector(".tag-form")
    page.select_option(".tag-form select[name=template]", "quality")
    page.fill(".tag-form input[name=score]", "0.97")
    page.select_option(".tag-form select[name=level]", "GOLD")
    page.fill(".tag-form input[name=note]", "checked by hand")
    page.click(".tag-form button[type=submit]")
    page.wait_for_selector("text=Data quality")
    assert "0.97" in page.inner_text("#entry-tags")
    page.goto("/catalog?q=" + "tag%3Aquality.score%3E0.9")
    page.wait_for_selector("#catalog-results")
    assert page.locator("#catalog-results li").count() == 1


def test_a_dataset_is_an_entry_without_registering_it(page: Any) -> None:
    """From a dataset's page to lineage's own entry of it, tagged there on a column, found by search."""
    page.goto(f"/datasets/{quote(BUCKET, safe='')}/{quote('path/to/output/data/part-1', safe='')}")
    page.click("text=Catalog entry")
    page.wait_for_selector(".tag-form")
    assert "/catalog/entryGroups/%40gs___your-bucket~" in page.url
    assert page.inner_text("h1") == "path/to/output/data/part-1"
    assert page.inner_text("header.page-header .namespace") == f"{BUCKET} · lineage's own entry"
    page.select_option(".tag-form select[name=template]", "quality")
    page.fill(".tag-form input[name=score]", "0.42")
    page.click(".tag-form button[type=submit]")
    page.wait_for_selector("#entry-tags >> text=0.42")
    save_screenshot(page, "catalog-lineage-entry")
    page.goto("/catalog?q=" + quote("tag:quality.score<0.5"))
    page.wait_for_selector("#catalog-results li")
    results = page.inner_text("#catalog-results")
    assert "path/to/output/data/part-1" in results
    assert f"dataset in {BUCKET} · lineage's own entry" in results
    assert page.locator("#catalog-results li").count() == 1


def test_templates_and_hostile_names(page: Any) -> None:
    page.goto("/catalog/templates")
    page.wait_for_selector("text=Lineage notes")
    assert "ENUM (GOLD)" in page.inner_text("body")
    page.goto("/catalog?q=type%3DTABLE")
    page.wait_for_selector("#catalog-results")
    assert HOSTILE in page.inner_text("#catalog-results")  # shown as text, no image, no alert
    assert page.locator("#catalog-results img").count() == 0
    page.goto("/catalog?q=tag%3Aquality.score%3Dabc")
    page.wait_for_selector(".notice-error")
    assert "position" in page.inner_text(".notice-error")


def test_edit_and_delete_tags_with_a_write_key(
    browser: Any, keyed_server: tuple[ServerProcess, str, str]
) -> None:
    from playwright.sync_api import expect  # only where the browser tests run

    server, read_key, write_key = keyed_server
    context = browser.new_context(viewport=VIEWPORT, base_url=server.url)
    page = context.new_page()
    problems: list[str] = []
    page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    # the refusals (401 without a key, 403 with a read key) are what make the page ask for a key
    refused = ("status of 401", "status of 403")
    page.on(
        "console",
        lambda m: (
            problems.append(m.text) if m.type == "error" and not any(r in m.text for r in refused) else None
        ),
    )
    dialog = page.locator("#auth-dialog[open]")
    try:
        page.goto("/catalog/entryGroups/machine-learning-pipelines/entries/ml-pipeline")
        dialog.wait_for()
        dialog.locator("input[name=key]").fill(read_key)
        dialog.locator("button[type=submit]").click()
        page.wait_for_selector("#entry-tags .tag-card")
        # Edit fills the form with the tag's values; the button says it updates
        page.click("#entry-tags [data-action=edit-tag]")
        usage = page.locator(".tag-form input[name=usage]")
        assert usage.input_value() == "Model training for the churn model"
        assert page.inner_text(".tag-form button[type=submit]") == "Update tag"
        usage.fill("Model training and scoring")
        page.click(".tag-form button[type=submit]")
        # the read key may not write: the server's 403 asks for another key, and the write is retried
        dialog.wait_for()
        assert "this needs write" in dialog.inner_text()
        dialog.locator("input[name=key]").fill(write_key)
        dialog.locator("button[type=submit]").click()
        page.locator("#entry-tags", has_text="Model training and scoring").wait_for()
        save_screenshot(page, "catalog-tag-edited")
        # a column's tag, written from the form, then deleted from its card
        page.goto("/catalog/entryGroups/machine-learning-pipelines/entries/clicks")
        page.wait_for_selector(".tag-form")
        page.select_option(".tag-form select[name=template]", "pii")
        page.select_option(".tag-form select[name=column]", "user_id")
        page.fill(".tag-form input[name=kind]", "ID")
        page.click(".tag-form button[type=submit]")
        page.locator("#column-tags", has_text="on user_id").wait_for()
        card = page.locator("#column-tags .tag-card", has_text="on user_id")
        card.locator("[data-action=delete-tag]").click()
        card.locator("[data-action=confirm-delete]").click()
        expect(page.locator("#column-tags .tag-card", has_text="on user_id")).to_have_count(0)
        expect(page.locator("#column-tags .tag-card", has_text="on email")).to_have_count(1)
        # the entry's history holds its tags' changes: who wrote and deleted the column's tag
        page.reload()
        history = page.locator("section", has=page.locator("h2", has_text="History"))
        history.locator("tr", has_text="deleted").wait_for()
        rows = [r.split("\t") for r in history.locator("tbody tr").all_inner_texts()]
        user_id = [(r[1], r[3]) for r in rows if r[2] == "tag PII on column user_id"]
        assert user_id == [("deleted", "ui-writer"), ("created", "ui-writer")]  # newest first
        assert rows[-1][1:3] == ["created", "entry"]
        history.scroll_into_view_if_needed()
        save_screenshot(page, "catalog-entry-history")
    finally:
        context.close()
    assert problems == []
    group = "/api/v1/catalog/entryGroups/machine-learning-pipelines"
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {read_key}"}) as client:
        tags = client.get(f"{group}/entries/clicks/tags").json()
        history = client.get(f"{group}/entries/ml-pipeline/tags/lineage_notes/history").json()
    assert history["changes"][-1]["by"] == "ui-writer"  # the tag's history names the key
    assert sorted(t.get("column", "") for t in tags["tags"] if t.get("source", "USER") == "USER") == [
        "",
        "email",
    ]
