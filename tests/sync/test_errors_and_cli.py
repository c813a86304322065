"""Sync's bad input gets one clear line; the CLI: remote add/list/remove, push, pull, status."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import threadline
from tests.cli.conftest import Run, error_lines
from tests.conftest import EXAMPLE_EVENTS
from threadline.store import open_store
from threadline.tracking import tracker


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project folder (``.threadline``) as the working directory, no THREADLINE_* set."""
    for name in list(__import__("os").environ):
        if name.startswith("THREADLINE_") and name != "THREADLINE_TEST_PG_URL":
            monkeypatch.delenv(name)
    folder = tmp_path / "site"
    (folder / ".threadline").mkdir(parents=True)
    open_store(f"sqlite:///{folder / '.threadline' / 'threadline.db'}").close()  # as `threadline init` does
    monkeypatch.chdir(folder)
    return folder


class _Fake(http.server.BaseHTTPRequestHandler):
    """A web server that is not threadline (or claims a sync protocol from the future)."""

    answer: bytes = b"<html>hello</html>"
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json" if self.answer.startswith(b"{") else "text/html")
        self.send_header("Content-Length", str(len(self.answer)))
        self.end_headers()
        self.wfile.write(self.answer)

    def log_message(self, *_args: object) -> None:
        return


@pytest.fixture
def fake_server() -> Iterator[type[_Fake]]:
    handler = type("Handler", (_Fake,), {})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    handler.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield handler
    server.shutdown()


def test_remote_add_list_remove_and_the_key_never_on_the_command_line(run: Run, project: Path) -> None:
    assert run("remote", "add", "origin", "http://127.0.0.1:1/").exit_code == 0
    assert run("remote", "add", "lake", "s3://bucket/objects").exit_code == 0
    listed = run("remote", "list").stdout
    assert "origin" in listed
    assert "THREADLINE_REMOTE_ORIGIN_KEY" in listed
    assert "object store" in listed
    again = run("remote", "add", "origin", "http://elsewhere:5000")
    assert "exists" in error_lines(again)[0]
    assert run("remote", "remove", "lake").exit_code == 0
    assert "lake" not in run("remote", "list").stdout
    assert "--key" not in run("remote", "add", "--help").stdout.replace("--key-env", "")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["push", "nowhere"], "no remote named 'nowhere'"),
        (["pull", "http://127.0.0.1:1"], "cannot reach"),
        (["pull", "http://127.0.0.1:1", "--pipeline", "p", "--node", "job:a:b"], "one of pipeline"),
        (["pull", "http://127.0.0.1:1", "--since", "yesterday"], "since"),
    ],
)
def test_bad_input_is_one_line(run: Run, project: Path, args: list[str], words: str) -> None:
    result = run(*args)
    assert result.exit_code == 1
    (line,) = error_lines(result)
    assert words in line


def test_not_a_threadline_server_and_a_newer_protocol(run: Run, project: Path, fake_server) -> None:
    result = run("push", fake_server.url)
    assert "not a threadline server" in error_lines(result)[0]
    fake_server.answer = json.dumps(
        {"siteId": "6c8d5a90-6a4a-4b59-8f0b-2d2f3a4b5c6d", "protocol": 99}
    ).encode()
    result = run("push", fake_server.url)
    assert "protocol 99" in error_lines(result)[0]
    assert "upgrade" in error_lines(result)[0]


def test_a_wrong_key_is_named_with_where_it_came_from(
    run: Run, project: Path, start_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_url = f"sqlite:///{tmp_path / 'server.db'}"
    server_store = open_store(store_url)
    server_store.create_api_key("writer", "write")
    server_store.close()
    server = start_server(store_url, auth="token")
    assert run("remote", "add", "origin", server.url).exit_code == 0
    monkeypatch.setenv("THREADLINE_REMOTE_ORIGIN_KEY", "tl_nope_nope")
    result = run("push")
    line = error_lines(result)[0]
    assert "refused the API key" in line
    assert "THREADLINE_REMOTE_ORIGIN_KEY" in line


def test_pushing_needs_a_write_key_and_pulling_a_read_key(
    run: Run, project: Path, start_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_url = f"sqlite:///{tmp_path / 'server.db'}"
    server_store = open_store(store_url)
    reader, _ = server_store.create_api_key("reader", "read")
    writer, _ = server_store.create_api_key("writer", "write")
    server_store.close()
    server = start_server(store_url, auth="token")
    assert run("ingest", str(EXAMPLE_EVENTS)).exit_code == 0
    assert run("remote", "add", "origin", server.url).exit_code == 0
    monkeypatch.setenv("THREADLINE_REMOTE_ORIGIN_KEY", reader)
    refused = run("push")
    assert refused.exit_code == 1
    assert "HTTP 403" in error_lines(refused)[0]
    assert run("pull").exit_code == 0  # read is enough to pull
    monkeypatch.setenv("THREADLINE_REMOTE_ORIGIN_KEY", writer)
    pushed = run("push")
    assert pushed.exit_code == 0, pushed.output
    assert "pushed 50 events" in pushed.stdout


def test_push_pull_and_status_from_the_command_line(
    run: Run, project: Path, start_server, tmp_path: Path
) -> None:
    server = start_server(f"sqlite:///{tmp_path / 'server.db'}", auth="none")
    assert run("ingest", str(EXAMPLE_EVENTS)).exit_code == 0
    assert run("remote", "add", "origin", server.url).exit_code == 0
    before = run("status").stdout
    assert "events: 50 ahead (to push), 0 behind (to pull)" in before
    pushed = run("push")
    assert pushed.exit_code == 0, pushed.output
    assert "pushed 50 events" in pushed.stdout
    assert "nothing to push" in run("push").stdout
    assert "events: 0 ahead (to push), 0 behind (to pull)" in run("status").stdout
    other = tmp_path / "other.db"
    pulled = run("pull", server.url, "--pipeline", "churn_pipeline", "--store", f"sqlite:///{other}")
    assert pulled.exit_code == 0, pulled.output
    assert "pulled 50 events" in pulled.stdout
    shown = run(
        "lineage",
        "job:threadline-examples:churn_pipeline.train",
        "--upstream",
        "--store",
        f"sqlite:///{other}",
    )
    assert shown.exit_code == 0
    assert "9 nodes" in shown.stdout


def test_pull_a_pipeline_the_sdk_named(
    run: Run, project: Path, start_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pipeline="etl"` in the SDK makes the job etl with its steps under it: `pull --pipeline etl`
    finds it, and brings the steps with it."""
    monkeypatch.setenv("HOME", str(tmp_path))
    tracker.reset()
    with threadline.run("extract", pipeline="etl"):
        pass
    with threadline.run("load", pipeline="etl"):
        pass
    with threadline.run("unrelated"):
        pass
    tracker.reset()  # ends the pipeline run, as the end of a script does
    server = start_server(f"sqlite:///{project / '.threadline' / 'threadline.db'}", auth="none")
    other = f"sqlite:///{tmp_path / 'other.db'}"
    pulled = run("pull", server.url, "--pipeline", "etl", "--store", other)
    assert pulled.exit_code == 0, pulled.output
    listed = json.loads(run("runs", "--pipeline", "etl", "--format", "json", "--store", other).stdout)
    assert sorted(r["job"]["name"] for r in listed) == ["etl", "etl.extract", "etl.load"]
    everything = json.loads(run("runs", "--format", "json", "--store", other).stdout)
    assert "unrelated" not in {r["job"]["name"] for r in everything}
    missing = run("pull", server.url, "--pipeline", "elt", "--store", other)
    assert missing.exit_code == 1
    assert "no pipeline 'elt': no job has that name" in error_lines(missing)[0]


def test_status_without_a_remote_says_which_store_this_is(run: Run, project: Path) -> None:
    result = run("status")
    assert result.exit_code == 0, result.output
    assert f"this store: sqlite:///{project / '.threadline' / 'threadline.db'}" in result.stdout
    assert "events: 0" in result.stdout
    assert "threadline remote add origin" in result.stderr
