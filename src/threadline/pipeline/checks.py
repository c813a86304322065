"""Data checks: declared here, run with pandera on the table's rows (column and row checks), in the
warehouse for the checks that need other tables or SQL (relationships, custom SQL).

Every check runs, whatever the others found (pandera's ``lazy=True``): the result of each is its
failing-row count and a sample of failing rows. A check's ``severity`` is ``error`` (blocks the
promotion) or ``warn`` (recorded only).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from threadline.errors import PipelineError

if TYPE_CHECKING:
    import pandas as pd

    from threadline.pipeline.warehouse import Warehouse

SEVERITIES = ("error", "warn")
#: Failing rows kept per check.
SAMPLE_ROWS = 5


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


def _pandera_check(check: Check) -> Any:
    """The pandera Check of a column check, named after ours so failures map back to it."""
    import pandera.pandas as pa

    name = check.label
    if check.kind == "not_null":
        return pa.Check(lambda s: s.notna(), name=name, ignore_na=False)
    if check.kind == "unique":
        return pa.Check(lambda s: ~(s.duplicated(keep=False) & s.notna()), name=name, ignore_na=False)
    if check.kind == "between":
        low, high = check.args["min"], check.args["max"]
        if low is not None and high is not None:
            return pa.Check.in_range(low, high, name=name)
        if low is not None:
            return pa.Check.ge(low, name=name)
        return pa.Check.le(high, name=name)
    if check.kind == "accepted_values":
        return pa.Check.isin(check.args["values"], name=name)
    if check.kind == "matches":
        return pa.Check.str_matches(check.args["pattern"], name=name)
    msg = f"no pandera check for {check.kind}"
    raise AssertionError(msg)


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


def run_checks(
    warehouse: Warehouse, table: str, checks: Sequence[Check]
) -> tuple[list[CheckResult], dict[str, set[Any]]]:
    """Run every check on the staging ``table``; returns the results and, per row-level check label,
    the row ids of its failing rows (:meth:`Warehouse.frame`'s index)."""
    import pandas as pd
    import pandera.pandas as pa
    from pandera.errors import SchemaErrors

    table_columns = [name for name, _ in warehouse.columns(table)]
    # only the columns the checks read (a custom Python check reads them all); samples are fetched whole
    wanted = {c.column for c in checks if c.column is not None}
    everything = any(c.kind == "rows" for c in checks)
    frame = warehouse.frame(table, None if everything else [c for c in table_columns if c in wanted])
    results: list[CheckResult] = []
    failing: dict[str, set[Any]] = {}
    column_checks: dict[str, list[Check]] = {}
    frame_checks: list[Check] = []
    for check in checks:
        if check.column is not None and check.kind not in ("freshness", "relationship", "dtype"):
            if check.column not in table_columns:
                results.append(
                    CheckResult(check, 1, message=f"column {check.column} does not exist in {table}")
                )
                continue
            column_checks.setdefault(check.column, []).append(check)
        elif check.kind == "rows":
            frame_checks.append(check)
    frame_checks = [c for c in frame_checks if c.function is not None]
    schema = pa.DataFrameSchema(
        {
            name: pa.Column(checks=[_pandera_check(c) for c in cs], nullable=True)
            for name, cs in column_checks.items()
        },
        checks=[pa.Check(c.function, name=c.label) for c in frame_checks if c.function],
    )
    cases = pd.DataFrame(columns=["schema_context", "column", "check_number", "failure_case", "index"])
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as exc:
        cases = exc.failure_cases
    # pandera names its built-in checks itself: map failures back by (column, check number)
    indexes: dict[int, set[Any]] = {id(c): set() for cs in column_checks.values() for c in cs}
    indexes.update({id(c): set() for c in frame_checks})
    whole_frame: dict[int, str] = {}
    for context, column, number, case, index in cases[
        ["schema_context", "column", "check_number", "failure_case", "index"]
    ].itertuples(index=False):
        if number is None or (isinstance(number, float) and math.isnan(number)):
            continue
        if context == "DataFrameSchema":
            owner = frame_checks[int(number)]
        elif column in column_checks:
            owner = column_checks[str(column)][int(number)]
        else:
            continue
        if index is None or (isinstance(index, float) and math.isnan(index)):
            whole_frame[id(owner)] = str(case)
        else:
            indexes[id(owner)].add(index)
    for check in [c for cs in column_checks.values() for c in cs] + frame_checks:
        index = indexes[id(check)]
        if not index and id(check) in whole_frame:
            results.append(CheckResult(check, 1, message=whole_frame[id(check)]))
            continue
        failing[check.label] = index
        sample = sample_rows(warehouse.rows(table, sorted(index)[:SAMPLE_ROWS])) if index else []
        result = CheckResult(check, len(index), sample)
        if index:
            result.message = f"{len(index)} of {len(frame)} rows fail {check.label}"
        results.append(result)
    for check in checks:
        if check.kind in ("not_null", "unique", "between", "accepted_values", "matches", "rows"):
            continue
        results.append(_table_check(warehouse, table, frame, table_columns, check, failing))
    order = {id(c): i for i, c in enumerate(checks)}
    results.sort(key=lambda r: order.get(id(r.check), 0))
    return results, failing


def _table_check(
    warehouse: Warehouse,
    table: str,
    frame: pd.DataFrame,
    table_columns: list[str],
    check: Check,
    failing: dict[str, set[Any]],
) -> CheckResult:
    import pandas as pd

    kind = check.kind
    if kind == "dtype":
        if check.column not in frame.columns:
            return CheckResult(check, 1, message=f"column {check.column} does not exist in {table}")
        got = str(frame[check.column].dtype)
        want = check.args["dtype"]
        ok = got == want or (want == "string" and got in ("object", "str", "string"))
        return CheckResult(
            check, 0 if ok else 1, message="" if ok else f"{check.column} is {got}, not {want}"
        )
    if kind == "columns":
        missing = [name for name in check.args["names"] if name not in table_columns]
        return CheckResult(
            check, len(missing), message=f"missing columns: {', '.join(missing)}" if missing else ""
        )
    if kind == "row_count":
        count = len(frame)
        low, high = check.args["min"], check.args["max"]
        bad = (low is not None and count < low) or (high is not None and count > high)
        bounds = f"[{low if low is not None else ''}, {high if high is not None else ''}]"
        return CheckResult(check, int(bad), message=f"{count} rows, expected {bounds}" if bad else "")
    if kind == "freshness":
        if check.column not in frame.columns:
            return CheckResult(check, 1, message=f"column {check.column} does not exist in {table}")
        newest = pd.to_datetime(frame[check.column], utc=True, errors="coerce").max()
        if pd.isna(newest):
            return CheckResult(check, 1, message=f"{check.column} has no timestamp")
        age = time.time() - newest.timestamp()
        bad = age > check.args["max_age"]
        return CheckResult(
            check, int(bad), message=f"newest {check.column} is {age:.0f} s old" if bad else ""
        )
    if kind == "relationship":
        from threadline.pipeline.warehouse import quote

        other, to = check.args["table"], check.args["to"]
        if not warehouse.exists(other) and not warehouse.exists(other, production=True):
            return CheckResult(check, 1, message=f"the related table {other} does not exist")
        col = quote(str(check.column))
        bad_rows = warehouse.query(
            f"SELECT row_number() OVER () - 1 AS __row, * FROM {quote(table)} t WHERE t.{col} IS NOT NULL "
            f"AND NOT EXISTS (SELECT 1 FROM {quote(other)} o WHERE o.{quote(to)} = t.{col})"
        )
        failing[check.label] = set(
            frame.index[frame[check.column].isin(bad_rows[check.column]) & frame[check.column].notna()]
        )
        sample = sample_rows(bad_rows.drop(columns="__row"))
        message = (
            f"{len(bad_rows)} rows have a {check.column} missing from {other}.{to}" if len(bad_rows) else ""
        )
        return CheckResult(check, len(bad_rows), sample, message)
    if kind == "sql":
        try:
            bad_rows = warehouse.query(check.args["query"])
        except Exception as exc:
            return CheckResult(check, 1, message=f"the check's SQL failed: {str(exc).splitlines()[0]}")
        message = f"{len(bad_rows)} rows returned" if len(bad_rows) else ""
        return CheckResult(check, len(bad_rows), sample_rows(bad_rows), message)
    msg = f"unknown check kind {kind!r}"
    raise PipelineError(msg)


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
