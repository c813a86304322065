"""One promotion of warehouse and lake, recoverable when the process is killed half-way.

A promotion moves the staging tables into the warehouse's production schema (one transaction) and,
when the environment publishes to the lake (``lake_production``), switches the lake's pointer
(``production/CURRENT.json``) to a new version written just before. These are two systems: a process
killed after the warehouse committed and before the pointer switched would leave the warehouse new and
the lake old. So the promotion writes a journal first, ``production/PROMOTING.json`` in the lake (the
version, the tables and the pointer to switch to), and removes it once the pointer switched. Whoever
finds a journal (the next promotion, the next run of the pipeline, ``threadline pipeline status``)
completes or rolls back that promotion by asking the warehouse whether it committed that version
(:meth:`~threadline.pipeline.warehouse.Warehouse.has_version`, recorded in the same transaction):
committed, the pointer is switched (rolled forward); not committed, the version's files are removed
(rolled back). Production then ends all old or all new, in both.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from threadline.errors import PipelineError
from threadline.pipeline.warehouse import pause_point, version_stamp

if TYPE_CHECKING:
    import pyarrow as pa

    from threadline.pipeline.lake import Lake
    from threadline.pipeline.warehouse import Warehouse

#: The promotion journal, under the lake's root.
JOURNAL = "production/PROMOTING.json"


def read_journal(lake: Lake) -> dict[str, Any] | None:
    """The journal of an unfinished promotion, or ``None``."""
    try:
        found = lake.read_json(JOURNAL)
    except ValueError:  # torn: it is written before the warehouse is touched, so nothing was promoted
        return {}
    return found if isinstance(found, dict) or found is None else {}


def _remove_version(lake: Lake, version: str) -> None:
    lake.remove(f"production/v={version}")


def recover(warehouse: Warehouse | None, lake: Lake) -> str | None:
    """Complete or roll back the promotion a killed process left unfinished (see the module
    docstring); what was done, or ``None`` when there was nothing to do. (``warehouse`` is ``None``
    for a journal that does not say which: it cannot have committed, the journal is written first.)"""
    entry = read_journal(lake)
    if entry is None:
        return None
    version = str(entry.get("version") or "")
    tables = [str(t) for t in entry.get("promoted") or []]
    pointer = entry.get("pointer")
    committed = warehouse is not None and warehouse.has_version(tables, version)
    if version and tables and isinstance(pointer, dict) and committed:
        current = lake.current()
        if current is None or current.get("version") != version:
            lake.switch(pointer)
        lake.remove(JOURNAL)
        return f"completed the interrupted promotion {version}: the lake's production pointer now names it"
    if version:
        _remove_version(lake, version)
    lake.remove(JOURNAL)
    what = version or "(unreadable journal)"
    return f"rolled back the interrupted promotion {what}: production is unchanged"


def recover_lake(root: str) -> str | None:
    """:func:`recover` for the lake at ``root``, opening the warehouse its journal names (for
    ``threadline pipeline status``, which knows a run's lake but not its pipeline file)."""
    from threadline.pipeline.config import environment_from
    from threadline.pipeline.lake import Lake
    from threadline.pipeline.warehouse import open_warehouse

    lake = Lake(root)
    entry = read_journal(lake)
    if entry is None:
        return None
    described = entry.get("environment")
    if not isinstance(described, dict):
        return recover(None, lake)
    warehouse = open_warehouse(environment_from("journal", described, "promotion"))
    try:
        return recover(warehouse, lake)
    finally:
        warehouse.close()


def _describe(warehouse: Warehouse, lake: Lake) -> dict[str, Any]:
    env = warehouse.env
    return {
        "lake": lake.root,
        "warehouse": env.warehouse,
        "staging_schema": env.staging_schema,
        "schema": env.schema,
    }


def promote(
    warehouse: Warehouse,
    lake: Lake,
    tables: Sequence[str],
    *,
    lake_production: bool,
    batches: Mapping[str, Callable[[], pa.Table | pa.RecordBatchReader]] | None = None,
) -> str:
    """Promote ``tables`` in the warehouse and, with ``lake_production``, in the lake (written first,
    journaled, switched once the warehouse committed); returns the version. A promotion a killed
    process left unfinished is recovered first."""
    recover(warehouse, lake)
    version = version_stamp()
    if not lake_production:
        warehouse.promote(tables, version)
        return version
    from functools import partial

    sources = batches or {t: partial(warehouse.arrow_batches, t) for t in tables}
    pointer = lake.write_version(version, sources)
    entry = {
        "version": version,
        "promoted": list(tables),
        "pointer": pointer,
        "environment": _describe(warehouse, lake),
    }
    lake.put_atomically(JOURNAL, json.dumps(entry, sort_keys=True, indent=1).encode())
    pause_point("promote:journaled")
    try:
        warehouse.promote(tables, version)
    except PipelineError:
        _remove_version(lake, version)
        lake.remove(JOURNAL)
        raise
    lake.switch(pointer)
    lake.remove(JOURNAL)
    return version
