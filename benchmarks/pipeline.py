"""Pipeline overhead: the same staged pipeline with threadline's recording on and off, and the same
work hand-written with duckdb and pyarrow, side by side in one process; then in-warehouse validation
against pandera on pandas, and the zero-copy promotion of a large table against a copying one.

Usage::

    .venv/bin/python benchmarks/pipeline.py [--rows 1000000] [--repeats 2]
        [--promote-rows 10000000] [--only pipeline,checks,promote,pgload]
        [--pg-url postgresql://postgres@127.0.0.1:5432/test] [--pg-rows 200000]

The data: an ``orders`` Parquet file of ``--rows`` rows and 20 columns and a ``customers`` file of
1,000 rows. The work, for each contender, from a fresh lake and warehouse:

1. extract both from Parquet and land them in the lake (Parquet under ``staging/raw_*``);
2. load them into DuckDB (replace);
3. 20 checks on ``orders`` (not-null, unique, ranges, accepted values, a relationship, a row count);
4. one join + aggregate transform (revenue per customer segment and day);
5. 20 checks on its result;
6. promote the three tables to the production schema in one transaction.

Contenders:
- ``threadline``: ``threadline.pipeline`` with recording on (embedded store; the lake files hashed and
  stored in the artifact store; every stage a run; the time includes the final ``flush``, i.e. until
  every event is in the store);
- ``threadline (recording off)``: the same pipeline with ``threadline.configure(disabled=True)``;
- ``hand-written``: pyarrow writes the lake files, DuckDB loads them, the checks are 40 SQL queries,
  the transform one SQL statement, the promotion a transaction that copies each table into production
  (threadline's renames them instead); it records nothing;
- ``hand-written (rename)``: the same, promoting as threadline does (rename + view, no copy).

threadline's checks run inside DuckDB (one generated aggregate scan per table; failing rows and
samples are fetched only for checks that fail), the hand-written ones are 40 ``count(*)`` queries.
The ratios say what the toolkit costs as a whole.

``checks``: the 20 checks on the 1M-row ``orders`` table, run by ``threadline.pipeline.checks``
inside the warehouse, against the same 20 checks in pandera on pandas (the table's checked columns
read into pandas, then ``DataFrameSchema.validate(lazy=True)``; also shown without the read).

``promote``: a ``--promote-rows`` table promoted by threadline (a rename and a view, one transaction)
against the copying promotion (``CREATE TABLE … AS SELECT``, drop, rename, one transaction).

``pgload`` (PostgreSQL at ``--pg-url``; skipped when it cannot be reached): ``--pg-rows`` rows of the
20-column ``orders`` loaded into a PostgreSQL warehouse by ``Warehouse.load``: ``replace`` into an empty
staging table, then, once promoted, ``merge`` on the primary key ``order_id`` of the same rows with
half of them changed (every row of production matched by the key). Rows per second; the schema is
dropped afterwards.

The machine is shared: read the ratios, taken in the same run, not the absolute times.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import threadline
from threadline.pipeline import Pipeline, files, run_pipeline
from threadline.pipeline.checks import (
    Check,
    accepted_values,
    between,
    not_null,
    relationship,
    row_count,
    run_checks,
    unique,
)
from threadline.pipeline.config import environment_from
from threadline.pipeline.warehouse import open_warehouse
from threadline.tracking import tracker

SEGMENTS = ["retail", "wholesale", "online", "partner"]
STATUSES = ["placed", "shipped", "cancelled"]


def make_data(folder: Path, rows: int) -> None:
    """``orders.parquet`` (20 columns) and ``customers.parquet`` in ``folder``."""
    rng = np.random.default_rng(7)
    columns: dict[str, object] = {
        "order_id": np.arange(rows, dtype=np.int64),
        "customer_id": rng.integers(0, 1000, rows),
        "amount": rng.uniform(0, 1000, rows).round(2),
        "quantity": rng.integers(1, 20, rows),
        "status": pa.array(np.array(STATUSES)[rng.integers(0, 3, rows)]),
        "day": rng.integers(0, 30, rows),
    }
    for index in range(14):
        columns[f"f{index}"] = rng.normal(size=rows).round(4)
    pq.write_table(pa.table(columns), folder / "orders.parquet")
    customers = {
        "customer_id": np.arange(1000, dtype=np.int64),
        "segment": pa.array(np.array(SEGMENTS)[np.arange(1000) % 4]),
    }
    pq.write_table(pa.table(customers), folder / "customers.parquet")


TRANSFORM = """
SELECT c.segment, o.day, count(*) AS orders, sum(o.amount) AS revenue, avg(o.quantity) AS quantity
FROM orders o JOIN customers c ON o.customer_id = c.customer_id
GROUP BY c.segment, o.day
"""


def order_checks() -> list[Check]:
    """The 20 checks on ``orders``."""
    checks = [not_null(c) for c in ["order_id", "customer_id", "amount", "quantity", "status", "day"]]
    checks += [not_null(f"f{i}") for i in range(8)]
    checks += [unique("order_id"), between("amount", min=0, max=1000), between("quantity", min=1, max=19)]
    checks += [accepted_values("status", STATUSES), relationship("customer_id", "customers", "customer_id")]
    checks += [row_count(min=1)]
    return checks


def declare(data: Path, work: Path) -> Pipeline:
    """The benchmark's pipeline."""
    pipeline = Pipeline(
        "bench",
        environments={
            "staging": {"lake": str(work / "lake"), "warehouse": f"duckdb:///{work / 'wh.duckdb'}"}
        },
    )
    pipeline.extract("orders", files(str(data / "orders.parquet")))
    pipeline.extract("customers", files(str(data / "customers.parquet")))
    pipeline.validate("orders", *order_checks())
    pipeline.transform("daily_revenue", sql=TRANSFORM)
    out = [not_null(c) for c in ["segment", "day", "orders", "revenue", "quantity"]] * 3
    out += [accepted_values("segment", SEGMENTS), between("revenue", min=0), between("orders", min=1)]
    out += [between("day", min=0, max=29), row_count(min=1)]
    pipeline.validate("daily_revenue", *out)
    return pipeline


def by_hand(data: Path, work: Path, rename: bool = False) -> None:
    """The same work written with pyarrow and duckdb directly; the promotion copies each table, or
    with ``rename`` renames it and points a production view at it (as threadline does)."""
    lake = work / "lake" / "staging"
    con = duckdb.connect(str(work / "wh.duckdb"))
    con.execute("CREATE SCHEMA IF NOT EXISTS staging; CREATE SCHEMA IF NOT EXISTS analytics")
    for table in ("orders", "customers"):
        batch = pq.read_table(data / f"{table}.parquet")
        folder = lake / f"raw_{table}" / f"created_at={time.time():.6f}"
        folder.mkdir(parents=True)
        pq.write_table(batch, folder / "part.parquet")
        con.execute(
            f"CREATE OR REPLACE TABLE staging.{table} AS SELECT *, now() AS _created_at, "
            f"now() AS _updated_at FROM read_parquet('{folder / 'part.parquet'}')"
        )
    con.execute("SET search_path = 'staging'")
    checks = [
        f"SELECT count(*) FROM orders WHERE {c} IS NULL"
        for c in [
            "order_id",
            "customer_id",
            "amount",
            "quantity",
            "status",
            "day",
            *[f"f{i}" for i in range(8)],
        ]
    ]
    checks += [
        "SELECT count(*) - count(DISTINCT order_id) FROM orders",
        "SELECT count(*) FROM orders WHERE amount < 0 OR amount > 1000",
        "SELECT count(*) FROM orders WHERE quantity < 1 OR quantity > 19",
        "SELECT count(*) FROM orders WHERE status NOT IN ('placed', 'shipped', 'cancelled')",
        "SELECT count(*) FROM orders o "
        "WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.customer_id = o.customer_id)",
        "SELECT CASE WHEN count(*) >= 1 THEN 0 ELSE 1 END FROM orders",
    ]
    assert all(con.execute(sql).fetchall()[0][0] == 0 for sql in checks)
    con.execute(f"CREATE OR REPLACE TABLE daily_revenue AS {TRANSFORM}")
    out = [
        f"SELECT count(*) FROM daily_revenue WHERE {c} IS NULL"
        for c in ["segment", "day", "orders", "revenue", "quantity"]
    ] * 3
    out += [
        "SELECT count(*) FROM daily_revenue "
        "WHERE segment NOT IN ('retail', 'wholesale', 'online', 'partner')",
        "SELECT count(*) FROM daily_revenue WHERE revenue < 0",
        "SELECT count(*) FROM daily_revenue WHERE orders < 1",
        "SELECT count(*) FROM daily_revenue WHERE day < 0 OR day > 29",
        "SELECT CASE WHEN count(*) >= 1 THEN 0 ELSE 1 END FROM daily_revenue",
    ]
    assert all(con.execute(sql).fetchall()[0][0] == 0 for sql in out)
    con.execute("SET search_path = 'main'")
    con.execute("BEGIN")
    for table in ("orders", "customers", "daily_revenue"):
        if rename:
            con.execute(f"ALTER TABLE staging.{table} RENAME TO {table}__v1")
            con.execute(f"CREATE OR REPLACE VIEW analytics.{table} AS SELECT * FROM staging.{table}__v1")
            continue
        con.execute(f"CREATE OR REPLACE TABLE analytics.{table}__next AS SELECT * FROM staging.{table}")
        con.execute(f"DROP TABLE IF EXISTS analytics.{table}")
        con.execute(f"ALTER TABLE analytics.{table}__next RENAME TO {table}")
    con.execute("COMMIT")
    con.close()


def timed(name: str, data: Path, root: Path, recording: bool | str | None) -> float:
    work = Path(tempfile.mkdtemp(dir=root))
    (work / ".threadline").mkdir()
    os.chdir(work)
    tracker.reset()
    started = time.perf_counter()
    if recording is None or isinstance(recording, str):
        by_hand(data, work, rename=recording == "rename")
    else:
        if not recording:
            threadline.configure(disabled=True)
        result = run_pipeline(declare(data, work), "staging")
        assert result.promoted, name
        threadline.flush()
    elapsed = time.perf_counter() - started
    tracker.reset()
    return elapsed


def pandera_on_pandas(warehouse: object, checks: list[Check]) -> tuple[float, float]:
    """The same checks with pandera on pandas: (seconds with reading the columns into pandas,
    seconds of ``validate`` alone)."""
    import pandera.pandas as pa

    started = time.perf_counter()
    columns = sorted({c.column for c in checks if c.column})
    frame = warehouse.frame("orders", columns)  # type: ignore[attr-defined]
    customers = warehouse.frame("customers", ["customer_id"])["customer_id"]  # type: ignore[attr-defined]
    read = time.perf_counter()
    by_column: dict[str, list[object]] = {}
    for check in checks:
        column, kind = check.column, check.kind
        if kind == "not_null":
            made = pa.Check(lambda s: s.notna(), ignore_na=False, name=check.label)
        elif kind == "unique":
            made = pa.Check(lambda s: ~(s.duplicated(keep=False) & s.notna()), ignore_na=False)
        elif kind == "between":
            made = pa.Check.in_range(check.args["min"], check.args["max"])
        elif kind == "accepted_values":
            made = pa.Check.isin(check.args["values"])
        elif kind == "relationship":
            made = pa.Check(lambda s: s.isin(customers))
        else:
            continue
        by_column.setdefault(str(column), []).append(made)
    schema = pa.DataFrameSchema(
        {name: pa.Column(checks=cs, nullable=True) for name, cs in by_column.items()},
        checks=[pa.Check(lambda f: len(f) >= 1, name="row_count")],
    )
    schema.validate(frame, lazy=True)  # the data is good: every check passes here too
    done = time.perf_counter()
    return done - started, done - read


def bench_checks(data: Path, root: Path, repeats: int) -> None:
    """In-warehouse checks against pandera on pandas, same table, same run."""
    work = Path(tempfile.mkdtemp(dir=root))
    env = environment_from(
        "staging", {"lake": str(work / "lake"), "warehouse": f"duckdb:///{work / 'wh.duckdb'}"}, "bench"
    )
    warehouse = open_warehouse(env)
    try:
        for table in ("orders", "customers"):
            warehouse.load(table, pq.read_table(data / f"{table}.parquet"))
        checks = order_checks()
        rows = warehouse.count("orders")
        ours, theirs, validate_only = [], [], []
        for _ in range(repeats):
            started = time.perf_counter()
            results, _ = run_checks(warehouse, "orders", checks)
            ours.append(time.perf_counter() - started)
            assert all(r.passed for r in results), [r.as_json() for r in results if not r.passed]
            whole, alone = pandera_on_pandas(warehouse, checks)
            theirs.append(whole)
            validate_only.append(alone)
    finally:
        warehouse.close()
    base = min(ours)
    print(
        f"\nvalidation of {rows:,} rows x {len(checks)} checks, best of {repeats}; "
        f"load {os.getloadavg()[0]:.1f}"
    )
    print(f"{'contender':<46}{'seconds':>10}{'vs in-warehouse':>18}")
    for name, times in (
        ("threadline, in the warehouse (DuckDB SQL)", ours),
        ("pandera on pandas (read + validate)", theirs),
        ("pandera on pandas (validate only)", validate_only),
    ):
        print(f"{name:<46}{min(times):>10.3f}{min(times) / base:>17.2f}x")


def bench_promote(root: Path, rows: int, repeats: int) -> None:
    """The zero-copy promotion of a ``rows``-row table against a copying one, same warehouse file."""
    work = Path(tempfile.mkdtemp(dir=root))
    env = environment_from(
        "staging", {"lake": str(work / "lake"), "warehouse": f"duckdb:///{work / 'wh.duckdb'}"}, "bench"
    )
    warehouse = open_warehouse(env)
    make = (
        "SELECT range AS id, range * {k} AS amount, 'row ' || range::VARCHAR AS label, "
        "range % 97 AS bucket FROM range({rows})"
    )
    swap, copy = [], []
    try:
        c = warehouse.connection  # type: ignore[attr-defined]
        for k in range(repeats + 1):
            c.execute(f"CREATE OR REPLACE TABLE staging.big AS {make.format(k=k + 1, rows=rows)}")
            c.execute("CHECKPOINT")
            started = time.perf_counter()
            warehouse.promote(["big"])
            if k:  # the first promotion creates production; the next ones replace it
                swap.append(time.perf_counter() - started)
            assert warehouse.count("big", production=True) == rows
        # the copying promotion, as threadline did it before: copy, drop, rename, one transaction
        for k in range(repeats):
            c.execute(f"CREATE OR REPLACE TABLE staging.bigc AS {make.format(k=k + 1, rows=rows)}")
            c.execute("CHECKPOINT")
            started = time.perf_counter()
            c.execute("BEGIN")
            c.execute("CREATE OR REPLACE TABLE analytics.bigc__next AS SELECT * FROM staging.bigc")
            c.execute("DROP TABLE IF EXISTS analytics.bigc")
            c.execute("ALTER TABLE analytics.bigc__next RENAME TO bigc")
            c.execute("COMMIT")
            copy.append(time.perf_counter() - started)
    finally:
        warehouse.close()
    print(f"\npromotion of a {rows:,}-row table, best of {repeats}; load {os.getloadavg()[0]:.1f}")
    print(f"{'contender':<46}{'ms':>10}{'vs zero-copy':>18}")
    for name, times in (("threadline (rename + view, one transaction)", swap), ("copy + swap", copy)):
        print(f"{name:<46}{min(times) * 1000:>10.1f}{min(times) / min(swap):>17.1f}x")


def bench_pgload(data: Path, url: str, rows: int, repeats: int) -> None:
    """Rows per second of ``Warehouse.load`` into PostgreSQL: replace, then merge on a primary key."""
    import uuid

    from threadline.errors import PipelineError

    orders = pq.read_table(data / "orders.parquet").slice(0, rows)
    changed = orders.set_column(
        orders.schema.get_field_index("amount"),
        "amount",
        pa.array(np.where(np.arange(orders.num_rows) % 2 == 0, 1.0, orders["amount"].to_numpy())),
    )
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    described = {"lake": "/tmp/unused", "warehouse": url, "schema": schema, "staging_schema": f"{schema}_s"}
    env = environment_from("staging", described, "bench")
    try:
        warehouse = open_warehouse(env)
    except PipelineError as exc:
        print(f"\npgload skipped: {exc.message}")
        return
    replace, merge = [], []
    try:
        for _ in range(repeats):
            started = time.perf_counter()
            assert warehouse.load("orders", orders, mode="replace") == orders.num_rows
            replace.append(time.perf_counter() - started)
            warehouse.promote(["orders"])
            started = time.perf_counter()
            got = warehouse.load("orders", changed, mode="merge", primary_key=["order_id"])
            merge.append(time.perf_counter() - started)
            assert got == orders.num_rows
    finally:
        for name in (env.staging_schema, env.schema):
            warehouse.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        warehouse.close()
    print(
        f"\nPostgreSQL load of {orders.num_rows:,} rows x 20 columns, best of {repeats}; "
        f"load {os.getloadavg()[0]:.1f}"
    )
    print(f"{'mode':<46}{'seconds':>10}{'rows/s':>14}")
    for name, times in (("replace (empty staging)", replace), ("merge on order_id (all matched)", merge)):
        print(f"{name:<46}{min(times):>10.2f}{orders.num_rows / min(times):>14,.0f}")


def bench_pipeline(data: Path, root: Path, rows: int, repeats: int) -> None:
    """The whole pipeline: threadline with recording on and off against the hand-written one."""
    contenders: dict[str, bool | str | None] = {
        "hand-written": None,
        "hand-written (rename)": "rename",
        "threadline (recording off)": False,
        "threadline": True,
    }
    timed("warm-up", data, root, True)  # imports (pandera, sqlglot...) and first-use caches
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):  # interleaved, so that load changes hit every contender alike
        for name, recording in contenders.items():
            times[name].append(timed(name, data, root, recording))
    base = min(times["hand-written"])
    off = min(times["threadline (recording off)"])
    print(
        f"pipeline of {rows:,} rows x 20 columns, 40 checks, best of {repeats}; load {os.getloadavg()[0]:.1f}"
    )
    renamed = min(times["hand-written (rename)"])
    print(
        f"{'contender':<30}{'seconds':>10}{'vs hand-written':>18}{'vs hand (rename)':>18}"
        f"{'vs recording off':>18}"
    )
    for name in contenders:
        best = min(times[name])
        print(f"{name:<30}{best:>10.2f}{best / base:>17.2f}x{best / renamed:>17.2f}x{best / off:>17.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--promote-rows", type=int, default=10_000_000)
    parser.add_argument("--only", default="pipeline,checks,promote")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--pg-rows", type=int, default=200_000)
    args = parser.parse_args()
    parts = set(args.only.split(","))
    root = Path(tempfile.mkdtemp(prefix="threadline-bench-pipeline-"))
    os.environ["HOME"] = str(root)
    for name in list(os.environ):
        if name.startswith("THREADLINE_"):
            del os.environ[name]
    try:
        data = root / "data"
        data.mkdir()
        make_data(data, args.rows)
        if "pipeline" in parts:
            bench_pipeline(data, root, args.rows, args.repeats)
        if "checks" in parts:
            bench_checks(data, root, args.repeats)
        if "promote" in parts:
            bench_promote(root, args.promote_rows, args.repeats)
        if "pgload" in parts:
            bench_pgload(data, args.pg_url, args.pg_rows, args.repeats)
    finally:
        os.chdir("/")
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
