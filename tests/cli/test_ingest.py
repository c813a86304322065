"""``threadline ingest``: files, folders, stdin, bad events and missing paths."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Run, error_lines
from tests.conftest import EXAMPLE_EVENTS
from threadline.store import open_store


def _event(index: int, **changes: object) -> dict[str, object]:
    event: dict[str, object] = {
        "eventType": "COMPLETE",
        "eventTime": f"2024-05-01T12:00:{index:02d}Z",
        "producer": "https://example.com/tests",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": f"0190a3b0-0000-7000-8000-{index:012d}"},
        "job": {"namespace": "tests", "name": f"job_{index}"},
        "inputs": [],
        "outputs": [{"namespace": "file", "name": f"/data/out_{index}.parquet"}],
    }
    event.update(changes)
    return event


def _count(url: str) -> int:
    store = open_store(url)
    try:
        return store.count_events()
    finally:
        store.close()


def test_example_file_then_all_duplicates(run: Run, sqlite_url: str) -> None:
    expected = sum(1 for line in EXAMPLE_EVENTS.read_bytes().splitlines() if line.strip())
    first = run("ingest", str(EXAMPLE_EVENTS), "--store", sqlite_url)
    assert first.exit_code == 0, first.output
    assert f"{expected} accepted" in first.stdout
    assert "0 duplicate, 0 rejected" in first.stdout
    second = run("ingest", str(EXAMPLE_EVENTS), "--store", sqlite_url)
    assert second.exit_code == 0, second.output
    assert f"0 accepted (0 with facet problems), {expected} duplicate, 0 rejected" in second.stdout
    assert _count(sqlite_url) == expected
    store = open_store(sqlite_url)
    try:
        assert store.projection_lag() == 0  # ingest folds what it stored
    finally:
        store.close()


def test_folder_is_read_recursively_and_sorted(run: Run, sqlite_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "events"
    (folder / "nested").mkdir(parents=True)
    (folder / "one.json").write_text(json.dumps(_event(1)))
    (folder / "many.json").write_text(json.dumps([_event(2), _event(3)]))
    (folder / "nested" / "lines.jsonl").write_text("\n".join(json.dumps(_event(i)) for i in (4, 5)) + "\n")
    (folder / "nested" / "more.ndjson").write_text(json.dumps(_event(6)) + "\n")
    (folder / "notes.txt").write_text("not events")
    result = run("ingest", str(folder), "--store", sqlite_url)
    assert result.exit_code == 0, result.output
    assert "6 accepted (0 with facet problems), 0 duplicate, 0 rejected" in result.stdout
    assert _count(sqlite_url) == 6


def test_stdin(run: Run, sqlite_url: str) -> None:
    lines = "\n".join(json.dumps(_event(i)) for i in range(3)) + "\n"
    result = run("ingest", "-", "--store", sqlite_url, input=lines)
    assert result.exit_code == 0, result.output
    assert "3 accepted" in result.stdout
    assert _count(sqlite_url) == 3


def test_bad_event_is_named_and_the_others_are_kept(run: Run, sqlite_url: str, tmp_path: Path) -> None:
    broken = _event(2)
    del broken["eventTime"]
    path = tmp_path / "mixed.jsonl"
    path.write_text(
        "\n".join([json.dumps(_event(1)), json.dumps(broken), "{not json", json.dumps(_event(3))])
    )
    result = run("ingest", str(path), "--store", sqlite_url)
    assert result.exit_code == 0, result.output
    assert "2 accepted (0 with facet problems), 0 duplicate, 2 rejected" in result.stdout
    assert f"{path}:2: eventTime is required" in result.stderr
    assert f"{path}:3: " in result.stderr
    assert _count(sqlite_url) == 2


def test_invalid_facet_is_kept_and_reported(run: Run, sqlite_url: str, tmp_path: Path) -> None:
    event = _event(1, run={"runId": "not-a-uuid"})
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    result = run("ingest", str(path), "--store", sqlite_url)
    assert result.exit_code == 0, result.output
    assert "1 accepted (1 with facet problems)" in result.stdout
    assert "not a UUID" in result.stderr


def test_many_rejects_are_summarised(run: Run, sqlite_url: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(json.dumps({"producer": f"p{i}"}) for i in range(25)) + "\n")
    result = run("ingest", str(path), "--store", sqlite_url)
    assert result.exit_code == 1
    assert "0 accepted (0 with facet problems), 0 duplicate, 25 rejected" in result.stdout
    assert "… and 5 more rejected" in result.stderr
    assert error_lines(result) == ["error: no valid event in the input (25 rejections)"]


def test_more_than_one_batch(run: Run, sqlite_url: str, tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    events = [_event(i % 60, job={"namespace": "tests", "name": f"job_{i}"}) for i in range(2500)]
    path.write_text("\n".join(json.dumps(e) for e in events) + "\n")
    result = run("ingest", str(path), "--store", sqlite_url)
    assert result.exit_code == 0, result.output
    assert "2500 accepted" in result.stdout
    assert _count(sqlite_url) == 2500


def test_missing_path_is_one_line(run: Run, sqlite_url: str, tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    result = run("ingest", str(missing), "--store", sqlite_url)
    assert result.exit_code == 1
    assert error_lines(result) == [f"error: {missing}: no such file or folder"]
    assert result.stdout == ""


def test_empty_folder_and_empty_file(run: Run, sqlite_url: str, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = run("ingest", str(tmp_path / "empty"), "--store", sqlite_url)
    assert result.exit_code == 1
    assert len(error_lines(result)) == 1
    (tmp_path / "empty.json").write_text("")
    result = run("ingest", str(tmp_path / "empty.json"), "--store", sqlite_url)
    assert result.exit_code == 1
    assert error_lines(result) == ["error: no events in the input"]


def test_no_argument_is_a_usage_error(run: Run) -> None:
    assert run("ingest").exit_code == 2
