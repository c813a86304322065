"""``threadline artifacts``: add, checkout, check, gc, push and pull, and one-line errors for bad input."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.cli.conftest import Run, error_lines
from threadline.artifacts import ObjectId
from threadline.artifacts.hashing import hash_bytes

OBJECTS = Path(".threadline") / "objects"


def make_data(root: Path = Path("data")) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("alpha")
    (root / "sub" / "b.txt").write_text("beta")
    old = time.time_ns() - 3600 * 10**9
    for path in (root / "a.txt", root / "sub" / "b.txt"):
        os.utime(path, ns=(old, old))
    return root


def added(run: Run, *paths: str) -> list[str]:
    result = run("artifacts", "add", *paths)
    assert result.exit_code == 0, result.output
    return [line.split("  ", 1)[0] for line in result.stdout.splitlines()]


def corrupt_object(oid: str) -> Path:
    value = ObjectId.parse(oid).value
    path = OBJECTS / value[:2] / value[2:]
    path.chmod(0o644)
    path.write_bytes(b"rotten")
    return path


def test_add_prints_ids_and_stores_in_the_project(run: Run) -> None:
    make_data()
    result = run("artifacts", "add", "data", "data/a.txt")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].endswith(".dir  data")
    assert lines[1] == f"blake3:{hash_bytes(b'alpha')}  data/a.txt"
    assert (OBJECTS / "hashcache.db").exists()
    assert run("artifacts", "add", "data").stdout.splitlines() == lines[:1]


def test_add_refuses_missing_paths_before_storing_anything(run: Run) -> None:
    make_data()
    result = run("artifacts", "add", "data", "nope.bin")
    assert result.exit_code == 1
    assert error_lines(result) == ["error: nope.bin does not exist"]
    assert not OBJECTS.exists()


def test_add_an_unreadable_file_is_one_error_line(run: Run) -> None:
    secret = Path("secret.bin")
    secret.write_bytes(b"x")
    secret.chmod(0)
    try:
        if os.access(secret, os.R_OK):
            pytest.skip("running as root: a mode-000 file is still readable")
        result = run("artifacts", "add", "secret.bin")
    finally:
        secret.chmod(0o644)
    assert result.exit_code == 1
    assert len(error_lines(result)) == 1
    assert "Permission denied" in error_lines(result)[0]


def test_add_a_file_that_cannot_be_opened_is_one_error_line(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same as above without needing a non-root user: opening the file fails with EACCES."""
    make_data()
    real_open = os.open

    def deny(path: str | os.PathLike[str], flags: int, *args: int, **kwargs: object) -> int:
        if os.fspath(path).endswith("b.txt"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", deny)
    result = run("artifacts", "add", "data")
    assert result.exit_code == 1
    (line,) = error_lines(result)
    assert line.startswith("error: ")
    assert line.endswith("data/sub/b.txt: Permission denied")


def test_add_refuses_a_link_leaving_the_tree(run: Run, tmp_path: Path) -> None:
    make_data()
    (tmp_path / "outside.txt").write_text("x")
    Path("data/escape").symlink_to(tmp_path / "outside.txt")
    result = run("artifacts", "add", "data")
    assert result.exit_code == 1
    assert "is a symbolic link to" in error_lines(result)[0]
    assert "outside" in error_lines(result)[0]


def test_checkout_round_trip_and_existing_target(run: Run) -> None:
    make_data()
    tree_id, file_id = added(run, "data", "data/a.txt")
    assert run("artifacts", "checkout", tree_id, "restored").exit_code == 0
    assert Path("restored/sub/b.txt").read_text() == "beta"
    result = run("artifacts", "checkout", tree_id, "restored")
    assert result.exit_code == 1
    (line,) = error_lines(result)
    assert "restored already exists (a folder)" in line
    assert "--force" in line
    result = run("artifacts", "checkout", file_id, "restored", "--force")
    assert result.exit_code == 0
    assert Path("restored").read_text() == "alpha"


def test_checkout_of_a_corrupt_object_fails_cleanly(run: Run) -> None:
    make_data()
    (file_id,) = added(run, "data/a.txt")
    path = corrupt_object(file_id)
    result = run("artifacts", "checkout", file_id, "out.txt")
    assert result.exit_code == 1
    (line,) = error_lines(result)
    assert f"object {file_id} at" in line
    assert str(path) in line
    assert "is corrupt" in line
    assert not Path("out.txt").exists()


def test_checkout_bad_or_unknown_id(run: Run) -> None:
    result = run("artifacts", "checkout", "blake3:xyz", "out")
    assert result.exit_code == 1
    assert "is not an object id" in error_lines(result)[0]
    result = run("artifacts", "checkout", "blake3:" + "0" * 64, "out")
    assert result.exit_code == 1
    assert "is not in the object store" in error_lines(result)[0]
    assert "threadline artifacts pull REMOTE" in error_lines(result)[0]


def test_check_clean_corrupt_and_remove(run: Run) -> None:
    make_data()
    tree_id, file_id = added(run, "data", "data/a.txt")
    result = run("artifacts", "check")
    assert result.exit_code == 0
    assert result.stdout.strip().startswith("checked 3 objects")
    corrupt_object(file_id)
    result = run("artifacts", "check")
    assert result.exit_code == 1
    assert f"corrupt: {file_id}" in result.stderr
    assert "threadline artifacts check --remove" in error_lines(result)[0]
    result = run("artifacts", "check", "--remove")
    assert result.exit_code == 0
    assert "removed 1 corrupt object" in result.stderr
    assert run("artifacts", "check").exit_code == 0
    result = run("artifacts", "check", tree_id)
    assert result.exit_code == 1
    assert "1 object missing" in error_lines(result)[0]


def test_gc_needs_keep_and_honours_dry_run(run: Run) -> None:
    make_data()
    tree_id, _ = added(run, "data", "data/a.txt")
    Path("loose.bin").write_bytes(b"loose")
    (loose,) = added(run, "loose.bin")
    result = run("artifacts", "gc")
    assert result.exit_code == 1
    assert "--keep ID or --keep-file FILE" in error_lines(result)[0]
    result = run("artifacts", "gc", "--keep", tree_id, "--dry-run")
    assert result.exit_code == 0
    assert result.stdout.split() == [loose]
    assert "would remove 1 object (5 B)" in result.stderr
    assert run("artifacts", "check").stdout.startswith("checked 4 objects")
    result = run("artifacts", "gc", "--keep", tree_id)
    assert "removed 1 object, freed 5 B" in result.stderr
    assert run("artifacts", "check").stdout.startswith("checked 3 objects")


def test_gc_keep_file_takes_the_output_of_add(run: Run) -> None:
    make_data()
    Path("keep.txt").write_text(run("artifacts", "add", "data").stdout + "# a comment\n\n")
    Path("other.bin").write_bytes(b"other")
    added(run, "other.bin")
    result = run("artifacts", "gc", "--keep-file", "keep.txt")
    assert result.exit_code == 0
    assert "removed 1 object" in result.stderr
    Path("bad.txt").write_text("blake3:1234\n")
    result = run("artifacts", "gc", "--keep-file", "bad.txt")
    assert result.exit_code == 1
    assert error_lines(result)[0].startswith("error: bad.txt:1: 'blake3:1234' is not an object id")
    result = run("artifacts", "gc", "--keep-file", "missing.txt")
    assert result.exit_code == 1
    assert "missing.txt" in error_lines(result)[0]


def test_gc_refuses_when_a_kept_manifest_is_unknown(run: Run) -> None:
    make_data()
    added(run, "data")
    result = run("artifacts", "gc", "--keep", "blake3:" + "3" * 64 + ".dir")
    assert result.exit_code == 1
    assert "nothing was removed" in error_lines(result)[0]


def test_push_and_pull_with_a_folder_and_a_named_remote(run: Run, tmp_path: Path) -> None:
    make_data()
    tree_id, _ = added(run, "data", "data/a.txt")
    remote = tmp_path / "remote"
    remote.mkdir()
    result = run("artifacts", "push", str(remote), "--jobs", "2")
    assert result.exit_code == 0
    assert result.stdout.startswith("pushed 3 objects (")
    assert result.stdout.rstrip().endswith("0 already there")
    assert run("artifacts", "push", remote.as_uri()).stdout.startswith("pushed 0 objects")

    other = tmp_path / "other"
    (other / ".threadline").mkdir(parents=True)
    (other / ".threadline" / "config.toml").write_text(f'[remotes.origin]\nurl = "{remote.as_uri()}"\n')
    os.chdir(other)
    result = run("artifacts", "pull", "origin", tree_id)
    assert result.exit_code == 0
    assert result.stdout.startswith("pulled 3 objects")
    assert run("artifacts", "checkout", tree_id, "data").exit_code == 0
    assert Path("data/sub/b.txt").read_text() == "beta"
    assert run("artifacts", "pull", "origin").stdout.startswith("pulled 0 objects")


def test_pull_rejects_a_corrupt_remote_object(run: Run, tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    good = hash_bytes(b"good")
    (remote / good[:2]).mkdir(parents=True)
    (remote / good[:2] / good[2:]).write_bytes(b"evil")
    result = run("artifacts", "pull", str(remote))
    assert result.exit_code == 1
    assert f"blake3:{good}: object blake3:{good}" in result.stderr
    assert "1 object could not be pulled" in error_lines(result)[0]
    assert not (OBJECTS / good[:2] / good[2:]).exists()


@pytest.mark.parametrize(
    ("remote", "message"),
    [
        ("/no/such/folder", "remote folder /no/such/folder does not exist"),
        ("file:///no/such/folder", "remote folder /no/such/folder does not exist"),
        ("s3://bucket/prefix", "pip install s3fs"),
        ("nosuchproto://x", "unknown protocol 'nosuchproto'"),
    ],
)
def test_unusable_remotes_are_one_error_line(run: Run, remote: str, message: str) -> None:
    if remote.startswith("s3://"):
        import importlib.util

        if importlib.util.find_spec("s3fs") is not None:
            pytest.skip("s3fs is installed here")
    make_data()
    added(run, "data")
    for command in ("push", "pull"):
        result = run("artifacts", command, remote)
        assert result.exit_code == 1
        (line,) = error_lines(result)
        assert message in line


def test_a_bad_remote_table_in_the_config_file(run: Run) -> None:
    Path(".threadline").mkdir()
    Path(".threadline/config.toml").write_text("[remotes.origin]\nurll = 'x'\n")
    result = run("artifacts", "push", "origin")
    assert result.exit_code == 1
    assert "[remotes.origin] needs a url" in error_lines(result)[0]
