"""check(): re-hashing every object, finding corrupt and missing ones, removing the corrupt."""

from __future__ import annotations

from pathlib import Path

from threadline.artifacts import Manifest, ObjectDB, ObjectId, add_path, check
from threadline.errors import CorruptObject


def corrupt(odb: ObjectDB, oid: ObjectId) -> None:
    path = odb.path_of(oid)
    path.chmod(0o644)
    path.write_bytes(b"bit rot")


def test_an_intact_store_checks_clean(odb: ObjectDB, sample_tree: Path, large_file: Path) -> None:
    add_path(odb, sample_tree)
    add_path(odb, large_file)
    progress: list[tuple[int, int]] = []
    report = check(odb, progress=lambda d, t: progress.append((d, t)))
    assert report.ok
    assert report.checked == 6
    assert report.bytes == sum(odb.size(oid) for oid in odb.iter_ids())
    assert progress[-1] == (6, 6)


def test_corruption_is_found_and_named(odb: ObjectDB, sample_tree: Path, large_file: Path) -> None:
    add_path(odb, sample_tree)
    large = add_path(odb, large_file)
    small = odb.add_bytes(b"small")
    corrupt(odb, large)
    corrupt(odb, small)
    report = check(odb, jobs=2)
    assert not report.ok
    assert sorted(c.object_id for c in report.corrupt) == sorted([str(large), str(small)])
    problem = report.corrupt[0]
    assert isinstance(problem, CorruptObject)
    assert problem.path == str(odb.path_of(ObjectId.parse(problem.object_id)))
    assert "threadline artifacts check --remove" in problem.message
    assert report.removed == []
    assert odb.has(large)


def test_remove_deletes_only_the_corrupt(odb: ObjectDB, sample_tree: Path) -> None:
    tree_id = add_path(odb, sample_tree)
    bad = odb.add_bytes(b"soon corrupt")
    corrupt(odb, bad)
    before = set(odb.iter_ids())
    report = check(odb, remove=True)
    assert report.removed == [bad]
    assert set(odb.iter_ids()) == before - {bad}
    assert check(odb).ok
    assert check(odb, [tree_id]).ok


def test_given_ids_cover_a_directory_and_report_missing(odb: ObjectDB, sample_tree: Path) -> None:
    tree_id = add_path(odb, sample_tree)
    other = odb.add_bytes(b"not part of the tree")
    corrupt(odb, other)
    manifest = Manifest.from_bytes(odb.read(tree_id.file_id))
    report = check(odb, [tree_id])
    assert report.ok
    assert report.checked == len(manifest.object_ids()) + 1
    gone = next(iter(manifest)).oid
    odb.remove(gone)
    report = check(odb, [tree_id, ObjectId("9" * 64)])
    assert sorted(report.missing) == sorted([gone, ObjectId("9" * 64)])
    assert not report.ok


def test_empty_store(tmp_path: Path) -> None:
    report = check(ObjectDB(tmp_path / "none"))
    assert report.ok
    assert report.checked == 0
