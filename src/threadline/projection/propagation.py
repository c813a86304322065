"""Tag propagation along column lineage, kept as a projection (``catalog_propagated``).

A tag template's field marked ``propagate: downstream`` applies, through column lineage, to every
column downstream of a column whose tag sets it: each column of a lineage dataset holds the value of
the nearest tagged column upstream (fewest hops; then the smallest tag name, column and path, so the
answer never depends on the order things were written), unless

* the way crosses a transformation that masks (``masking: true`` in the column-lineage facet) or
  aggregates (subtype ``AGGREGATION``): propagation stops there;
* a tag on the column itself (of an entry linking its dataset) sets the field: that value wins, and
  it is what flows further down;
* it is more than :data:`MAX_DEPTH` hops away.

The rows are derived from projected state (``column_lineage``, the entries that link datasets, their
column tags and the templates), so they are rebuilt by ``threadline reindex`` like every projection
and cannot depend on the order events were folded in. :func:`refresh` runs after each fold, in its
transaction: the columns a batch may have changed (the outputs of its column-lineage edges, the
columns of the datasets its entries and tags link, the columns holding values from its tags) and
everything within :data:`MAX_DEPTH` hops downstream of them are computed again, from the stored
values just upstream of that region; a changed template computes everything again (:func:`rebuild`).
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, delete, select, text

from threadline.projection.catalog import typed_value
from threadline.projection.model import Delta
from threadline.store import schema
from threadline.store.bulk import insert_rows
from threadline.store.ids import dataset_id
from threadline.store.lookups import batches

log = logging.getLogger(__name__)

#: How many hops downstream of a tagged column its value reaches at most.
MAX_DEPTH = 20
BREAKING_SUBTYPES = ("AGGREGATION",)

_edges = schema.column_lineage
_objects = schema.catalog_objects
_stored = schema.catalog_propagated
_datasets = schema.datasets
_jobs = schema.jobs

Col = tuple[int, str]  # (dataset id, column)
Key = tuple[str, str]  # (template id, field id)
#: What a column holds for a key: (hops, origin tag, origin column, via (job node ids), value)
Held = tuple[int, str, str, tuple[str, ...], Any]


#: The propagating fields of each template body this process has read, by (template name, stamp):
#: a fold reads only the names and stamps of the templates, and decodes a body only when a template
#: is new or changed (by this process or another: the stamps say so). Bounded: cleared when full.
_FIELDS_BY_STAMP: dict[tuple[str, str], set[str]] = {}
_FIELDS_CACHE_SIZE = 10_000


def downstream_fields(fields: dict[str, Any]) -> set[str]:
    """The fields of a template's ``fields`` that propagate downstream (``"propagate": "downstream"``)."""
    return {f for f, v in fields.items() if isinstance(v, dict) and v.get("propagate") == "downstream"}


def propagating_fields(connection: Connection) -> dict[str, set[str]]:
    """The templates (by id) with fields that propagate downstream, and those fields."""
    out: dict[str, set[str]] = {}
    live: dict[str, str] = dict(
        connection.execute(
            text("SELECT name, stamp FROM catalog_objects WHERE kind = 'template' AND deleted = false")
        ).all()
    )
    unknown = [name for name, stamp in live.items() if (name, stamp) not in _FIELDS_BY_STAMP]
    if unknown:
        if len(_FIELDS_BY_STAMP) + len(unknown) > _FIELDS_CACHE_SIZE:
            _FIELDS_BY_STAMP.clear()
        for batch in batches(unknown):
            rows = connection.execute(
                select(_objects.c.name, _objects.c.stamp, _objects.c.body).where(
                    _objects.c.kind == "template", _objects.c.name.in_(batch)
                )
            )
            for name, stamp, body in rows:
                _FIELDS_BY_STAMP[name, stamp] = downstream_fields(json.loads(body).get("fields") or {})
                live[name] = stamp  # as read with its body (a change may have come in between)
    for name, stamp in live.items():
        chosen = _FIELDS_BY_STAMP.get((name, stamp))
        if chosen:
            out[name.rsplit("/", 1)[-1]] = set(chosen)
    return out


#: What a column-lineage edge row is read as (``_Graph._add`` takes rows in this order).
_EDGE_COLUMNS = (
    _edges.c.output_dataset_id,
    _edges.c.output_field,
    _edges.c.input_dataset_id,
    _edges.c.input_field,
    _edges.c.job_id,
    _edges.c.masking,
    _edges.c.transformation_subtype,
)


class _Graph:
    """The column-lineage edges read so far, by input column and by output column."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.down: dict[Col, set[tuple[Col, int | None]]] = {}
        self.up: dict[Col, set[tuple[Col, int | None]]] = {}
        self._read_in: set[Col] = set()
        self._read_out: set[Col] = set()
        self.complete = False  # every edge read (read_all)

    def _add(self, rows: Iterable[Any]) -> None:
        down, up = self.down, self.up
        for out_ds, out_field, in_ds, in_field, job, masking, subtype in rows:
            if masking or (subtype and str(subtype).upper() in BREAKING_SUBTYPES):
                continue
            source, target = (in_ds, in_field), (out_ds, out_field)
            if source in down:
                down[source].add((target, job))
            else:
                down[source] = {(target, job)}
            if target in up:
                up[target].add((source, job))
            else:
                up[target] = {(source, job)}

    def _read(self, dataset: Any, field: Any, columns: Iterable[Col], done: set[Col]) -> None:
        """Read the edges whose ``dataset``/``field`` (their input or their output) is one of
        ``columns`` (by column: a dataset's other columns' edges are not needed)."""
        wanted = sorted(set(columns) - done)
        done.update(wanted)
        for batch in batches(wanted, 500):
            rows = self.connection.execute(
                select(*_EDGE_COLUMNS).where(
                    dataset.in_(sorted({d for d, _ in batch})), field.in_(sorted({f for _, f in batch}))
                )
            )
            keep = set(batch)
            output = dataset is _edges.c.output_dataset_id
            self._add(row for row in rows if ((row[0], row[1]) if output else (row[2], row[3])) in keep)

    def read_all(self) -> None:
        self._add(self.connection.execute(select(*_EDGE_COLUMNS)))
        self.complete = True

    def downstream(self, columns: set[Col]) -> list[Col]:
        """``columns`` and every column up to :data:`MAX_DEPTH` hops downstream of them, nearest
        first (the order in which their values are best computed)."""
        seen = set(columns)
        order = sorted(columns)
        frontier = set(columns)
        for _ in range(MAX_DEPTH):
            if not self.complete:
                self._read(_edges.c.input_dataset_id, _edges.c.input_field, frontier, self._read_in)
            frontier = {t for c in frontier for t, _ in self.down.get(c, ())} - seen
            if not frontier:
                break
            seen |= frontier
            order += sorted(frontier)
        return order

    def read_inputs_of(self, columns: set[Col]) -> None:
        if not self.complete:
            self._read(_edges.c.output_dataset_id, _edges.c.output_field, columns, self._read_out)


def _nodes(connection: Connection, datasets: set[int]) -> dict[int, str]:
    """The node id (``dataset:NAMESPACE:NAME``, as entries link it) of each dataset."""
    from threadline.graph.nodes import NodeId  # the graph package is heavy: only when there is work

    out: dict[int, str] = {}
    for batch in batches(sorted(datasets)):
        rows = connection.execute(
            select(
                _datasets.c.id, _datasets.c.display_namespace, _datasets.c.namespace, _datasets.c.name
            ).where(_datasets.c.id.in_(batch))
        )
        for ident, display, namespace, name in rows:
            out[ident] = str(NodeId.dataset(display or namespace, name))
    return out


def _own(
    connection: Connection, nodes: dict[int, str], templates: dict[str, set[str]]
) -> dict[Col, dict[Key, tuple[str, Any]]]:
    """The values set by tags on the columns of ``nodes``' datasets (tags of the entries linking
    them): column -> key -> (tag name, value); of two tags setting one key, the smallest name's."""
    by_node = {node: ident for ident, node in nodes.items()}
    own: dict[Col, dict[Key, tuple[str, Any]]] = {}
    for batch in batches(sorted(by_node)):
        entries = dict(
            connection.execute(
                select(_objects.c.name, _objects.c.linked_resource).where(
                    _objects.c.kind == "entry",
                    _objects.c.deleted.is_(False),
                    _objects.c.linked_resource.in_(batch),
                )
            ).all()
        )
        for names in batches(sorted(entries)):
            rows = connection.execute(
                select(_objects.c.name, _objects.c.parent, _objects.c.template, _objects.c.body).where(
                    _objects.c.kind == "tag",
                    _objects.c.deleted.is_(False),
                    _objects.c.parent.in_(names),
                    _objects.c.template.in_(sorted(templates)),
                )
            )
            for name, parent, template, body in rows:
                doc = json.loads(body)
                column = doc.get("column") or ""
                if not column:
                    continue
                held = own.setdefault((by_node[entries[parent]], column), {})
                for field, value in (doc.get("fields") or {}).items():
                    key = (template, field)
                    if field in templates[template] and (key not in held or name < held[key][0]):
                        held[key] = (name, value)
    return own


def _stored_rows(connection: Connection, columns: set[Col]) -> dict[Col, dict[Key, Held]]:
    out: dict[Col, dict[Key, Held]] = {}
    for batch in batches(sorted({d for d, _ in columns})):
        rows = connection.execute(select(_stored).where(_stored.c.dataset_id.in_(batch)))
        for row in rows:
            col = (row.dataset_id, row.column_name)
            if col in columns:
                out.setdefault(col, {})[row.template, row.field] = (
                    row.hops,
                    row.origin_tag,
                    row.origin_column,
                    tuple(json.loads(row.via)),
                    json.loads(row.value),
                )
    return out


def _compute(
    connection: Connection,
    graph: _Graph,
    ordered: list[Col],
    templates: dict[str, set[str]],
    *,
    everything: bool,
) -> None:
    """Compute the values of the columns ``ordered`` (nearest the change first) again and store them
    (replacing theirs)."""
    region = set(ordered)
    graph.read_inputs_of(region)
    parents = {p for c in region for p, _ in graph.up.get(c, ())}
    boundary = parents - region
    nodes = _nodes(connection, {d for d, _ in region | boundary})
    own = _own(connection, nodes, templates)
    fixed = {} if everything else _stored_rows(connection, boundary)
    held: dict[Col, dict[Key, Held]] = {c: {} for c in region}
    jobs = _job_nodes(
        connection, sorted({j for c in region for _, j in graph.up.get(c, ()) if j is not None})
    )

    flows: dict[Col, dict[Key, Held]] = {}

    def flowing(column: Col) -> dict[Key, Held]:
        """What ``column`` passes downstream: its own values, else what it holds."""
        if column in flows:
            return flows[column]
        mine = own.get(column, {})
        base = held.get(column) if column in region else fixed.get(column, {})
        out = {k: v for k, v in (base or {}).items() if k not in mine}
        for key, (tag, value) in mine.items():
            out[key] = (0, tag, column[1], (), value)
        flows[column] = out
        return out

    children: dict[Col, list[Col]] = {}
    for column in region:
        for parent, _ in graph.up.get(column, ()):
            children.setdefault(parent, []).append(column)
    queue = deque(ordered)
    queued = set(region)
    while queue:
        column = queue.popleft()
        queued.discard(column)
        best: dict[Key, Held] = {}
        for parent, job in graph.up.get(column, ()):
            for key, (hops, origin, origin_column, via, value) in flowing(parent).items():
                if hops + 1 > MAX_DEPTH:
                    continue
                step = (jobs[job],) if job in jobs else ()
                candidate = (hops + 1, origin, origin_column, (*via, *step), value)
                if key not in best or candidate[:4] < best[key][:4]:
                    best[key] = candidate
        if best != held[column]:
            held[column] = best
            flows.pop(column, None)
            for child in children.get(column, ()):
                if child not in queued:
                    queued.add(child)
                    queue.append(child)
    _store(connection, region, held, own, nodes, everything=everything)


def _store(
    connection: Connection,
    region: set[Col],
    held: dict[Col, dict[Key, Held]],
    own: dict[Col, dict[Key, tuple[str, Any]]],
    nodes: dict[int, str],
    *,
    everything: bool,
) -> None:
    if everything:
        connection.execute(delete(_stored))
    else:
        for batch in batches(sorted(region)):
            for ds in {d for d, _ in batch}:
                names = [c for d, c in batch if d == ds]
                connection.execute(
                    delete(_stored).where(_stored.c.dataset_id == ds, _stored.c.column_name.in_(names))
                )
    rows = []
    encoded: dict[int, tuple[str, tuple[str, float | None, str | None] | None]] = {}
    paths: dict[tuple[str, ...], str] = {}
    for (ds, column), values in held.items():
        mine = own.get((ds, column), {})
        for (template, field), (hops, origin, origin_column, via, value) in values.items():
            if (template, field) in mine or ds not in nodes:
                continue  # a tag on the column itself sets the field
            if id(value) not in encoded:  # one value object flows to many columns
                encoded[id(value)] = (json.dumps(value, sort_keys=True), typed_value(value))
            text_of, typed = encoded[id(value)]
            if typed is None:
                continue
            if via not in paths:
                paths[via] = json.dumps(list(via))
            kind, number, text_value = typed
            rows.append(
                (
                    ds,
                    column,
                    template,
                    field,
                    nodes[ds],
                    text_of,
                    kind,
                    number,
                    text_value,
                    origin,
                    origin_column,
                    paths[via],
                    hops,
                )
            )
    columns = tuple(c.name for c in _stored.c)
    for chunk in batches(rows, 5000):
        insert_rows(connection, _stored, columns, chunk)


def _job_nodes(connection: Connection, jobs: list[int]) -> dict[int, str]:
    from threadline.graph.nodes import NodeId

    out: dict[int, str] = {}
    for batch in batches(jobs):
        rows = connection.execute(
            select(_jobs.c.id, _jobs.c.display_namespace, _jobs.c.namespace, _jobs.c.name).where(
                _jobs.c.id.in_(batch)
            )
        )
        for ident, display, namespace, name in rows:
            out[ident] = str(NodeId.job(display or namespace, name))
    return out


def rebuild(connection: Connection) -> None:
    """Compute every propagated value again (a changed template, a migration)."""
    templates = propagating_fields(connection)
    if not templates:
        connection.execute(delete(_stored))
        return
    graph = _Graph(connection)
    graph.read_all()
    sources = {c for c in graph.down if c not in graph.up}
    ordered = graph.downstream(sources)
    ordered += sorted(set(graph.up) - set(ordered))  # in cycles with no way in, or too far down
    _compute(connection, graph, ordered, templates, everything=True)


def _linked_datasets(connection: Connection, entries: set[str]) -> dict[str, set[int]]:
    """The lineage datasets that ``entries`` link, by entry."""
    from threadline.graph.nodes import parse_node_id

    out: dict[str, set[int]] = {}
    for batch in batches(sorted(entries)):
        for name, linked in connection.execute(
            select(_objects.c.name, _objects.c.linked_resource).where(
                _objects.c.kind == "entry", _objects.c.name.in_(batch), _objects.c.linked_resource.isnot(None)
            )
        ):
            try:
                node = parse_node_id(linked)
            except Exception:  # a resource of another system: no lineage dataset
                continue
            if node.is_dataset:
                out.setdefault(name, set()).add(dataset_id(node.namespace or "", node.name or ""))
    return out


def _linked_columns(connection: Connection, graph: _Graph, entries: set[str]) -> set[Col]:
    """The columns, in column lineage, of the datasets that ``entries`` link."""
    datasets = {ds for found in _linked_datasets(connection, entries).values() for ds in found}
    columns: set[Col] = set()
    for batch in batches(sorted(datasets)):
        for out_ds, out_field, in_ds, in_field in connection.execute(
            select(
                _edges.c.output_dataset_id,
                _edges.c.output_field,
                _edges.c.input_dataset_id,
                _edges.c.input_field,
            ).where(_edges.c.output_dataset_id.in_(batch) | _edges.c.input_dataset_id.in_(batch))
        ):
            columns |= {
                (ds, field) for ds, field in ((out_ds, out_field), (in_ds, in_field)) if ds in datasets
            }
    return columns


def _tag_column(name: str) -> str:
    """The column of a tag, from its name (``…/tags/TEMPLATE@COLUMN``; an entry's tag has none)."""
    return name.rsplit("/tags/", 1)[-1].partition("@")[2]


def refresh(connection: Connection, delta: Delta) -> None:
    """Bring ``catalog_propagated`` up to date with a delta just merged (in its transaction, under a
    savepoint: should it fail, the fold goes on and the error is logged, rather than the projector
    stopping at this batch for good; a template's change or a reindex computes everything again)."""
    try:
        with connection.begin_nested():
            _refresh(connection, delta)
    except Exception:  # a bug here must not stop the projector
        log.exception("updating the propagated tags failed; they are stale until the next change")


def _refresh(connection: Connection, delta: Delta) -> None:
    objects = delta.rows.get("catalog_objects") or {}
    edges = delta.rows.get("column_lineage") or {}
    tags = [row for row in objects.values() if row["kind"] == "tag" and _tag_column(row["name"])]
    entries = {row["name"] for row in objects.values() if row["kind"] == "entry"}
    changed_templates = {
        row["name"].rsplit("/", 1)[-1] for row in objects.values() if row["kind"] == "template"
    }
    if not (edges or tags or entries or changed_templates):
        return  # entries' own tags and groups: nothing propagates from them
    templates = propagating_fields(connection)
    if changed_templates:
        was = connection.execute(
            select(_stored.c.template).where(_stored.c.template.in_(sorted(changed_templates))).limit(1)
        ).first()
        if was is not None or changed_templates & set(templates):
            rebuild(connection)
            return
    if not templates:
        return
    graph = _Graph(connection)
    dirty: set[Col] = {(row["output_dataset_id"], row["output_field"]) for row in edges.values()}
    if entries:  # a link may have changed: every column of the datasets linked now, and before
        dirty |= _linked_columns(connection, graph, entries)
        # the values that came from the entries' tags: the tags by the parent index (deleted ones'
        # rows stay), a few statements for the whole delta (a name range such as '>= E/tags/ AND <
        # E/tags0' is wrong under a collation that ignores punctuation, as PostgreSQL's en_US does)
        for part in batches(sorted(entries)):
            names = list(
                connection.scalars(
                    select(_objects.c.name).where(_objects.c.kind == "tag", _objects.c.parent.in_(part))
                )
            )
            for names_part in batches(names):
                rows = connection.execute(
                    select(_stored.c.dataset_id, _stored.c.column_name).where(
                        _stored.c.origin_tag.in_(names_part)
                    )
                )
                dirty |= {(ds, column) for ds, column in rows}
    if tags:  # the tag's column, and the columns holding a value that came from the tag
        by_entry: dict[str, set[str]] = {}
        for row in tags:
            by_entry.setdefault(row["parent"], set()).add(_tag_column(row["name"]))
        for entry, datasets in _linked_datasets(connection, set(by_entry)).items():
            dirty |= {(ds, column) for ds in datasets for column in by_entry[entry]}
        for batch in batches(sorted(row["name"] for row in tags)):
            rows = connection.execute(
                select(_stored.c.dataset_id, _stored.c.column_name).where(_stored.c.origin_tag.in_(batch))
            )
            dirty |= {(ds, column) for ds, column in rows}
    if dirty:
        _compute(connection, graph, graph.downstream(dirty), templates, everything=False)


def stored_tags(connection: Connection, dataset: int) -> list[Any]:
    """The stored propagated values of a dataset's columns, by column, template and field."""
    return list(
        connection.execute(
            select(_stored)
            .where(_stored.c.dataset_id == dataset)
            .order_by(_stored.c.column_name, _stored.c.template, _stored.c.field)
        )
    )
