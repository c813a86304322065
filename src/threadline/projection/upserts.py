"""The merge rules of :mod:`threadline.projection.model` as SQL: one conflict clause per table.

Folded rows are written (by :func:`threadline.store.bulk.insert_rows`) with ``ON CONFLICT (key) DO
UPDATE SET …`` whose expressions are the same joins as :meth:`TableSpec.merge` (smallest, largest,
either, newest stamp), so the database merges a batch into the stored rows without reading them first.
The ``WHERE`` of the update skips rows the batch does not change, which spares SQLite a page write and
PostgreSQL a dead tuple each. SQLite and PostgreSQL both accept the same text.
"""

from __future__ import annotations

from functools import cache

from threadline.projection.model import SPEC_BY_NAME, TableSpec


def _quote(name: str) -> str:
    return f'"{name}"'


def _rules(spec: TableSpec) -> tuple[list[str], list[str]]:
    """The ``SET`` assignments and the change conditions of a table's merge."""
    t = _quote(spec.table.name)
    sets: list[str] = []
    changes: list[str] = []
    for column in spec.mins:
        c = _quote(column)
        smaller = f"(excluded.{c} < {t}.{c} OR ({t}.{c} IS NULL AND excluded.{c} IS NOT NULL))"
        sets.append(f"{c} = CASE WHEN {smaller} THEN excluded.{c} ELSE {t}.{c} END")
        changes.append(smaller)
    for column in spec.maxs:
        c = _quote(column)
        larger = f"(excluded.{c} > {t}.{c} OR ({t}.{c} IS NULL AND excluded.{c} IS NOT NULL))"
        sets.append(f"{c} = CASE WHEN {larger} THEN excluded.{c} ELSE {t}.{c} END")
        changes.append(larger)
    for column in spec.ors:
        c = _quote(column)
        sets.append(f"{c} = ({t}.{c} OR excluded.{c})")
        changes.append(f"(excluded.{c} AND NOT {t}.{c})")
    for groups, wins in ((spec.lww, ">"), (spec.fww, "<")):
        for stamp_column, columns in groups.items():
            s = _quote(stamp_column)
            takes = f"(excluded.{s} IS NOT NULL AND ({t}.{s} IS NULL OR excluded.{s} {wins} {t}.{s}))"
            for column in (stamp_column, *columns):
                c = _quote(column)
                sets.append(f"{c} = CASE WHEN {takes} THEN excluded.{c} ELSE {t}.{c} END")
            changes.append(takes)
    return sets, changes


def columns_of(table: str) -> tuple[str, ...]:
    """The column order of the rows an upsert of ``table`` takes."""
    return tuple(column.name for column in SPEC_BY_NAME[table].table.c)


@cache
def conflict_clause(table: str) -> str:
    """``ON CONFLICT (key) DO UPDATE SET … WHERE …`` (or ``DO NOTHING``): the table's merge in SQL."""
    spec = SPEC_BY_NAME[table]
    keys = ", ".join(_quote(k) for k in spec.key)
    sets, changes = _rules(spec)
    if not sets:
        return f" ON CONFLICT ({keys}) DO NOTHING"
    return f" ON CONFLICT ({keys}) DO UPDATE SET {', '.join(sets)} WHERE {' OR '.join(changes)}"
