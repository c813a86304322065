"""Generate OpenLineage events as ``dbt-ol`` sends them, for a jaffle_shop-like dbt project.

The project reads the raw tables that ``examples/airflow_etl`` loads into the warehouse and builds::

    raw_customers -> stg_customers --+--> customers -> customer_segments (from day 3)
    raw_orders    -> stg_orders    --+--> orders
    raw_payments  -> stg_payments  --+

Each ``dbt-ol build`` is a run of the job ``dbt-run-jaffle_shop`` (namespace ``acme-dbt``), started by
Airflow's ``run_dbt`` task (its ``parent`` facet names that task's run), with one child run per model
and one per model's tests. Model runs carry what dbt-ol sends: ``jobType`` (integration DBT, MODEL),
the compiled ``sql``, the output's ``schema``, ``columnLineage`` and ``outputStatistics``; test runs
carry ``dataQualityAssertions`` on their input. Runs on 2026-11-01, 11-03 and 11-04 (Airflow's run of
11-02 failed before dbt). On day 3 ``customers`` gains ``customer_lifetime_value`` and the model
``customer_segments`` appears; on day 4 the ``accepted_values`` test of ``stg_orders.status`` fails.

Deterministic: run ids are UUIDs derived from the model and date; no wall-clock time is used.

Usage::

    python3 examples/dbt_jaffle_shop/generate_events.py
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

JSON = dict[str, Any]

OUTPUT_PATH = Path(__file__).resolve().parent / "events.jsonl"
OL_VERSION = "1.24.2"
DBT_VERSION = "1.8.7"
PRODUCER = f"https://github.com/OpenLineage/OpenLineage/tree/{OL_VERSION}/integration/dbt"
RUN_EVENT_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"

NAMESPACE = "acme-dbt"
PARENT_JOB = "dbt-run-jaffle_shop"
WAREHOUSE = "postgres://warehouse.internal:5432"
RAW = "analytics.raw"
MART = "analytics.jaffle_shop"
RUN_DAYS = (1, 3, 4)
CHANGE_DAY = 3
FAILING_TEST_DAY = 4
BASE = datetime(2026, 11, 1, 4, 2, tzinfo=UTC)
RUN_ID_NAMESPACE = uuid.UUID("0b7d3f4e-8f43-4c52-a1f8-6b2c4d1e9a30")
# examples/airflow_etl names its task runs the same way: uuid5(its namespace, "dag/task/date").
AIRFLOW_RUN_IDS = uuid.UUID("5f0c2a59-0c41-4b0e-9a27-1d6a1c9f7e11")
AIRFLOW_NAMESPACE = "acme-airflow"
AIRFLOW_TASK = "jaffle_shop_daily.run_dbt"


def facet(name: str, version: str, body: JSON) -> JSON:
    """A standard facet with its ``_producer`` and ``_schemaURL``."""
    url = f"https://openlineage.io/spec/facets/{version}/{name}.json#/$defs/{name}"
    return {"_producer": PRODUCER, "_schemaURL": url, **body}


def dbt_facet(name: str, body: JSON) -> JSON:
    """One of dbt-ol's own run facets."""
    url = f"https://github.com/OpenLineage/OpenLineage/tree/{OL_VERSION}/integration/common/openlineage/schema/{name}.json"
    return {"_producer": PRODUCER, "_schemaURL": url, **body}


def iso(when: datetime) -> str:
    """ISO 8601 as dbt-ol writes it."""
    return when.isoformat(timespec="microseconds").replace("+00:00", "Z")


def run_id(*parts: str) -> str:
    """A deterministic run id."""
    return str(uuid.uuid5(RUN_ID_NAMESPACE, "/".join(parts)))


# ---- the project -----------------------------------------------------------------------------------

Field = tuple[str, str, str]  # name, type, description
Source = tuple[str, str, str, str]  # input table, input field, transformation type, subtype

SCHEMAS: dict[str, list[Field]] = {
    f"{RAW}.raw_customers": [
        ("id", "integer", ""),
        ("first_name", "text", ""),
        ("last_name", "text", ""),
        ("email", "text", ""),
    ],
    f"{RAW}.raw_orders": [
        ("id", "integer", ""),
        ("user_id", "integer", ""),
        ("order_date", "date", ""),
        ("status", "text", ""),
    ],
    f"{RAW}.raw_payments": [
        ("id", "integer", ""),
        ("order_id", "integer", ""),
        ("payment_method", "text", ""),
        ("amount", "integer", ""),
    ],
}


def model_columns(model: str, day: int) -> dict[str, tuple[str, str, list[Source]]]:
    """Output column -> (type, description, sources) of ``model`` on ``day``."""
    raw_c, raw_o, raw_p = f"{RAW}.raw_customers", f"{RAW}.raw_orders", f"{RAW}.raw_payments"
    stg_c, stg_o, stg_p = f"{MART}.stg_customers", f"{MART}.stg_orders", f"{MART}.stg_payments"
    ident = "DIRECT", "IDENTITY"
    if model == "stg_customers":
        return {
            "customer_id": ("integer", "Primary key", [(raw_c, "id", *ident)]),
            "first_name": ("text", "", [(raw_c, "first_name", *ident)]),
            "last_name": ("text", "", [(raw_c, "last_name", *ident)]),
        }
    if model == "stg_orders":
        return {
            "order_id": ("integer", "Primary key", [(raw_o, "id", *ident)]),
            "customer_id": ("integer", "", [(raw_o, "user_id", *ident)]),
            "order_date": ("date", "", [(raw_o, "order_date", *ident)]),
            "status": (
                "text",
                "placed | shipped | completed | return_pending | returned",
                [(raw_o, "status", *ident)],
            ),
        }
    if model == "stg_payments":
        return {
            "payment_id": ("integer", "Primary key", [(raw_p, "id", *ident)]),
            "order_id": ("integer", "", [(raw_p, "order_id", *ident)]),
            "payment_method": ("text", "", [(raw_p, "payment_method", *ident)]),
            "amount": ("numeric", "Amount in dollars", [(raw_p, "amount", "DIRECT", "TRANSFORMATION")]),
        }
    if model == "customers":
        join = (stg_o, "customer_id", "INDIRECT", "JOIN")
        columns = {
            "customer_id": ("integer", "Primary key", [(stg_c, "customer_id", *ident)]),
            "first_name": ("text", "", [(stg_c, "first_name", *ident)]),
            "last_name": ("text", "", [(stg_c, "last_name", *ident)]),
            "first_order": (
                "date",
                "Date of the first order",
                [(stg_o, "order_date", "DIRECT", "AGGREGATION"), join],
            ),
            "most_recent_order": ("date", "", [(stg_o, "order_date", "DIRECT", "AGGREGATION"), join]),
            "number_of_orders": ("bigint", "", [(stg_o, "order_id", "DIRECT", "AGGREGATION"), join]),
        }
        if day >= CHANGE_DAY:
            columns["customer_lifetime_value"] = (
                "numeric",
                "Sum of the customer's payments",
                [(stg_p, "amount", "DIRECT", "AGGREGATION"), (stg_p, "order_id", "INDIRECT", "JOIN")],
            )
        return columns
    if model == "orders":
        method = (stg_p, "payment_method", "INDIRECT", "CONDITIONAL")
        columns = {
            "order_id": ("integer", "Primary key", [(stg_o, "order_id", *ident)]),
            "customer_id": ("integer", "", [(stg_o, "customer_id", *ident)]),
            "order_date": ("date", "", [(stg_o, "order_date", *ident)]),
            "status": ("text", "", [(stg_o, "status", *ident)]),
        }
        for kind in ("credit_card", "coupon", "bank_transfer", "gift_card"):
            columns[f"{kind}_amount"] = ("numeric", "", [(stg_p, "amount", "DIRECT", "AGGREGATION"), method])
        columns["amount"] = ("numeric", "Total paid", [(stg_p, "amount", "DIRECT", "AGGREGATION")])
        return columns
    # customer_segments
    customers = f"{MART}.customers"
    return {
        "customer_id": ("integer", "", [(customers, "customer_id", *ident)]),
        "segment": (
            "text",
            "new | regular | vip",
            [
                (customers, "number_of_orders", "DIRECT", "TRANSFORMATION"),
                (customers, "customer_lifetime_value", "DIRECT", "TRANSFORMATION"),
            ],
        ),
    }


SQL = {
    "stg_customers": "select id as customer_id, first_name, last_name\nfrom analytics.raw.raw_customers",
    "stg_orders": "select id as order_id, user_id as customer_id, order_date, status\n"
    "from analytics.raw.raw_orders",
    "stg_payments": "select id as payment_id, order_id, payment_method, amount / 100 as amount\n"
    "from analytics.raw.raw_payments",
    "customers": """with customer_orders as (
    select customer_id, min(order_date) as first_order, max(order_date) as most_recent_order,
           count(order_id) as number_of_orders
    from analytics.jaffle_shop.stg_orders group by customer_id
){clv_cte}
select c.customer_id, c.first_name, c.last_name, o.first_order, o.most_recent_order,
       coalesce(o.number_of_orders, 0) as number_of_orders{clv_column}
from analytics.jaffle_shop.stg_customers c
left join customer_orders o using (customer_id){clv_join}""",
    "orders": """select o.order_id, o.customer_id, o.order_date, o.status,
       sum(case when p.payment_method = 'credit_card' then p.amount else 0 end) as credit_card_amount,
       sum(case when p.payment_method = 'coupon' then p.amount else 0 end) as coupon_amount,
       sum(case when p.payment_method = 'bank_transfer' then p.amount else 0 end) as bank_transfer_amount,
       sum(case when p.payment_method = 'gift_card' then p.amount else 0 end) as gift_card_amount,
       sum(p.amount) as amount
from analytics.jaffle_shop.stg_orders o
left join analytics.jaffle_shop.stg_payments p using (order_id)
group by 1, 2, 3, 4""",
    "customer_segments": """select customer_id,
       case when number_of_orders = 0 then 'new'
            when customer_lifetime_value > 500 then 'vip' else 'regular' end as segment
from analytics.jaffle_shop.customers""",
}
CLV = {
    "clv_cte": ",\ncustomer_payments as (\n"
    "    select o.customer_id, sum(p.amount) as customer_lifetime_value\n"
    "    from analytics.jaffle_shop.stg_payments p\n"
    "    join analytics.jaffle_shop.stg_orders o using (order_id)\n"
    "    group by o.customer_id\n)",
    "clv_column": ",\n       p.customer_lifetime_value",
    "clv_join": "\nleft join customer_payments p using (customer_id)",
}
DOCS = {
    "stg_customers": "Customers, renamed and typed.",
    "stg_orders": "Orders, renamed and typed.",
    "stg_payments": "Payments with amounts in dollars.",
    "customers": "One row per customer with order history and lifetime value.",
    "orders": "One row per order with the amount paid by each method.",
    "customer_segments": "Marketing segments of customers.",
}
TESTS = {
    "stg_customers": [("unique", "customer_id"), ("not_null", "customer_id")],
    "stg_orders": [("unique", "order_id"), ("not_null", "order_id"), ("accepted_values", "status")],
    "stg_payments": [("unique", "payment_id"), ("accepted_values", "payment_method")],
    "customers": [("unique", "customer_id"), ("not_null", "customer_id")],
    "orders": [("unique", "order_id"), ("relationships", "customer_id")],
    "customer_segments": [("not_null", "segment")],
}
ORDER = ("stg_customers", "stg_orders", "stg_payments", "customers", "orders", "customer_segments")


def models_on(day: int) -> list[str]:
    """The models of the project on ``day``."""
    return [m for m in ORDER if m != "customer_segments" or day >= CHANGE_DAY]


def inputs_of(model: str, day: int) -> list[str]:
    """The tables ``model`` reads on ``day``."""
    tables = {source for _, _, sources in model_columns(model, day).values() for source, *_ in sources}
    return sorted(tables)


def schema_of(table: str, day: int) -> list[Field]:
    """The schema of a raw table or model on ``day``."""
    if table in SCHEMAS:
        return SCHEMAS[table]
    model = table.rsplit(".", 1)[1]
    return [(name, kind, doc) for name, (kind, doc, _) in model_columns(model, day).items()]


def schema_facet(table: str, day: int) -> JSON:
    """A ``schema`` facet."""
    return facet(
        "SchemaDatasetFacet",
        "1-1-1",
        {
            "fields": [
                {"name": n, "type": t, **({"description": d} if d else {})}
                for n, t, d in schema_of(table, day)
            ]
        },
    )


def source_facet() -> JSON:
    """The warehouse as the ``dataSource``."""
    return facet("DatasourceDatasetFacet", "1-0-1", {"name": "warehouse", "uri": WAREHOUSE})


def lineage_facet(model: str, day: int) -> JSON:
    """The 1-2-0 ``columnLineage`` facet of a model's output."""
    fields = {}
    for name, (_, _, sources) in model_columns(model, day).items():
        fields[name] = {
            "inputFields": [
                {
                    "namespace": WAREHOUSE,
                    "name": table,
                    "field": column,
                    "transformations": [
                        {"type": kind, "subtype": subtype, "description": "", "masking": False}
                    ],
                }
                for table, column, kind, subtype in sources
            ]
        }
    return facet("ColumnLineageDatasetFacet", "1-2-0", {"fields": fields})


def event(
    kind: str,
    when: datetime,
    run: str,
    job: str,
    run_facets: JSON,
    job_facets: JSON,
    inputs: list,
    outputs: list,
) -> JSON:
    """One RunEvent."""
    return {
        "eventType": kind,
        "eventTime": iso(when),
        "producer": PRODUCER,
        "schemaURL": RUN_EVENT_SCHEMA,
        "run": {"runId": run, "facets": run_facets},
        "job": {"namespace": NAMESPACE, "name": job, "facets": job_facets},
        "inputs": inputs,
        "outputs": outputs,
    }


def build_day(day: int) -> list[JSON]:
    """Every event of the dbt build of ``day``."""
    date = (BASE + timedelta(days=day - 1)).strftime("%Y-%m-%d")
    invocation = run_id("invocation", date)
    airflow_run = str(uuid.uuid5(AIRFLOW_RUN_IDS, f"jaffle_shop_daily/run_dbt/{date}"))
    parent_run = run_id(PARENT_JOB, date)
    clock = BASE + timedelta(days=day - 1, seconds=20 + day * 3)
    engine = facet(
        "ProcessingEngineRunFacet",
        "1-1-1",
        {"version": DBT_VERSION, "name": "dbt", "openlineageAdapterVersion": OL_VERSION},
    )
    dbt_run = dbt_facet("DbtRunRunFacet", {"invocation_id": invocation})
    dbt_version = dbt_facet("DbtVersionRunFacet", {"version": DBT_VERSION})
    job_type = facet(
        "JobTypeJobFacet", "2-0-2", {"processingType": "BATCH", "integration": "DBT", "jobType": "JOB"}
    )
    airflow_job = {"namespace": AIRFLOW_NAMESPACE, "name": AIRFLOW_TASK}
    parent_of_invocation = facet(
        "ParentRunFacet",
        "1-1-0",
        {
            "run": {"runId": airflow_run},
            "job": airflow_job,
            "root": {"run": {"runId": airflow_run}, "job": airflow_job},
        },
    )
    events = [
        event(
            "START",
            clock,
            parent_run,
            PARENT_JOB,
            {
                "parent": parent_of_invocation,
                "dbt_version": dbt_version,
                "dbt_run": dbt_run,
                "processing_engine": engine,
            },
            {"jobType": job_type},
            [],
            [],
        )
    ]
    child_parent = facet(
        "ParentRunFacet",
        "1-1-0",
        {
            "run": {"runId": parent_run},
            "job": {"namespace": NAMESPACE, "name": PARENT_JOB},
            "root": {"run": {"runId": airflow_run}, "job": airflow_job},
        },
    )
    any_failed = False
    for index, model in enumerate(models_on(day)):
        table = f"{MART}.{model}"
        start = clock + timedelta(seconds=2 + index * 4)
        end = start + timedelta(milliseconds=900 + (index * 317 + day * 131) % 2600)
        sql = SQL[model].format(
            **(CLV if day >= CHANGE_DAY else {"clv_cte": "", "clv_column": "", "clv_join": ""})
        )
        job_facets = {
            "jobType": facet(
                "JobTypeJobFacet",
                "2-0-2",
                {"processingType": "BATCH", "integration": "DBT", "jobType": "MODEL"},
            ),
            "sql": facet("SQLJobFacet", "1-1-0", {"query": sql, "dialect": "postgres"}),
            "documentation": facet("DocumentationJobFacet", "1-0-1", {"description": DOCS[model]}),
        }
        inputs = [
            {
                "namespace": WAREHOUSE,
                "name": t,
                "facets": {"dataSource": source_facet(), "schema": schema_facet(t, day)},
            }
            for t in inputs_of(model, day)
        ]
        rows = 100 + (index * 97 + day * 13) % 900
        output = {
            "namespace": WAREHOUSE,
            "name": table,
            "facets": {
                "dataSource": source_facet(),
                "schema": schema_facet(table, day),
                "columnLineage": lineage_facet(model, day),
                "documentation": facet("DocumentationDatasetFacet", "1-0-1", {"description": DOCS[model]}),
            },
            "outputFacets": {
                "outputStatistics": facet("OutputStatisticsOutputDatasetFacet", "1-0-2", {"rowCount": rows})
            },
        }
        model_run = run_id(model, date)
        run_facets = {"parent": child_parent, "dbt_version": dbt_version, "dbt_run": dbt_run}
        start_output = [{"namespace": WAREHOUSE, "name": table, "facets": {"dataSource": source_facet()}}]
        events.append(event("START", start, model_run, table, run_facets, job_facets, inputs, start_output))
        events.append(event("COMPLETE", end, model_run, table, run_facets, job_facets, inputs, [output]))

        # The model's tests: one run reading the model, with an assertion per test.
        test_start = end + timedelta(milliseconds=400)
        test_end = test_start + timedelta(milliseconds=600 + index * 90)
        failing = day == FAILING_TEST_DAY and model == "stg_orders"
        assertions = [
            {"assertion": name, "success": not (failing and name == "accepted_values"), "column": column}
            for name, column in TESTS[model]
        ]
        test_input = {
            "namespace": WAREHOUSE,
            "name": table,
            "facets": {"dataSource": source_facet()},
            "inputFacets": {
                "dataQualityAssertions": facet(
                    "DataQualityAssertionsDatasetFacet", "1-0-1", {"assertions": assertions}
                )
            },
        }
        test_job_facets = {
            "jobType": facet(
                "JobTypeJobFacet",
                "2-0-2",
                {"processingType": "BATCH", "integration": "DBT", "jobType": "TEST"},
            )
        }
        test_run = run_id(f"{model}.test", date)
        test_facets = dict(run_facets)
        if failing:
            test_facets["errorMessage"] = facet(
                "ErrorMessageRunFacet",
                "1-0-1",
                {
                    "message": "Failure in test accepted_values_stg_orders_status "
                    "(models/staging/schema.yml): Got 2 results, configured to fail if != 0",
                    "programmingLanguage": "sql",
                },
            )
            any_failed = True
        events.append(
            event(
                "START", test_start, test_run, f"{table}.test", run_facets, test_job_facets, [test_input], []
            )
        )
        events.append(
            event(
                "FAIL" if failing else "COMPLETE",
                test_end,
                test_run,
                f"{table}.test",
                test_facets,
                test_job_facets,
                [test_input],
                [],
            )
        )
    finished = max(datetime.fromisoformat(e["eventTime"]) for e in events) + timedelta(seconds=1)
    end_facets: JSON = {"parent": parent_of_invocation, "dbt_version": dbt_version, "dbt_run": dbt_run}
    if any_failed:
        end_facets["errorMessage"] = facet(
            "ErrorMessageRunFacet",
            "1-0-1",
            {"message": "dbt build finished with 1 test failure", "programmingLanguage": "sql"},
        )
    events.append(
        event(
            "FAIL" if any_failed else "COMPLETE",
            finished,
            parent_run,
            PARENT_JOB,
            end_facets,
            {"jobType": job_type},
            [],
            [],
        )
    )
    return sorted(events, key=lambda e: e["eventTime"])


def build_events() -> list[JSON]:
    """Every event of the example, in time order."""
    return [e for day in RUN_DAYS for e in build_day(day)]


def main() -> None:
    """Write ``events.jsonl`` next to this script."""
    events = build_events()
    lines = [json.dumps(e, separators=(",", ":")) for e in events]
    OUTPUT_PATH.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")
    print(f"wrote {len(lines)} events to {OUTPUT_PATH}")


if __name__ == "__main__":
    main()
