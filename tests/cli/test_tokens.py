"""``threadline token create|list|revoke``."""

from __future__ import annotations

from tests.cli.conftest import Run, error_lines
from threadline.store import open_store


def test_create_list_revoke(run: Run, sqlite_url: str) -> None:
    created = run("token", "create", "--name", "airflow", "--scope", "write", "--store", sqlite_url)
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip()
    assert secret.startswith("tl_")
    assert "cannot be shown again" in created.stderr
    store = open_store(sqlite_url)
    try:
        key = store.verify_api_key(secret)
        assert key is not None
        assert (key.name, key.scope) == ("airflow", "write")
    finally:
        store.close()

    listed = run("token", "list", "--store", sqlite_url)
    assert listed.exit_code == 0, listed.output
    assert "airflow" in listed.stdout
    assert "active" in listed.stdout
    assert secret not in listed.stdout

    revoked = run("token", "revoke", "airflow", "--store", sqlite_url)
    assert revoked.exit_code == 0, revoked.output
    assert f"revoked key airflow (id {key.id})" in revoked.stdout
    assert "revoked" in run("token", "list", "--store", sqlite_url).stdout
    store = open_store(sqlite_url)
    try:
        assert store.verify_api_key(secret) is None
    finally:
        store.close()


def test_revoke_by_id(run: Run, sqlite_url: str) -> None:
    run("token", "create", "--name", "reader", "--scope", "read", "--store", sqlite_url)
    store = open_store(sqlite_url)
    try:
        (key,) = store.list_api_keys()
    finally:
        store.close()
    assert run("token", "revoke", key.id, "--store", sqlite_url).exit_code == 0


def test_duplicate_name_is_one_line(run: Run, sqlite_url: str) -> None:
    assert run("token", "create", "--name", "ci", "--scope", "admin", "--store", sqlite_url).exit_code == 0
    again = run("token", "create", "--name", "ci", "--scope", "read", "--store", sqlite_url)
    assert again.exit_code == 1
    assert error_lines(again) == ["error: an API key named 'ci' exists; revoke it or pick another name"]
    assert again.stdout == ""


def test_unknown_key_and_bad_scope(run: Run, sqlite_url: str) -> None:
    missing = run("token", "revoke", "ghost", "--store", sqlite_url)
    assert missing.exit_code == 1
    assert len(error_lines(missing)) == 1
    assert run("token", "create", "--name", "x", "--scope", "root", "--store", sqlite_url).exit_code == 2
    assert run("token", "create", "--name", "x", "--store", sqlite_url).exit_code == 2


def test_empty_list(run: Run, sqlite_url: str) -> None:
    open_store(sqlite_url).close()
    result = run("token", "list", "--store", sqlite_url)
    assert result.exit_code == 0
    assert "no API keys" in result.stderr
