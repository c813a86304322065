"""ArtifactStore: a project's object store, its lazily opened hash cache, and every operation."""

from __future__ import annotations

from pathlib import Path

from tests.artifacts.conftest import tree_bytes
from threadline.artifacts import ArtifactStore, NullHashCache, ObjectId
from threadline.artifacts.store import HASH_CACHE_FILE_NAME


def test_project_store_lives_in_the_project_folder(tmp_path: Path) -> None:
    store = ArtifactStore.for_project(tmp_path / ".threadline")
    assert store.root == tmp_path / ".threadline" / "objects"


def test_read_only_work_creates_nothing(tmp_path: Path) -> None:
    with ArtifactStore(tmp_path / "objects") as store:
        assert store.check().checked == 0
        assert store.gc([], dry_run=True).removed == []
    assert not (tmp_path / "objects").exists()


def test_round_trip_through_every_operation(tmp_path: Path, sample_tree: Path) -> None:
    remote = tmp_path / "remote"
    remote.mkdir()
    with ArtifactStore(tmp_path / "objects", jobs=2) as store:
        tree_id = store.add(sample_tree)
        assert (store.root / HASH_CACHE_FILE_NAME).exists()
        assert store.push(str(remote)).failed == {}
        store.checkout(str(tree_id), tmp_path / "copy")
        assert tree_bytes(tmp_path / "copy") == tree_bytes(sample_tree)
        assert store.check([str(tree_id)]).ok
        assert store.gc([tree_id], dry_run=True).removed == []
    with ArtifactStore(tmp_path / "other", hash_cache=NullHashCache()) as other:
        report = other.pull(str(remote), [str(tree_id)])
        assert report.failed == {}
        other.checkout(tree_id, tmp_path / "copy2")
        assert tree_bytes(tmp_path / "copy2") == tree_bytes(sample_tree)
        assert isinstance(tree_id, ObjectId)
