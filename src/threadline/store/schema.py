"""The database schema, defined once: the event log, its projections, and API keys.

Times are integer microseconds since the epoch, UTC, on every backend. Projected entities use 64-bit
ids derived from their natural keys (:func:`threadline.store.ids.node_id`), so the same events give the
same rows whatever order they arrive in, and graph traversals join on integers.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
)

metadata = MetaData()

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants a BIGINT identity.
_SEQ = BigInteger().with_variant(Integer(), "sqlite")
_TIME = BigInteger
_ID = String(64)
_NODE = BigInteger

# ---- the log -------------------------------------------------------------------------------------

events = Table(
    "events",
    metadata,
    Column("seq", _SEQ, primary_key=True, autoincrement=True),
    Column("id", _ID, nullable=False, unique=True),
    Column("event_time", _TIME, nullable=False),
    Column("received_at", _TIME, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("event_type", String(16)),
    Column("run_id", String(36)),
    Column("job_namespace", Text),
    Column("job_name", Text),
    Column("producer", Text, nullable=False),
    Column("schema_url", Text),
    Column("raw", LargeBinary, nullable=False),
    Column("problems", Text),
)
Index("ix_events_event_time", events.c.event_time)
Index("ix_events_run_id", events.c.run_id)

#: Sequence numbers of logged events not yet folded into the projections.
projection_queue = Table("projection_queue", metadata, Column("seq", BigInteger, primary_key=True))

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("scope", String(16), nullable=False),
    Column("key_hash", String(64), nullable=False),
    Column("created_at", _TIME, nullable=False),
    Column("revoked_at", _TIME),
)

# ---- projections -----------------------------------------------------------------------------------
# Every projected column follows a merge rule (see threadline.projection.model): a minimum, a maximum,
# or last-writer-wins by a `*_stamp` that orders (rank, event time, event id). That is what makes the
# fold independent of arrival order.

namespaces = Table(
    "namespaces",
    metadata,
    Column("name", Text, primary_key=True),
    Column("created_at", _TIME, nullable=False),
    Column("updated_at", _TIME, nullable=False),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", _NODE, primary_key=True, autoincrement=False),
    Column("namespace", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("created_at", _TIME, nullable=False),
    Column("updated_at", _TIME, nullable=False),
    Column("parent_job_id", _NODE),
    Column("parent_stamp", Text),
)
Index("ux_jobs_name", jobs.c.namespace, jobs.c.name, unique=True)
Index("ix_jobs_parent", jobs.c.parent_job_id)

runs = Table(
    "runs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("job_id", _NODE, nullable=False),
    Column("job_stamp", Text, nullable=False),
    Column("parent_run_id", String(36)),
    Column("parent_stamp", Text),
    Column("state", String(16)),
    Column("state_stamp", Text),
    Column("created_at", _TIME, nullable=False),
    Column("updated_at", _TIME, nullable=False),
    Column("started_at", _TIME),
    Column("ended_at", _TIME),
    Column("has_events", Boolean, nullable=False),
)
Index("ix_runs_job", runs.c.job_id, runs.c.created_at)
Index("ix_runs_parent", runs.c.parent_run_id)

run_states = Table(
    "run_states",
    metadata,
    Column("run_id", String(36), primary_key=True),
    Column("event_id", _ID, primary_key=True),
    Column("state", String(16), nullable=False),
    Column("event_time", _TIME, nullable=False),
)

datasets = Table(
    "datasets",
    metadata,
    Column("id", _NODE, primary_key=True, autoincrement=False),
    Column("namespace", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("created_at", _TIME, nullable=False),
    Column("updated_at", _TIME, nullable=False),
    Column("schema_hash", _ID),
    Column("schema_stamp", Text),
    Column("current_version", Text),
    Column("version_stamp", Text),
)
Index("ux_datasets_name", datasets.c.namespace, datasets.c.name, unique=True)

dataset_symlinks = Table(
    "dataset_symlinks",
    metadata,
    Column("dataset_id", _NODE, primary_key=True, autoincrement=False),
    Column("namespace", Text, primary_key=True),
    Column("name", Text, primary_key=True),
    Column("type", Text, nullable=False),
    Column("first_seen", _TIME, nullable=False),
)
Index("ix_dataset_symlinks_alias", dataset_symlinks.c.namespace, dataset_symlinks.c.name)

dataset_versions = Table(
    "dataset_versions",
    metadata,
    Column("dataset_id", _NODE, primary_key=True, autoincrement=False),
    Column("version", Text, primary_key=True),
    Column("created_at", _TIME, nullable=False),
    Column("run_id", String(36)),
    Column("run_stamp", Text),
    Column("schema_hash", _ID),
    Column("schema_stamp", Text),
)
Index("ix_dataset_versions_run", dataset_versions.c.run_id)

#: Schemas are content-addressed: a schema seen in a thousand runs is stored once.
schema_fields = Table(
    "schema_fields",
    metadata,
    Column("schema_hash", _ID, primary_key=True),
    Column("path", Text, primary_key=True),
    Column("ordinal", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("parent_path", Text),
    Column("depth", SmallInteger, nullable=False),
    Column("type", Text),
    Column("description", Text),
)

run_io = Table(
    "run_io",
    metadata,
    Column("run_id", String(36), primary_key=True),
    Column("dataset_id", _NODE, primary_key=True, autoincrement=False),
    Column("direction", String(3), primary_key=True),
    Column("version", Text),
    Column("version_stamp", Text),
    Column("first_seen", _TIME, nullable=False),
)
Index("ix_run_io_dataset", run_io.c.dataset_id, run_io.c.direction)

job_io = Table(
    "job_io",
    metadata,
    Column("job_id", _NODE, primary_key=True, autoincrement=False),
    Column("dataset_id", _NODE, primary_key=True, autoincrement=False),
    Column("direction", String(3), primary_key=True),
    Column("first_seen", _TIME, nullable=False),
    Column("last_seen", _TIME, nullable=False),
)
Index("ix_job_io_dataset", job_io.c.dataset_id, job_io.c.direction)

column_lineage = Table(
    "column_lineage",
    metadata,
    Column("id", _NODE, primary_key=True, autoincrement=False),
    Column("output_dataset_id", _NODE, nullable=False),
    Column("output_field", Text, nullable=False),
    Column("input_dataset_id", _NODE, nullable=False),
    Column("input_field", Text, nullable=False),
    Column("transformation_type", Text),
    Column("transformation_subtype", Text),
    Column("job_id", _NODE),
    Column("description", Text),
    Column("masking", Boolean),
    Column("detail_stamp", Text),
    Column("first_seen", _TIME, nullable=False),
    Column("last_seen", _TIME, nullable=False),
)
Index("ix_column_lineage_out", column_lineage.c.output_dataset_id, column_lineage.c.output_field)
Index("ix_column_lineage_in", column_lineage.c.input_dataset_id, column_lineage.c.input_field)

#: The latest value of each facet of each entity (job, run, dataset, dataset version, run input/output).
facets = Table(
    "facets",
    metadata,
    Column("entity_type", String(16), primary_key=True),
    Column("entity_key", Text, primary_key=True),
    Column("name", Text, primary_key=True),
    Column("value", Text, nullable=False),
    Column("stamp", Text, nullable=False),
)

#: Projection tables in the order they are cleared and rebuilt by a reindex.
PROJECTION_TABLES = (
    namespaces,
    jobs,
    runs,
    run_states,
    datasets,
    dataset_symlinks,
    dataset_versions,
    schema_fields,
    run_io,
    job_io,
    column_lineage,
    facets,
)
