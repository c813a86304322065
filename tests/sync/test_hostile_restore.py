"""Restore trusts neither the events pulled from a server nor the objects pulled from a remote."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import httpx
import pytest

from tests.cli.conftest import Run, error_lines
from threadline.artifacts import ArtifactStore
from threadline.artifacts.hashing import hash_bytes
from threadline.artifacts.objects import ObjectDB

pytestmark = pytest.mark.slow


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A threadline project as the working directory, with its own HOME and no THREADLINE_* set."""
    for name in list(os.environ):
        if name.startswith("THREADLINE_") and name != "THREADLINE_TEST_PG_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def _event(name: str, version: str) -> tuple[str, bytes]:
    run_id = str(uuid.uuid4())
    facet = {
        "_producer": "https://example.com/p",
        "_schemaURL": "https://example.com/s",
        "datasetVersion": version,
    }
    doc = {
        "eventType": "COMPLETE",
        "eventTime": "2024-05-01T12:00:00Z",
        "producer": "https://example.com/hostile-server",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": run_id},
        "job": {"namespace": "hostile", "name": "job"},
        "inputs": [{"namespace": "file", "name": name, "facets": {"version": facet}}],
    }
    return run_id, json.dumps(doc).encode()


def test_events_pulled_from_a_server_cannot_restore_outside(
    run: Run, start_server, sqlite_url: str, project: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    payload = b"pwned\n"
    oid = f"blake3:{hash_bytes(payload)}"
    assert run("init").exit_code == 0
    ArtifactStore.for_project(".threadline").odb.add_bytes(payload)
    server = start_server(sqlite_url, auth="none")
    up = "/.." * (len(project.parts) + 2)
    run_id, body = _event(f"{up}{outside}/x", oid)
    with httpx.Client(base_url=server.url) as client:
        assert client.post("/api/v1/lineage", content=body).status_code == 201
    assert run("pull", server.url).exit_code == 0
    for extra in ([], ["--force"]):
        refused = run("restore", run_id, *extra)
        assert refused.exit_code == 1
        assert "outside the project" in error_lines(refused)[0]
    assert list(outside.iterdir()) == []
    placed = run("restore", run_id, "--to", "out")
    assert placed.exit_code == 0, placed.output
    assert (project / "out" / str(outside / "x").lstrip("/")).read_bytes() == payload
    assert list(outside.iterdir()) == []


def test_a_directory_whose_manifest_escapes_is_refused(run: Run, project: Path, tmp_path: Path) -> None:
    """A remote's manifest naming ``../`` paths: pulled, found unsafe, nothing written."""
    assert run("init").exit_code == 0
    remote = ObjectDB(tmp_path / "remote")
    payload = b"pwned\n"
    file_id = remote.add_bytes(payload)
    for path in ("../../escaped", "/abs/escaped", "a/../../escaped"):
        entry = {"exec": False, "oid": f"blake3:{file_id.value}", "path": path, "size": len(payload)}
        manifest = json.dumps({"entries": [entry], "version": 1}, separators=(",", ":")).encode()
        dir_id = f"blake3:{remote.add_bytes(manifest).value}.dir"
        run_id, body = _event(f"{project}/data", dir_id)
        Path("event.json").write_bytes(body)
        assert run("ingest", "event.json").exit_code == 0
        for extra in ([], ["--to", "out"]):
            result = run("restore", run_id, "--remote", str(tmp_path / "remote"), *extra)
            assert result.exit_code == 1, result.output
            assert "unsafe path" in error_lines(result)[0], result.output
    assert not (tmp_path / "escaped").exists()
    assert not (project / "data").exists()
    assert not (project / "out").exists()
