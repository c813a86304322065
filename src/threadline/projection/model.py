"""Merge rules of the projected tables: what makes the fold independent of event order.

Every projected row is merged column by column with a rule that is commutative, associative and
idempotent (a join in a semilattice):

* ``mins`` / ``maxs``: the smallest or largest value seen (``None`` is "not seen");
* ``ors``: true once any event says so;
* ``lww``: groups of columns that move together, taken from the row with the greatest *stamp*.
  A stamp orders ``(rank, event time, event id)``; the rank lets a terminal run state beat any later
  START, and a run's own events beat what another run's parent facet says about it;
* ``fww``: the same, from the row with the smallest stamp (what was seen first, such as the spelling
  of a name shown for display).

Key columns and the rest never differ between two rows with the same key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from sqlalchemy import Table

from threadline.store import schema

_TIME_OFFSET = 1 << 62  # keeps pre-1970 times positive so fixed-width text sorts like numbers

Row = dict[str, Any]


def stamp(rank: int, event_time: int, event_id: str) -> str:
    """A last-writer-wins stamp; comparing two stamps as text compares ``(rank, time, event id)``.

    Fixed-width hex keeps it short (33 characters) and sortable as text. The event id breaks ties
    between events of the same rank and time; its first 64 bits are plenty for that.
    """
    return f"{rank}{event_time + _TIME_OFFSET:016x}{event_id[:16]}"


@dataclass(frozen=True)
class TableSpec:
    """How rows of one projection table are keyed and merged."""

    table: Table
    key: tuple[str, ...]
    mins: tuple[str, ...] = ()
    maxs: tuple[str, ...] = ()
    ors: tuple[str, ...] = ()
    lww: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    fww: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The table's name."""
        return self.table.name

    def __post_init__(self) -> None:
        getter = itemgetter(*self.key)
        single = len(self.key) == 1
        object.__setattr__(self, "_key_getter", (lambda row: (getter(row),)) if single else getter)
        object.__setattr__(self, "_plain", self.plain)

    def key_of(self, row: Row) -> tuple[Any, ...]:
        """The row's primary key."""
        return self.key_getter(row)

    @property
    def key_getter(self) -> Callable[[Row], tuple[Any, ...]]:
        """:meth:`key_of` as a plain function (one call less per row)."""
        return self._key_getter  # type: ignore[attr-defined]

    @property
    def plain(self) -> tuple[str, ...]:
        """Columns that no rule merges: the key and values that never differ for one key."""
        merged = {*self.mins, *self.maxs, *self.ors, *self.lww, *self.fww}
        for groups in (self.lww, self.fww):
            merged.update(column for columns in groups.values() for column in columns)
        return tuple(column.name for column in self.table.c if column.name not in merged)

    def merge_into(self, old: Row, new: Row) -> None:
        """Join ``new`` into ``old`` in place (the result does not depend on which came first).

        A row may be partial (a later fact about an entity carries only the columns it knows); a plain
        column that ``old`` lacks is taken from ``new``.
        """
        for column in self.mins:
            value = new.get(column)
            if value is not None:
                current = old.get(column)
                if current is None or value < current:
                    old[column] = value
        for column in self.maxs:
            value = new.get(column)
            if value is not None:
                current = old.get(column)
                if current is None or value > current:
                    old[column] = value
        for column in self.ors:
            if new.get(column):
                old[column] = True
            elif column not in old:
                old[column] = False
        for stamp_column, columns in self.lww.items():
            value = new.get(stamp_column)
            if value is not None:
                current = old.get(stamp_column)
                if current is None or value > current:
                    old[stamp_column] = value
                    for column in columns:
                        old[column] = new.get(column)
        for stamp_column, columns in self.fww.items():
            value = new.get(stamp_column)
            if value is not None:
                current = old.get(stamp_column)
                if current is None or value < current:
                    old[stamp_column] = value
                    for column in columns:
                        old[column] = new.get(column)
        for column in self._plain:  # type: ignore[attr-defined]
            if column not in old and column in new:
                old[column] = new[column]

    def merge(self, old: Row, new: Row) -> Row:
        """Join two rows with the same key into a new row; neither argument changes."""
        merged = dict(old)
        self.merge_into(merged, new)
        return merged


SPECS: tuple[TableSpec, ...] = (
    TableSpec(schema.event_ids, ("id",)),
    TableSpec(schema.entity_events, ("entity_id", "event_time", "event_id")),
    TableSpec(
        schema.namespaces,
        ("name",),
        mins=("created_at",),
        maxs=("updated_at",),
        fww={"display_stamp": ("display_name",)},
    ),
    TableSpec(
        schema.jobs,
        ("id",),
        mins=("created_at",),
        maxs=("updated_at",),
        lww={"parent_stamp": ("parent_job_id",), "current_run_stamp": ("current_run_id",)},
        fww={"display_stamp": ("display_namespace",)},
    ),
    TableSpec(
        schema.runs,
        ("id",),
        mins=("created_at", "started_at"),
        maxs=("updated_at", "ended_at"),
        ors=("has_events",),
        lww={
            "job_stamp": ("job_id",),
            "parent_stamp": ("parent_run_id",),
            "state_stamp": ("state",),
        },
    ),
    TableSpec(schema.run_states, ("run_id", "event_id")),
    TableSpec(
        schema.datasets,
        ("id",),
        mins=("created_at",),
        maxs=("updated_at",),
        lww={"schema_stamp": ("schema_hash",), "version_stamp": ("current_version",)},
        fww={"display_stamp": ("display_namespace",)},
    ),
    TableSpec(schema.dataset_symlinks, ("dataset_id", "namespace", "name"), mins=("first_seen",)),
    TableSpec(
        schema.dataset_versions,
        ("dataset_id", "version"),
        mins=("created_at",),
        lww={"run_stamp": ("run_id",), "schema_stamp": ("schema_hash",)},
    ),
    TableSpec(schema.schema_fields, ("schema_hash", "path")),
    TableSpec(
        schema.run_io,
        ("run_id", "dataset_id", "direction"),
        mins=("first_seen",),
        lww={"version_stamp": ("version",)},
    ),
    TableSpec(
        schema.job_io, ("job_id", "dataset_id", "direction"), mins=("first_seen",), maxs=("last_seen",)
    ),
    TableSpec(
        schema.column_lineage,
        ("id",),
        mins=("first_seen",),
        maxs=("last_seen",),
        lww={"detail_stamp": ("description", "masking")},
    ),
    TableSpec(schema.facets, ("entity_type", "entity_key", "name"), lww={"stamp": ("value",)}),
    TableSpec(
        schema.tag_changes,
        ("entity_type", "entity_key", "field", "tag"),
        lww={"stamp": ("action", "value", "source", "changed_by", "changed_at")},
    ),
    TableSpec(
        schema.catalog_objects,
        ("kind", "name"),
        mins=("created_at",),
        lww={
            "stamp": (
                "parent",
                "deleted",
                "body",
                "source",
                "changed_by",
                "changed_at",
                "entry_type",
                "entry_system",
                "t_name",
                "t_description",
                "t_columns",
                "labels",
                "linked_resource",
                "template",
                "tag_column",
            )
        },
    ),
    TableSpec(
        schema.catalog_tag_values,
        ("tag", "field"),
        lww={"stamp": ("entry", "template", "kind", "num_value", "text_value")},
    ),
    TableSpec(schema.catalog_history, ("kind", "name", "stamp")),
)

SPEC_BY_NAME = {spec.name: spec for spec in SPECS}


class Delta:
    """Rows folded from a batch of events, already merged per key, ready to merge into the store.

    The delta owns its rows and merges into them in place: a row handed to :meth:`add` must not be
    used by the caller afterwards.
    """

    def __init__(self) -> None:
        self.rows: dict[str, dict[tuple[Any, ...], Row]] = {spec.name: {} for spec in SPECS}
        # table -> (its key of a row, its rows, its merge): looked up once per row
        self._tables = {spec.name: (spec.key_getter, self.rows[spec.name], spec.merge_into) for spec in SPECS}

    def add(self, table: str, row: Row) -> None:
        """Fold one row into the delta."""
        key_of, bucket, merge_into = self._tables[table]
        key = key_of(row)
        existing = bucket.get(key)
        if existing is None:
            bucket[key] = row
        else:
            merge_into(existing, row)

    def __len__(self) -> int:
        return sum(len(bucket) for bucket in self.rows.values())


def _columns(spec: TableSpec) -> tuple[str, ...]:
    return tuple(column.name for column in spec.table.c)


#: Each table's columns, in the order of a packed row (the table's own order, as the upserts take them).
COLUMNS: dict[str, tuple[str, ...]] = {spec.name: _columns(spec) for spec in SPECS}
_GETTERS = {name: itemgetter(*columns) for name, columns in COLUMNS.items()}


class Packed:
    """A delta whose rows are tuples in column order, merged per key: what a parse worker sends back
    with the events it parsed, what the server keeps of appended events until the projector applies it.

    Tuples pickle, merge and bind to SQL parameters for a fraction of what dicts cost. A merge of two
    rows with one key goes through :meth:`TableSpec.merge_into` (a ``None`` there is "not known"), so
    packing and merging give the rows the unpacked delta gives.
    """

    __slots__ = ("events", "rows")

    def __init__(self, events: int = 0) -> None:
        #: table -> key -> row; only tables with rows are present.
        self.rows: dict[str, dict[Any, tuple[Any, ...]]] = {}
        #: How many events were folded into it (duplicates included).
        self.events = events

    @classmethod
    def of(cls, delta: Delta, events: int) -> Packed:
        """Pack ``delta``, the fold of ``events`` events."""
        packed = cls(events)
        for name, bucket in delta.rows.items():
            if bucket:
                try:  # rows with every column, as most are: the fast way
                    values = _GETTERS[name]
                    packed.rows[name] = {key: values(row) for key, row in bucket.items()}
                except KeyError:
                    columns = COLUMNS[name]
                    packed.rows[name] = {key: tuple(map(row.get, columns)) for key, row in bucket.items()}
        return packed

    def merge(self, other: Packed) -> None:
        """Join ``other`` into this one (``other`` must not be used afterwards)."""
        self.events += other.events
        for name, theirs in other.rows.items():
            bucket = self.rows.get(name)
            if bucket is None:
                self.rows[name] = theirs
                continue
            smaller = theirs
            if len(theirs) > len(bucket):  # walk the smaller of the two
                bucket, smaller = theirs, bucket
                self.rows[name] = bucket
            merge = _MERGERS[name]
            for key, row in smaller.items():
                existing = bucket.get(key)
                bucket[key] = row if existing is None else merge(existing, row)

    def __len__(self) -> int:
        return sum(len(bucket) for bucket in self.rows.values())


def _packed_merger(spec: TableSpec) -> Callable[[tuple[Any, ...], tuple[Any, ...]], tuple[Any, ...]]:
    """:meth:`TableSpec.merge_into` for packed rows, by position (``None`` is "not known")."""
    position = {column: index for index, column in enumerate(COLUMNS[spec.name])}
    mins = [position[c] for c in spec.mins]
    maxs = [position[c] for c in spec.maxs]
    ors = [position[c] for c in spec.ors]
    groups = [
        (position[stamp], [position[c] for c in columns], newest)
        for rules, newest in ((spec.lww, True), (spec.fww, False))
        for stamp, columns in rules.items()
    ]
    plain = [position[c] for c in spec.plain]

    def merge(old: tuple[Any, ...], new: tuple[Any, ...]) -> tuple[Any, ...]:
        row = list(old)
        for i in mins:
            value = new[i]
            if value is not None and (row[i] is None or value < row[i]):
                row[i] = value
        for i in maxs:
            value = new[i]
            if value is not None and (row[i] is None or value > row[i]):
                row[i] = value
        for i in ors:
            if new[i]:
                row[i] = True
            elif row[i] is None:
                row[i] = False
        for i, columns, newest in groups:
            value = new[i]
            if value is not None and (row[i] is None or (value > row[i] if newest else value < row[i])):
                row[i] = value
                for c in columns:
                    row[c] = new[c]
        for i in plain:
            if row[i] is None:
                row[i] = new[i]
        return tuple(row)

    return merge


_MERGERS = {spec.name: _packed_merger(spec) for spec in SPECS}
