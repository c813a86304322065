"""The database schema, defined once: the event log, its projections, and API keys.

Times are integer microseconds since the epoch, UTC, on every backend. Projected entities use 64-bit
ids derived from their natural keys (:func:`threadline.store.ids.node_id`), so the same events give the
same rows whatever order they arrive in, and graph traversals join on integers.
"""

from __future__ import annotations

from sqlalchemy import (
    DDL,
    BigInteger,
    Boolean,
    Column,
    Double,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    event,
    text,
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
    Column("id", _ID, nullable=False),
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
    # How ``raw`` holds the bytes received (threadline.store.codec): 0 as received, 1 zstd.
    Column("codec", SmallInteger, nullable=False, server_default="0"),
    # The site the event came from by sync (its store's site id); none for events ingested here.
    Column("origin", String(64)),
)
# An event's time is part of its content, so (event_time, id) is unique exactly when id is. Keyed by
# time first, the index grows at its end as events arrive, instead of at a random place per event as an
# index of hashes does: appends stay cheap however large the log grows. It also serves time ranges.
Index("ux_events_time_id", events.c.event_time, events.c.id, unique=True)

#: How far each consumer of the log has read it: the projector folds the events with ``seq`` above its
#: mark. Appends are serialised (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL), so
#: sequence numbers become visible in order and a mark never skips an event.
log_marks = Table(
    "log_marks",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("seq", BigInteger, nullable=False),
)

#: Facts about the store itself, such as its site id (threadline.store.sql.SqlStore.site_id).
store_meta = Table(
    "store_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

#: How far this store has pushed its log to, or pulled from, each remote store (by the remote's site
#: id); ``scope`` tells pulls with different filters apart ("" for everything).
sync_marks = Table(
    "sync_marks",
    metadata,
    Column("remote", String(64), primary_key=True),
    Column("direction", String(8), primary_key=True),
    Column("scope", String(64), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("updated_at", _TIME, nullable=False),
)

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

#: Which API key may push as each site (``X-Threadline-Site``): the key that first pushed as it, or
#: the one an admin bound it to (``threadline token bind``); a push as the site with another key is
#: refused, so no key can take another site's name.
site_keys = Table(
    "site_keys",
    metadata,
    Column("site", String(64), primary_key=True),
    Column("key_id", String(16), nullable=False),
    Column("bound_at", _TIME, nullable=False),
)

# ---- projections -----------------------------------------------------------------------------------
# Every projected column follows a merge rule (see threadline.projection.model): a minimum, a maximum,
# or last-writer-wins by a `*_stamp` that orders (rank, event time, event id). That is what makes the
# fold independent of arrival order.

# Namespaces are keyed by their canonical form (threadline.openlineage.naming); ``display_*`` keeps the
# spelling seen first, for display.
namespaces = Table(
    "namespaces",
    metadata,
    Column("name", Text, primary_key=True),
    Column("created_at", _TIME, nullable=False),
    Column("updated_at", _TIME, nullable=False),
    Column("display_name", Text),
    Column("display_stamp", Text),
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
    Column("display_namespace", Text),
    Column("display_stamp", Text),
    # The run whose inputs and outputs are the job's current ones (its latest completed run, else its
    # latest run): what the lineage graph shows, like a job version in Marquez.
    Column("current_run_id", String(36)),
    Column("current_run_stamp", Text),
)
Index("ux_jobs_name", jobs.c.namespace, jobs.c.name, unique=True)
Index("ix_jobs_parent", jobs.c.parent_job_id)
Index("ix_jobs_current_run", jobs.c.current_run_id)

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

#: Every event of every run: its type (``state``; none when the producer sent no eventType) and time.
run_states = Table(
    "run_states",
    metadata,
    Column("run_id", String(36), primary_key=True),
    Column("event_id", _ID, primary_key=True),
    Column("state", String(16)),
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
    Column("display_namespace", Text),
    Column("display_stamp", Text),
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
Index("ix_dataset_versions_created", dataset_versions.c.dataset_id, dataset_versions.c.created_at)

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

#: The time of each event by id, for finding an event by its id alone (the log's own index needs the
#: time too). Filled by the projector, off the append path; the projector's unread tail is searched
#: directly.
event_ids = Table(
    "event_ids",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("event_time", _TIME, nullable=False),
    sqlite_with_rowid=False,
)

#: Every event of each job (run events and job events) and of each dataset (dataset events): which
#: events a filtered pull sends for a part of the graph.
entity_events = Table(
    "entity_events",
    metadata,
    Column("entity_id", _NODE, primary_key=True, autoincrement=False),
    Column("event_time", _TIME, primary_key=True, autoincrement=False),
    Column("event_id", _ID, primary_key=True),
)

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

#: The latest change of each tag of each dataset, dataset field (``field``; "" for the dataset itself)
#: and job, from ``threadline_tag_changes`` facets (see ``threadline.openlineage.tag_changes``). Read
#: together with the entity's ``tags`` facet: whichever says something of a tag later wins.
tag_changes = Table(
    "tag_changes",
    metadata,
    Column("entity_type", String(16), primary_key=True),
    Column("entity_key", Text, primary_key=True),
    Column("field", Text, primary_key=True),
    Column("tag", Text, primary_key=True),
    Column("action", String(8), nullable=False),
    Column("value", Text, nullable=False),
    Column("source", Text),
    Column("changed_by", Text),
    Column("changed_at", _TIME, nullable=False),
    Column("stamp", Text, nullable=False),
)

# ---- the Data Catalog (projected from ``threadline_catalog`` facets; see ``threadline.catalog``) ----

#: How full PostgreSQL fills a page of ``catalog_objects`` (per cent): see the table.
CATALOG_OBJECTS_FILLFACTOR = 70
#: The share of ``catalog_objects``' rows that may be dead before PostgreSQL's autovacuum cleans it
#: (its default: 0.2): see the table.
CATALOG_OBJECTS_VACUUM_SCALE = 0.02

#: Each catalog resource's latest change: entry groups, entries, tag templates and tags (``kind``),
#: by resource name. ``body`` is the resource's Data Catalog v1 JSON; the columns after ``stamp`` are
#: what search needs, derived from the body by the fold: normalised tokens (``t_*``), ``|key=value|``
#: labels, a tag's template and column.
catalog_objects = Table(
    "catalog_objects",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("name", Text, primary_key=True),
    Column("parent", Text),
    Column("deleted", Boolean, nullable=False),
    Column("body", Text, nullable=False),
    Column("source", Text),
    Column("changed_by", Text),
    Column("changed_at", _TIME, nullable=False),
    Column("created_at", _TIME, nullable=False),
    Column("stamp", Text, nullable=False),
    Column("entry_type", Text),
    Column("entry_system", Text),
    Column("t_name", Text),
    Column("t_description", Text),
    Column("t_columns", Text),
    Column("labels", Text),
    Column("linked_resource", Text),
    Column("template", Text),
    Column("tag_column", Text),
    #: An entry's templates: those of its live tags (on it or a column), as a sorted JSON array, or
    #: NULL without any. Derived after each fold from the tags (``refresh_tag_templates``), never
    #: merged from a change: search's template facet counts its matches' templates from their rows.
    Column("tag_templates", Text),
    #: The same as a bit mask (bit i: the template in place i of the sorted template ids; bit 62: one
    #: without a template row), NULL with more than 62 templates: what the facet sums. See
    #: ``threadline.projection.entry_templates``.
    Column("tag_mask", BigInteger),
    Index("ix_catalog_objects_parent", "parent"),
    Index("ix_catalog_objects_template", "template"),
    Index("ix_catalog_objects_linked", "linked_resource"),
    # a live tag's entry and template from the index alone: search's template facet and NOT tag:T
    Index(
        "ix_catalog_objects_tag_parent",
        "parent",
        "template",
        sqlite_where=text("kind = 'tag' AND deleted = false"),
        postgresql_where=text("kind = 'tag' AND deleted = false"),
    ),
    # PostgreSQL: pages filled to 70 %, so that an entry's row updated after each fold that touches its
    # tags (``tag_templates``, ``tag_mask``) is rewritten on its own page without touching an index (a
    # HOT update): with full pages each update moved the row and wrote all six indexes (the full-text
    # one included) again, and the entries, scattered among the tags, were read from twice the pages
    # by a search (migration 0015). And vacuumed once 2 % of its rows are dead, not 20 %: a template
    # created before the others in sort order updates every entry that has tags, ~100,000 dead
    # versions in a 600,000-row catalog, which stayed below the default threshold and made each
    # search read them (free text 19.8 -> 27.5 ms; 20.6 after a VACUUM; migration 0016)
    postgresql_with={
        "fillfactor": CATALOG_OBJECTS_FILLFACTOR,
        "autovacuum_vacuum_scale_factor": CATALOG_OBJECTS_VACUUM_SCALE,
    },
)

#: The typed index of tag values: one row per field of a tag, valid while ``stamp`` equals the tag's
#: stamp in ``catalog_objects`` (a newer write of the tag makes the rows of the fields it dropped stale).
#: Numbers and timestamps (microseconds) in ``num_value``; strings as normalised tokens, enums and
#: booleans lower-cased, in ``text_value``.
catalog_tag_values = Table(
    "catalog_tag_values",
    metadata,
    Column("tag", Text, primary_key=True),
    Column("field", Text, primary_key=True),
    Column("stamp", Text, nullable=False),
    Column("entry", Text, nullable=False),
    Column("template", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("num_value", Double),
    Column("text_value", Text),
    # a value has a number or a text (never both): each index holds only the rows it can answer for,
    # so a value is written to two indexes, its key's and one of these (search names the condition)
    Index(
        "ix_catalog_tag_values_num",
        "template",
        "field",
        "num_value",
        sqlite_where=text("num_value IS NOT NULL"),
        postgresql_where=text("num_value IS NOT NULL"),
    ),
    Index(
        "ix_catalog_tag_values_text",
        "template",
        "field",
        "text_value",
        sqlite_where=text("text_value IS NOT NULL"),
        postgresql_where=text("text_value IS NOT NULL"),
    ),
    # no index by entry: search lists the entries holding a value from the two above, under a NOT too
)

#: Tags propagated along column lineage (a template field marked ``propagate: downstream``): for each
#: column of a lineage dataset, the value it holds from the nearest tagged column upstream, unless a
#: tag on the column itself sets that field. Derived from ``column_lineage``, the entries linking
#: datasets and their tags after each fold (``threadline.catalog.propagation``), so reindex rebuilds it.
#: ``node`` is the dataset's node id (what an entry's ``linked_resource`` holds); ``value`` the field's
#: JSON; ``kind``/``num_value``/``text_value`` as in ``catalog_tag_values``; ``origin_tag`` and
#: ``origin_column`` the tag it comes from; ``via`` the jobs from there to here (JSON); ``hops``.
catalog_propagated = Table(
    "catalog_propagated",
    metadata,
    Column("dataset_id", _NODE, primary_key=True, autoincrement=False),
    Column("column_name", Text, primary_key=True),
    Column("template", Text, primary_key=True),
    Column("field", Text, primary_key=True),
    Column("node", Text, nullable=False),
    Column("value", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("num_value", Double),
    Column("text_value", Text),
    Column("origin_tag", Text, nullable=False),
    Column("origin_column", Text, nullable=False),
    Column("via", Text, nullable=False),
    Column("hops", Integer, nullable=False),
    Index("ix_catalog_propagated_num", "template", "field", "num_value"),
    Index("ix_catalog_propagated_text", "template", "field", "text_value"),
    Index("ix_catalog_propagated_node", "node"),
    Index("ix_catalog_propagated_origin", "origin_tag"),
)

#: Every change of every catalog resource: its history, and the catalog as of any time.
catalog_history = Table(
    "catalog_history",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("name", Text, primary_key=True),
    Column("stamp", Text, primary_key=True),
    Column("action", String(8), nullable=False),
    Column("body", Text, nullable=False),
    Column("source", Text),
    Column("changed_by", Text),
    Column("changed_at", _TIME, nullable=False),
)

#: Full-text search over entries: an FTS5 table kept by triggers on SQLite; on PostgreSQL a stored
#: ``tsvector`` of the three texts, weighted A (name), B (description) and C (columns), with a GIN
#: index (``simple`` configuration: the fold has already normalised the tokens). A word matches the
#: start of a token (``word:*``), which a GIN index cannot decide alone: each row it finds is checked
#: again, and against a stored vector that costs a third less than building the vectors from the text.
#: The vector also holds the entry's type and system as lexemes no word can be (``=type=table``,
#: ``=system=bigquery``), so that ``type=`` and ``system=`` narrow the index's rows before any is read.
CATALOG_SEARCH_DDL: dict[str, tuple[str, ...]] = {
    "sqlite": (
        "CREATE VIRTUAL TABLE catalog_fts USING fts5(t_name, t_description, t_columns, "
        "tokenize = 'unicode61 remove_diacritics 0')",
        "CREATE TRIGGER catalog_fts_insert AFTER INSERT ON catalog_objects WHEN new.kind = 'entry' "
        "BEGIN INSERT INTO catalog_fts(rowid, t_name, t_description, t_columns) "
        "VALUES (new.rowid, new.t_name, new.t_description, new.t_columns); END",
        # of the indexed columns only: an update of an entry's other columns (its ``tag_templates``,
        # after every fold that touches its tags) leaves its text as it is
        "CREATE TRIGGER catalog_fts_update AFTER UPDATE OF t_name, t_description, t_columns "
        "ON catalog_objects WHEN new.kind = 'entry' "
        "BEGIN DELETE FROM catalog_fts WHERE rowid = old.rowid; "
        "INSERT INTO catalog_fts(rowid, t_name, t_description, t_columns) "
        "VALUES (new.rowid, new.t_name, new.t_description, new.t_columns); END",
        "CREATE TRIGGER catalog_fts_delete AFTER DELETE ON catalog_objects WHEN old.kind = 'entry' "
        "BEGIN DELETE FROM catalog_fts WHERE rowid = old.rowid; END",
    ),
    "postgresql": (
        "ALTER TABLE catalog_objects ADD COLUMN t_search tsvector GENERATED ALWAYS AS (CASE WHEN "
        "kind = 'entry' THEN setweight(to_tsvector('simple', coalesce(t_name, '')), 'A') || "
        "setweight(to_tsvector('simple', coalesce(t_description, '')), 'B') || "
        "setweight(to_tsvector('simple', coalesce(t_columns, '')), 'C') || "
        "array_to_tsvector(ARRAY['=type=' || coalesce(entry_type, ''), "
        "'=system=' || coalesce(entry_system, '')]) END) STORED",
        "CREATE INDEX ix_catalog_fts_search ON catalog_objects USING gin (t_search) WHERE kind = 'entry'",
    ),
}
#: The weight of each text in PostgreSQL's ``t_search`` (a qualifier searches its own).
SEARCH_WEIGHTS = {"t_name": "A", "t_description": "B", "t_columns": "C"}
for _dialect, _statements in CATALOG_SEARCH_DDL.items():
    for _statement in _statements:
        event.listen(catalog_objects, "after_create", DDL(_statement).execute_if(dialect=_dialect))


def made_by_search_ddl(name: str | None) -> bool:
    """Whether a table, column or index is one :data:`CATALOG_SEARCH_DDL` makes (FTS5's tables,
    PostgreSQL's ``t_search`` and its index): outside :data:`metadata`, so a schema comparison leaves
    it out."""
    return bool(name) and (name == "t_search" or str(name).startswith(("catalog_fts", "ix_catalog_fts_")))


#: Projection tables in the order they are cleared and rebuilt by a reindex.
PROJECTION_TABLES = (
    event_ids,
    entity_events,
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
    tag_changes,
    catalog_objects,
    catalog_tag_values,
    catalog_history,
    catalog_propagated,
)


def sql_name(table: Table) -> str:
    """``table``'s name as SQL text writes it (quoted, as both backends read it): the one way SQL text
    names a table (see :func:`threadline.store.lookups.sql_text`)."""
    return f'"{table.name}"'


#: Every table's name for SQL text, by table name (the templates of ``threadline.store.lookups``).
SQL_NAMES = {table.name: sql_name(table) for table in metadata.sorted_tables}
