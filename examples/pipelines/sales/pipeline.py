"""Daily sales: a realistic staged pipeline, run once a day.

Sources: the shop's **operational database** (its ``orders`` table, read incrementally on
``updated_at``: each daily run takes only that day's new and changed orders) and the **CRM's HTTP
API** (customers, paged JSON). Each run lands both in the lake (one immutable partition per run),
loads them into DuckDB, checks them, builds revenue per day and country, checks that, and promotes
to production, where an approval is needed first (``approval=["production"]``).

Try it (from the repository's root; ``sources.py`` plays the database and the API)::

    python -m examples.pipelines.sales.sources day 1            # the database gets day 1's orders
    python -m examples.pipelines.sales.sources api &            # the CRM API, on 127.0.0.1:8765
    threadline pipeline run examples/pipelines/sales/pipeline.py --env production
    threadline pipeline approve RUN                             # the run id it printed
    python -m examples.pipelines.sales.sources day 2            # ... and so on: day 3 has bad rows

``make demo`` runs the three days: two are approved and promoted, the third is blocked by its bad
rows (a duplicated order, orders without a customer, an impossible amount), production unchanged.
"""

import os

from threadline.pipeline import Pipeline, api, sql
from threadline.pipeline.checks import (
    accepted_values,
    between,
    matches,
    not_null,
    relationship,
    row_count,
    unique,
)

pipeline = Pipeline(
    "daily_sales",
    description="Orders (operational database) and customers (CRM API) to revenue per day and country.",
    environments={
        # Relative paths are taken from this file's folder.
        "staging": {"lake": "build/staging/lake", "warehouse": "duckdb:///build/staging/warehouse.duckdb"},
        "production": {
            "lake": "build/production/lake",
            "warehouse": "duckdb:///build/production/warehouse.duckdb",
        },
    },
    # Production changes only once someone approved what the checks passed.
    approval=["production"],
    # Failures, runs awaiting approval and promotions are POSTed there (a chat or an on-call tool).
    webhook_from_env="SALES_WEBHOOK_URL",
)

pipeline.extract(
    "orders",
    sql("sqlite:///build/operational.sqlite", table="orders"),
    primary_key="order_id",
    cursor="updated_at",
)
pipeline.extract(
    "customers",
    api(os.environ.get("SALES_CRM_API", "http://127.0.0.1:8765/customers"), records="data", next_key="next"),
    primary_key="customer_id",
)

pipeline.validate(
    "customers",
    not_null("customer_id"),
    unique("customer_id"),
    matches("email", r"^[^@\s]+@[^@\s]+$"),
    not_null("country"),
)
pipeline.validate(
    "orders",
    unique("order_id"),
    not_null("customer_id"),
    between("amount", min=0, max=5_000),
    accepted_values("status", ["placed", "shipped", "delivered", "cancelled"]),
    relationship("customer_id", "customers", "customer_id"),
    row_count(min=1),
)

pipeline.transform(
    "revenue_by_day",
    sql="""
    SELECT CAST(o.ordered_at AS DATE) AS day, c.country,
           count(*) AS orders, round(sum(o.amount), 2) AS revenue
    FROM orders o JOIN customers c ON o.customer_id = c.customer_id
    WHERE o.status <> 'cancelled'
    GROUP BY 1, 2
    """,
)
pipeline.validate("revenue_by_day", not_null("day"), not_null("country"), between("revenue", min=0))

pipeline.promote("customers", "orders", "revenue_by_day")
