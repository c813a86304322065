"""gc(keep): what stays, what goes, dry runs, and refusing when a kept manifest is unknown."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from threadline.artifacts import Manifest, ObjectDB, ObjectId, add_path, gc
from threadline.errors import ArtifactError


def test_keeps_what_is_reachable_and_removes_the_rest(
    odb: ObjectDB, sample_tree: Path, large_file: Path
) -> None:
    tree_id = add_path(odb, sample_tree)
    large = add_path(odb, large_file)
    loose = odb.add_bytes(b"nobody wants me")
    tree_objects = {tree_id.file_id} | Manifest.from_bytes(odb.read(tree_id.file_id)).object_ids()
    report = gc(odb, [tree_id])
    assert sorted(report.removed) == sorted([large, loose])
    assert report.bytes_freed == large_file.stat().st_size + len(b"nobody wants me")
    assert report.kept == len(tree_objects)
    assert set(odb.iter_ids()) == tree_objects
    assert not report.dry_run


def test_dry_run_reports_without_removing(odb: ObjectDB, sample_tree: Path, large_file: Path) -> None:
    tree_id = add_path(odb, sample_tree)
    large = add_path(odb, large_file)
    before = set(odb.iter_ids())
    report = gc(odb, [tree_id], dry_run=True)
    assert report.dry_run
    assert report.removed == [large]
    assert report.bytes_freed == large_file.stat().st_size
    assert set(odb.iter_ids()) == before


def test_keeping_a_file_id_or_nothing(odb: ObjectDB, sample_tree: Path) -> None:
    tree_id = add_path(odb, sample_tree)
    kept = odb.add_bytes(b"keep")
    gc(odb, [kept])
    assert list(odb.iter_ids()) == [kept]
    gc(odb, [])
    assert list(odb.iter_ids()) == []
    assert not odb.has(tree_id.file_id)


def test_a_missing_or_corrupt_kept_manifest_stops_everything(odb: ObjectDB, sample_tree: Path) -> None:
    tree_id = add_path(odb, sample_tree)
    loose = odb.add_bytes(b"loose")
    with pytest.raises(ArtifactError, match="nothing was removed"):
        gc(odb, [ObjectId("5" * 64, is_dir=True)])
    path = odb.path_of(tree_id.file_id)
    path.chmod(0o644)
    path.write_bytes(b"garbage")
    with pytest.raises(ArtifactError, match="nothing was removed"):
        gc(odb, [tree_id])
    assert odb.has(loose)


def test_stale_temporary_files_are_cleaned(odb: ObjectDB) -> None:
    odb.add_bytes(b"x")
    odb.tmp_dir.mkdir()
    stale = odb.tmp_dir / "crashed-writer"
    stale.write_bytes(b"partial")
    old = time.time() - 3 * 24 * 3600
    os.utime(stale, (old, old))
    assert gc(odb, [], dry_run=True).stale_tmp_removed == 0
    assert stale.exists()
    assert gc(odb, []).stale_tmp_removed == 1
    assert not stale.exists()
