"""Manifests: deterministic serialisation, and strict parsing of what may come from a remote."""

from __future__ import annotations

import json

import pytest

from threadline.artifacts import Manifest, ManifestEntry, ObjectId
from threadline.errors import ArtifactError

A = ObjectId("a" * 64)
B = ObjectId("b" * 64)


def entries() -> list[ManifestEntry]:
    return [
        ManifestEntry("z.txt", A, 1),
        ManifestEntry("a/b.txt", B, 2, executable=True),
        ManifestEntry("a-b.txt", A, 1),
        ManifestEntry("é.txt", B, 2),
    ]


def test_serialisation_is_sorted_compact_and_independent_of_input_order() -> None:
    forward = Manifest(entries()).to_bytes()
    backward = Manifest(reversed(entries())).to_bytes()
    assert forward == backward
    assert b" " not in forward
    parsed = json.loads(forward)
    assert list(parsed) == ["entries", "version"]
    assert [e["path"] for e in parsed["entries"]] == ["a-b.txt", "a/b.txt", "z.txt", "é.txt"]
    assert list(parsed["entries"][0]) == ["exec", "oid", "path", "size"]
    assert "é".encode() in forward  # UTF-8, not \u escapes


def test_round_trip() -> None:
    manifest = Manifest(entries())
    again = Manifest.from_bytes(manifest.to_bytes())
    assert again == manifest
    assert again.get("a/b.txt") == ManifestEntry("a/b.txt", B, 2, executable=True)
    assert again.get("missing") is None
    assert again.size == 6
    assert again.object_ids() == {A, B}
    assert len(again) == 4


@pytest.mark.parametrize("path", ["", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", "a/.", "a/", "x\0y"])
def test_unsafe_paths_are_refused(path: str) -> None:
    data = {"entries": [{"exec": False, "oid": str(A), "path": path, "size": 1}], "version": 1}
    with pytest.raises(ArtifactError, match="unsafe path"):
        Manifest.from_dict(data)


def test_duplicates_and_file_folder_clashes_are_refused() -> None:
    with pytest.raises(ArtifactError, match="twice"):
        Manifest([ManifestEntry("a", A, 1), ManifestEntry("a", B, 1)])
    with pytest.raises(ArtifactError, match="both as a file and as a folder"):
        Manifest([ManifestEntry("a", A, 1), ManifestEntry("a/b", B, 1)])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not json", "not JSON"),
        (b"[]", "expected an object with an 'entries' list"),
        (b'{"entries": [], "version": 2}', "version 2 is not supported"),
        (b'{"entries": [{"path": "a"}], "version": 1}', "expected the keys"),
        (b'{"entries": [{"exec": 0, "oid": "x", "path": "a", "size": 1}], "version": 1}', "exec a boolean"),
        (
            b'{"entries": [{"exec": false, "oid": "x", "path": "a", "size": -1}], "version": 1}',
            "non-negative",
        ),
        (
            b'{"entries": [{"exec": false, "oid": "x", "path": "a", "size": 1}], "version": 1}',
            "not an object id",
        ),
    ],
)
def test_malformed_manifests_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(ArtifactError, match=message):
        Manifest.from_bytes(data)


def test_entries_must_be_files() -> None:
    data = {"entries": [{"exec": False, "oid": f"{A}.dir", "path": "a", "size": 1}], "version": 1}
    with pytest.raises(ArtifactError, match="manifests list files only"):
        Manifest.from_dict(data)


def test_empty_manifest() -> None:
    assert Manifest([]).to_bytes() == b'{"entries":[],"version":1}'
