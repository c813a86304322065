"""Object ids: parsing, formatting and the dict form."""

from __future__ import annotations

import pytest

from threadline.artifacts import ObjectId
from threadline.errors import ArtifactError, InvalidObjectId

HEX = "ab" + "c" * 62


def test_file_and_dir_ids_format_and_parse() -> None:
    file_id = ObjectId(HEX)
    dir_id = ObjectId(HEX, is_dir=True)
    assert str(file_id) == f"blake3:{HEX}"
    assert str(dir_id) == f"blake3:{HEX}.dir"
    assert ObjectId.parse(str(file_id)) == file_id
    assert ObjectId.parse(f"  {dir_id}\n") == dir_id
    assert dir_id.file_id == file_id
    assert file_id.file_id is file_id


def test_dict_round_trip() -> None:
    dir_id = ObjectId(HEX, is_dir=True)
    assert dir_id.to_dict() == {"algorithm": "blake3", "value": HEX, "kind": "dir"}
    assert ObjectId.from_dict(dir_id.to_dict()) == dir_id
    assert ObjectId.from_dict(ObjectId(HEX).to_dict()) == ObjectId(HEX)


@pytest.mark.parametrize(
    "text",
    [
        "",
        HEX,  # no algorithm
        f"sha256:{HEX}",
        f"blake3:{HEX[:-1]}",
        f"blake3:{HEX}0",
        f"blake3:{HEX.upper()}",
        f"blake3:{HEX}.tar",
        f"blake3:{'g' * 64}",
    ],
)
def test_bad_ids_are_refused_with_a_clear_message(text: str) -> None:
    with pytest.raises(InvalidObjectId, match="is not an object id; ids look like blake3:"):
        ObjectId.parse(text)


def test_invalid_object_id_is_an_artifact_error() -> None:
    assert issubclass(InvalidObjectId, ArtifactError)


@pytest.mark.parametrize(
    "data",
    [
        {"algorithm": "md5", "value": HEX, "kind": "file"},
        {"algorithm": "blake3", "value": HEX, "kind": "link"},
        {"algorithm": "blake3", "value": "nope", "kind": "file"},
        ["blake3", HEX],
    ],
)
def test_from_dict_refuses_anything_else(data: object) -> None:
    with pytest.raises(InvalidObjectId):
        ObjectId.from_dict(data)  # type: ignore[arg-type]


def test_constructor_validates_the_digest() -> None:
    with pytest.raises(InvalidObjectId, match="64 lowercase hex"):
        ObjectId("xyz")


def test_ids_sort_and_hash() -> None:
    ids = {ObjectId("1" * 64), ObjectId("0" * 64), ObjectId("0" * 64)}
    assert sorted(ids) == [ObjectId("0" * 64), ObjectId("1" * 64)]
