"""Schema versions: new databases at head, migrations equal to the schema, old or foreign ones refused."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, Engine, inspect, text

from threadline.errors import ConfigError, MigrationRequired, StoreError
from threadline.store import migrate, open_store
from threadline.store.backends import make_engine
from threadline.store.schema import made_by_search_ddl, metadata


@contextmanager
def _writing(engine: Engine) -> Iterator[Connection]:
    """A write connection on a raw engine, in a transaction (what a migration runs in)."""
    with engine.connect() as connection:
        connection.info["write"] = True
        with connection.begin():
            yield connection


def test_a_new_database_is_created_and_stamped_at_head(store_url: str) -> None:
    store = open_store(store_url)
    try:
        with store.engine.connect() as connection:
            assert migrate.current_revision(connection) == migrate.head_revision()
            tables = set(inspect(connection).get_table_names())
        assert {table.name for table in metadata.sorted_tables} <= tables
        assert "alembic_version" in tables
    finally:
        store.close()
    # Opening it again finds it at head and changes nothing.
    again = open_store(store_url)
    again.close()


def _context(connection: Connection) -> MigrationContext:
    """A comparison that leaves out what the catalog's search DDL makes outside the metadata."""
    return MigrationContext.configure(
        connection,
        opts={"include_name": lambda name, _type, _parent: not made_by_search_ddl(name)},
    )


def test_migrations_from_an_empty_database_give_the_schema_of_the_metadata(store_url: str) -> None:
    engine = make_engine(store_url)
    try:
        with _writing(engine) as connection:
            command.upgrade(migrate.alembic_config(connection), "head")
        with engine.connect() as connection:
            assert migrate.current_revision(connection) == migrate.head_revision()
            diff = compare_metadata(_context(connection), metadata)
        assert diff == []
    finally:
        engine.dispose()
    # A store opens on the migrated database as on one it created itself.
    store = open_store(store_url)
    store.close()


def test_create_all_and_migrations_agree_on_the_tables(store_url: str) -> None:
    store = open_store(store_url)
    try:
        with store.engine.connect() as connection, connection.begin():
            assert compare_metadata(_context(connection), metadata) == []
    finally:
        store.close()


def test_upgrade_on_an_empty_database_reaches_head(store_url: str) -> None:
    engine = make_engine(store_url)
    try:
        before, after = migrate.upgrade(engine)
        assert before is None
        assert after == migrate.head_revision()
        # Upgrading a database at head is a no-op.
        assert migrate.upgrade(engine) == (after, after)
    finally:
        engine.dispose()
    open_store(store_url).close()


def _stamp(url: str, revision: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision})
    finally:
        engine.dispose()


def test_a_database_at_an_unknown_revision_is_refused(store_url: str) -> None:
    open_store(store_url).close()
    _stamp(store_url, "9999_from_the_future")
    with pytest.raises(MigrationRequired) as info:
        open_store(store_url)
    assert "9999_from_the_future" in info.value.message
    assert "newer" in info.value.message


def test_a_database_at_an_older_revision_names_the_upgrade_command(store_url: str, monkeypatch) -> None:
    """Simulate a release that added a revision after the one the database is at."""
    open_store(store_url).close()
    old_head = migrate.head_revision()
    monkeypatch.setattr(migrate, "head_revision", lambda: "0002_next")
    with pytest.raises(MigrationRequired) as info:
        open_store(store_url)
    assert "threadline db upgrade" in info.value.message
    assert old_head in info.value.message
    assert "0002_next" in info.value.message


def test_a_database_with_foreign_tables_and_no_version_is_refused(store_url: str) -> None:
    engine = make_engine(store_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE events (x INTEGER)"))
    finally:
        engine.dispose()
    with pytest.raises(StoreError) as info:
        open_store(store_url)
    assert "no schema version" in info.value.message


def test_unrelated_tables_do_not_stop_a_new_store(store_url: str) -> None:
    engine = make_engine(store_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE someone_elses (x INTEGER)"))
    finally:
        engine.dispose()
    store = open_store(store_url)
    store.close()


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("mysql://user@localhost/db", "sqlite:///"),
        ("sqlite://", "in-memory"),
        ("sqlite:///:memory:", "in-memory"),
        ("not a url", "sqlite:///"),
        ("", "sqlite:///"),
    ],
)
def test_a_bad_url_is_a_config_error_with_advice(url: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        open_store(url)
    assert words in info.value.message


def test_an_unreachable_postgresql_is_a_store_error() -> None:
    with pytest.raises(StoreError) as info:
        open_store("postgresql://nobody@127.0.0.1:1/test?connect_timeout=3")
    assert "127.0.0.1:1" in info.value.message or "port 1" in info.value.message
    assert "Traceback" not in info.value.message


def test_upgrading_a_populated_0001_store_keeps_the_log_and_rebuilds_projections(
    store_url: str, new_store, example_events: list[bytes]
) -> None:
    from tests.projection.helpers import state
    from threadline.openlineage.events import parse_event
    from threadline.projection import project_all

    events = [parse_event(raw) for raw in example_events]
    reference = new_store()
    reference.append(events)
    project_all(reference)
    expected = state(reference)

    # A store as revision 0001 left it: plain event bytes, every event queued for projection.
    engine = make_engine(store_url)
    try:
        with _writing(engine) as connection:
            command.upgrade(migrate.alembic_config(connection), "0001")
            for seq, event in enumerate(events, start=1):
                connection.execute(
                    text(
                        "INSERT INTO events (seq, id, event_time, received_at, kind, event_type, "
                        "run_id, job_namespace, job_name, producer, schema_url, raw) VALUES (:seq, :id, "
                        ":time, 0, :kind, :type, :run, :ns, :job, :producer, :url, :raw)"
                    ),
                    {
                        "seq": seq,
                        "id": event.id,
                        "time": event.event_time,
                        "kind": event.kind,
                        "type": event.event_type,
                        "run": event.run_id,
                        "ns": event.job_namespace,
                        "job": event.job_name,
                        "producer": event.producer,
                        "url": event.schema_url,
                        "raw": event.raw,
                    },
                )
                connection.execute(text("INSERT INTO projection_queue (seq) VALUES (:seq)"), {"seq": seq})
        with pytest.raises(MigrationRequired):
            open_store(store_url)
        assert migrate.upgrade(engine) == ("0001", migrate.head_revision())
    finally:
        engine.dispose()
    upgraded = open_store(store_url)
    try:
        assert upgraded.projection_lag() == len(events)
        project_all(upgraded)
        assert state(upgraded) == expected
        stored = upgraded.list_events(limit=1000, ascending=True).events
        assert [e.raw for e in stored] == [e.raw for e in events]
    finally:
        upgraded.close()


def test_upgrading_from_0015_gives_lineages_own_entries_a_mask(store_url: str) -> None:
    """Before 0016 lineage's own entries were written without a mask, and a search that found one
    counted its facet twice; the upgrade writes the mask of each entry that has none."""
    from tests.projection.helpers import ds, feed, run_event
    from threadline.catalog import implicit
    from threadline.catalog.local import change
    from threadline.catalog.search import search

    store = open_store(store_url)
    outputs = [ds("public.orders", "postgres://db:5432"), ds("public.orders_clean", "postgres://db:5432")]
    feed(store, [run_event("COMPLETE", 1, job="load_orders", outputs=outputs)])
    notes = {"fields": {"usage": {"type": {"primitiveType": "STRING"}}}}
    change(store, lambda p: p.put_template("notes", notes))
    masks = "SELECT name, tag_mask FROM catalog_objects WHERE kind = 'entry' ORDER BY name"
    orders = implicit.entry_name("postgres://db:5432", "public.orders")
    group, entry = orders.split("/")[1], orders.split("/")[3]
    tag = {"template": "tagTemplates/notes", "fields": {"usage": {"stringValue": "x"}}}
    change(store, lambda p: p.put_tag(group, entry, tag))
    with store.engine.connect() as connection:
        kept = connection.exec_driver_sql(masks).all()
    with store.read() as connection:
        before = search(connection, "orders")
    store.close()
    assert sorted(mask for _, mask in kept) == [0, 0, 1]  # two entries without tags, one with
    engine = make_engine(store_url)
    try:
        with _writing(engine) as connection:
            command.downgrade(migrate.alembic_config(connection), "0015")
            # as 0015's code wrote them: no mask on an entry of lineage's without tags
            connection.exec_driver_sql(
                "UPDATE catalog_objects SET tag_mask = NULL WHERE kind = 'entry' AND tag_templates IS NULL"
            )
        assert migrate.upgrade(engine) == ("0015", migrate.head_revision())
    finally:
        engine.dispose()
    upgraded = open_store(store_url)
    try:
        with upgraded.engine.connect() as connection:
            assert connection.exec_driver_sql(masks).all() == kept
        with upgraded.read() as connection:
            assert search(connection, "orders") == before
    finally:
        upgraded.close()


def test_upgrading_a_catalog_from_0008_fills_each_entrys_templates_and_mask(store_url: str) -> None:
    from threadline.catalog.local import change
    from threadline.catalog.search import search

    store = open_store(store_url)
    notes = {"fields": {"usage": {"type": {"primitiveType": "STRING"}}}}
    change(store, lambda p: p.put_group("ml", {}))
    for template in ("notes", "owner", "pii"):
        change(store, lambda p, t=template: p.put_template(t, notes))
    for entry, templates in (("pipe", ["pii", "notes"]), ("model", ["owner"]), ("bare", [])):
        change(store, lambda p, e=entry: p.put_entry("ml", e, {"type": "MODEL"}))
        for template in templates:
            tag = {"template": f"tagTemplates/{template}", "fields": {"usage": {"stringValue": "x"}}}
            change(store, lambda p, e=entry, t=tag: p.put_tag("ml", e, t))
    with store.read() as connection:
        before = search(connection, "type=MODEL")["facets"]["template"]
    rows = "SELECT name, tag_templates FROM catalog_objects WHERE kind = 'entry' ORDER BY name"
    masks = "SELECT name, tag_mask FROM catalog_objects WHERE kind = 'entry' ORDER BY name"
    with store.engine.connect() as connection:
        kept = connection.exec_driver_sql(rows).all()
        kept_masks = connection.exec_driver_sql(masks).all()
    # places: notes 0, owner 1, pii 2
    assert [mask for _, mask in kept_masks] == [0, 0b010, 0b101]
    assert before == {"notes": 1, "owner": 1, "pii": 1}
    assert [(name.rsplit("/", 1)[-1], value is None) for name, value in kept] == [
        ("bare", True),
        ("model", False),
        ("pipe", False),
    ]
    store.close()
    engine = make_engine(store_url)
    try:
        with _writing(engine) as connection:
            command.downgrade(migrate.alembic_config(connection), "0008")
            columns = inspect(connection).get_columns("catalog_objects")
            assert not {"tag_templates", "tag_mask"} & {column["name"] for column in columns}
            if connection.dialect.name == "sqlite":  # 0008's trigger: any update rewrote the text
                connection.exec_driver_sql("DROP TRIGGER catalog_fts_update")
                connection.exec_driver_sql(
                    "CREATE TRIGGER catalog_fts_update AFTER UPDATE ON catalog_objects "
                    "WHEN new.kind = 'entry' BEGIN DELETE FROM catalog_fts WHERE rowid = old.rowid; "
                    "INSERT INTO catalog_fts(rowid, t_name, t_description, t_columns) "
                    "VALUES (new.rowid, new.t_name, new.t_description, new.t_columns); END"
                )
        assert migrate.upgrade(engine) == ("0008", migrate.head_revision())
    finally:
        engine.dispose()
    upgraded = open_store(store_url)
    try:
        with upgraded.engine.connect() as connection:
            assert connection.exec_driver_sql(rows).all() == kept
            assert connection.exec_driver_sql(masks).all() == kept_masks
        with upgraded.read() as connection:
            assert search(connection, "type=MODEL")["facets"]["template"] == before
            if connection.dialect.name == "sqlite":
                trigger = connection.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE name = 'catalog_fts_update'"
                ).scalar_one()
                assert "AFTER UPDATE OF t_name, t_description, t_columns" in trigger
        change(upgraded, lambda p: p.put_entry("ml", "bare", {"type": "MODEL", "description": "renamed"}))
        with upgraded.read() as connection:  # the text of an updated entry is searched
            assert [r["displayName"] for r in search(connection, "renamed")["results"]] == ["bare"]
            # each text by its qualifier (PostgreSQL: by its weight in 0011's t_search)
            assert [r["displayName"] for r in search(connection, "description:renam")["results"]] == ["bare"]
            assert search(connection, "name:renamed")["totalSize"] == 0
            assert [r["displayName"] for r in search(connection, "name:pip")["results"]] == ["pipe"]
    finally:
        upgraded.close()


def test_the_head_revision_constant_is_the_newest_migration() -> None:
    """Opening a store compares with ``HEAD_REVISION`` without loading Alembic: it must be what
    Alembic reads from the migration scripts (add a migration, move the constant)."""
    assert migrate.head_revision() == migrate.script_head_revision()


def test_the_current_revision_is_read_as_alembic_reads_it(store_url: str) -> None:
    store = open_store(store_url)
    try:
        with store.engine.connect() as connection:
            assert (
                migrate.current_revision(connection)
                == MigrationContext.configure(connection).get_current_revision()
            )
    finally:
        store.close()
    engine = make_engine(store_url)
    try:
        with _writing(engine) as connection:
            connection.execute(text("DROP TABLE alembic_version"))
        with engine.connect() as connection:
            assert migrate.current_revision(connection) is None
    finally:
        engine.dispose()


def test_lineages_own_entries_are_written_for_a_store_folded_before_them(store_url: str) -> None:
    """0012 writes the entries of the datasets and jobs folded already (and 0011 has none)."""
    from tests.projection.helpers import ds, feed, run_event

    store = open_store(store_url)
    feed(store, [run_event("COMPLETE", 1, 1, job="load", inputs=[ds("raw")], outputs=[ds("clean")])])
    lineage = (
        "SELECT kind, name, body, changed_at FROM catalog_objects WHERE source = 'LINEAGE' ORDER BY 1, 2"
    )
    with store.engine.connect() as connection:
        kept = connection.exec_driver_sql(lineage).all()
    assert [name for _, name, _, _ in kept] == [
        "entryGroups/@db/entries/clean",
        "entryGroups/@db/entries/raw",
        "entryGroups/@ns/entries/load~job",
        "entryGroups/@db",
        "entryGroups/@ns",
    ]
    store.close()
    engine = make_engine(store_url)
    try:
        with _writing(engine) as connection:
            command.downgrade(migrate.alembic_config(connection), "0011")
            assert connection.exec_driver_sql(lineage).all() == []
        assert migrate.upgrade(engine) == ("0011", migrate.head_revision())
        with engine.connect() as connection:
            assert connection.exec_driver_sql(lineage).all() == kept
    finally:
        engine.dispose()


#: catalog_objects' storage parameters on PostgreSQL (migrations 0015 and 0016).
_OPTIONS = ["fillfactor=70", "autovacuum_vacuum_scale_factor=0.02"]


def _storage_options(connection: Connection) -> list[str] | None:
    return connection.execute(
        text("SELECT reloptions FROM pg_class WHERE oid = 'catalog_objects'::regclass")
    ).scalar()


@pytest.mark.postgres
def test_catalog_objects_leave_room_for_in_place_updates_on_postgresql(pg_url: str) -> None:
    """A new store fills catalog_objects' pages to 70 %: an entry's row, updated after a fold
    touching its tags, is then rewritten on its own page without touching an index."""
    store = open_store(pg_url)
    try:
        with store.engine.connect() as connection:
            assert _storage_options(connection) == _OPTIONS
            moved, pages = _fill_and_update(connection, "catalog_objects")
            assert len(pages) > 10
            assert moved == set()  # every row updated on its own page
            # the same table with full pages: the first row updated on each page moves (written to
            # another page, and to every index again); the next ones may find the room its old
            # version leaves, once PostgreSQL has pruned it
            connection.exec_driver_sql("CREATE TABLE full_pages (LIKE catalog_objects INCLUDING ALL)")
            moved, full = _fill_and_update(connection, "full_pages")
            assert len(moved) >= len(full) // 2 > 5
    finally:
        store.close()


def _fill_and_update(connection: Connection, table: str) -> tuple[set[str], set[int]]:
    """Insert 900 entries' rows of ~200 bytes, then update every third one, each update its own
    transaction (as folds do: one update of an entry per fold); the rows that moved to another page,
    and the pages they were on. The rows are deleted after.

    Every third row of a page fits in the room a 70 % fill leaves, so whether a row stays on its
    page does not depend on PostgreSQL pruning the versions the updates left behind: it prunes them
    only once no transaction, in any test, could still see them.
    """
    connection.exec_driver_sql(
        f"INSERT INTO {table} (kind, name, deleted, body, changed_at, created_at, stamp) "
        "SELECT 'entry', 'entryGroups/g/entries/e' || i, false, repeat('x', 100), 1, 1, 's' "
        "FROM generate_series(1, 900) i"
    )
    connection.commit()
    where = f"SELECT name, (ctid::text::point)[0]::int FROM {table}"
    before = dict(connection.exec_driver_sql(where).all())
    updated = [name for name in before if int(name.rsplit("e", 1)[1]) % 3 == 0]
    for name in updated:
        connection.execute(
            text(f"UPDATE {table} SET tag_templates = :t WHERE name = :n"), {"t": '["t0"]', "n": name}
        )
        connection.commit()
    after = dict(connection.exec_driver_sql(where).all())
    connection.exec_driver_sql(f"DELETE FROM {table}")
    connection.commit()
    return {name for name in updated if before[name] != after[name]}, set(before.values())


@pytest.mark.postgres
def test_the_migrations_set_the_same_storage_parameters(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        with _writing(engine) as connection:
            command.upgrade(migrate.alembic_config(connection), "0014")
            assert _storage_options(connection) is None
            command.upgrade(migrate.alembic_config(connection), "0015")
            assert _storage_options(connection) == ["fillfactor=70"]
            command.upgrade(migrate.alembic_config(connection), "head")
            assert _storage_options(connection) == _OPTIONS
            command.downgrade(migrate.alembic_config(connection), "0015")
            assert _storage_options(connection) == ["fillfactor=70"]
    finally:
        engine.dispose()
