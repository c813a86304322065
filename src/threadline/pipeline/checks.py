"""Data checks: declared here, run inside the warehouse as SQL generated per check (see
:func:`run_checks` for why not pandera's in-engine backends); custom Python checks run with pandera
on pandas.

Every check runs, whatever the others found: the result of each is its failing-row count and a
sample of failing rows. A check's ``severity`` is ``error`` (blocks the promotion) or ``warn``
(recorded only).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from threadline.errors import PipelineError
from threadline.pipeline.warehouse import quote, sql_literal

if TYPE_CHECKING:
    import pandas as pd

    from threadline.pipeline.warehouse import Warehouse

SEVERITIES = ("error", "warn")
#: Failing rows kept per check.
SAMPLE_ROWS = 5


def _rows(count: int) -> str:
    """``1 row``, ``2 rows``."""
    return f"{count} row{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class Check:
    """One declared check. Make them with the functions of this module (``not_null``, ``unique``...)."""

    kind: str
    column: str | None = None
    severity: str = "error"
    args: dict[str, Any] = field(default_factory=dict)
    function: Callable[..., Any] | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            msg = f"check {self.label}: severity must be 'error' or 'warn', got {self.severity!r}"
            raise PipelineError(msg)

    @property
    def label(self) -> str:
        """The check's name as results show it: ``kind(column)`` unless named."""
        if self.name:
            return self.name
        return f"{self.kind}({self.column})" if self.column else self.kind

    @property
    def row_level(self) -> bool:
        """Whether the check judges single rows (so failing rows can be quarantined)."""
        return self.kind in (
            "not_null",
            "unique",
            "between",
            "accepted_values",
            "matches",
            "rows",
            "relationship",
        )


@dataclass
class CheckResult:
    """What one check found."""

    check: Check
    failures: int
    sample: list[dict[str, Any]] = field(default_factory=list)
    message: str = ""
    quarantined: int = 0

    @property
    def passed(self) -> bool:
        """Whether no row (or the table) failed."""
        return self.failures == 0

    @property
    def status(self) -> str:
        """``passed``, ``warned`` (a warn check failed, or failing rows were quarantined) or ``failed``."""
        if self.passed:
            return "passed"
        if self.check.severity == "warn" or self.quarantined:
            return "warned"
        return "failed"

    def as_json(self) -> dict[str, Any]:
        """The result as JSON (for the run's parameters and the failing-rows facet)."""
        return {
            "check": self.check.label,
            "column": self.check.column,
            "severity": self.check.severity,
            "status": self.status,
            "failures": self.failures,
            "quarantined": self.quarantined,
            "message": self.message,
            "sample": self.sample,
        }


# ---- declaring checks ---------------------------------------------------------------------------


def not_null(column: str, *, severity: str = "error") -> Check:
    """No null in ``column``."""
    return Check("not_null", column, severity)


def unique(column: str, *, severity: str = "error") -> Check:
    """No two rows share a value of ``column`` (nulls aside)."""
    return Check("unique", column, severity)


def between(
    column: str, min: float | None = None, max: float | None = None, *, severity: str = "error"
) -> Check:
    """``min <= column <= max`` (either bound may be left out)."""
    if min is None and max is None:
        msg = f"between({column!r}) needs min= or max="
        raise PipelineError(msg)
    return Check("between", column, severity, {"min": min, "max": max})


def accepted_values(column: str, values: Sequence[Any], *, severity: str = "error") -> Check:
    """Every value of ``column`` is one of ``values``."""
    return Check("accepted_values", column, severity, {"values": list(values)})


def matches(column: str, pattern: str, *, severity: str = "error") -> Check:
    """Every value of ``column`` matches the regular expression ``pattern``."""
    return Check("matches", column, severity, {"pattern": pattern})


def dtype(column: str, type_name: str, *, severity: str = "error") -> Check:
    """``column`` exists and has the pandas dtype ``type_name`` (``int64``, ``float64``, ``string``...)."""
    return Check("dtype", column, severity, {"dtype": type_name})


def columns(*names: str, severity: str = "error") -> Check:
    """The table has (at least) these columns."""
    return Check("columns", None, severity, {"names": list(names)})


def row_count(min: int | None = None, max: int | None = None, *, severity: str = "error") -> Check:
    """The table's row count is within ``[min, max]``."""
    return Check("row_count", None, severity, {"min": min, "max": max})


def freshness(column: str, max_age_seconds: float, *, severity: str = "error") -> Check:
    """The newest value of the timestamp ``column`` is at most ``max_age_seconds`` old."""
    return Check("freshness", column, severity, {"max_age": max_age_seconds})


def relationship(column: str, table: str, to_column: str, *, severity: str = "error") -> Check:
    """Every non-null ``column`` value exists in ``table.to_column`` (a foreign key)."""
    return Check("relationship", column, severity, {"table": table, "to": to_column})


def sql_check(name: str, query: str, *, severity: str = "error") -> Check:
    """A custom SQL check: ``query`` (run in the staging schema) selects the failing rows."""
    return Check("sql", None, severity, {"query": query}, name=name)


def rows(name: str, function: Callable[[pd.DataFrame], Any], *, severity: str = "error") -> Check:
    """A custom Python check: ``function(frame)`` returns a boolean Series, true for good rows."""
    return Check("rows", None, severity, function=function, name=name)


# ---- running them -------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else str(value)
    item = getattr(value, "item", None)
    if callable(item) and type(value).__module__ == "numpy":
        return _jsonable(item())
    if isinstance(value, str | int | float | bool):
        return value
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def sample_rows(frame: pd.DataFrame, limit: int = SAMPLE_ROWS) -> list[dict[str, Any]]:
    """Up to ``limit`` rows of ``frame`` as JSON objects."""
    return [
        {str(key): _jsonable(value) for key, value in row.items()}
        for row in frame.head(limit).to_dict(orient="records")
    ]


#: pandas dtype names of warehouse column types, for ``dtype`` checks (DuckDB's and PostgreSQL's names).
PANDAS_DTYPES = {
    "bigint": "int64",
    "integer": "int32",
    "smallint": "int16",
    "tinyint": "int8",
    "ubigint": "uint64",
    "uinteger": "uint32",
    "usmallint": "uint16",
    "utinyint": "uint8",
    "double": "float64",
    "double precision": "float64",
    "float": "float32",
    "real": "float32",
    "varchar": "string",
    "text": "string",
    "character varying": "string",
    "boolean": "bool",
    "timestamp": "datetime64[ns]",
    "timestamp without time zone": "datetime64[ns]",
    "timestamp with time zone": "datetime64[ns, UTC]",
}
#: Checks whose failing rows one SQL predicate selects.
_PREDICATE_KINDS = ("not_null", "between", "accepted_values", "matches", "relationship")


def _predicate(warehouse: Warehouse, check: Check, target: str) -> str:
    """A SQL predicate true on the rows ``check`` fails (nulls pass every check but ``not_null``)."""
    column = quote(str(check.column))
    if check.kind == "not_null":
        return f"{column} IS NULL"
    if check.kind == "between":
        low, high = check.args["min"], check.args["max"]
        bounds = ([f"{column} < {sql_literal(low)}"] if low is not None else []) + (
            [f"{column} > {sql_literal(high)}"] if high is not None else []
        )
        return "(" + " OR ".join(bounds) + ")"
    if check.kind == "accepted_values":
        values = [v for v in check.args["values"] if v is not None]
        if not values:
            return f"{column} IS NOT NULL"
        return f"{column} NOT IN ({', '.join(sql_literal(v) for v in values)})"
    if check.kind == "matches":
        return f"({column} IS NOT NULL AND {warehouse.regex_mismatch(column, check.args['pattern'])})"
    if check.kind == "unique":
        return (
            f"{column} IN (SELECT {column} FROM {target} "
            f"WHERE {column} IS NOT NULL GROUP BY {column} HAVING count(*) > 1)"
        )
    # relationship: the other table is found on the search path (staging first, then production)
    other, to = quote(check.args["table"]), quote(check.args["to"])
    return f"({column} IS NOT NULL AND {column} NOT IN (SELECT {to} FROM {other} WHERE {to} IS NOT NULL))"


def run_checks(
    warehouse: Warehouse, table: str, checks: Sequence[Check]
) -> tuple[list[CheckResult], dict[str, set[Any]]]:
    """Run every check on the staging ``table``, inside the warehouse; returns the results and, per
    failed row-level check label, the row ids of its failing rows (:meth:`Warehouse.frame`'s index).

    One aggregate query scans the table once for every column and table check (a ``count(*) FILTER
    (WHERE <failing>)`` per check, ``count(c) - count(DISTINCT c)`` for ``unique``, ``max(c)`` for
    ``freshness``); only a check that failed costs another query, for its failing rows and sample.
    Custom Python checks (``rows``) run with pandera on the table read into pandas.

    Why SQL generated here and not pandera's in-engine backends: pandera's ibis backend needs
    ibis-framework (a large dependency, with its own pins on each engine's driver) and runs a query
    per check and per failure-case collection, and its polars backend reads the whole table out of
    the warehouse into polars first, so neither keeps the work in one scan inside the warehouse, and
    only ibis would also run on PostgreSQL. The predicates here are plain SQL that DuckDB and
    PostgreSQL both run (the one difference, regular expressions, is the warehouse's
    ``regex_mismatch``).
    """
    types = dict(warehouse.columns(table))
    target = warehouse.qualified(table)
    found: dict[int, CheckResult] = {}
    failing: dict[str, set[Any]] = {}
    aggregates = ["count(*)"]
    slots: dict[int, int] = {}  # id(check) -> its aggregate's position
    for check in checks:
        if check.kind == "relationship":
            other = check.args["table"]
            if not warehouse.exists(other) and not warehouse.exists(other, production=True):
                found[id(check)] = CheckResult(check, 1, message=f"the related table {other} does not exist")
                continue
        if check.column is not None and check.column not in types:
            found[id(check)] = CheckResult(
                check, 1, message=f"column {check.column} does not exist in {table}"
            )
            continue
        column = quote(str(check.column))
        if check.kind in _PREDICATE_KINDS:
            slots[id(check)] = len(aggregates)
            aggregates.append(f"count(*) FILTER (WHERE {_predicate(warehouse, check, target)})")
        elif check.kind == "unique":
            slots[id(check)] = len(aggregates)
            aggregates.append(f"count({column}) - count(DISTINCT {column})")
        elif check.kind == "freshness":
            slots[id(check)] = len(aggregates)
            aggregates.append(f"max({column})")
    values = warehouse.scalars(f"SELECT {', '.join(aggregates)} FROM {target}")
    total = int(values[0])
    for check in checks:
        if id(check) in found:
            continue
        if check.kind in _PREDICATE_KINDS or check.kind == "unique":
            bad = int(values[slots[id(check)]] or 0)
            if not bad:
                found[id(check)] = CheckResult(check, 0)
                continue
            where = _predicate(warehouse, check, target)
            ids = set(
                warehouse.query(f"SELECT {warehouse.rowid} AS __rowid FROM {target} WHERE {where}")[
                    "__rowid"
                ].tolist()
            )
            failing[check.label] = ids
            sample = sample_rows(warehouse.rows(table, sorted(ids)[:SAMPLE_ROWS]))
            if check.kind == "relationship":
                to = f"{check.args['table']}.{check.args['to']}"
                verb = "has" if len(ids) == 1 else "have"
                message = f"{_rows(len(ids))} {verb} a {check.column} missing from {to}"
            else:
                message = f"{len(ids)} of {total} rows fail {check.label}"
            found[id(check)] = CheckResult(check, len(ids), sample, message)
        elif check.kind == "freshness":
            found[id(check)] = _freshness(check, values[slots[id(check)]])
        elif check.kind != "rows":
            found[id(check)] = _table_check(warehouse, table, types, total, check)
    python_checks = [c for c in checks if c.kind == "rows" and id(c) not in found]
    if python_checks:
        for check, result, ids in _python_checks(warehouse, table, python_checks):
            found[id(check)] = result
            if ids:
                failing[check.label] = ids
    return [found[id(c)] for c in checks], failing


def _freshness(check: Check, newest_value: Any) -> CheckResult:
    import pandas as pd

    newest = pd.to_datetime(newest_value, utc=True, errors="coerce") if newest_value is not None else None
    if newest is None or pd.isna(newest):
        return CheckResult(check, 1, message=f"{check.column} has no timestamp")
    age = time.time() - newest.timestamp()
    bad = age > check.args["max_age"]
    return CheckResult(check, int(bad), message=f"newest {check.column} is {age:.0f} s old" if bad else "")


def _table_check(
    warehouse: Warehouse, table: str, types: dict[str, str], total: int, check: Check
) -> CheckResult:
    kind = check.kind
    if kind == "dtype":
        sql_type = types[str(check.column)]
        got = PANDAS_DTYPES.get(sql_type.lower(), sql_type.lower())
        want = check.args["dtype"]
        ok = want in (got, sql_type, sql_type.lower()) or (want == "object" and got == "string")
        return CheckResult(
            check, 0 if ok else 1, message="" if ok else f"{check.column} is {got}, not {want}"
        )
    if kind == "columns":
        missing = [name for name in check.args["names"] if name not in types]
        return CheckResult(
            check, len(missing), message=f"missing columns: {', '.join(missing)}" if missing else ""
        )
    if kind == "row_count":
        low, high = check.args["min"], check.args["max"]
        bad = (low is not None and total < low) or (high is not None and total > high)
        bounds = f"[{low if low is not None else ''}, {high if high is not None else ''}]"
        return CheckResult(check, int(bad), message=f"{_rows(total)}, expected {bounds}" if bad else "")
    if kind == "sql":
        try:
            bad_rows = warehouse.query(check.args["query"])
        except Exception as exc:
            return CheckResult(check, 1, message=f"the check's SQL failed: {str(exc).splitlines()[0]}")
        message = f"{_rows(len(bad_rows))} returned" if len(bad_rows) else ""
        return CheckResult(check, len(bad_rows), sample_rows(bad_rows), message)
    msg = f"unknown check kind {kind!r}"
    raise PipelineError(msg)


def _python_checks(
    warehouse: Warehouse, table: str, checks: Sequence[Check]
) -> list[tuple[Check, CheckResult, set[Any]]]:
    """Run the custom Python checks with pandera on the table read into pandas (every check runs:
    ``lazy=True``); each with its result and failing row ids."""
    import pandas as pd
    import pandera.pandas as pa
    from pandera.errors import SchemaErrors

    frame = warehouse.frame(table)
    schema = pa.DataFrameSchema(
        checks=[pa.Check(c.function, name=c.label) for c in checks if c.function is not None]
    )
    cases = pd.DataFrame(columns=["check_number", "failure_case", "index"])
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as exc:
        cases = exc.failure_cases
    indexes: dict[int, set[Any]] = {i: set() for i in range(len(checks))}
    whole: dict[int, str] = {}
    for number, case, index in cases[["check_number", "failure_case", "index"]].itertuples(index=False):
        if number is None or (isinstance(number, float) and math.isnan(number)):
            continue
        if index is None or (isinstance(index, float) and math.isnan(index)):
            whole[int(number)] = str(case)
        else:
            indexes[int(number)].add(index)
    out: list[tuple[Check, CheckResult, set[Any]]] = []
    for number, check in enumerate(checks):
        ids = indexes[number]
        if not ids and number in whole:
            out.append((check, CheckResult(check, 1, message=whole[number]), set()))
            continue
        sample = sample_rows(warehouse.rows(table, sorted(ids)[:SAMPLE_ROWS])) if ids else []
        message = f"{len(ids)} of {len(frame)} rows fail {check.label}" if ids else ""
        out.append((check, CheckResult(check, len(ids), sample, message), ids))
    return out


def assertions_facet(results: Sequence[CheckResult]) -> dict[str, Any]:
    """The OpenLineage ``dataQualityAssertions`` input facet of the results."""
    from openlineage.client.facet_v2 import data_quality_assertions_dataset as dqa

    from threadline.tracking.events import facet

    return facet(
        dqa.DataQualityAssertionsDatasetFacet._get_schema(),
        assertions=[
            {
                "assertion": r.check.label,
                "success": r.passed,
                **({"column": r.check.column} if r.check.column else {}),
                "severity": r.check.severity,
                **({"actual": str(r.failures), "description": r.message} if r.failures else {}),
            }
            for r in results
        ],
    )


def metrics_facet(frame_rows: int, results: Sequence[CheckResult]) -> dict[str, Any]:
    """The OpenLineage ``dataQualityMetrics`` input facet: the row count, and null counts of the
    columns a not-null check covered."""
    from openlineage.client.facet_v2 import data_quality_metrics_input_dataset as dqm

    from threadline.tracking.events import facet

    return facet(
        dqm.DataQualityMetricsInputDatasetFacet._get_schema(),
        rowCount=frame_rows,
        columnMetrics={
            str(r.check.column): {"nullCount": r.failures} for r in results if r.check.kind == "not_null"
        },
    )


def results_facet(results: Sequence[CheckResult]) -> dict[str, Any]:
    """threadline's ``threadline_check_results`` input facet: every result with its failing rows."""
    from threadline.tracking.events import facet
    from threadline.tracking.facets import schema_url

    return facet(
        schema_url("ThreadlineCheckResultsInputDatasetFacet"), results=[r.as_json() for r in results]
    )
