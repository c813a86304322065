"""Reading a catalog file's YAML fast: libyaml parses and composes the node tree in C, and this module
builds the Python values from it with a resolver that remembers its answers and one plain loop per
node, instead of PyYAML's constructor (a generator and several method calls per node: 1.1 s of a
10,000-tag file, where this takes ~0.3 s). The values are the same as ``yaml.safe_load``'s; anything
out of the ordinary (merge keys ``<<``, a key that is not a scalar, a tag PyYAML's safe loader does
not know) is handed to PyYAML's own constructor, so errors read as PyYAML's.

Python's cycle collector is paused while a document is read (see :mod:`threadline.collector`): the
node tree and the values are hundreds of thousands of containers made at once, none of them garbage.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from threadline.collector import collector_paused

#: libyaml's safe loader when PyYAML was built with it, else PyYAML's own (slower, same values).
_BASE: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


class _Fallback(Exception):
    """The document needs PyYAML's constructor."""


class CatalogLoader(_BASE):
    """The safe loader with a resolver that remembers the tag of each plain scalar it has seen."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._resolved: dict[tuple[str, bool, bool], str] = {}

    def resolve(self, kind: type[Node], value: Any, implicit: Any) -> str:
        """The tag of a node (as PyYAML's resolver says), remembered for scalars."""
        if kind is ScalarNode and not self.yaml_path_resolvers:
            key = (value, bool(implicit[0]), bool(implicit[1]))
            tag = self._resolved.get(key)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                self._resolved[key] = tag
            return tag
        return str(super().resolve(kind, value, implicit))


def _build(loader: CatalogLoader, root: Node) -> Any:
    """The Python value of ``root``: strings, lists and dicts built here, other scalars by PyYAML."""
    built: dict[int, Any] = {}

    def value(node: Node) -> Any:
        if isinstance(node, ScalarNode):
            if node.tag == _STR:
                return node.value
            return loader.construct_object(node, deep=True)
        seen = built.get(id(node))
        if seen is not None:
            return seen
        if isinstance(node, SequenceNode) and node.tag == _SEQ:
            items: list[Any] = []
            built[id(node)] = items
            items.extend(value(child) for child in node.value)
            return items
        if isinstance(node, MappingNode) and node.tag == _MAP:
            mapping: dict[Any, Any] = {}
            built[id(node)] = mapping
            for key_node, value_node in node.value:
                if not isinstance(key_node, ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                    raise _Fallback
                mapping[value(key_node)] = value(value_node)
            return mapping
        raise _Fallback

    return value(root)


def load_yaml(text: str) -> Any:
    """The value of the YAML document ``text`` (what ``yaml.safe_load`` gives), fast; a
    :class:`yaml.YAMLError` when it is malformed."""
    with collector_paused():
        return _load(text)


def _load(text: str) -> Any:
    loader = CatalogLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        try:
            return _build(loader, root)
        except (_Fallback, TypeError):
            # PyYAML's constructor: its values, or its error (an unhashable key, an unknown tag)
            loader.constructed_objects = {}
            loader.recursive_objects = {}
            return loader.construct_document(root)
    finally:
        loader.dispose()
