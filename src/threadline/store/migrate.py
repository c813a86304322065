"""Schema versions: create a new database at head, refuse an old one until it is upgraded.

Migrations live in ``threadline/store/migrations`` (Alembic). A new, empty database is created from
:mod:`threadline.store.schema` and stamped at the newest revision; a database at an older revision
is refused with the command that upgrades it.

Opening a store only reads the version row, and a new database is stamped by writing that row; Alembic
itself (about 70 ms to import, and more to load its environment and every script) is loaded only to
upgrade a database, so commands, the tracking SDK and new stores start faster.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    inspect,
    text,
)

from threadline.errors import MigrationRequired, StoreError, StoreNotFound
from threadline.redact import redact_url
from threadline.store.schema import metadata

if TYPE_CHECKING:
    from alembic.config import Config

_MIGRATIONS = Path(__file__).with_name("migrations")
#: The newest revision in ``migrations/versions``; a test checks it against Alembic's own reading.
HEAD_REVISION = "0016"


#: Alembic's version table, as Alembic itself creates it (``MigrationContext``'s default): a new
#: database is stamped by writing it directly, without loading Alembic's environment and every
#: migration script (which took about a third of a new store's creation).
_VERSION_TABLE = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


def _create_at_head(connection: Connection) -> None:
    """Create every table of a new, empty database and stamp it at head."""
    metadata.create_all(connection)
    _VERSION_TABLE.create(connection)
    connection.execute(_VERSION_TABLE.insert().values(version_num=HEAD_REVISION))


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration pointing at threadline's migrations (and a live connection)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest schema revision this version of threadline knows."""
    return HEAD_REVISION


def script_head_revision() -> str:
    """The newest revision as Alembic reads it from the migration scripts (what ``HEAD_REVISION``
    must equal)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the database is stamped with, or ``None`` for a database never set up."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def ensure_schema(engine: Engine, url: str, *, create: bool = True) -> None:
    """Create a new database at head (only with ``create``), accept one at head, and refuse anything
    else with advice. ``url`` is the store as shown in messages."""
    head = head_revision()
    url = redact_url(url)  # for the messages below: never print a password
    with engine.connect() as connection:
        connection.info["write"] = create
        with connection.begin():
            current = current_revision(connection)
            if current == head:
                return
            if current is None and not create:
                msg = (
                    f"no threadline store in {url} (the database has no threadline tables); create one "
                    f"with `threadline db upgrade --store {url}` or point --store at an existing one"
                )
                raise StoreNotFound(msg)
            if current is None:
                existing = set(inspect(connection).get_table_names())
                ours = {table.name for table in metadata.sorted_tables}
                if existing & ours:
                    msg = (
                        f"{url} has threadline tables but no schema version; it was not created by "
                        "threadline or was damaged. Point --store at another database."
                    )
                    raise StoreError(msg)
                _create_at_head(connection)
                return
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    known = {rev.revision for rev in script.walk_revisions()}
    if current not in known:
        msg = (
            f"{url} is at schema revision {current}, newer than this threadline (head {head}); "
            "upgrade threadline to use it"
        )
        raise MigrationRequired(msg)
    msg = (
        f"{url} is at schema revision {current} and this threadline needs {head}: "
        f"run `threadline db upgrade --store {url}` (back the database up first)"
    )
    raise MigrationRequired(msg)


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Upgrade the database to head; return the revisions before and after."""
    from alembic import command

    with engine.connect() as connection:
        connection.info["write"] = True
        with connection.begin():
            before = current_revision(connection)
            if before is None and not inspect(connection).get_table_names():
                _create_at_head(connection)
            else:
                command.upgrade(alembic_config(connection), "head")
            after = current_revision(connection)
    assert after is not None
    return before, after
