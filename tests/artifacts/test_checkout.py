"""Checkout: byte-for-byte files and trees, refusing existing targets, force, and corruption."""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import pytest

from tests.artifacts.conftest import litter, tree_bytes
from threadline.artifacts import Manifest, ManifestEntry, ObjectDB, ObjectId, add_path, checkout
from threadline.artifacts import hashing as hashing_module
from threadline.artifacts.tree import store_manifest
from threadline.errors import ArtifactError, CorruptObject, ObjectNotFound, TargetExists


def corrupt(odb: ObjectDB, oid: ObjectId, data: bytes = b"rotten bits") -> None:
    path = odb.path_of(oid)
    path.chmod(0o644)
    path.write_bytes(data)


def test_file_checkout_is_byte_for_byte(odb: ObjectDB, large_file: Path, tmp_path: Path) -> None:
    oid = add_path(odb, large_file)
    target = tmp_path / "out" / "deep" / "copy.bin"
    checkout(odb, oid, target)
    assert target.read_bytes() == large_file.read_bytes()
    assert os.access(target, os.W_OK)  # the copy is the user's, writable, unlike the object
    assert litter(tmp_path / "out") == []


def test_directory_checkout_is_byte_for_byte(odb: ObjectDB, sample_tree: Path, tmp_path: Path) -> None:
    oid = add_path(odb, sample_tree)
    target = tmp_path / "restored"
    progress: list[tuple[int, int]] = []
    checkout(odb, oid, target, jobs=3, progress=lambda d, t: progress.append((d, t)))
    assert tree_bytes(target) == tree_bytes(sample_tree)
    assert os.access(target / "run.sh", os.X_OK)
    assert not os.access(target / "a.txt", os.X_OK)
    assert progress[-1][0] == progress[-1][1]
    assert litter(tmp_path) == []


def test_many_files_in_parallel(odb: ObjectDB, tmp_path: Path) -> None:
    from tests.artifacts.conftest import write_tree

    root = write_tree(tmp_path / "many", {f"d{i % 5}/f{i}": f"{i}" * (i % 13) for i in range(500)})
    oid = add_path(odb, root, jobs=4)
    checkout(odb, oid, tmp_path / "back", jobs=4)
    assert tree_bytes(tmp_path / "back") == tree_bytes(root)


def test_empty_directory_manifest_gives_an_empty_folder(odb: ObjectDB, tmp_path: Path) -> None:
    oid = store_manifest(odb, Manifest([]))
    checkout(odb, oid, tmp_path / "empty")
    assert list((tmp_path / "empty").iterdir()) == []


@pytest.mark.parametrize("kind", ["file", "folder", "link"])
def test_existing_target_is_refused(odb: ObjectDB, sample_tree: Path, tmp_path: Path, kind: str) -> None:
    oid = add_path(odb, sample_tree)
    target = tmp_path / "target"
    if kind == "file":
        target.write_text("mine")
    elif kind == "folder":
        target.mkdir()
        (target / "keep.txt").write_text("mine")
    else:
        target.symlink_to(tmp_path / "nowhere")
    with pytest.raises(TargetExists, match=r"already exists .*pass --force to replace it") as caught:
        checkout(odb, oid, target)
    assert caught.value.status == 409
    assert os.path.lexists(target)
    if kind == "folder":
        assert [p.name for p in target.iterdir()] == ["keep.txt"]
    assert litter(tmp_path) == []


def test_force_replaces_a_folder_with_a_folder(odb: ObjectDB, sample_tree: Path, tmp_path: Path) -> None:
    oid = add_path(odb, sample_tree)
    target = tmp_path / "target"
    (target / "old").mkdir(parents=True)
    (target / "old" / "stale.txt").write_text("old")
    (target / "old").chmod(0o555)  # a read-only folder inside the old tree must not stop the swap
    checkout(odb, oid, target, force=True)
    assert tree_bytes(target) == tree_bytes(sample_tree)
    assert litter(tmp_path) == []


def test_force_replaces_across_kinds(
    odb: ObjectDB, sample_tree: Path, large_file: Path, tmp_path: Path
) -> None:
    dir_id = add_path(odb, sample_tree)
    file_id = add_path(odb, large_file)
    target = tmp_path / "target"
    target.write_text("a file")
    checkout(odb, dir_id, target, force=True)
    assert target.is_dir()
    checkout(odb, file_id, target, force=True)
    assert target.read_bytes() == large_file.read_bytes()
    checkout(odb, file_id, target, force=True)  # a file over a file
    assert target.read_bytes() == large_file.read_bytes()
    assert litter(tmp_path) == []


@pytest.mark.parametrize("which", ["small", "large", "manifest"])
def test_corrupt_object_fails_and_leaves_the_target_untouched(
    odb: ObjectDB, sample_tree: Path, large_file: Path, tmp_path: Path, which: str
) -> None:
    (sample_tree / "big.bin").write_bytes(large_file.read_bytes())
    oid = add_path(odb, sample_tree)
    manifest_entries = {e.path: e.oid for e in Manifest.from_bytes(odb.read(oid.file_id))}
    victim = {
        "small": manifest_entries["b/c.csv"],
        "large": manifest_entries["big.bin"],
        "manifest": oid.file_id,
    }[which]
    corrupt(odb, victim)
    target = tmp_path / "target"
    target.mkdir()
    (target / "precious.txt").write_text("mine")
    with pytest.raises(CorruptObject, match=str(victim)) as caught:
        checkout(odb, oid, target, force=True)
    assert caught.value.path == str(odb.path_of(victim))
    assert [p.name for p in target.iterdir()] == ["precious.txt"]
    assert litter(tmp_path) == []


def test_corrupt_file_object_leaves_no_new_target(odb: ObjectDB, large_file: Path, tmp_path: Path) -> None:
    oid = add_path(odb, large_file)
    corrupt(odb, oid, b"x" * (5 << 20))
    with pytest.raises(CorruptObject):
        checkout(odb, oid, tmp_path / "out.bin")
    assert not (tmp_path / "out.bin").exists()
    assert litter(tmp_path) == []


def test_failure_mid_write_leaves_nothing(
    odb: ObjectDB, large_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    oid = add_path(odb, large_file)

    def full_disk(fd: int, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(hashing_module, "write_all", full_disk)
    with pytest.raises(OSError, match="No space left"):
        checkout(odb, oid, tmp_path / "out.bin")
    assert not (tmp_path / "out.bin").exists()
    assert litter(tmp_path) == []


def test_missing_objects(odb: ObjectDB, sample_tree: Path, tmp_path: Path) -> None:
    with pytest.raises(ObjectNotFound):
        checkout(odb, ObjectId("1" * 64), tmp_path / "x")
    with pytest.raises(ObjectNotFound, match="manifest of directory"):
        checkout(odb, ObjectId("1" * 64, is_dir=True), tmp_path / "x")
    oid = add_path(odb, sample_tree)
    entry = next(iter(Manifest.from_bytes(odb.read(oid.file_id))))
    odb.remove(entry.oid)
    with pytest.raises(ObjectNotFound):
        checkout(odb, oid, tmp_path / "y")
    assert not (tmp_path / "x").exists()
    assert not (tmp_path / "y").exists()
    assert litter(tmp_path) == []


def test_a_file_id_is_not_a_directory(odb: ObjectDB, tmp_path: Path) -> None:
    oid = odb.add_bytes(b"not json")
    with pytest.raises(ArtifactError, match="not a directory manifest"):
        checkout(odb, ObjectId(oid.value, is_dir=True), tmp_path / "x")


def test_an_unsafe_manifest_cannot_even_be_built() -> None:
    with pytest.raises(ArtifactError, match="unsafe path"):
        Manifest([ManifestEntry("../escape", ObjectId("1" * 64), 1)])


def test_large_files_are_written_by_the_pool(
    odb: ObjectDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.artifacts.conftest import write_tree

    checkout_module = importlib.import_module(
        "threadline.artifacts.checkout"
    )  # the package exports a function of that name

    monkeypatch.setattr(checkout_module, "POOL_MIN_SIZE", 100)
    root = write_tree(
        tmp_path / "mixed", {**{f"s/{i}": "x" * i for i in range(40)}, "b1": "y" * 300, "b2": "z" * 900}
    )
    oid = add_path(odb, root)
    progress: list[tuple[int, int]] = []
    checkout(odb, oid, tmp_path / "back", jobs=2, progress=lambda d, t: progress.append((d, t)))
    assert tree_bytes(tmp_path / "back") == tree_bytes(root)
    assert progress[-1][0] == progress[-1][1] == sum(range(40)) + 1200


def test_within_refuses_a_target_that_leads_out(odb: ObjectDB, tmp_path: Path) -> None:
    oid = odb.add_bytes(b"payload")
    base, outside = tmp_path / "base", tmp_path / "outside"
    base.mkdir()
    outside.mkdir()
    (base / "link").symlink_to(outside, target_is_directory=True)
    for target in (base / "link" / "x", base / ".." / "outside" / "y", tmp_path / "z", base):
        with pytest.raises(ArtifactError, match="outside"):
            checkout(odb, oid, target, within=base)
    assert list(outside.iterdir()) == []
    assert not (tmp_path / "z").exists()
    checkout(odb, oid, base / "deep" / "ok", within=base)
    assert (base / "deep" / "ok").read_bytes() == b"payload"
