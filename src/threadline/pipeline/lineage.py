"""Column lineage of SQL transforms, derived from the SQL by sqlglot (not a hand-written parser), as
the OpenLineage ``columnLineage`` dataset facet."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from threadline.tracking.content import dataset_name


def column_lineage(
    sql: str, outputs: Sequence[str], tables: dict[str, list[str]], uri_of: Callable[[str], str]
) -> dict[str, Any] | None:
    """The ``columnLineage`` facet of ``sql``: for each output column the input columns it comes from.

    ``tables``: the columns of each table the SQL may read; ``uri_of``: a table's dataset URI. ``None``
    when sqlglot cannot follow the SQL (the transform is still recorded, without column lineage).
    """
    from openlineage.client.facet_v2 import column_lineage_dataset as cl
    from sqlglot import exp
    from sqlglot.errors import SqlglotError
    from sqlglot.lineage import lineage

    from threadline.tracking.events import facet

    schema = {name: dict.fromkeys(columns, "TEXT") for name, columns in tables.items()}
    fields: dict[str, Any] = {}
    for column in outputs:
        try:
            node = lineage(column, sql, schema=schema, dialect="duckdb")
        except (SqlglotError, KeyError, ValueError):
            continue
        found: set[tuple[str, str]] = set()
        for leaf in node.walk():
            if leaf.downstream or not isinstance(leaf.expression, exp.Table):
                continue
            table = leaf.expression.name
            if table in tables:
                found.add((table, leaf.name.split(".")[-1]))
        if found:
            inputs = []
            for table, field in sorted(found):
                namespace, name, _ = dataset_name(uri_of(table))
                inputs.append({"namespace": namespace, "name": name, "field": field})
            fields[column] = {"inputFields": inputs}
    if not fields:
        return None
    return facet(cl.ColumnLineageDatasetFacet._get_schema(), fields=fields)
