"""Folding appended events ahead of the projector (what the server does: the parse workers fold each
batch, the writer keeps the rows by log range, the projector applies them without reading the log)
gives the same projections as folding the log."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.projection.helpers import state
from threadline.openlineage.events import parse_event, parse_with_document
from threadline.projection import project_all, project_pending
from threadline.projection.fold import fold_packed
from threadline.projection.model import Packed
from threadline.projection.projector import FoldAhead
from threadline.server.parsing import _parse_in_worker


@pytest.fixture(scope="module")
def stream(example_events: list[bytes], conformance: Path) -> list[bytes]:
    """The example pipeline's events and every conformance scenario's."""
    scenarios = sorted((conformance / "scenarios").glob("*/events/*.json"))
    return list(example_events) + [path.read_bytes() for path in scenarios]


def _folded(raws: list[bytes], parts: int) -> Packed:
    """The fold of ``raws`` as parse workers make it: in ``parts`` chunks, merged."""
    size = max(1, -(-len(raws) // parts))
    packed = Packed()
    for start in range(0, len(raws), size):
        pairs = [parse_with_document(raw) for raw in raws[start : start + size]]
        packed.merge(fold_packed([event for event, _ in pairs], [document for _, document in pairs]))
    return packed


def _drain(ahead: FoldAhead, store) -> None:
    while ahead.step(store, batch_size=5)[0]:
        pass


@pytest.mark.parametrize(("step_events", "limit_events"), [(40, 10_000), (7, 60)])
def test_folding_ahead_matches_the_projector(store, new_store, stream, step_events, limit_events) -> None:
    # Newest first with repeats, in chunks of 1 to 29; now and then an append is not handed over
    # (another server's, or past the limit) and another projector folds part of the log (so segments
    # start before the mark, or are folded already): the log fills each gap.
    ahead = FoldAhead(step_events=step_events, limit_events=limit_events)
    arrivals = list(reversed(stream)) + stream[::4]
    position, turn = 0, 0
    while position < len(arrivals):
        raws = arrivals[position : position + 1 + (turn * 7) % 29]
        position += len(raws)
        turn += 1
        packed = _folded(raws, 1 + turn % 3)
        assert packed.events == len(raws)
        result = store.append([parse_event(raw) for raw in raws])
        if turn % 5 != 0:
            ahead.appended(result.before, result.head, len(result.inserted), packed)
        if turn % 9 == 0:
            project_pending(store, batch_size=3)
        if turn % 4 == 0:
            ahead.step(store, batch_size=5)
    _drain(ahead, store)
    assert store.projection_lag() == 0
    assert ahead.held == 0
    reference = new_store()
    reference.append([parse_event(raw) for raw in stream])
    project_all(reference)
    assert state(store) == state(reference)


def test_a_step_applies_a_segment_without_reading_the_log(store, stream) -> None:
    raws = stream[:30]
    result = store.append([parse_event(raw) for raw in raws])
    ahead = FoldAhead()
    ahead.appended(result.before, result.head, len(result.inserted), _folded(raws, 2))
    # The rows kept are what is applied: emptied, they fold nothing, and the mark still moves on.
    ahead._segments[0].packed.rows.clear()
    assert ahead.step(store) == (len(raws), result.head)
    assert store.projection_lag() == 0
    assert state(store)["runs"] == []


def test_parse_workers_fold_what_they_accept(stream) -> None:
    elements = [*stream[:20], b'{"eventTime": "not a time"}', b"[1"]
    answers, packed = _parse_in_worker(elements, None, fold=True)
    assert [len(answer) for answer in answers[-2:]] == [3, 3]  # the two refused
    assert packed is not None
    assert packed.events == 20
    assert packed.rows == fold_packed([parse_event(raw) for raw in stream[:20]]).rows
    assert _parse_in_worker(elements, None)[1] is None  # not asked to fold


def _catalog_events(new_store) -> list[bytes]:
    """A catalog's changes as events: templates, entries, tags on entries and columns, a tag removed,
    and a template created after the tags (it sorts first: every entry's mask moves)."""
    from threadline.catalog.changes import change_events
    from threadline.catalog.local import commit, plan

    fields = {"note": {"type": {"primitiveType": "STRING"}}}

    def tag(template: str, column: str = "") -> dict[str, object]:
        return {
            "template": f"tagTemplates/{template}",
            "column": column,
            "fields": {"note": {"stringValue": "x"}},
        }

    def _entry(entry_id: str):  # type: ignore[no-untyped-def]
        body = {"type": "TABLE", "schema": {"columns": [{"column": "id", "type": "STRING"}]}}
        return lambda p: p.put_entry("sales", entry_id, body)

    scratch = new_store()  # planned against a store of their own, so that each step sees the last
    steps = [
        lambda p: p.put_template("middle", {"fields": fields}),
        lambda p: p.put_template("last", {"fields": fields}),
        lambda p: p.put_group("sales", {"displayName": "Sales"}),
        *[_entry(f"orders_{i}") for i in range(4)],
        lambda p: p.put_tag("sales", "orders_0", tag("middle")),
        lambda p: p.put_tag("sales", "orders_1", tag("middle", "id")),
        lambda p: p.put_tag("sales", "orders_2", tag("last")),
        lambda p: p.delete_tag("sales", "orders_2", "last"),
        lambda p: p.put_template("first", {"fields": fields}),
        lambda p: p.put_tag("sales", "orders_3", tag("first")),
    ]
    raws: list[bytes] = []
    for step in steps:
        _, changes = plan(scratch, step)
        raws.extend(change_events(changes))
        commit(scratch, changes)
    return raws


def test_catalog_changes_folded_ahead_derive_what_the_log_does(store, new_store) -> None:
    """A catalog's changes that arrive through the parse workers (a sync push, a batch) give the entries
    the same template lists and masks (search's facets and ``NOT tag:T``) as the fold from the log."""
    from threadline.catalog.search import search

    raws = _catalog_events(new_store)
    ahead = FoldAhead()
    for start in range(0, len(raws), 3):
        part = raws[start : start + 3]
        result = store.append([parse_event(raw) for raw in part])
        ahead.appended(result.before, result.head, len(result.inserted), _folded(part, 1))
        _drain(ahead, store)
    assert store.projection_lag() == 0
    reference = new_store()
    reference.append([parse_event(raw) for raw in raws])
    project_all(reference)
    assert state(store) == state(reference)
    with store.read() as connection:
        answer = search(connection, "orders -tag:middle")
        entries = connection.exec_driver_sql(
            "SELECT name, tag_templates FROM catalog_objects WHERE kind = 'entry' ORDER BY name"
        ).all()
    assert [(str(name), templates) for name, templates in entries] == [
        ("entryGroups/sales/entries/orders_0", '["middle"]'),
        ("entryGroups/sales/entries/orders_1", '["middle"]'),
        ("entryGroups/sales/entries/orders_2", None),
        ("entryGroups/sales/entries/orders_3", '["first"]'),
    ]
    assert sorted(r["relativeResourceName"].rsplit("/", 1)[-1] for r in answer["results"]) == [
        "orders_2",
        "orders_3",
    ]
    assert answer["facets"]["template"] == {"first": 1}
