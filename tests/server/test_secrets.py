"""Credentials are never printed, and health says little without a key (issue 13, item 11).

The report: ``GET /api/v1/health`` without a key showed federation URLs with their passwords, the last
errors and the objects path, and the server log printed the password too.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.cli.conftest import Run, run  # noqa: F401  (a fixture)
from tests.server.conftest import free_port
from threadline.redact import redact_text, redact_url
from threadline.store import open_store

SECRET = "s3cr3t-Pa55w0rd"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            f"https://alice:{SECRET}@lineage.example.com:8443/api?x=1",
            "https://alice:***@lineage.example.com:8443/api?x=1",
        ),
        (f"http://alice:{SECRET}@10.0.0.5:5000", "http://alice:***@10.0.0.5:5000"),
        (f"https://{SECRET}@lineage.example.com", "https://***@lineage.example.com"),
        (f"postgresql://tl:{SECRET}@db:5432/lineage", "postgresql://tl:***@db:5432/lineage"),
        ("postgresql://postgres@127.0.0.1:5432/test", "postgresql://postgres@127.0.0.1:5432/test"),
        (
            f"postgresql+psycopg://u@h/db?password={SECRET}&sslmode=require",
            "postgresql+psycopg://u@h/db?password=***&sslmode=require",
        ),
        (f"https://h/x?token={SECRET}&page=2", "https://h/x?token=***&page=2"),
        (f"https://h/x?api_key={SECRET}", "https://h/x?api_key=***"),
        (
            f"s3://bucket/k?X-Amz-Signature={SECRET}&X-Amz-Date=1",
            "s3://bucket/k?X-Amz-Signature=***&X-Amz-Date=1",
        ),
        (f"https://h/x?sslpassword={SECRET}", "https://h/x?sslpassword=***"),
        (
            "postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dtl_1",
            "postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dtl_1",
        ),
        ("sqlite:////home/me/.threadline/threadline.db", "sqlite:////home/me/.threadline/threadline.db"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("not a url at all", "not a url at all"),
        ("http://[::1", "http://[::1"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert SECRET not in redact_url(url)


_NAME = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12)
_PASSWORD = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!$&'()*+,;=%~._", min_size=1, max_size=24
).map(lambda text: "PW" + text)


@given(
    scheme=st.sampled_from(["http", "https", "postgresql", "postgresql+psycopg", "s3", "ftp"]),
    user=_NAME,
    password=_PASSWORD,
    host=_NAME,
    port=st.one_of(st.none(), st.integers(1, 65535)),
    path=_NAME,
    param=st.sampled_from(["token", "password", "key", "api_key", "secret", "sig", "Signature"]),
)
def test_no_password_or_secret_parameter_survives(
    scheme: str, user: str, password: str, host: str, port: int | None, path: str, param: str
) -> None:
    where = f"{host}:{port}" if port else host
    url = f"{scheme}://{user}:{password}@{where}/{path}"
    shown = redact_url(url)
    assert password not in shown
    assert where in shown
    assert user in shown
    assert path in shown
    message = f"cannot reach remote origin ({url}): connection refused"
    assert password not in redact_text(message)
    assert "connection refused" in redact_text(message)


@given(
    param=st.sampled_from(["token", "password", "key", "api_key", "secret", "sig", "X-Amz-Signature"]),
    value=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%", min_size=1).map(lambda t: "PW" + t),
    before=st.sampled_from(["", "page=2&", "a=b;"]),
)
def test_no_secret_query_value_survives(param: str, value: str, before: str) -> None:
    url = f"https://lineage.example.com/x?{before}{param}={value}&page=3"
    shown = redact_url(url)
    assert value not in shown
    assert shown.endswith("&page=3")
    assert value not in redact_text(f"GET {url} failed")


def test_remote_add_list_and_remove_never_print_the_password(
    run: Run,  # noqa: F811  (the fixture imported above)
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / ".threadline").mkdir()
    monkeypatch.chdir(tmp_path)
    url = f"https://sync-user:{SECRET}@lineage.example.com"
    added = run("remote", "add", "origin", url)
    assert added.exit_code == 0, added.output
    listed = run("remote", "list")
    again = run("remote", "add", "origin", url)
    removed = run("remote", "remove", "origin")
    for result in (added, listed, again, removed):
        assert SECRET not in result.output
    assert "sync-user:***" in listed.output


# ---- a real server pulling from a URL with a password ----------------------------------------------------


def _serve(url: str, port: int, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    command = [str(Path(sys.executable).parent / "threadline"), "serve", "--store", url]
    command += ["--host", "127.0.0.1", "--port", str(port), *extra]
    with log.open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=out)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    pytest.fail(f"the server did not start:\n{log.read_text()}")


@pytest.mark.slow
def test_health_without_a_key_says_only_up_and_nothing_prints_the_federation_password(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'threadline.db'}"
    store = open_store(url)
    read_key = store.create_api_key("reader", "read")[0]
    store.close()
    nowhere = f"http://fed-user:{SECRET}@127.0.0.1:{free_port()}"  # nothing listens there
    port, log = free_port(), tmp_path / "server.log"
    server = _serve(url, port, log, "--auth", "token", "--pull-from", nowhere, "--pull-every", "1")
    base = f"http://127.0.0.1:{port}/api/v1/health"
    try:
        deadline = time.monotonic() + 30
        details: dict = {}
        while time.monotonic() < deadline:
            details = httpx.get(base, headers={"Authorization": f"Bearer {read_key}"}).json()
            if details["federation"]["remotes"][0]["lastError"]:
                break
            time.sleep(0.2)
        anonymous = httpx.get(base)
        wrong_key = httpx.get(base, headers={"Authorization": "Bearer tl_nothere_secret"})
    finally:
        server.terminate()
        server.wait(15)
    assert anonymous.status_code == 200
    assert anonymous.json() == {"status": "ok"}
    assert wrong_key.json() == {"status": "ok"}
    remote = details["federation"]["remotes"][0]
    assert remote["lastError"], details
    assert "fed-user:***@127.0.0.1" in remote["remote"]
    assert details["store"] == {"backend": "sqlite", "writable": True}
    assert details["objects"]
    assert SECRET not in str(details)
    printed = log.read_text()
    assert "federation: pulling from" in printed  # the failure is logged ...
    assert SECRET not in printed  # ... without the password
