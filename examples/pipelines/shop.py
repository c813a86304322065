"""An example staged pipeline: orders (CSV) and customers (JSON lines) land in the lake, load into
DuckDB, are checked, joined into revenue per country, checked again, and promoted to production.

Run it from the repository's root:  threadline pipeline run examples/pipelines/shop.py --env staging
"""

from threadline.pipeline import Pipeline, files
from threadline.pipeline.checks import (
    accepted_values,
    between,
    not_null,
    relationship,
    row_count,
    unique,
)

pipeline = Pipeline(
    "shop",
    description="Orders and customers to revenue per country.",
    environments={
        # Relative paths are taken from this file's folder.
        "staging": {"lake": "build/staging/lake", "warehouse": "duckdb:///build/staging/warehouse.duckdb"},
        "production": {
            "lake": "build/production/lake",
            "warehouse": "duckdb:///build/production/warehouse.duckdb",
        },
    },
)

pipeline.extract("customers", files("data/customers.jsonl"), primary_key="customer_id")
pipeline.extract("orders", files("data/orders.csv"), primary_key="order_id", cursor="updated_at")

pipeline.validate(
    "customers",
    not_null("customer_id"),
    unique("customer_id"),
    not_null("name"),
)
pipeline.validate(
    "orders",
    not_null("order_id"),
    unique("order_id"),
    between("amount", min=0, max=10_000),
    accepted_values("status", ["placed", "shipped", "cancelled"]),
    relationship("customer_id", "customers", "customer_id"),
    row_count(min=1),
)

pipeline.transform(
    "revenue_by_country",
    sql="""
    SELECT c.country, count(*) AS orders, sum(o.amount) AS revenue
    FROM orders o JOIN customers c ON o.customer_id = c.customer_id
    WHERE o.status <> 'cancelled'
    GROUP BY c.country
    """,
)
pipeline.validate("revenue_by_country", not_null("country"), unique("country"), between("revenue", min=0))

pipeline.promote("customers", "orders", "revenue_by_country")
