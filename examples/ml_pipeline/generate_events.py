"""Generate a deterministic set of OpenLineage events for the churn-prediction example pipeline.

The pipeline ``churn_pipeline`` runs once a day and fans out into four tasks::

    extract  ->  clean  ->  features  ->  train

Five daily runs are produced (starting 2026-11-01T02:00:00Z). Run 3 ships a code change that adds a
``region`` column to the cleaned customers dataset, and run 4 fails in ``train`` because NULL values
reached the feature table. The output, ``events.jsonl`` next to this script, holds one compact
OpenLineage 2-0-2 ``RunEvent`` per line.

The result is byte-for-byte reproducible: all randomness comes from a seeded ``random.Random``, run ids
are derived from it, and no wall-clock time is used.

Usage::

    python3 examples/ml_pipeline/generate_events.py
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

JSON = dict[str, Any]

SEED = 20261101
BASE_TIME = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
DAYS = 5
SCHEMA_CHANGE_DAY = 3
FAILING_DAY = 4

OUTPUT_PATH = Path(__file__).resolve().parent / "events.jsonl"

PRODUCER = "https://github.com/threadline-dev/threadline/examples/ml_pipeline"
RUN_EVENT_SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"

JOB_NAMESPACE = "threadline-examples"
PIPELINE_JOB = "churn_pipeline"

PG_NAMESPACE = "postgres://crm-db.internal:5432"
LAKE_NAMESPACE = "s3://acme-lake"
MODELS_NAMESPACE = "s3://acme-models"
WAREHOUSE_NAMESPACE = "duckdb://warehouse"

PG_CUSTOMERS = "crm.public.customers"
PG_SUBSCRIPTIONS = "crm.public.subscriptions"
RAW_CUSTOMERS = "raw/churn/customers.parquet"
CLEAN_CUSTOMERS = "clean/churn/customers.parquet"
FEATURES = "features/churn/customer_features.parquet"
MODEL = "churn/model.pkl"

REPO_URL = "https://github.com/acme-analytics/ml-pipelines.git"
REPO_WEB_URL = "https://github.com/acme-analytics/ml-pipelines"
# Two deployed code versions: the second one (from SCHEMA_CHANGE_DAY on) adds the ``region`` column.
COMMIT_BEFORE = hashlib.sha1(b"ml-pipelines release 2026.10.3").hexdigest()
COMMIT_AFTER = hashlib.sha1(b"ml-pipelines release 2026.11.1").hexdigest()

OWNERS = [
    {"name": "team:ml-platform", "type": "MAINTAINER"},
    {"name": "user:priya.natarajan", "type": "OWNER"},
]

TRAIN_STACK_TRACE = """Traceback (most recent call last):
  File "/opt/pipelines/churn/train.py", line 91, in main
    model.fit(x_train, y_train)
  File "/opt/venv/lib/python3.11/site-packages/sklearn/base.py", line 1389, in wrapper
    return fit_method(estimator, *args, **kwargs)
  File "/opt/venv/lib/python3.11/site-packages/sklearn/ensemble/_gb.py", line 658, in fit
    X, y = validate_data(self, X, y, dtype=DTYPE, multi_output=True)
  File "/opt/venv/lib/python3.11/site-packages/sklearn/utils/_array_api.py", line 1005, in _assert_all_finite
    raise ValueError(msg_err)
ValueError: Input X contains NaN."""
TRAIN_ERROR = (
    "ValueError: Input X contains NaN. GradientBoostingClassifier does not accept missing values "
    "encoded as NaN natively (column days_since_last_login)."
)


# --------------------------------------------------------------------------------------------------
# Facet helpers
# --------------------------------------------------------------------------------------------------


def facet(name: str, version: str, body: JSON) -> JSON:
    """Return a facet dict with the standard ``_producer`` and ``_schemaURL`` keys prepended."""
    schema_url = f"https://openlineage.io/spec/facets/{version}/{name}.json#/$defs/{name}"
    return {"_producer": PRODUCER, "_schemaURL": schema_url, **body}


def fld(name: str, type_: str, description: str, fields: list[JSON] | None = None) -> JSON:
    """Return one ``SchemaDatasetFacet`` field, optionally with nested struct ``fields``."""
    out: JSON = {"name": name, "type": type_, "description": description}
    if fields is not None:
        out["fields"] = fields
    return out


def schema_facet(fields: list[JSON]) -> JSON:
    """Return a ``schema`` dataset facet (1-1-1)."""
    return facet("SchemaDatasetFacet", "1-1-1", {"fields": fields})


def datasource_facet(name: str, uri: str) -> JSON:
    """Return a ``dataSource`` dataset facet (1-0-1)."""
    return facet("DatasourceDatasetFacet", "1-0-1", {"name": name, "uri": uri})


def input_field(dataset_id: tuple[str, str], column: str, kind: str, subtype: str, description: str) -> JSON:
    """Return a 1-2-0 column-lineage input field of ``dataset_id`` with one transformation."""
    namespace, name = dataset_id
    transformation = {"type": kind, "subtype": subtype, "description": description, "masking": False}
    return {"namespace": namespace, "name": name, "field": column, "transformations": [transformation]}


def legacy_input_field(namespace: str, name: str, column: str) -> JSON:
    """Return a 1-0-1 column-lineage input field (no ``transformations`` array)."""
    return {"namespace": namespace, "name": name, "field": column}


def iso(ts: datetime) -> str:
    """Format ``ts`` as an ISO-8601 UTC timestamp with millisecond precision and a ``Z`` suffix."""
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


# --------------------------------------------------------------------------------------------------
# Dataset schemas
# --------------------------------------------------------------------------------------------------

PG_CUSTOMERS_SCHEMA = [
    fld("customer_id", "BIGINT", "Primary key of the customer"),
    fld("email", "VARCHAR(320)", "Contact e-mail address (PII)"),
    fld("full_name", "VARCHAR(200)", "Customer full name (PII)"),
    fld("country", "VARCHAR(64)", "Country as entered at signup (free text)"),
    fld("signup_date", "DATE", "Date the account was created"),
    fld("plan_id", "VARCHAR(32)", "Current price plan, e.g. basic, pro, team"),
    fld("last_login_at", "TIMESTAMPTZ", "Most recent successful login"),
]

PG_SUBSCRIPTIONS_SCHEMA = [
    fld("subscription_id", "BIGINT", "Primary key of the subscription"),
    fld("customer_id", "BIGINT", "Owning customer (FK to customers)"),
    fld("status", "VARCHAR(16)", "active | trial | past_due | cancelled"),
    fld("monthly_charges", "NUMERIC(10,2)", "Recurring monthly charge in USD"),
    fld("started_at", "TIMESTAMPTZ", "Subscription start"),
    fld("cancelled_at", "TIMESTAMPTZ", "Cancellation time, NULL while active"),
]

RAW_CUSTOMERS_SCHEMA = [
    fld("customer_id", "int64", "Primary key of the customer"),
    fld("email", "string", "Contact e-mail address (PII)"),
    fld("country", "string", "Country as entered at signup"),
    fld("signup_date", "date32", "Date the account was created"),
    fld("plan_id", "string", "Current price plan"),
    fld("last_login_at", "timestamp[us, UTC]", "Most recent successful login"),
    fld(
        "subscription",
        "struct",
        "Latest subscription of the customer",
        [
            fld("subscription_id", "int64", "Subscription key"),
            fld("status", "string", "active | trial | past_due | cancelled"),
            fld("monthly_charges", "decimal128(10, 2)", "Monthly charge in USD"),
            fld("started_at", "timestamp[us, UTC]", "Subscription start"),
            fld("cancelled_at", "timestamp[us, UTC]", "Cancellation time, null while active"),
        ],
    ),
]


def clean_customers_schema(with_region: bool) -> list[JSON]:
    """Return the cleaned customers schema; ``with_region`` adds the column introduced on day 3."""
    fields = [
        fld("customer_id", "int64", "Primary key of the customer"),
        fld("email_sha256", "string", "SHA-256 of the normalised e-mail (masked PII)"),
        fld("country_iso2", "string", "ISO 3166-1 alpha-2 country code"),
        fld("signup_date", "date32", "Date the account was created"),
        fld("plan_id", "string", "Current price plan"),
        fld("tenure_days", "int32", "Days between signup and the nominal run date"),
        fld("last_login_at", "timestamp[us, UTC]", "Most recent successful login"),
        fld(
            "subscription",
            "struct",
            "Latest subscription, reduced to modelling-relevant fields",
            [
                fld("status", "string", "active | past_due | cancelled | trial"),
                fld("monthly_charges", "double", "Monthly charge in USD"),
                fld("cancelled_at", "timestamp[us, UTC]", "Cancellation time, null while active"),
            ],
        ),
    ]
    if with_region:
        fields.append(fld("region", "string", "Sales region derived from country_iso2: AMER | EMEA | APAC"))
    return fields


FEATURES_SCHEMA = [
    fld("customer_id", "int64", "Primary key of the customer"),
    fld("feature_date", "date32", "Nominal date the features were computed for"),
    fld("tenure_days", "int32", "Customer tenure in days"),
    fld("monthly_charges", "double", "Monthly charge in USD"),
    fld("charges_to_date", "double", "Approximate lifetime revenue in USD"),
    fld("days_since_last_login", "int32", "Days since the last login"),
    fld("plan_id", "string", "Current price plan"),
    fld("country_churn_rate", "double", "Share of churned customers in the same country"),
    fld("churned", "bool", "Label: subscription has been cancelled"),
]

MODEL_SCHEMA = [
    fld("churn_probability", "float64", "Predicted probability of churn within 30 days"),
    fld("predicted_churn", "bool", "churn_probability >= 0.5"),
    fld("risk_band", "string", "LOW | MEDIUM | HIGH"),
    fld(
        "feature_signature",
        "struct",
        "Input signature expected by the model",
        [
            fld("tenure_days", "int32", "Customer tenure in days"),
            fld("monthly_charges", "float64", "Monthly charge in USD"),
            fld("charges_to_date", "float64", "Lifetime revenue in USD"),
            fld("days_since_last_login", "int32", "Days since last login"),
            fld("plan_id", "category", "Price plan"),
            fld("country_churn_rate", "float64", "Country churn rate"),
        ],
    ),
]


# --------------------------------------------------------------------------------------------------
# Job facets
# --------------------------------------------------------------------------------------------------

JOB_DOCS = {
    PIPELINE_JOB: "Daily churn-prediction pipeline: extracts CRM data, cleans it, builds features and "
    "retrains the churn model.",
    "extract": "Copies customers joined with their latest subscription from the CRM database to the lake.",
    "clean": "Deduplicates customers, masks PII, normalises countries and derives tenure.",
    "features": "Builds the per-customer feature table used for training and scoring.",
    "train": "Trains a GradientBoostingClassifier on the feature table and publishes the model.",
}

CLEAN_SQL = """SELECT customer_id,
       sha256(lower(trim(email))) AS email_sha256,
       country_to_iso2(country) AS country_iso2,
       signup_date,
       plan_id,
       date_diff('day', signup_date, DATE '{nominal_date}') AS tenure_days,
       last_login_at,
       struct_pack(status := subscription.status,
                   monthly_charges := CAST(subscription.monthly_charges AS DOUBLE),
                   cancelled_at := subscription.cancelled_at) AS subscription{region}
FROM read_parquet('s3://acme-lake/raw/churn/customers.parquet')
WHERE customer_id IS NOT NULL AND email IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY last_login_at DESC) = 1"""

CLEAN_SQL_REGION = ",\n       iso2_to_region(country_to_iso2(country)) AS region"

FEATURES_SQL = """WITH base AS (
    SELECT customer_id, tenure_days, subscription.monthly_charges AS monthly_charges, plan_id,
           country_iso2, last_login_at, subscription.cancelled_at IS NOT NULL AS churned
    FROM read_parquet('s3://acme-lake/clean/churn/customers.parquet')
    WHERE subscription.status <> 'trial'
), country_rates AS (
    SELECT country_iso2, avg(CAST(churned AS DOUBLE)) AS country_churn_rate
    FROM base GROUP BY country_iso2
)
SELECT b.customer_id,
       DATE '{nominal_date}' AS feature_date,
       b.tenure_days,
       b.monthly_charges,
       b.monthly_charges * b.tenure_days / 30.0 AS charges_to_date,
       date_diff('day', b.last_login_at, TIMESTAMP '{nominal_date}') AS days_since_last_login,
       b.plan_id,
       r.country_churn_rate,
       b.churned
FROM base AS b JOIN country_rates AS r USING (country_iso2)"""


def job_facets(task: str | None, day: int, nominal: datetime, *, full: bool) -> JSON:
    """Return job facets for ``task`` (``None`` means the parent pipeline job).

    START events only carry ``jobType`` (``full=False``); terminal events carry everything.
    """
    job_type = facet(
        "JobTypeJobFacet",
        "2-0-2",
        {"processingType": "BATCH", "integration": "THREADLINE", "jobType": "TASK" if task else "DAG"},
    )
    if not full:
        return {"jobType": job_type}
    commit = COMMIT_AFTER if day >= SCHEMA_CHANGE_DAY else COMMIT_BEFORE
    path = f"pipelines/churn/{task or 'dag'}.py"
    facets: JSON = {
        "jobType": job_type,
        "sourceCodeLocation": facet(
            "SourceCodeLocationJobFacet",
            "1-0-1",
            {
                "type": "git",
                "url": f"{REPO_WEB_URL}/blob/{commit}/{path}",
                "repoUrl": REPO_URL,
                "path": path,
                "version": commit,
            },
        ),
    }
    nominal_date = nominal.strftime("%Y-%m-%d")
    if task == "clean":
        region = CLEAN_SQL_REGION if day >= SCHEMA_CHANGE_DAY else ""
        query = CLEAN_SQL.format(nominal_date=nominal_date, region=region)
        facets["sql"] = facet("SQLJobFacet", "1-0-1", {"query": query})
    elif task == "features":
        facets["sql"] = facet(
            "SQLJobFacet", "1-0-1", {"query": FEATURES_SQL.format(nominal_date=nominal_date)}
        )
    facets["ownership"] = facet("OwnershipJobFacet", "1-0-1", {"owners": OWNERS})
    facets["documentation"] = facet(
        "DocumentationJobFacet", "1-0-1", {"description": JOB_DOCS[task or PIPELINE_JOB]}
    )
    return facets


# --------------------------------------------------------------------------------------------------
# Dataset facets
# --------------------------------------------------------------------------------------------------


def clean_column_lineage(with_region: bool) -> JSON:
    """Return the cleaned customers column lineage in the OLDER 1-0-1 form (field-level type/description)."""
    src = (LAKE_NAMESPACE, RAW_CUSTOMERS)

    def entry(columns: list[str], description: str, type_: str | None) -> JSON:
        out: JSON = {
            "inputFields": [legacy_input_field(*src, c) for c in columns],
            "transformationDescription": description,
        }
        if type_ is not None:
            out["transformationType"] = type_
        return out

    fields = {
        "customer_id": entry(["customer_id"], "identity", "IDENTITY"),
        "email_sha256": entry(["email"], "sha256(lower(trim(email)))", "MASKED"),
        "country_iso2": entry(["country"], "country_to_iso2(country)", None),
        "signup_date": entry(["signup_date"], "identity", "IDENTITY"),
        "plan_id": entry(["plan_id"], "identity", "IDENTITY"),
        "tenure_days": entry(["signup_date"], "date_diff('day', signup_date, nominal_date)", None),
        "last_login_at": entry(["last_login_at"], "identity", "IDENTITY"),
        "subscription": entry(
            ["subscription.status", "subscription.monthly_charges", "subscription.cancelled_at"],
            "struct_pack of selected subscription fields",
            None,
        ),
    }
    if with_region:
        fields["region"] = entry(["country"], "iso2_to_region(country_to_iso2(country))", None)
    return facet("ColumnLineageDatasetFacet", "1-0-1", {"fields": fields})


def features_column_lineage() -> JSON:
    """Return the feature table column lineage in the CURRENT 1-2-0 form."""
    src = (LAKE_NAMESPACE, CLEAN_CUSTOMERS)

    def direct(column: str, subtype: str, description: str) -> JSON:
        return input_field(src, column, "DIRECT", subtype, description)

    fields = {
        "customer_id": {"inputFields": [direct("customer_id", "IDENTITY", "identity")]},
        "tenure_days": {"inputFields": [direct("tenure_days", "IDENTITY", "identity")]},
        "monthly_charges": {"inputFields": [direct("subscription.monthly_charges", "IDENTITY", "identity")]},
        "charges_to_date": {
            "inputFields": [
                direct(
                    "subscription.monthly_charges", "TRANSFORMATION", "monthly_charges * tenure_days / 30"
                ),
                direct("tenure_days", "TRANSFORMATION", "monthly_charges * tenure_days / 30"),
            ]
        },
        "days_since_last_login": {
            "inputFields": [
                direct("last_login_at", "TRANSFORMATION", "date_diff('day', last_login_at, nominal)")
            ]
        },
        "plan_id": {"inputFields": [direct("plan_id", "IDENTITY", "identity")]},
        "country_churn_rate": {
            "inputFields": [
                direct("subscription.cancelled_at", "AGGREGATION", "avg(cancelled_at IS NOT NULL)"),
                input_field(src, "country_iso2", "INDIRECT", "GROUP_BY", "GROUP BY country_iso2"),
            ]
        },
        "churned": {
            "inputFields": [direct("subscription.cancelled_at", "TRANSFORMATION", "cancelled_at IS NOT NULL")]
        },
    }
    dataset_deps = [
        input_field(src, "country_iso2", "INDIRECT", "JOIN", "JOIN country_rates USING (country_iso2)"),
        input_field(src, "subscription.status", "INDIRECT", "FILTER", "status <> 'trial'"),
    ]
    return facet("ColumnLineageDatasetFacet", "1-2-0", {"fields": fields, "dataset": dataset_deps})


def model_column_lineage() -> JSON:
    """Return the model column lineage (1-2-0): the prediction depends on every feature and the label."""
    src = (LAKE_NAMESPACE, FEATURES)
    features = [
        "tenure_days",
        "monthly_charges",
        "charges_to_date",
        "days_since_last_login",
        "plan_id",
        "country_churn_rate",
    ]
    inputs = [input_field(src, f, "DIRECT", "TRANSFORMATION", "model feature") for f in features]
    inputs.append(input_field(src, "churned", "DIRECT", "TRANSFORMATION", "training label"))
    dataset_deps = [
        input_field(src, "feature_date", "INDIRECT", "FILTER", "feature_date >= nominal_date - 180 days")
    ]
    return facet(
        "ColumnLineageDatasetFacet",
        "1-2-0",
        {"fields": {"churn_probability": {"inputFields": inputs}}, "dataset": dataset_deps},
    )


def quality_metrics(rows: int, size: int, columns: JSON) -> JSON:
    """Return a ``dataQualityMetrics`` input facet (1-0-3)."""
    body = {"rowCount": rows, "bytes": size, "columnMetrics": columns}
    return facet("DataQualityMetricsInputDatasetFacet", "1-0-3", body)


def output_statistics(rows: int | None, size: int) -> JSON:
    """Return an ``outputStatistics`` output facet (1-0-2); ``rows`` is omitted for non-tabular outputs."""
    body: JSON = {"size": size, "fileCount": 1}
    if rows is not None:
        body = {"rowCount": rows, **body}
    return facet("OutputStatisticsOutputDatasetFacet", "1-0-2", body)


PG_SOURCE = datasource_facet("crm-db", f"{PG_NAMESPACE}/crm")
LAKE_SOURCE = datasource_facet("acme-lake", LAKE_NAMESPACE)
MODELS_SOURCE = datasource_facet("acme-models", MODELS_NAMESPACE)


def dataset(namespace: str, name: str, facets: JSON, io_facets: JSON | None = None, *, output: bool) -> JSON:
    """Return an input or output dataset; ``io_facets`` become ``inputFacets`` / ``outputFacets``."""
    out: JSON = {"namespace": namespace, "name": name, "facets": facets}
    if io_facets:
        out["outputFacets" if output else "inputFacets"] = io_facets
    return out


# --------------------------------------------------------------------------------------------------
# Per-day data volumes
# --------------------------------------------------------------------------------------------------


@dataclass
class Volumes:
    """Row counts and byte sizes for one pipeline run."""

    customers: int
    subscriptions: int
    raw: int
    clean: int
    features: int
    customers_bytes: int
    subscriptions_bytes: int
    raw_bytes: int
    clean_bytes: int
    features_bytes: int
    model_bytes: int
    email_nulls: int
    duplicates: int
    login_nulls: int
    max_customer_id: int
    countries: int

    @classmethod
    def for_day(cls, rng: random.Random, day: int) -> Volumes:
        """Draw plausible, slowly growing volumes for ``day`` (1-based)."""
        customers = 48_210 + day * 185 + rng.randint(-40, 90)
        subscriptions = int(customers * rng.uniform(1.24, 1.29))
        raw = customers
        email_nulls = rng.randint(35, 80)
        duplicates = rng.randint(180, 420)
        clean = raw - email_nulls - duplicates
        trials = int(clean * rng.uniform(0.035, 0.048))
        features = clean - trials
        return cls(
            customers=customers,
            subscriptions=subscriptions,
            raw=raw,
            clean=clean,
            features=features,
            customers_bytes=customers * rng.randint(410, 430),
            subscriptions_bytes=subscriptions * rng.randint(150, 160),
            raw_bytes=raw * rng.randint(96, 104),
            clean_bytes=clean * rng.randint(70, 76) + (clean * 3 if day >= SCHEMA_CHANGE_DAY else 0),
            features_bytes=features * rng.randint(44, 48),
            model_bytes=rng.randint(2_300_000, 2_450_000),
            email_nulls=email_nulls,
            duplicates=duplicates,
            login_nulls=rng.randint(1_100, 1_600) if day == FAILING_DAY else 0,
            max_customer_id=100_000 + customers + duplicates + rng.randint(2_000, 2_600),
            countries=rng.randint(61, 64),
        )


# --------------------------------------------------------------------------------------------------
# Event assembly
# --------------------------------------------------------------------------------------------------


@dataclass
class Clock:
    """Monotonic event clock advancing by random, seeded amounts."""

    rng: random.Random
    now: datetime

    def advance(self, low_s: float, high_s: float) -> datetime:
        """Advance by a random number of milliseconds in ``[low_s, high_s]`` seconds and return the time."""
        self.now += timedelta(milliseconds=self.rng.randint(int(low_s * 1000), int(high_s * 1000)))
        return self.now


@dataclass
class PipelineRun:
    """State shared by all events of one daily pipeline run."""

    day: int
    nominal: datetime
    run_id: str
    volumes: Volumes
    events: list[JSON] = field(default_factory=list)


def new_run_id(rng: random.Random) -> str:
    """Return a deterministic random (version 4) UUID drawn from ``rng``."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def run_facets(pipeline: PipelineRun, *, child: bool, start: bool) -> JSON:
    """Return run facets; ``processing_engine`` is only sent with START (consumers merge run facets)."""
    facets: JSON = {}
    if child:
        ref = {
            "run": {"runId": pipeline.run_id},
            "job": {"namespace": JOB_NAMESPACE, "name": PIPELINE_JOB},
        }
        facets["parent"] = facet("ParentRunFacet", "1-1-0", {**ref, "root": ref})
    facets["nominalTime"] = facet(
        "NominalTimeRunFacet",
        "1-0-1",
        {
            "nominalStartTime": iso(pipeline.nominal),
            "nominalEndTime": iso(pipeline.nominal + timedelta(days=1)),
        },
    )
    if start:
        facets["processing_engine"] = facet(
            "ProcessingEngineRunFacet", "1-1-1", {"name": "python", "version": "3.11.7"}
        )
    return facets


def make_event(
    event_type: str,
    when: datetime,
    *,
    run_id: str,
    job_name: str,
    run: JSON,
    job: JSON,
    inputs: list[JSON],
    outputs: list[JSON],
) -> JSON:
    """Assemble one OpenLineage ``RunEvent``."""
    return {
        "eventType": event_type,
        "eventTime": iso(when),
        "run": {"runId": run_id, "facets": run},
        "job": {"namespace": JOB_NAMESPACE, "name": job_name, "facets": job},
        "inputs": inputs,
        "outputs": outputs,
        "producer": PRODUCER,
        "schemaURL": RUN_EVENT_SCHEMA_URL,
    }


def task_datasets(task: str, pipeline: PipelineRun) -> tuple[list[JSON], list[JSON]]:
    """Return the fully faceted ``(inputs, outputs)`` of ``task`` for its terminal event.

    Inputs carry ``dataQualityMetrics``; outputs carry ``schema``, ``columnLineage`` and
    ``outputStatistics``. A failed ``train`` run declares its output without lineage or statistics.
    """
    v = pipeline.volumes
    if task == "extract":
        customers_dq = quality_metrics(
            v.customers,
            v.customers_bytes,
            {
                "customer_id": {
                    "nullCount": 0,
                    "distinctCount": v.customers,
                    "min": 100_001,
                    "max": v.max_customer_id,
                },
                "email": {"nullCount": v.email_nulls, "distinctCount": v.customers - v.email_nulls},
            },
        )
        subscriptions_dq = quality_metrics(
            v.subscriptions,
            v.subscriptions_bytes,
            {"monthly_charges": {"nullCount": 0, "distinctCount": 212, "min": 0.0, "max": 499.0}},
        )
        inputs = [
            dataset(
                PG_NAMESPACE,
                PG_CUSTOMERS,
                {"dataSource": PG_SOURCE, "schema": schema_facet(PG_CUSTOMERS_SCHEMA)},
                {"dataQualityMetrics": customers_dq},
                output=False,
            ),
            dataset(
                PG_NAMESPACE,
                PG_SUBSCRIPTIONS,
                {"dataSource": PG_SOURCE, "schema": schema_facet(PG_SUBSCRIPTIONS_SCHEMA)},
                {"dataQualityMetrics": subscriptions_dq},
                output=False,
            ),
        ]
        outputs = [
            dataset(
                LAKE_NAMESPACE,
                RAW_CUSTOMERS,
                {"dataSource": LAKE_SOURCE, "schema": schema_facet(RAW_CUSTOMERS_SCHEMA)},
                {"outputStatistics": output_statistics(v.raw, v.raw_bytes)},
                output=True,
            )
        ]
        return inputs, outputs

    if task == "clean":
        with_region = pipeline.day >= SCHEMA_CHANGE_DAY
        raw_dq = quality_metrics(
            v.raw,
            v.raw_bytes,
            {
                "customer_id": {"nullCount": 0, "distinctCount": v.raw - v.duplicates},
                "email": {"nullCount": v.email_nulls},
            },
        )
        inputs = [
            dataset(
                LAKE_NAMESPACE,
                RAW_CUSTOMERS,
                {"dataSource": LAKE_SOURCE},
                {"dataQualityMetrics": raw_dq},
                output=False,
            )
        ]
        outputs = [
            dataset(
                LAKE_NAMESPACE,
                CLEAN_CUSTOMERS,
                {
                    "dataSource": LAKE_SOURCE,
                    "schema": schema_facet(clean_customers_schema(with_region)),
                    "columnLineage": clean_column_lineage(with_region),
                },
                {"outputStatistics": output_statistics(v.clean, v.clean_bytes)},
                output=True,
            )
        ]
        return inputs, outputs

    if task == "features":
        clean_dq = quality_metrics(
            v.clean,
            v.clean_bytes,
            {
                "tenure_days": {"nullCount": 0, "min": 0, "max": 2_841 + pipeline.day},
                "country_iso2": {"nullCount": 0, "distinctCount": v.countries},
            },
        )
        inputs = [
            dataset(
                LAKE_NAMESPACE,
                CLEAN_CUSTOMERS,
                {"dataSource": LAKE_SOURCE},
                {"dataQualityMetrics": clean_dq},
                output=False,
            )
        ]
        warehouse_alias = {
            "namespace": WAREHOUSE_NAMESPACE,
            "name": "features.customer_features",
            "type": "TABLE",
        }
        outputs = [
            dataset(
                LAKE_NAMESPACE,
                FEATURES,
                {
                    "dataSource": LAKE_SOURCE,
                    "schema": schema_facet(FEATURES_SCHEMA),
                    "symlinks": facet("SymlinksDatasetFacet", "1-0-1", {"identifiers": [warehouse_alias]}),
                    "columnLineage": features_column_lineage(),
                },
                {"outputStatistics": output_statistics(v.features, v.features_bytes)},
                output=True,
            )
        ]
        return inputs, outputs

    # train
    features_dq = quality_metrics(
        v.features,
        v.features_bytes,
        {
            "days_since_last_login": {"nullCount": v.login_nulls, "min": 0, "max": 1_460},
            "churned": {"nullCount": 0, "distinctCount": 2},
        },
    )
    inputs = [
        dataset(
            LAKE_NAMESPACE,
            FEATURES,
            {"dataSource": LAKE_SOURCE},
            {"dataQualityMetrics": features_dq},
            output=False,
        )
    ]
    model_facets: JSON = {
        "dataSource": MODELS_SOURCE,
        "schema": schema_facet(MODEL_SCHEMA),
        "datasetType": facet("DatasetTypeDatasetFacet", "1-0-1", {"datasetType": "MODEL"}),
    }
    model_stats = None
    if pipeline.day != FAILING_DAY:
        model_facets["columnLineage"] = model_column_lineage()
        model_stats = {"outputStatistics": output_statistics(None, v.model_bytes)}
    outputs = [dataset(MODELS_NAMESPACE, MODEL, model_facets, model_stats, output=True)]
    return inputs, outputs


def start_view(datasets: list[JSON]) -> list[JSON]:
    """Return the lighter dataset list of a START event: identity plus the ``dataSource`` facet only."""
    return [
        {"namespace": d["namespace"], "name": d["name"], "facets": {"dataSource": d["facets"]["dataSource"]}}
        for d in datasets
    ]


# Task name -> (min, max) runtime in seconds.
TASK_DURATIONS = {
    "extract": (95.0, 190.0),
    "clean": (40.0, 110.0),
    "features": (120.0, 260.0),
    "train": (420.0, 780.0),
}


def build_pipeline_run(rng: random.Random, day: int) -> list[JSON]:
    """Return all events of the pipeline run for ``day`` (1-based), in event-time order."""
    nominal = BASE_TIME + timedelta(days=day - 1)
    pipeline = PipelineRun(
        day=day, nominal=nominal, run_id=new_run_id(rng), volumes=Volumes.for_day(rng, day)
    )
    clock = Clock(rng, nominal)
    events = pipeline.events
    failed = day == FAILING_DAY

    events.append(
        make_event(
            "START",
            clock.advance(0.2, 2.5),
            run_id=pipeline.run_id,
            job_name=PIPELINE_JOB,
            run=run_facets(pipeline, child=False, start=True),
            job=job_facets(None, day, nominal, full=False),
            inputs=[],
            outputs=[],
        )
    )

    for task in ("extract", "clean", "features", "train"):
        run_id = new_run_id(rng)
        job_name = f"{PIPELINE_JOB}.{task}"
        inputs, outputs = task_datasets(task, pipeline)
        events.append(
            make_event(
                "START",
                clock.advance(3.0, 12.0),
                run_id=run_id,
                job_name=job_name,
                run=run_facets(pipeline, child=True, start=True),
                job=job_facets(task, day, nominal, full=False),
                inputs=start_view(inputs),
                outputs=start_view(outputs),
            )
        )
        task_failed = failed and task == "train"
        low, high = TASK_DURATIONS[task]
        finished = clock.advance(35.0, 80.0) if task_failed else clock.advance(low, high)
        facets = run_facets(pipeline, child=True, start=False)
        if task_failed:
            facets["errorMessage"] = facet(
                "ErrorMessageRunFacet",
                "1-0-1",
                {"message": TRAIN_ERROR, "programmingLanguage": "PYTHON", "stackTrace": TRAIN_STACK_TRACE},
            )
        events.append(
            make_event(
                "FAIL" if task_failed else "COMPLETE",
                finished,
                run_id=run_id,
                job_name=job_name,
                run=facets,
                job=job_facets(task, day, nominal, full=True),
                inputs=inputs,
                outputs=outputs,
            )
        )

    facets = run_facets(pipeline, child=False, start=False)
    if failed:
        facets["errorMessage"] = facet(
            "ErrorMessageRunFacet",
            "1-0-1",
            {
                "message": f"Task {PIPELINE_JOB}.train failed: {TRAIN_ERROR.split('.', maxsplit=1)[0]}.",
                "programmingLanguage": "PYTHON",
            },
        )
    events.append(
        make_event(
            "FAIL" if failed else "COMPLETE",
            clock.advance(1.0, 4.0),
            run_id=pipeline.run_id,
            job_name=PIPELINE_JOB,
            run=facets,
            job=job_facets(None, day, nominal, full=True),
            inputs=[],
            outputs=[],
        )
    )
    return events


def build_events() -> list[JSON]:
    """Return every event of the example, ordered by event time."""
    rng = random.Random(SEED)
    events: list[JSON] = []
    for day in range(1, DAYS + 1):
        events.extend(build_pipeline_run(rng, day))
    return events


def main() -> None:
    """Write ``events.jsonl`` next to this script and print a one-line summary."""
    events = build_events()
    lines = [json.dumps(event, separators=(",", ":")) for event in events]
    OUTPUT_PATH.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")
    total = sum(len(line.encode("utf-8")) for line in lines)
    print(f"wrote {len(lines)} events ({total // len(lines)} bytes on average) to {OUTPUT_PATH}")


if __name__ == "__main__":
    main()
