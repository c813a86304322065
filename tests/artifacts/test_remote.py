"""Remotes: push and pull of missing objects only, verification, atomic writes, and clear errors."""

from __future__ import annotations

import importlib.util
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.artifacts.conftest import write_tree
from threadline import settings
from threadline.artifacts import Manifest, ObjectDB, ObjectId, Remote, add_path, open_remote, pull, push
from threadline.artifacts.hashing import hash_bytes
from threadline.artifacts.remote import resolve_remote
from threadline.errors import ConfigError, ObjectNotFound, RemoteError


@pytest.fixture(params=["folder", "file-url", "memory"])
def remote_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh remote: a plain folder path, a file:// URL, or fsspec's in-memory object store."""
    if request.param == "memory":
        url = f"memory://threadline-test-{uuid.uuid4().hex}/objects"
        yield url
        import fsspec

        fs = fsspec.filesystem("memory")
        if fs.exists(url):
            fs.rm(url, recursive=True)
        return
    folder = tmp_path / "remote"
    folder.mkdir()
    yield str(folder) if request.param == "folder" else folder.as_uri()


@pytest.fixture
def local_remote(tmp_path: Path) -> Remote:
    folder = tmp_path / "remote-folder"
    folder.mkdir()
    return Remote.open(str(folder))


def filled(odb: ObjectDB, tmp_path: Path, count: int = 30) -> ObjectId:
    root = write_tree(tmp_path / "data", {f"d{i % 4}/f{i}.txt": f"content {i}" for i in range(count)})
    return add_path(odb, root)


def test_push_then_pull_transfers_only_what_is_missing(remote_url: str, tmp_path: Path) -> None:
    source = ObjectDB(tmp_path / "a")
    tree_id = filled(source, tmp_path)
    total = len(list(source.iter_ids()))
    remote = Remote.open(remote_url)
    progress: list[tuple[int, int]] = []

    first = push(source, remote, jobs=4, progress=lambda d, t: progress.append((d, t)))
    assert (len(first.transferred), first.already_present, first.failed) == (total, 0, {})
    assert progress[-1] == (total, total)
    assert remote.list_ids() == set(source.iter_ids())
    again = push(source, remote)
    assert (len(again.transferred), again.already_present) == (0, total)

    extra = source.add_bytes(b"one more")
    third = push(source, remote)
    assert third.transferred == [extra]
    assert third.bytes == len(b"one more")

    target = ObjectDB(tmp_path / "b")
    pulled = pull(target, remote, jobs=4)
    assert (len(pulled.transferred), pulled.already_present, pulled.failed) == (total + 1, 0, {})
    assert set(target.iter_ids()) == set(source.iter_ids())
    assert pull(target, remote).transferred == []
    for oid in target.iter_ids():
        assert target.read(oid) == source.read(oid)
    assert target.has(tree_id.file_id)


def test_pull_of_a_directory_id_brings_its_manifest_then_its_files(remote_url: str, tmp_path: Path) -> None:
    source = ObjectDB(tmp_path / "a")
    tree_id = filled(source, tmp_path, count=10)
    unrelated = source.add_bytes(b"unrelated")
    remote = Remote.open(remote_url)
    push(source, remote)
    target = ObjectDB(tmp_path / "b")
    report = pull(target, remote, [tree_id])
    manifest = Manifest.from_bytes(source.read(tree_id.file_id))
    assert set(report.transferred) == manifest.object_ids() | {tree_id.file_id}
    assert not target.has(unrelated)
    assert report.failed == {}
    assert pull(target, remote, [tree_id]).transferred == []


def test_push_of_given_ids_sends_their_closure(local_remote: Remote, odb: ObjectDB, tmp_path: Path) -> None:
    tree_id = filled(odb, tmp_path, count=5)
    odb.add_bytes(b"stays home")
    report = push(odb, local_remote, [tree_id])
    assert set(report.transferred) == Manifest.from_bytes(odb.read(tree_id.file_id)).object_ids() | {
        tree_id.file_id
    }
    with pytest.raises(ObjectNotFound, match="not in the local object store"):
        push(odb, local_remote, [ObjectId("4" * 64)])


def test_ids_missing_on_the_remote_are_reported(local_remote: Remote, odb: ObjectDB) -> None:
    missing_file = ObjectId("6" * 64)
    missing_dir = ObjectId("7" * 64, is_dir=True)
    report = pull(odb, local_remote, [missing_file, missing_dir])
    assert report.failed == {
        missing_file: "not on the remote",
        missing_dir.file_id: f"directory {missing_dir}'s manifest is not on the remote",
    }
    assert report.transferred == []


def test_a_corrupt_object_on_the_remote_is_rejected(local_remote: Remote, odb: ObjectDB) -> None:
    good = ObjectId(hash_bytes(b"good"))
    bad_path = Path(local_remote.object_path(good))
    bad_path.parent.mkdir(parents=True)
    bad_path.write_bytes(b"evil")
    fine = local_remote.object_path(ObjectId(hash_bytes(b"fine")))
    Path(fine).parent.mkdir(parents=True, exist_ok=True)
    Path(fine).write_bytes(b"fine")
    report = pull(odb, local_remote)
    assert list(report.failed) == [good]
    assert "is corrupt" in report.failed[good]
    assert "was not stored" in report.failed[good]
    assert not odb.has(good)
    assert report.transferred == [ObjectId(hash_bytes(b"fine"))]
    assert list(odb.tmp_dir.iterdir()) == []


def test_a_corrupt_local_object_is_not_pushed(local_remote: Remote, odb: ObjectDB) -> None:
    oid = odb.add_bytes(b"original")
    path = odb.path_of(oid)
    path.chmod(0o644)
    path.write_bytes(b"rotten")
    report = push(odb, local_remote)
    assert "corrupt" in report.failed[oid]
    assert local_remote.list_ids() == set()


def test_remote_writes_are_atomic_and_read_only(
    local_remote: Remote, odb: ObjectDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    filled(odb, tmp_path, count=6)
    real_mv = local_remote.fs.mv
    moves: list[str] = []

    def failing_mv(src: str, dst: str, **kwargs: object) -> None:
        moves.append(dst)
        if len(moves) == 2:
            raise OSError(5, "I/O error")
        real_mv(src, dst, **kwargs)

    monkeypatch.setattr(local_remote.fs, "mv", failing_mv)
    report = push(odb, local_remote, jobs=1)
    assert len(report.failed) == 1
    assert "I/O error" in next(iter(report.failed.values()))
    assert len(report.transferred) == len(list(odb.iter_ids())) - 1
    root = Path(local_remote.root)
    assert list((root / "tmp").iterdir()) == []  # the failed upload's temporary file is gone
    for oid in report.transferred:
        mode = stat.S_IMODE(Path(local_remote.object_path(oid)).stat().st_mode)
        assert mode & 0o222 == 0
    monkeypatch.undo()
    retry = push(odb, local_remote)
    assert list(retry.failed) == []
    assert len(retry.transferred) == 1  # resumes with what is missing only


def test_listing_ignores_anything_but_objects(local_remote: Remote, odb: ObjectDB) -> None:
    oid = odb.add_bytes(b"x")
    push(odb, local_remote)
    root = Path(local_remote.root)
    (root / "tmp" / "leftover").write_bytes(b"partial")
    (root / "README").write_text("hello")
    (root / "zz").mkdir()
    (root / "zz" / ("0" * 62)).write_text("not hex folder")
    assert local_remote.list_ids() == {oid}


def test_missing_local_remote_folder(tmp_path: Path) -> None:
    for url in (str(tmp_path / "nope"), (tmp_path / "nope").as_uri()):
        with pytest.raises(RemoteError, match=r"does not exist or is not a folder; create it \(mkdir -p"):
            Remote.open(url)
    (tmp_path / "file").write_text("x")
    with pytest.raises(RemoteError, match="not a folder"):
        Remote.open(str(tmp_path / "file"))


def test_a_local_remote_folder_that_disappears(tmp_path: Path, odb: ObjectDB) -> None:
    folder = tmp_path / "r"
    folder.mkdir()
    remote = Remote.open(str(folder))
    folder.rmdir()
    with pytest.raises(RemoteError, match="has disappeared"):
        push(odb, remote)


def test_an_unreachable_remote_is_a_remote_error(
    local_remote: Remote, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(local_remote.fs, "find", refuse)
    with pytest.raises(RemoteError, match=r"cannot list remote .*Connection refused"):
        local_remote.list_ids()


@pytest.mark.parametrize(
    ("url", "package", "module"),
    [
        ("s3://bucket/prefix", "s3fs", "s3fs"),
        ("gs://bucket", "gcsfs", "gcsfs"),
        ("az://container/x", "adlfs", "adlfs"),
    ],
)
def test_a_missing_driver_names_the_package_to_install(url: str, package: str, module: str) -> None:
    if importlib.util.find_spec(module) is not None:
        pytest.skip(f"{module} is installed here")
    with pytest.raises(RemoteError, match=f"needs a driver that is not installed: pip install {package}"):
        Remote.open(url)


def test_an_unknown_protocol_is_a_clear_error() -> None:
    with pytest.raises(RemoteError, match="unknown protocol 'nosuchproto'; give a folder path or a URL"):
        Remote.open("nosuchproto://host/path")


def test_names_from_the_config_file(tmp_path: Path) -> None:
    project = tmp_path / "proj" / ".threadline"
    project.mkdir(parents=True)
    folder = tmp_path / "backup"
    folder.mkdir()
    (project / "config.toml").write_text(
        f'[remotes.backup]\nurl = "{folder.as_uri()}"\n\n[remotes.s3]\nurl = "s3://b/p"\nendpoint_url = "http://minio:9000"\n'
    )
    configured = settings.remotes(project.parent)
    assert configured["s3"] == {"url": "s3://b/p", "endpoint_url": "http://minio:9000"}
    assert resolve_remote("s3", configured) == ("s3://b/p", {"endpoint_url": "http://minio:9000"})
    assert resolve_remote("/else/where", configured) == ("/else/where", {})
    assert open_remote("backup", start=project.parent).root == str(folder)
    (project / "config.toml").write_text('[remotes.broken]\npath = "x"\n')
    with pytest.raises(ConfigError, match=r"\[remotes.broken\] needs a url"):
        settings.remotes(project.parent)
    (project / "config.toml").write_text('remotes = "x"\n')
    with pytest.raises(ConfigError, match="must be a table"):
        settings.remotes(project.parent)


def test_no_project_means_no_configured_remotes(tmp_path: Path) -> None:
    assert settings.remotes(tmp_path) == {}
