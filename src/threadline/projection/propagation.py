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
from collections import deque
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, delete, insert, select, text

from threadline.projection.catalog import typed_value
from threadline.projection.model import Delta
from threadline.store import schema
from threadline.store.ids import dataset_id
from threadline.store.lookups import batches

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


def propagating_fields(connection: Connection) -> dict[str, set[str]]:
    """The templates (by id) with fields that propagate downstream, and those fields."""
    out: dict[str, set[str]] = {}
    rows = connection.execute(
        text("SELECT name, body FROM catalog_objects WHERE kind = 'template' AND deleted = false")
    )
    for name, body in rows:
        fields = json.loads(body).get("fields") or {}
        chosen = {f for f, v in fields.items() if isinstance(v, dict) and v.get("propagate") == "downstream"}
        if chosen:
            out[name.rsplit("/", 1)[-1]] = chosen
    return out


def _breaks(masking: Any, subtype: Any) -> bool:
    return bool(masking) or str(subtype or "").upper() in BREAKING_SUBTYPES


class _Graph:
    """The column-lineage edges read so far, by input column and by output column."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.down: dict[Col, list[tuple[Col, int | None]]] = {}
        self.up: dict[Col, list[tuple[Col, int | None]]] = {}
        self._read_in: set[int] = set()
        self._read_out: set[int] = set()

    def _add(self, rows: Iterable[Any]) -> None:
        for out_ds, out_field, in_ds, in_field, job, masking, subtype in rows:
            if _breaks(masking, subtype):
                continue
            source, target = (in_ds, in_field), (out_ds, out_field)
            if (target, job) not in self.down.setdefault(source, []):
                self.down[source].append((target, job))
                self.up.setdefault(target, []).append((source, job))

    def _read(self, column: Any, datasets: Iterable[int], done: set[int]) -> None:
        wanted = sorted(set(datasets) - done)
        done.update(wanted)
        for batch in batches(wanted):
            self._add(
                self.connection.execute(
                    select(
                        _edges.c.output_dataset_id,
                        _edges.c.output_field,
                        _edges.c.input_dataset_id,
                        _edges.c.input_field,
                        _edges.c.job_id,
                        _edges.c.masking,
                        _edges.c.transformation_subtype,
                    ).where(column.in_(batch))
                )
            )

    def read_all(self) -> None:
        self._add(
            self.connection.execute(
                select(
                    _edges.c.output_dataset_id,
                    _edges.c.output_field,
                    _edges.c.input_dataset_id,
                    _edges.c.input_field,
                    _edges.c.job_id,
                    _edges.c.masking,
                    _edges.c.transformation_subtype,
                )
            )
        )
        self._read_in = self._read_out = {-1}  # everything is read
        self.complete = True

    complete = False

    def downstream(self, columns: set[Col]) -> set[Col]:
        """``columns`` and every column up to :data:`MAX_DEPTH` hops downstream of them."""
        seen = set(columns)
        frontier = set(columns)
        for _ in range(MAX_DEPTH):
            if not self.complete:
                self._read(_edges.c.input_dataset_id, {d for d, _ in frontier}, self._read_in)
            frontier = {t for c in frontier for t, _ in self.down.get(c, ())} - seen
            if not frontier:
                break
            seen |= frontier
        return seen

    def read_inputs_of(self, columns: set[Col]) -> None:
        if not self.complete:
            self._read(_edges.c.output_dataset_id, {d for d, _ in columns}, self._read_out)


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
    region: set[Col],
    templates: dict[str, set[str]],
    *,
    everything: bool,
) -> None:
    """Compute the values of the columns of ``region`` again and store them (replacing theirs)."""
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

    def flowing(column: Col) -> dict[Key, Held]:
        """What ``column`` passes downstream: its own values, else what it holds."""
        mine = own.get(column, {})
        base = held.get(column) if column in region else fixed.get(column, {})
        out = {k: v for k, v in (base or {}).items() if k not in mine}
        for key, (tag, value) in mine.items():
            out[key] = (0, tag, column[1], (), value)
        return out

    children: dict[Col, list[Col]] = {}
    for column in region:
        for parent, _ in graph.up.get(column, ()):
            children.setdefault(parent, []).append(column)
    queue = deque(sorted(region))
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
    for (ds, column), values in held.items():
        for (template, field), (hops, origin, origin_column, via, value) in values.items():
            if (template, field) in own.get((ds, column), {}):
                continue  # a tag on the column itself sets the field
            typed = typed_value(value)
            if typed is None or ds not in nodes:
                continue
            kind, number, text_value = typed
            rows.append(
                {
                    "dataset_id": ds,
                    "column_name": column,
                    "template": template,
                    "field": field,
                    "node": nodes[ds],
                    "value": json.dumps(value, sort_keys=True),
                    "kind": kind,
                    "num_value": number,
                    "text_value": text_value,
                    "origin_tag": origin,
                    "origin_column": origin_column,
                    "via": json.dumps(list(via)),
                    "hops": hops,
                }
            )
    for batch in batches(rows, 500):
        connection.execute(insert(_stored), batch)


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
    region = set(graph.up)
    _compute(connection, graph, region, templates, everything=True)


def _linked_columns(connection: Connection, graph: _Graph, entries: set[str]) -> set[Col]:
    """The columns, in column lineage, of the datasets that ``entries`` link."""
    from threadline.graph.nodes import parse_node_id

    datasets: set[int] = set()
    for batch in batches(sorted(entries)):
        for (linked,) in connection.execute(
            select(_objects.c.linked_resource).where(
                _objects.c.kind == "entry", _objects.c.name.in_(batch), _objects.c.linked_resource.isnot(None)
            )
        ):
            try:
                node = parse_node_id(linked)
            except Exception:  # a resource of another system: no lineage dataset
                continue
            if node.is_dataset:
                datasets.add(dataset_id(node.namespace or "", node.name or ""))
    columns: set[Col] = set()
    for batch in batches(sorted(datasets)):
        for ds, field in connection.execute(
            select(_edges.c.output_dataset_id, _edges.c.output_field).where(
                _edges.c.output_dataset_id.in_(batch)
            )
        ):
            columns.add((ds, field))
        for ds, field in connection.execute(
            select(_edges.c.input_dataset_id, _edges.c.input_field).where(
                _edges.c.input_dataset_id.in_(batch)
            )
        ):
            columns.add((ds, field))
    return columns


def refresh(connection: Connection, delta: Delta) -> None:
    """Bring ``catalog_propagated`` up to date with a delta just merged (in its transaction)."""
    objects = delta.rows.get("catalog_objects") or {}
    edges = delta.rows.get("column_lineage") or {}
    if not objects and not edges:
        return
    templates = propagating_fields(connection)
    if not templates or any(row["kind"] == "template" for row in objects.values()):
        if templates or connection.execute(select(_stored.c.dataset_id).limit(1)).first() is not None:
            rebuild(connection)
        return
    graph = _Graph(connection)
    dirty: set[Col] = {(row["output_dataset_id"], row["output_field"]) for row in edges.values()}
    entries = {row["name"] for row in objects.values() if row["kind"] == "entry"}
    entries |= {row["parent"] for row in objects.values() if row["kind"] == "tag" and row["parent"]}
    if entries:
        dirty |= _linked_columns(connection, graph, entries)
        for entry in sorted(entries):  # the columns holding values that came from the entry's tags
            prefix = f"{entry}/tags/"
            rows = connection.execute(
                select(_stored.c.dataset_id, _stored.c.column_name).where(
                    _stored.c.origin_tag >= prefix, _stored.c.origin_tag < prefix[:-1] + "0"
                )
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
