"""The catalog file reader gives what ``yaml.safe_load`` gives (values and errors), and JSON files."""

from __future__ import annotations

import contextlib
import gc
from pathlib import Path

import pytest
import yaml

from threadline.catalog import files, yaml_reading
from threadline.catalog.yaml_reading import load_yaml
from threadline.errors import BadRequest

EXAMPLES = sorted(Path(__file__).resolve().parents[2].joinpath("examples").rglob("*.yaml"))

DOCUMENTS = [
    "a: 1\nb: [1, 2.5, true, null, 2024-01-01, '3', yes, 0x1f, 1_000, ~, .inf]\n",
    "when: 2024-01-02T03:04:05Z\nplain: text with a colon:in it\n",
    "x: &a {k: v}\ny: *a\n",
    "<<: {a: 1}\nb: 2\n",
    "a: &x [1, *x]\n",
    "a: !!binary aGk=\n",
    "a: !!str 12\nb: !!float 1\n",
    "",
    "# only a comment\n",
    "- a\n- {b: c}\n",
    "a: b\na: c\n",
    "a: 'quoted: yes'\nb: \"x\\ty\"\n",
]


@pytest.mark.parametrize("text", DOCUMENTS + [p.read_text() for p in EXAMPLES])
def test_same_values_as_safe_load(text: str) -> None:
    assert repr(load_yaml(text)) == repr(yaml.safe_load(text))


@pytest.mark.parametrize(
    "text", ["a: [\n", "a: b: c\n", "!!python/object:os.system x\n", "? [1]\n: 2\n? [1]\n: 3\n"]
)
def test_same_errors_as_safe_load(text: str) -> None:
    try:
        expected: object = yaml.safe_load(text)
    except Exception as exc:
        expected = type(exc)
    try:
        got: object = load_yaml(text)
    except Exception as exc:
        got = type(exc)
    assert repr(got) == repr(expected)


@pytest.mark.parametrize("text", ["a: [1, {b: c}]\n", "a: [\n"])
def test_the_collector_is_paused_while_reading_and_left_as_it_was(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bool] = []
    compose = yaml_reading.CatalogLoader.get_single_node

    def spying(loader: yaml_reading.CatalogLoader) -> object:
        seen.append(gc.isenabled())
        return compose(loader)

    monkeypatch.setattr(yaml_reading.CatalogLoader, "get_single_node", spying)
    assert gc.isenabled()
    with contextlib.suppress(yaml.YAMLError):
        load_yaml(text)
    assert seen == [False]  # paused while the node tree is built
    assert gc.isenabled()  # and on again after, an error or not
    gc.disable()
    try:
        with contextlib.suppress(yaml.YAMLError):
            load_yaml(text)
        assert not gc.isenabled()  # a caller's own pause is left to the caller
    finally:
        gc.enable()


def test_json_and_yaml_files_read_alike(tmp_path: Path) -> None:
    doc = {"tagTemplates": [{"id": "t", "fields": {"n": {"type": "DOUBLE"}}}], "entryGroups": []}
    as_json = tmp_path / "catalog.json"
    as_json.write_text(
        '{"tagTemplates": [{"id": "t", "fields": {"n": {"type": "DOUBLE"}}}], "entryGroups": []}'
    )
    as_yaml = tmp_path / "catalog.yaml"
    as_yaml.write_text(yaml.safe_dump(doc))
    flow = tmp_path / "flow.yaml"
    flow.write_text("{tagTemplates: [], entryGroups: []}\n")  # starts with '{' but is not JSON
    assert files.load(as_json) == files.load(as_yaml) == doc
    assert files.load(flow) == {"tagTemplates": [], "entryGroups": []}
    broken = tmp_path / "broken.json"
    broken.write_text('{"entryGroups": [')
    with pytest.raises(BadRequest, match="is not valid YAML"):
        files.load(broken)
