"""Adding files and folders: ids, dedup, the hash cache (no re-reads), symlink and scan rules."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from tests.artifacts.conftest import make_old, write_tree
from threadline.artifacts import (
    HashCache,
    ObjectDB,
    ObjectId,
    add_file,
    add_path,
    add_tree,
    load_manifest,
    scan_tree,
    tree,
)
from threadline.artifacts import add as add_module
from threadline.artifacts.hashing import hash_bytes
from threadline.errors import ArtifactError


@pytest.fixture
def stores(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every file actually read and stored by ``add`` (cache misses), by path."""
    seen: list[str] = []
    real = add_module._store

    def counting(odb: ObjectDB, path: str, before: os.stat_result, progress: object) -> object:
        seen.append(path)
        return real(odb, path, before, progress)  # type: ignore[arg-type]

    monkeypatch.setattr(add_module, "_store", counting)
    return seen


def test_file_id_is_the_hash_of_its_bytes(odb: ObjectDB, tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(b"some bytes")
    oid = add_path(odb, path)
    assert oid == ObjectId(hash_bytes(b"some bytes"))
    assert not oid.is_dir
    assert odb.read(oid) == b"some bytes"


def test_the_stored_copy_does_not_follow_later_changes(odb: ObjectDB, tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(b"v1")
    oid = add_path(odb, path)
    path.write_bytes(b"v2")
    assert odb.read(oid) == b"v1"


def test_unchanged_file_is_not_read_again(
    odb: ObjectDB, hash_cache: HashCache, large_file: Path, stores: list[str]
) -> None:
    first = add_path(odb, large_file, hash_cache=hash_cache)
    assert len(stores) == 1
    again = add_path(odb, large_file, hash_cache=hash_cache)
    assert again == first
    assert len(stores) == 1  # a cache hit: the file was not read (no timing: a loaded machine says nothing)


def test_touch_or_modify_invalidates_the_cache(
    odb: ObjectDB, hash_cache: HashCache, tmp_path: Path, stores: list[str]
) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(b"one")
    make_old(path, seconds=100)
    first = add_path(odb, path, hash_cache=hash_cache)
    make_old(path, seconds=50)  # "touch": same bytes, new mtime
    assert add_path(odb, path, hash_cache=hash_cache) == first
    assert len(stores) == 2
    path.write_bytes(b"two")
    make_old(path, seconds=10)
    second = add_path(odb, path, hash_cache=hash_cache)
    assert second == ObjectId(hash_bytes(b"two"))
    assert len(stores) == 3
    assert add_path(odb, path, hash_cache=hash_cache) == second
    assert len(stores) == 3


def test_a_just_modified_file_is_hashed_again_until_it_settles(
    odb: ObjectDB, hash_cache: HashCache, tmp_path: Path, stores: list[str]
) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(b"fresh")  # mtime is now: racy
    add_path(odb, path, hash_cache=hash_cache)
    add_path(odb, path, hash_cache=hash_cache)
    assert len(stores) == 2
    make_old(path)
    add_path(odb, path, hash_cache=hash_cache)
    add_path(odb, path, hash_cache=hash_cache)
    assert len(stores) == 3


def test_a_cache_hit_whose_object_was_removed_stores_it_again(
    odb: ObjectDB, hash_cache: HashCache, large_file: Path, stores: list[str]
) -> None:
    oid = add_path(odb, large_file, hash_cache=hash_cache)
    odb.remove(oid)
    assert add_path(odb, large_file, hash_cache=hash_cache) == oid
    assert odb.has(oid)
    assert len(stores) == 2


def test_a_file_changing_while_read_is_not_cached(
    odb: ObjectDB, hash_cache: HashCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(b"before")
    make_old(path)
    real_add_fd = ObjectDB.add_fd

    def add_then_touch(self: ObjectDB, fd: int, size_hint: int, **kwargs: object) -> object:
        result = real_add_fd(self, fd, size_hint, **kwargs)  # type: ignore[arg-type]
        make_old(path, seconds=5)  # the file "changes" while being stored
        return result

    monkeypatch.setattr(ObjectDB, "add_fd", add_then_touch)
    add_file(odb, path, hash_cache=hash_cache)
    assert len(hash_cache) == 0


def test_directory_id_is_its_manifest_id_with_dir(odb: ObjectDB, sample_tree: Path) -> None:
    oid = add_path(odb, sample_tree)
    assert oid.is_dir
    assert str(oid).endswith(".dir")
    manifest = load_manifest(odb, oid)
    assert ObjectId(hash_bytes(manifest.to_bytes())) == oid.file_id
    assert [e.path for e in manifest] == ["a.txt", "b/c.csv", "b/d/e.txt", "empty.txt", "run.sh"]
    assert manifest.get("run.sh").executable  # type: ignore[union-attr]
    assert not manifest.get("a.txt").executable  # type: ignore[union-attr]
    assert manifest.get("a.txt").oid == manifest.get("b/d/e.txt").oid  # type: ignore[union-attr]
    assert len(list(odb.iter_ids())) == 5  # 4 distinct contents + the manifest


def test_directory_id_does_not_depend_on_scan_order(
    odb: ObjectDB, sample_tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    forward = add_path(odb, sample_tree, jobs=1)
    real_scandir = os.scandir

    class Reversed:
        def __init__(self, path: str) -> None:
            with real_scandir(path) as it:
                self.entries = list(it)[::-1]

        def __enter__(self) -> list[os.DirEntry[str]]:
            return self.entries

        def __exit__(self, *exc: object) -> None:
            pass

    monkeypatch.setattr(tree.os, "scandir", Reversed)
    assert add_path(odb, sample_tree, jobs=4) == forward


def test_same_content_elsewhere_gives_the_same_id(odb: ObjectDB, sample_tree: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    write_tree(
        copy,
        {
            p.relative_to(sample_tree).as_posix(): p.read_bytes()
            for p in sample_tree.rglob("*")
            if p.is_file()
        },
    )
    (copy / "run.sh").chmod(0o755)
    assert add_path(odb, copy) == add_path(odb, sample_tree)
    (copy / "run.sh").chmod(0o644)
    assert add_path(odb, copy) != add_path(odb, sample_tree)  # the executable bit is recorded


def test_large_files_go_through_the_pool_small_ones_do_not(
    odb: ObjectDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(add_module, "POOL_MIN_SIZE", 100)
    root = write_tree(
        tmp_path / "mixed", {**{f"s{i}": "x" * i for i in range(50)}, "big1": "y" * 500, "big2": "z" * 900}
    )
    threads: dict[str, str] = {}
    real = add_module._store

    def recording(odb: ObjectDB, path: str, before: os.stat_result, progress: object) -> object:
        threads[Path(path).name] = threading.current_thread().name
        return real(odb, path, before, progress)  # type: ignore[arg-type]

    monkeypatch.setattr(add_module, "_store", recording)
    oid = add_tree(odb, root, jobs=2)
    assert threads["big1"].startswith("threadline-add")
    assert threads["big2"].startswith("threadline-add")
    assert {threads[f"s{i}"] for i in range(50)} == {threading.current_thread().name}
    assert len(load_manifest(odb, oid)) == 52
    monkeypatch.setattr(add_module, "_store", real)
    assert add_tree(odb, root, jobs=1) == oid


def test_directory_re_add_reads_only_changed_files(
    odb: ObjectDB, hash_cache: HashCache, tmp_path: Path, stores: list[str]
) -> None:
    root = write_tree(tmp_path / "many", {f"d{i % 7}/f{i}.txt": f"file {i}" for i in range(300)})
    first = add_tree(odb, root, hash_cache=hash_cache, jobs=4)
    assert len(stores) == 300
    assert add_tree(odb, root, hash_cache=hash_cache, jobs=4) == first
    assert len(stores) == 300
    (root / "d3/f3.txt").write_bytes(b"changed")
    make_old(root / "d3/f3.txt", seconds=10)
    changed = add_tree(odb, root, hash_cache=hash_cache, jobs=4)
    assert changed != first
    assert stores[300:] == [str(root / "d3/f3.txt")]


def test_progress_reports_bytes(odb: ObjectDB, sample_tree: Path) -> None:
    calls: list[tuple[int, int]] = []
    add_path(odb, sample_tree, progress=lambda d, t: calls.append((d, t)))
    total = sum(p.stat().st_size for p in sample_tree.rglob("*") if p.is_file())
    assert calls[-1] == (total, total)


def test_empty_folders_are_not_recorded(odb: ObjectDB, tmp_path: Path) -> None:
    root = write_tree(tmp_path / "d", {"a.txt": "a"})
    (root / "empty" / "deeper").mkdir(parents=True)
    assert [e.path for e in load_manifest(odb, add_path(odb, root))] == ["a.txt"]
    only_empty = tmp_path / "nothing"
    only_empty.mkdir()
    assert len(load_manifest(odb, add_path(odb, only_empty))) == 0


def test_threadline_folders_are_skipped(odb: ObjectDB, tmp_path: Path) -> None:
    root = write_tree(tmp_path / "project", {"a.txt": "a", ".threadline/objects/xx": "x", ".git/HEAD": "h"})
    assert [e.path for e in load_manifest(odb, add_path(odb, root))] == [".git/HEAD", "a.txt"]


def test_symlink_to_a_file_inside_is_followed(odb: ObjectDB, tmp_path: Path) -> None:
    root = write_tree(tmp_path / "d", {"real.txt": "content"})
    (root / "link.txt").symlink_to("real.txt")
    manifest = load_manifest(odb, add_path(odb, root))
    assert manifest.get("link.txt").oid == manifest.get("real.txt").oid  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("make_link", "message"),
    [
        (lambda root, outside: (root / "out.txt").symlink_to(outside), "outside"),
        (lambda root, outside: (root / "gone.txt").symlink_to(root / "missing"), "dangling"),
        (lambda root, outside: (root / "sub").symlink_to(root / "folder"), "only links to files"),
        (lambda root, outside: os.mkfifo(root / "pipe"), "not a regular file"),
    ],
    ids=["escaping", "dangling", "folder-link", "fifo"],
)
def test_links_and_special_files_that_cannot_be_stored_are_refused(
    odb: ObjectDB, tmp_path: Path, make_link: object, message: str
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    root = write_tree(tmp_path / "d", {"folder/x.txt": "x"})
    make_link(root, outside)  # type: ignore[operator]
    with pytest.raises(ArtifactError, match=message):
        add_path(odb, root)


def test_a_link_given_directly_is_followed(odb: ObjectDB, tmp_path: Path) -> None:
    (tmp_path / "real.txt").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "real.txt")
    assert add_path(odb, tmp_path / "link") == ObjectId(hash_bytes(b"x"))


def test_names_that_are_not_utf8_are_refused(odb: ObjectDB, tmp_path: Path) -> None:
    root = tmp_path / "d"
    root.mkdir()
    try:
        (root / os.fsdecode(b"bad\xff.txt")).write_text("x")
    except (OSError, UnicodeEncodeError):
        pytest.skip("this filesystem does not take such names")
    with pytest.raises(ArtifactError, match="not valid UTF-8"):
        add_path(odb, root)


def test_missing_and_special_paths(odb: ObjectDB, tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="does not exist"):
        add_path(odb, tmp_path / "nope")
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(ArtifactError, match="neither a regular file nor a directory"):
        add_path(odb, tmp_path / "fifo")
    with pytest.raises(ArtifactError, match="is not a directory"):
        scan_tree(tmp_path / "fifo")


def test_an_error_in_a_worker_surfaces(
    odb: ObjectDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_tree(tmp_path / "many", {f"f{i}.txt": str(i) for i in range(200)})

    def broken(odb: ObjectDB, path: str, before: os.stat_result, progress: object) -> object:
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(add_module, "POOL_MIN_SIZE", 0)  # every file through the pool
    monkeypatch.setattr(add_module, "_store", broken)
    with pytest.raises(PermissionError):
        add_tree(odb, root, jobs=4)
