"""The catalog's tags of lineage nodes, for the badges of the web UI's lineage view.

A node's tags are those of the entries that link it (``linkedResource``), on the entry and on its
columns; for a dataset, those of the file-set entries whose patterns name it; and the tags its
producers sent (its ``tags`` facet with the Marquez tag API's changes over it, source
``INTEGRATION``). One badge per template (or producer tag) and entry: a template used on several
columns is one badge that lists them.

Everything is read in a fixed number of statements whatever the size of the view (entries by
``linked_resource``, their tags by parent, the templates' names, the facets and tag changes in
batches), so a 2,000-node view stays one request. The file-set entries' patterns are kept between
requests until a catalog change is folded (finding them scans every entry).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from threadline.catalog import reads
from threadline.catalog.changes import PRODUCER, template_id_of, template_name
from threadline.catalog.globs import FilePattern, dataset_uri, parse_pattern
from threadline.errors import BadRequest
from threadline.openlineage.catalog_changes import ENTRY, TAG, TEMPLATE
from threadline.openlineage.naming import normalize_namespace
from threadline.openlineage.versions import DATASET_EVENT
from threadline.projection.readers.common import load_facet
from threadline.projection.readers.tags import load_overlays, parse_tags
from threadline.store import schema
from threadline.store.base import PROJECTION_MARK

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


#: File-set patterns by the namespace they name datasets of (a location, normalised), then the location
#: as written, then the folder their literal prefix ends in (``gs://b/dir/`` for ``gs://b/dir/p*``):
#: (entry name, literal prefix, pattern). A dataset is then checked against the patterns of the folders
#: above it only, not against every pattern of its bucket.
Patterns = dict[str, dict[str, dict[str, list[tuple[str, str, FilePattern]]]]]


def _load_patterns(connection: Connection) -> Patterns:
    """Every file-set entry's parsed patterns, by the namespace of the datasets they may name."""
    return _patterns_of(reads.fileset_entries(connection))


def _patterns_of(records: list[reads.Record]) -> Patterns:
    """The parsed patterns of the file-set entries ``records``, by the namespace of their datasets."""
    found: Patterns = {}
    for record in records:
        for text in (record.body.get("gcsFilesetSpec") or {}).get("filePatterns") or []:
            try:
                pattern = parse_pattern(text)
            except BadRequest:  # an entry written before a rule was tightened: it names nothing
                continue
            prefix = pattern.literal_prefix
            folder = prefix[: prefix.rfind("/") + 1]
            found.setdefault(normalize_namespace(pattern.location), {}).setdefault(
                pattern.location, {}
            ).setdefault(folder, []).append((record.name, prefix, pattern))
    return found


@dataclass(frozen=True, slots=True)
class _Filesets:
    """The file-set patterns of a store's catalog as folded up to the projector's mark ``mark``."""

    mark: int
    patterns: Patterns


#: The patterns of each store (by URL), kept while the log holds no new catalog change: finding the
#: file-set entries reads every entry's body (a scan: hundreds of milliseconds for 100,000 entries),
#: too much for each lineage view.
_FILESETS: dict[str, _Filesets] = {}


def _fileset_patterns(connection: Connection) -> Patterns:
    """The file-set patterns, read again only when events that may change the catalog (DatasetEvents
    of threadline's producer, as catalog changes are) were folded since they were last read."""
    marks, events = schema.log_marks, schema.events
    # the mark before the patterns: they are then at least as new as it says
    mark = int(connection.scalar(select(marks.c.seq).where(marks.c.name == PROJECTION_MARK)) or 0)
    key = connection.engine.url.render_as_string(hide_password=True)
    known = _FILESETS.get(key)
    if known is not None and known.mark <= mark:
        changed = connection.scalar(
            select(events.c.seq)
            .where(
                events.c.seq > known.mark,
                events.c.seq <= mark,
                events.c.kind == DATASET_EVENT,
                events.c.producer == PRODUCER,
            )
            .limit(1)
        )
        if changed is None:
            _FILESETS[key] = _Filesets(mark, known.patterns)
            return known.patterns
    patterns = _load_patterns(connection)
    _FILESETS[key] = _Filesets(mark, patterns)
    return patterns


def _covering(patterns: Patterns, node: LineageNode, namespaces: dict[str, str]) -> list[str]:
    """The file-set entries whose patterns name the dataset ``node`` (``namespaces``: normalised
    spellings, kept across the view's nodes)."""
    namespace = namespaces.get(node.namespace)
    if namespace is None:
        namespace = namespaces[node.namespace] = normalize_namespace(node.namespace)
    found = set()
    for location, folders in patterns.get(namespace, {}).items():
        uri = dataset_uri(location, node.name)
        if not uri.startswith(location):
            continue
        slash = uri.find("/", len(location))
        while slash >= 0:
            for entry, prefix, pattern in folders.get(uri[: slash + 1], ()):
                if entry not in found and uri.startswith(prefix) and pattern.matches(uri):
                    found.add(entry)
            slash = uri.find("/", slash + 1)
    return sorted(found)


def _chunks(items: list[str]) -> list[list[str]]:
    return [items[start : start + 500] for start in range(0, len(items), 500)]


def _linked_entries(connection: Connection, node_ids: list[str]) -> list[tuple[str, str]]:
    """(entry name, node id) of the entries whose ``linkedResource`` is one of ``node_ids`` (by the
    node id as lineage spells it: an entry that spells the namespace another way is found by
    ``entries:lookup``, not here). Indexed columns only: no entry's body is read."""
    objects = schema.catalog_objects
    found: list[tuple[str, str]] = []
    for part in _chunks(node_ids):
        rows = connection.execute(
            select(objects.c.name, objects.c.linked_resource).where(
                objects.c.kind == ENTRY, objects.c.linked_resource.in_(part), objects.c.deleted.is_(False)
            )
        )
        found.extend((str(name), str(linked)) for name, linked in rows)
    return found


def _entry_tags(
    connection: Connection, entries: list[str], as_of: int | None = None
) -> dict[str, list[tuple[str, str, str]]]:
    """Each entry's tags as (tag name, template id, column), by name; from the indexed columns (as of
    ``as_of``: from the tags' history)."""
    objects = schema.catalog_objects
    found: dict[str, list[tuple[str, str, str]]] = {}
    if as_of is not None:
        for part in _chunks(entries):
            # every tag the entries ever had (a deleted tag's row stays), then each one's state then
            ever = select(objects.c.name).where(objects.c.kind == TAG, objects.c.parent.in_(part))
            names = list(connection.scalars(ever))
            for record in reads.records_as_of(connection, TAG, names, as_of):
                template = template_id_of(str(record.body.get("template", "")))
                parent = record.name.rsplit("/", 2)[0]
                column = str(record.body.get("column") or "")
                found.setdefault(parent, []).append((record.name, template, column))
        for tags in found.values():
            tags.sort()
        return found
    for part in _chunks(entries):
        rows = connection.execute(
            select(objects.c.parent, objects.c.name, objects.c.template, objects.c.tag_column).where(
                objects.c.kind == TAG, objects.c.parent.in_(part), objects.c.deleted.is_(False)
            )
        )
        for parent, name, template, column in rows:
            found.setdefault(str(parent), []).append((str(name), str(template or ""), str(column or "")))
    for tags in found.values():
        tags.sort()
    return found


def _catalog_badges(
    connection: Connection, entries_of: dict[str, list[tuple[str, str]]], as_of: int | None = None
) -> dict[str, list[dict[str, Any]]]:
    """The badges of each node from the tags of its entries: ``entries_of`` is node id -> [(entry
    name, how: ``linked`` or ``filePattern``)]."""
    tags_by_entry = _entry_tags(
        connection, sorted({entry for pairs in entries_of.values() for entry, _ in pairs}), as_of
    )
    templates = sorted({template_id_of(t) for tags in tags_by_entry.values() for _, t, _ in tags})
    titles = {
        template_id_of(r.name): r.body.get("displayName") or template_id_of(r.name)
        for r in reads.get_many(connection, TEMPLATE, [template_name(t) for t in templates])
    }
    badges: dict[str, list[dict[str, Any]]] = {}
    for node_id, pairs in entries_of.items():
        grouped: dict[tuple[str, str], dict[str, Any]] = {}
        for entry, how in pairs:
            for _, template_ref, column in tags_by_entry.get(entry, ()):
                template = template_id_of(template_ref)
                badge = grouped.get((entry, template))
                if badge is None:
                    badge = grouped[(entry, template)] = {
                        "name": titles.get(template, template),
                        "template": template,
                        "entry": entry,
                        "source": "CATALOG",
                    }
                    if how != "linked":
                        badge["via"] = how
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


def _propagated_badges(connection: Connection, nodes: list[LineageNode]) -> dict[str, list[dict[str, Any]]]:
    """The badges of each dataset from the tags propagated to its columns along column lineage (one
    per template: its columns, the tag each value comes from and the jobs it came through)."""
    stored = schema.catalog_propagated
    wanted = sorted({n.node_id for n in nodes if n.kind == "dataset"})
    grouped: dict[tuple[str, str], dict[str, Any]] = {}
    for part in _chunks(wanted):
        rows = connection.execute(
            select(stored.c.node, stored.c.template, stored.c.column_name, stored.c.origin_tag, stored.c.via)
            .where(stored.c.node.in_(part))
            .order_by(stored.c.node, stored.c.template, stored.c.column_name, stored.c.field)
        )
        for node, template, column, origin, via in rows:
            badge = grouped.setdefault(
                (node, template),
                {"name": template, "template": template, "source": "PROPAGATED", "columns": [], "from": []},
            )
            if column not in badge["columns"]:
                badge["columns"].append(column)
            came = {"tag": origin, "via": json.loads(via)}
            if came not in badge["from"]:
                badge["from"].append(came)
    titles = {
        template_id_of(r.name): r.body.get("displayName") or template_id_of(r.name)
        for r in reads.get_many(connection, TEMPLATE, sorted({template_name(t) for _, t in grouped}))
    }
    badges: dict[str, list[dict[str, Any]]] = {}
    for (node, template), badge in grouped.items():
        badge["name"] = titles.get(template, template)
        badges.setdefault(node, []).append(badge)
    return badges


def node_tags(
    connection: Connection, nodes: list[LineageNode], *, as_of: int | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Each node's badges (only nodes that have some), catalog tags first, then propagated ones, at
    most :data:`MAX_PER_NODE`: ``{"name", "source": CATALOG|PROPAGATED|INTEGRATION, "template",
    "entry", "via", "columns", "onEntry", "from"}`` (``template`` and ``entry`` for catalog tags;
    ``via: filePattern`` when the entry names the dataset by its file patterns; ``columns`` when on
    columns; ``onEntry`` when on the entry or dataset itself; ``from`` for a propagated tag: the tags
    its values come from, each with the jobs they came through).

    ``as_of``: the catalog's tags as they were then (the entries linking the nodes and their tags, read
    from the catalog's history). Propagated tags are kept for the present only, so an answer as of a
    time has none; the producers' tags are today's."""
    if not nodes:
        return {}
    by_id = {n.node_id: n for n in nodes}
    entries_of: dict[str, list[tuple[str, str]]] = {}
    if as_of is None:
        linked = _linked_entries(connection, list(by_id))
        patterns = _fileset_patterns(connection)
    else:
        entries, _ = reads.list_records(connection, ENTRY, as_of=as_of)
        linked = [
            (r.name, str(r.body["linkedResource"])) for r in entries if r.body.get("linkedResource") in by_id
        ]
        patterns = _patterns_of([r for r in entries if r.body.get("gcsFilesetSpec")])
    for entry, node_id in linked:
        entries_of.setdefault(node_id, []).append((entry, "linked"))
    namespaces: dict[str, str] = {}
    if patterns:
        for node in nodes:
            if node.kind != "dataset":
                continue
            known = {entry for entry, _ in entries_of.get(node.node_id, [])}
            for entry in _covering(patterns, node, namespaces):
                if entry not in known:
                    entries_of.setdefault(node.node_id, []).append((entry, "filePattern"))
    found = _catalog_badges(connection, entries_of, as_of)
    if as_of is None:
        for node_id, badges in _propagated_badges(connection, nodes).items():
            found.setdefault(node_id, []).extend(badges)
    for node_id, badges in _integration_badges(connection, nodes).items():
        found.setdefault(node_id, []).extend(badges)
    return {node_id: badges[:MAX_PER_NODE] for node_id, badges in found.items()}


__all__ = ["MAX_PER_NODE", "LineageNode", "node_tags"]
