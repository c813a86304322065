"""Generate OpenLineage events as Airflow's OpenLineage provider sends them, for a daily load DAG.

The DAG ``jaffle_shop_daily`` (namespace ``acme-airflow``) loads the shop's raw data into the warehouse
and then runs dbt::

    load_customers  (crm.public.customers in the CRM database -> analytics.raw.raw_customers)
    load_orders     (s3://acme-lake exports/shop/orders.csv   -> analytics.raw.raw_orders)
    load_payments   (s3://acme-lake exports/payments/*.csv    -> analytics.raw.raw_payments)
        -> run_dbt  (BashOperator: `dbt-ol build`, whose own events are in examples/dbt_jaffle_shop)

``crm.public.customers`` is the CRM table that ``examples/ml_pipeline`` extracts too, and the raw tables
are the sources of the dbt project in ``examples/dbt_jaffle_shop``, so the three example sets form one
graph. Four daily runs from 2026-11-01; on day 2 ``load_payments`` fails (the export file is missing),
so ``run_dbt`` is skipped and the DAG run fails.

Events are shaped like those of ``apache-airflow-providers-openlineage`` 1.14: the ``producer`` is
the provider's repository URL; task events carry the ``airflow`` run facet (dag, dagRun, task,
taskInstance), ``parent`` (the DAG run), ``nominalTime`` and ``processing_engine``; job facets carry
``jobType`` (integration AIRFLOW, TASK or DAG), ``ownership`` and, for SQL operators, ``sql``; the DAG's
own events carry ``airflowDagRun`` and ``airflowState``. Deterministic: run ids are UUIDs derived from
the DAG, task and date, and no wall-clock time is used.

Usage::

    python3 examples/airflow_etl/generate_events.py
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

JSON = dict[str, Any]

OUTPUT_PATH = Path(__file__).resolve().parent / "events.jsonl"
PROVIDER_VERSION = "1.14.0"
AIRFLOW_VERSION = "2.10.3"
PRODUCER = f"https://github.com/apache/airflow/tree/providers-openlineage/{PROVIDER_VERSION}"
RUN_EVENT_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
AIRFLOW_FACETS = (
    f"https://raw.githubusercontent.com/apache/airflow/providers-openlineage/{PROVIDER_VERSION}/"
    "airflow/providers/openlineage/facets/AirflowRunFacet.json"
)

NAMESPACE = "acme-airflow"
DAG_ID = "jaffle_shop_daily"
BASE = datetime(2026, 11, 1, 4, 0, tzinfo=UTC)
DAYS = 4
FAILING_DAY = 2

CRM = "postgres://crm-db.internal:5432"
LAKE = "s3://acme-lake"
WAREHOUSE = "postgres://warehouse.internal:5432"
OWNER = "data-eng"
RUN_ID_NAMESPACE = uuid.UUID("5f0c2a59-0c41-4b0e-9a27-1d6a1c9f7e11")


def facet(name: str, version: str, body: JSON) -> JSON:
    """A standard facet with its ``_producer`` and ``_schemaURL``."""
    url = f"https://openlineage.io/spec/facets/{version}/{name}.json#/$defs/{name}"
    return {"_producer": PRODUCER, "_schemaURL": url, **body}


def airflow_facet(name: str, body: JSON) -> JSON:
    """One of the provider's own facets."""
    return {"_producer": PRODUCER, "_schemaURL": f"{AIRFLOW_FACETS}#/definitions/{name}", **body}


def iso(when: datetime) -> str:
    """ISO 8601 with microseconds and a zone, as Airflow writes it."""
    return when.isoformat(timespec="microseconds")


def run_id(*parts: str) -> str:
    """A deterministic run id for a DAG run or task instance."""
    return str(uuid.uuid5(RUN_ID_NAMESPACE, "/".join(parts)))


def fields(*columns: tuple[str, str]) -> JSON:
    """A ``schema`` facet."""
    return facet("SchemaDatasetFacet", "1-1-1", {"fields": [{"name": n, "type": t} for n, t in columns]})


def source(name: str, uri: str) -> JSON:
    """A ``dataSource`` facet."""
    return facet("DatasourceDatasetFacet", "1-0-1", {"name": name, "uri": uri})


def column_lineage(mapping: dict[str, list[tuple[str, str, str, str]]]) -> JSON:
    """A 1-2-0 ``columnLineage`` facet: output field -> [(namespace, name, field, subtype)]."""
    out = {}
    for field, inputs in mapping.items():
        out[field] = {
            "inputFields": [
                {
                    "namespace": ns,
                    "name": name,
                    "field": column,
                    "transformations": [
                        {"type": "DIRECT", "subtype": subtype, "description": "", "masking": False}
                    ],
                }
                for ns, name, column, subtype in inputs
            ]
        }
    return facet("ColumnLineageDatasetFacet", "1-2-0", {"fields": out})


CRM_CUSTOMERS = (CRM, "crm.public.customers")
RAW_CUSTOMERS = (WAREHOUSE, "analytics.raw.raw_customers")
RAW_ORDERS = (WAREHOUSE, "analytics.raw.raw_orders")
RAW_PAYMENTS = (WAREHOUSE, "analytics.raw.raw_payments")
ORDERS_EXPORT = (LAKE, "exports/shop/orders.csv")
PAYMENTS_EXPORT = (LAKE, "exports/payments")

TASKS: dict[str, JSON] = {
    "load_customers": {
        "operator": "airflow.providers.common.sql.operators.generic_transfer.GenericTransfer",
        "sql": "SELECT customer_id AS id, split_part(full_name, ' ', 1) AS first_name,\n"
        "       split_part(full_name, ' ', 2) AS last_name, email\nFROM crm.public.customers",
        "inputs": [
            (
                CRM_CUSTOMERS,
                fields(("customer_id", "BIGINT"), ("email", "VARCHAR(320)"), ("full_name", "VARCHAR(200)")),
                "crm-db",
            )
        ],
        "outputs": [
            (
                RAW_CUSTOMERS,
                fields(("id", "INTEGER"), ("first_name", "TEXT"), ("last_name", "TEXT"), ("email", "TEXT")),
                {
                    "id": [(*CRM_CUSTOMERS, "customer_id", "IDENTITY")],
                    "first_name": [(*CRM_CUSTOMERS, "full_name", "TRANSFORMATION")],
                    "last_name": [(*CRM_CUSTOMERS, "full_name", "TRANSFORMATION")],
                    "email": [(*CRM_CUSTOMERS, "email", "IDENTITY")],
                },
            )
        ],
        "seconds": (35, 70),
    },
    "load_orders": {
        "operator": "airflow.providers.amazon.aws.transfers.s3_to_sql.S3ToSqlOperator",
        "inputs": [(ORDERS_EXPORT, None, "acme-lake")],
        "outputs": [
            (
                RAW_ORDERS,
                fields(("id", "INTEGER"), ("user_id", "INTEGER"), ("order_date", "DATE"), ("status", "TEXT")),
                None,
            )
        ],
        "seconds": (20, 45),
    },
    "load_payments": {
        "operator": "airflow.providers.amazon.aws.transfers.s3_to_sql.S3ToSqlOperator",
        "inputs": [(PAYMENTS_EXPORT, None, "acme-lake")],
        "outputs": [
            (
                RAW_PAYMENTS,
                fields(
                    ("id", "INTEGER"),
                    ("order_id", "INTEGER"),
                    ("payment_method", "TEXT"),
                    ("amount", "INTEGER"),
                ),
                None,
            )
        ],
        "seconds": (25, 50),
    },
    "run_dbt": {
        "operator": "airflow.operators.bash.BashOperator",
        "inputs": [],
        "outputs": [],
        "seconds": (140, 210),
    },
}
PAYMENTS_ERROR = (
    "botocore.exceptions.ClientError: An error occurred (NoSuchKey) when calling the GetObject operation: "
    "The specified key does not exist: exports/payments/2026-11-02.csv"
)


def dataset(
    ref: tuple[str, str], schema: JSON | None, source_name: str, lineage: JSON | None, rows: int | None
) -> JSON:
    """An input or output dataset with its facets (and ``outputStatistics`` for outputs)."""
    namespace, name = ref
    facets: JSON = {"dataSource": source(source_name, namespace)}
    if schema is not None:
        facets["schema"] = schema
    if lineage is not None:
        facets["columnLineage"] = column_lineage(lineage)
    out: JSON = {"namespace": namespace, "name": name, "facets": facets}
    if rows is not None:
        out["outputFacets"] = {
            "outputStatistics": facet("OutputStatisticsOutputDatasetFacet", "1-0-2", {"rowCount": rows})
        }
    return out


def dag_run_facet(day: int, start: datetime) -> JSON:
    """The ``airflowDagRun`` facet of the DAG's run."""
    nominal = BASE + timedelta(days=day - 1)
    return airflow_facet(
        "AirflowDagRunFacet",
        {
            "dag": {
                "dag_id": DAG_ID,
                "schedule_interval": "0 4 * * *",
                "tags": "['shop', 'dbt']",
                "owner": OWNER,
            },
            "dagRun": {
                "dag_id": DAG_ID,
                "run_id": f"scheduled__{iso(nominal)}",
                "run_type": "scheduled",
                "external_trigger": False,
                "data_interval_start": iso(nominal - timedelta(days=1)),
                "data_interval_end": iso(nominal),
                "start_date": iso(start),
                "conf": {},
            },
        },
    )


def build_day(day: int) -> list[JSON]:
    """Every event of the DAG run of ``day``, in time order."""
    nominal = BASE + timedelta(days=day - 1)
    date = nominal.strftime("%Y-%m-%d")
    dag_run = run_id(DAG_ID, date)
    dag_job = {"namespace": NAMESPACE, "name": DAG_ID}
    nominal_facet = facet(
        "NominalTimeRunFacet",
        "1-0-1",
        {"nominalStartTime": iso(nominal), "nominalEndTime": iso(nominal + timedelta(days=1))},
    )
    engine = facet(
        "ProcessingEngineRunFacet",
        "1-1-1",
        {"version": AIRFLOW_VERSION, "name": "Airflow", "openlineageAdapterVersion": PROVIDER_VERSION},
    )
    dag_type = facet(
        "JobTypeJobFacet", "2-0-2", {"processingType": "BATCH", "integration": "AIRFLOW", "jobType": "DAG"}
    )
    owners = facet("OwnershipJobFacet", "1-0-1", {"owners": [{"name": OWNER, "type": "MAINTAINER"}]})
    docs = facet(
        "DocumentationJobFacet",
        "1-0-1",
        {"description": "Loads the shop's raw tables into the warehouse, then builds the dbt project."},
    )
    clock = nominal + timedelta(seconds=3 + day)
    events: list[JSON] = [
        {
            "eventType": "START",
            "eventTime": iso(clock),
            "producer": PRODUCER,
            "schemaURL": RUN_EVENT_SCHEMA,
            "run": {
                "runId": dag_run,
                "facets": {
                    "nominalTime": nominal_facet,
                    "processing_engine": engine,
                    "airflowDagRun": dag_run_facet(day, clock),
                },
            },
            "job": {**dag_job, "facets": {"jobType": dag_type, "ownership": owners, "documentation": docs}},
            "inputs": [],
            "outputs": [],
        }
    ]
    states: dict[str, str] = {}
    failed = False
    loads_end = clock
    for index, (task, spec) in enumerate(TASKS.items()):
        if task == "run_dbt" and failed:
            states[task] = "upstream_failed"
            continue
        task_run = run_id(DAG_ID, task, date)
        # The three loads start together; run_dbt waits for all of them.
        start = (
            loads_end + timedelta(seconds=5)
            if task == "run_dbt"
            else clock + timedelta(seconds=4 + 2 * index)
        )
        low, high = spec["seconds"]
        end = start + timedelta(seconds=low + (day * 7 + index * 3) % (high - low))
        task_fails = task == "load_payments" and day == FAILING_DAY
        rows = 900 + day * 37 + index * 11
        parent = facet(
            "ParentRunFacet",
            "1-1-0",
            {"run": {"runId": dag_run}, "job": dag_job, "root": {"run": {"runId": dag_run}, "job": dag_job}},
        )
        airflow = airflow_facet(
            "AirflowRunFacet",
            {
                "dag": {"dag_id": DAG_ID, "owner": OWNER, "schedule_interval": "0 4 * * *"},
                "dagRun": {"dag_id": DAG_ID, "run_id": f"scheduled__{iso(nominal)}", "run_type": "scheduled"},
                "task": {
                    "task_id": task,
                    "operator_class": spec["operator"].rsplit(".", 1)[-1],
                    "retries": 2,
                    "owner": OWNER,
                },
                "taskInstance": {
                    "try_number": 1,
                    "pool": "default_pool",
                    "queued_dttm": iso(start - timedelta(seconds=1)),
                },
                "taskUuid": task_run,
            },
        )
        job_facets: JSON = {
            "jobType": facet(
                "JobTypeJobFacet",
                "2-0-2",
                {"processingType": "BATCH", "integration": "AIRFLOW", "jobType": "TASK"},
            ),
            "ownership": owners,
        }
        if "sql" in spec:
            job_facets["sql"] = facet("SQLJobFacet", "1-0-1", {"query": spec["sql"]})
        inputs = [dataset(ref, schema, name, None, None) for ref, schema, name in spec["inputs"]]
        outputs = [
            dataset(ref, schema, "warehouse", lineage, None if task_fails else rows)
            for ref, schema, lineage in spec["outputs"]
        ]
        job = {"namespace": NAMESPACE, "name": f"{DAG_ID}.{task}"}
        base_run = {"parent": parent, "nominalTime": nominal_facet, "airflow": airflow}
        events.append(
            {
                "eventType": "START",
                "eventTime": iso(start),
                "producer": PRODUCER,
                "schemaURL": RUN_EVENT_SCHEMA,
                "run": {"runId": task_run, "facets": {**base_run, "processing_engine": engine}},
                "job": {**job, "facets": job_facets},
                "inputs": inputs,
                "outputs": [{"namespace": o["namespace"], "name": o["name"]} for o in outputs],
            }
        )
        end_facets = dict(base_run)
        if task_fails:
            end_facets["errorMessage"] = facet(
                "ErrorMessageRunFacet",
                "1-0-1",
                {
                    "message": PAYMENTS_ERROR,
                    "programmingLanguage": "python",
                    "stackTrace": "Traceback (most recent call last):\n"
                    '  File "/opt/airflow/providers/amazon/aws/transfers/s3_to_sql.py", line 120, in run\n'
                    f"    self._fetch(key)\n{PAYMENTS_ERROR}",
                },
            )
        events.append(
            {
                "eventType": "FAIL" if task_fails else "COMPLETE",
                "eventTime": iso(end),
                "producer": PRODUCER,
                "schemaURL": RUN_EVENT_SCHEMA,
                "run": {"runId": task_run, "facets": end_facets},
                "job": {**job, "facets": job_facets},
                "inputs": inputs,
                "outputs": outputs,
            }
        )
        states[task] = "failed" if task_fails else "success"
        failed = failed or task_fails
        loads_end = max(loads_end, end)
    finished = max(datetime.fromisoformat(e["eventTime"]) for e in events) + timedelta(seconds=2)
    events.append(
        {
            "eventType": "FAIL" if failed else "COMPLETE",
            "eventTime": iso(finished),
            "producer": PRODUCER,
            "schemaURL": RUN_EVENT_SCHEMA,
            "run": {
                "runId": dag_run,
                "facets": {
                    "nominalTime": nominal_facet,
                    "airflowState": airflow_facet(
                        "AirflowStateRunFacet",
                        {"dagRunState": "failed" if failed else "success", "tasksState": states},
                    ),
                    **(
                        {
                            "errorMessage": facet(
                                "ErrorMessageRunFacet",
                                "1-0-1",
                                {
                                    "message": "Task load_payments failed; run_dbt skipped.",
                                    "programmingLanguage": "python",
                                },
                            )
                        }
                        if failed
                        else {}
                    ),
                },
            },
            "job": {**dag_job, "facets": {"jobType": dag_type}},
            "inputs": [],
            "outputs": [],
        }
    )
    return sorted(events, key=lambda e: e["eventTime"])


def dbt_task_run(day: int) -> str:
    """The run id of ``run_dbt`` on ``day`` (the dbt events name it as their parent)."""
    return run_id(DAG_ID, "run_dbt", (BASE + timedelta(days=day - 1)).strftime("%Y-%m-%d"))


def build_events() -> list[JSON]:
    """Every event of the example, in time order."""
    return [event for day in range(1, DAYS + 1) for event in build_day(day)]


def main() -> None:
    """Write ``events.jsonl`` next to this script."""
    events = build_events()
    lines = [json.dumps(event, separators=(",", ":"), sort_keys=False) for event in events]
    OUTPUT_PATH.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")
    print(f"wrote {len(lines)} events to {OUTPUT_PATH}")


if __name__ == "__main__":
    main()
