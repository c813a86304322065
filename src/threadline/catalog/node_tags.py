"""The catalog's tags of lineage nodes, for the badges of the web UI's lineage view.

A node's tags are those of the entries that link it (``linkedResource``), on the entry and on its
columns; for a dataset, those of the file-set entries whose patterns name it; and the tags its
producers sent (its ``tags`` facet with the Marquez tag API's changes over it, source
``INTEGRATION``). One badge per template (or producer tag) and entry: a template used on several
columns is one badge that lists them.

Everything is read in a fixed number of statements whatever the size of the view (entries by
``linked_resource``, their tags by parent, the templates' names, the file-set entries once, the
facets and tag changes in batches), so a 2,000-node view stays one request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from threadline.catalog import reads
from threadline.catalog.changes import template_id_of, template_name
from threadline.catalog.globs import FilePattern, dataset_uri, parse_pattern
from threadline.errors import BadRequest
from threadline.openlineage.catalog_changes import TAG, TEMPLATE
from threadline.openlineage.naming import normalize_namespace
from threadline.projection.readers.common import load_facet
from threadline.projection.readers.tags import load_overlays, parse_tags

#: The most badges one node carries in the answer (the entry's page lists them all).
MAX_PER_NODE = 12


@dataclass(frozen=True, slots=True)
class LineageNode:
    """A node of the view: its id, kind (``dataset`` or ``job``), key in the projections, and where it
    lives (namespace as first spelled, name)."""

    node_id: str
    kind: str
    key: str
    namespace: str
    name: str


def _fileset_patterns(connection: Connection) -> list[tuple[str, FilePattern]]:
    """Every file-set entry's parsed patterns, ``(entry name, pattern)``."""
    found = []
    for record in reads.fileset_entries(connection):
        for text in (record.body.get("gcsFilesetSpec") or {}).get("filePatterns") or []:
            try:
                found.append((record.name, parse_pattern(text)))
            except BadRequest:  # an entry written before a rule was tightened: it names nothing
                continue
    return found


def _covering(patterns: list[tuple[str, FilePattern]], node: LineageNode) -> list[str]:
    namespace = normalize_namespace(node.namespace)
    return sorted(
        {
            entry
            for entry, pattern in patterns
            if normalize_namespace(pattern.location) == namespace
            and pattern.matches(dataset_uri(pattern.location, node.name))
        }
    )


def _catalog_badges(
    connection: Connection, entries_of: dict[str, list[tuple[str, str]]]
) -> dict[str, list[dict[str, Any]]]:
    """The badges of each node from the tags of its entries: ``entries_of`` is node id -> [(entry
    name, how: ``linked`` or ``filePattern``)]."""
    names = sorted({entry for pairs in entries_of.values() for entry, _ in pairs})
    tags_by_entry: dict[str, list[reads.Record]] = {}
    for record in reads.children_of(connection, TAG, names):
        tags_by_entry.setdefault(record.name.split("/tags/", 1)[0], []).append(record)
    templates = sorted(
        {template_id_of(r.body.get("template", "")) for rs in tags_by_entry.values() for r in rs}
    )
    titles = {
        template_id_of(r.name): r.body.get("displayName") or template_id_of(r.name)
        for r in reads.get_many(connection, TEMPLATE, [template_name(t) for t in templates])
    }
    badges: dict[str, list[dict[str, Any]]] = {}
    for node_id, pairs in entries_of.items():
        grouped: dict[tuple[str, str], dict[str, Any]] = {}
        for entry, how in pairs:
            for record in sorted(tags_by_entry.get(entry, []), key=lambda r: r.name):
                template = template_id_of(record.body.get("template", ""))
                badge = grouped.setdefault(
                    (entry, template),
                    {
                        "name": titles.get(template, template),
                        "template": template,
                        "entry": entry,
                        "source": "CATALOG",
                        **({"via": how} if how != "linked" else {}),
                    },
                )
                column = record.body.get("column")
                if column:
                    badge.setdefault("columns", []).append(column)
                else:
                    badge["onEntry"] = True
        if grouped:
            badges[node_id] = list(grouped.values())
    return badges


def _integration_badges(connection: Connection, nodes: list[LineageNode]) -> dict[str, list[dict[str, Any]]]:
    """The badges of each node from the tags its producers sent (and the Marquez tag API's changes)."""
    badges: dict[str, list[dict[str, Any]]] = {}
    for kind in ("dataset", "job"):
        wanted = {n.key: n for n in nodes if n.kind == kind}
        if not wanted:
            continue
        facets = load_facet(connection, kind, wanted, "tags")
        overlays = load_overlays(connection, kind, wanted)
        for key in sorted(set(facets) | set(overlays)):
            tags = parse_tags(facets.get(key))
            if key in overlays:
                tags = overlays[key].apply(tags)
            grouped: dict[str, dict[str, Any]] = {}
            for tag in tags:
                badge = grouped.setdefault(tag.name, {"name": tag.name, "source": "INTEGRATION"})
                if tag.field:
                    badge.setdefault("columns", []).append(tag.field)
                else:
                    badge["onEntry"] = True
            if grouped:
                badges[wanted[key].node_id] = list(grouped.values())
    return badges


def node_tags(connection: Connection, nodes: list[LineageNode]) -> dict[str, list[dict[str, Any]]]:
    """Each node's badges (only nodes that have some), catalog tags first, at most
    :data:`MAX_PER_NODE`: ``{"name", "source": CATALOG|INTEGRATION, "template", "entry", "via",
    "columns", "onEntry"}`` (``template`` and ``entry`` for catalog tags; ``via: filePattern`` when
    the entry names the dataset by its file patterns; ``columns`` when on columns; ``onEntry`` when
    on the entry or dataset itself)."""
    if not nodes:
        return {}
    by_id = {n.node_id: n for n in nodes}
    entries_of: dict[str, list[tuple[str, str]]] = {}
    # by the node id as lineage spells it (an entry that spells the namespace another way is found by
    # `entries:lookup`, not here)
    for record in reads.entries_linked_to_any(connection, list(by_id)):
        linked = record.body.get("linkedResource")
        if linked in by_id:
            entries_of.setdefault(linked, []).append((record.name, "linked"))
    patterns = _fileset_patterns(connection)
    if patterns:
        for node in nodes:
            if node.kind != "dataset":
                continue
            known = {entry for entry, _ in entries_of.get(node.node_id, [])}
            for entry in _covering(patterns, node):
                if entry not in known:
                    entries_of.setdefault(node.node_id, []).append((entry, "filePattern"))
    found = _catalog_badges(connection, entries_of)
    for node_id, badges in _integration_badges(connection, nodes).items():
        found.setdefault(node_id, []).extend(badges)
    return {node_id: badges[:MAX_PER_NODE] for node_id, badges in found.items()}


__all__ = ["MAX_PER_NODE", "LineageNode", "node_tags"]
