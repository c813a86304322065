"""Pipeline overhead: the same staged pipeline with threadline's recording on and off, and the same
work hand-written with duckdb and pyarrow, side by side in one process.

Usage::

    .venv/bin/python benchmarks/pipeline.py [--rows 200000] [--repeats 2]

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
  the transform one SQL statement, the promotion a transaction; it records nothing.

Checks differ in kind: threadline's run on pandera over pandas (failing rows and samples collected),
the hand-written ones are ``count(*)`` queries in DuckDB. The ratios say what the toolkit costs as a
whole. The machine is shared: read the ratios, taken in the same run, not the absolute times.
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
from threadline.pipeline.checks import accepted_values, between, not_null, relationship, row_count, unique
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
    checks = [not_null(c) for c in ["order_id", "customer_id", "amount", "quantity", "status", "day"]]
    checks += [not_null(f"f{i}") for i in range(8)]
    checks += [unique("order_id"), between("amount", min=0, max=1000), between("quantity", min=1, max=19)]
    checks += [accepted_values("status", STATUSES), relationship("customer_id", "customers", "customer_id")]
    checks += [row_count(min=1)]
    pipeline.validate("orders", *checks)
    pipeline.transform("daily_revenue", sql=TRANSFORM)
    out = [not_null(c) for c in ["segment", "day", "orders", "revenue", "quantity"]] * 3
    out += [accepted_values("segment", SEGMENTS), between("revenue", min=0), between("orders", min=1)]
    out += [between("day", min=0, max=29), row_count(min=1)]
    pipeline.validate("daily_revenue", *out)
    return pipeline


def by_hand(data: Path, work: Path) -> None:
    """The same work written with pyarrow and duckdb directly."""
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
        con.execute(f"CREATE OR REPLACE TABLE analytics.{table}__next AS SELECT * FROM staging.{table}")
        con.execute(f"DROP TABLE IF EXISTS analytics.{table}")
        con.execute(f"ALTER TABLE analytics.{table}__next RENAME TO {table}")
    con.execute("COMMIT")
    con.close()


def timed(name: str, data: Path, root: Path, recording: bool | None) -> float:
    work = Path(tempfile.mkdtemp(dir=root))
    (work / ".threadline").mkdir()
    os.chdir(work)
    tracker.reset()
    started = time.perf_counter()
    if recording is None:
        by_hand(data, work)
    else:
        if not recording:
            threadline.configure(disabled=True)
        result = run_pipeline(declare(data, work), "staging")
        assert result.promoted, name
        threadline.flush()
    elapsed = time.perf_counter() - started
    tracker.reset()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="threadline-bench-pipeline-"))
    os.environ["HOME"] = str(root)
    for name in list(os.environ):
        if name.startswith("THREADLINE_"):
            del os.environ[name]
    try:
        data = root / "data"
        data.mkdir()
        make_data(data, args.rows)
        contenders = {"hand-written": None, "threadline (recording off)": False, "threadline": True}
        timed("warm-up", data, root, True)  # imports (pandera, sqlglot...) and first-use caches
        times: dict[str, list[float]] = {name: [] for name in contenders}
        for _ in range(args.repeats):  # interleaved, so that load changes hit every contender alike
            for name, recording in contenders.items():
                times[name].append(timed(name, data, root, recording))
        base = min(times["hand-written"])
        off = min(times["threadline (recording off)"])
        print(
            f"pipeline of {args.rows:,} rows x 20 columns, 40 checks, best of {args.repeats}; "
            f"load {os.getloadavg()[0]:.1f}"
        )
        print(f"{'contender':<30}{'seconds':>10}{'vs hand-written':>18}{'vs recording off':>18}")
        for name in contenders:
            best = min(times[name])
            print(f"{name:<30}{best:>10.2f}{best / base:>17.2f}x{best / off:>17.2f}x")
    finally:
        os.chdir("/")
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
