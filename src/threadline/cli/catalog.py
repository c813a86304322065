"""``threadline catalog``: the Data Catalog from the command line, on a store (``--store``) or a
threadline server (``--server REMOTE|URL``).

One command group per resource (``group``, ``entry``, ``template``, ``tag``), ``search``, and catalog
as code: ``apply FILE [--dry-run]`` and ``export``. On a store, changes are events in its log like the
server's, recorded as made by the user running the command; on a server, they go through its REST
API with the remote's key (:mod:`threadline.cli.catalog_access` says where it comes from).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape
from rich.table import Table

from threadline.catalog import files
from threadline.catalog.changes import entry_name, group_name, template_id_of, template_name
from threadline.cli.catalog_access import CatalogAccess, ServerCatalog, StoreCatalog
from threadline.cli.common import StoreOption, connect, err, expected_errors, fail, out, plural
from threadline.errors import BadRequest
from threadline.openlineage.catalog_changes import ENTRY, GROUP, TAG, TEMPLATE
from threadline.openlineage.timestamps import parse_time
from threadline.sync import remotes
from threadline.vocabulary import people_time

T = TypeVar("T")

app = typer.Typer(
    help="The Data Catalog: entry groups, entries, tag templates, tags, search; catalog files.",
    no_args_is_help=True,
)
group_app = typer.Typer(help="Entry groups.", no_args_is_help=True)
entry_app = typer.Typer(help="Entries of a group.", no_args_is_help=True)
template_app = typer.Typer(help="Tag templates (typed fields).", no_args_is_help=True)
tag_app = typer.Typer(help="Tags on entries and columns.", no_args_is_help=True)
app.add_typer(group_app, name="group")
app.add_typer(entry_app, name="entry")
app.add_typer(template_app, name="template")
app.add_typer(tag_app, name="tag")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (as the REST API answers).")]
AsOfOption = Annotated[
    str | None, typer.Option("--as-of", metavar="TIME", help="Read the catalog as it was then.")
]
LabelOption = Annotated[
    list[str] | None, typer.Option("--label", metavar="KEY=VALUE", help="A label (repeat).")
]


ServerOption = Annotated[
    str | None,
    typer.Option(
        "--server",
        metavar="REMOTE|URL",
        help="A threadline server instead of a store: a remote (threadline remote add) or "
        "http(s)://HOST:PORT; its API key comes from where a remote's does (THREADLINE_API_KEY, …).",
        show_default=False,
    ),
]


@contextmanager
def _catalog(store: str | None, server: str | None, *, create: bool = False) -> Iterator[CatalogAccess]:
    """The catalog of the store or of the server, closed after; expected errors end the command."""
    with expected_errors():
        if server is not None and store is not None:
            fail("give --store or --server, not both")
        opened: CatalogAccess = (
            ServerCatalog(remotes.server_remote(server))
            if server is not None
            else StoreCatalog(connect(store, create=create))
        )
        try:
            yield opened
        finally:
            opened.close()


def _read(store: str | None, server: str | None, work: Callable[[CatalogAccess], T]) -> T:
    with _catalog(store, server) as catalog:
        return work(catalog)


def _change(store: str | None, server: str | None, work: Callable[[CatalogAccess], T]) -> T:
    with _catalog(store, server, create=True) as catalog:
        result = work(catalog)
        if isinstance(catalog, StoreCatalog) and not catalog.changed:
            err.print("nothing to change: it is already so")
        return result


def _print_json(doc: Any) -> None:
    out.print_json(json.dumps(doc, ensure_ascii=False))


def _as_of(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return parse_time(text)
    except ValueError:
        fail(f"--as-of must be an ISO time such as 2026-01-31T12:00:00Z, not {text!r}")


def _labels(values: list[str] | None) -> dict[str, str] | None:
    if not values:
        return None
    labels = {}
    for value in values:
        key, sep, label = value.partition("=")
        if not sep or not key:
            fail(f"--label takes KEY=VALUE, not {value!r}")
        labels[key] = label
    return labels


def _get(
    store: str | None, server: str | None, kind: str, name: str, as_of: int | None, what: str
) -> dict[str, Any]:
    doc = _read(store, server, lambda c: c.get(kind, name, as_of) or c.missing(kind, name, what, as_of))
    if isinstance(doc, str):
        fail(doc)
    return doc


def _table(*columns: str) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _history(
    store: str | None, server: str | None, kind: str, name: str, what: str, *, with_tags: bool = False
) -> None:
    changes = _read(store, server, lambda c: c.history(kind, name, with_tags=with_tags))
    if not changes:
        fail(f"{what} {name} has never existed")
    table = _table("time", "action", *(["what"] if with_tags else []), "by")
    for change in changes:
        # with its tags: "entry", or the tag's id (TEMPLATE, or TEMPLATE@COLUMN for a column's)
        shown = "entry" if change.get("kind") != TAG else str(change.get("name", "")).rsplit("/tags/", 1)[-1]
        what_cell = [escape(shown)] if with_tags else []
        table.add_row(change["time"], change["action"], *what_cell, escape(change["by"] or ""))
    out.print(table)


def _set(
    store: str | None, server: str | None, kind: str, name: str, body: Callable[[dict[str, Any] | None], Any]
) -> dict[str, Any]:
    """Create ``name`` or update the fields given: ``body(current)`` says what to send."""

    def work(catalog: CatalogAccess) -> dict[str, Any]:
        current = catalog.get(kind, name)
        return catalog.put(kind, name, body(current), create=current is None)

    return _change(store, server, work)


def _updated(doc: dict[str, Any]) -> str:
    changed = (doc.get("dataCatalogTimestamps") or {}).get("updateTime")
    return people_time(parse_time(changed)) if changed else ""


def _fields(**given: Any) -> dict[str, Any]:
    return {k: v for k, v in given.items() if v is not None}


# ---- groups -------------------------------------------------------------------------------------


@group_app.command("list")
def group_list(
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
    store: StoreOption = None,
    server: ServerOption = None,
) -> None:
    """List entry groups."""
    when = _as_of(as_of)
    docs = _read(store, server, lambda c: c.list_all(GROUP, as_of=when))
    if as_json:
        _print_json({"entryGroups": docs})
        return
    if not docs:
        err.print("no entry groups")
        return
    table = _table("id", "display name", "description", "updated")
    for d in docs:
        table.add_row(
            escape(d["name"].rsplit("/", 1)[-1]),
            escape(d.get("displayName", "")),
            escape(d.get("description", "")),
            _updated(d),
        )
    out.print(table)


@group_app.command("show")
def group_show(
    group_id: str, as_of: AsOfOption = None, store: StoreOption = None, server: ServerOption = None
) -> None:
    """Show an entry group (JSON)."""
    _print_json(_get(store, server, GROUP, group_name(group_id), _as_of(as_of), "entry group"))


@group_app.command("set")
def group_set(
    group_id: str,
    display_name: Annotated[str | None, typer.Option("--display-name")] = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    label: LabelOption = None,
    store: StoreOption = None,
    server: ServerOption = None,
) -> None:
    """Create an entry group, or update the fields given."""
    body = _fields(displayName=display_name, description=description, labels=_labels(label))
    _print_json(_set(store, server, GROUP, group_name(group_id), lambda _: body))


@group_app.command("delete")
def group_delete(
    group_id: str,
    force: Annotated[bool, typer.Option("--force", help="Delete its entries and their tags too.")] = False,
    store: StoreOption = None,
    server: ServerOption = None,
) -> None:
    """Delete an entry group (one with entries needs --force)."""
    _change(store, server, lambda c: c.delete(GROUP, group_name(group_id), force=force))
    err.print(f"deleted entry group {group_id}")


@group_app.command("history")
def group_history(group_id: str, store: StoreOption = None, server: ServerOption = None) -> None:
    """Every change of an entry group."""
    _history(store, server, GROUP, group_name(group_id), "entry group")


# ---- entries ------------------------------------------------------------------------------------


@entry_app.command("list")
def entry_list(
    group_id: str,
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
    store: StoreOption = None,
    server: ServerOption = None,
) -> None:
    """List the entries of a group."""
    when = _as_of(as_of)

    def work(catalog: CatalogAccess) -> list[dict[str, Any]]:
        if catalog.get(GROUP, group_name(group_id), when) is None:
            fail(catalog.missing(GROUP, group_name(group_id), "entry group", when))
        return catalog.list_all(ENTRY, group_name(group_id), when)

    docs = _read(store, server, work)
    if as_json:
        _print_json({"entries": docs})
        return
    if not docs:
        err.print(f"no entries in {group_id}")
        return
    table = _table("id", "type", "system", "display name", "linked resource")
    for d in docs:
        table.add_row(
            escape(d["name"].rsplit("/", 1)[-1]),
            escape(d.get("type") or d.get("userSpecifiedType") or ""),
            escape(d.get("userSpecifiedSystem") or ""),
            escape(d.get("displayName", "")),
            escape(d.get("linkedResource") or ""),
        )
    out.print(table)


@entry_app.command("show")
def entry_show(
    group_id: str,
    entry_id: str,
    as_of: AsOfOption = None,
    store: StoreOption = None,
    server: ServerOption = None,
) -> None:
    """Show an entry (JSON), with the datasets its file patterns name and its linked lineage node."""
    _print_json(_get(store, server, ENTRY, entry_name(group_id, entry_id), _as_of(as_of), "entry"))


@entry_app.command("set")
def entry_set(
    group_id: str,
    entry_id: str,
    entry_type: Annotated[
        str | None, typer.Option("--type", help="TABLE, FILESET, DATA_STREAM, MODEL, …")
    ] = None,
    user_type: Annotated[str | None, typer.Option("--user-type", help="Your own type instead.")] = None,
    system: Annotated[
        str | None, typer.Option("--system", help="The system it lives in (userSpecifiedSystem).")
    ] = None,
    display_name: Annotated[str | None, typer.Option("--display-name")] = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    label: LabelOption = None,
    file_pattern: Annotated[
        list[str] | None, typer.Option("--file-pattern", help="A file pattern such as gs://b/dir/* (repeat).")
    ] = None,
    linked_resource: Annotated[
        str | None, typer.Option("--linked-resource", help="dataset:NAMESPACE:NAME or job:NAMESPACE:NAME.")
    ] = None,
    schema: Annotated[
        str | None, typer.Option("--schema", metavar="JSON", help='{"columns": [{"column": …, "type": …}]}')
    ] = None,
    store: StoreOption = None,
    server: ServerOption = None,
) -> None:
    """Create an entry, or update the fields given."""
    body = _fields(
        type=entry_type,
        userSpecifiedType=user_type,
        userSpecifiedSystem=system,
        displayName=display_name,
        description=description,
        labels=_labels(label),
        linkedResource=linked_resource,
        gcsFilesetSpec={"filePatterns": file_pattern} if file_pattern else None,
    )
    if schema is not None:
        try:
            body["schema"] = json.loads(schema)
        except json.JSONDecodeError as exc:
            fail(f"--schema is not JSON: {exc}")
    _print_json(_set(store, server, ENTRY, entry_name(group_id, entry_id), lambda _: body))


@entry_app.command("delete")
def entry_delete(
    group_id: str, entry_id: str, store: StoreOption = None, server: ServerOption = None
) -> None:
    """Delete an entry and its tags."""
    _change(store, server, lambda c: c.delete(ENTRY, entry_name(group_id, entry_id)))
    err.print(f"deleted entry {group_id}/{entry_id}")


@entry_app.command("history")
def entry_history(
    group_id: str,
    entry_id: str,
    tags: Annotated[
        bool, typer.Option("--tags", help="With the changes of its tags (on it or a column), in order.")
    ] = False,
    store: StoreOption = None,
    server: ServerOption = None,
) -> None:
    """Every change of an entry (--tags: and of its tags)."""
    _history(store, server, ENTRY, entry_name(group_id, entry_id), "entry", with_tags=tags)


@app.command("lookup")
def lookup(linked_resource: str, store: StoreOption = None, server: ServerOption = None) -> None:
    """The entry of a lineage dataset or job (dataset:NAMESPACE:NAME or job:NAMESPACE:NAME)."""
    _print_json(_read(store, server, lambda c: c.lookup(linked_resource)))


# ---- templates ----------------------------------------------------------------------------------


def _template_field(spec: str) -> tuple[str, dict[str, Any]]:
    """``id:TYPE[:required]`` with TYPE one of the primitive types or ``ENUM(A|B|C)``."""
    parts = spec.split(":")
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "required"):
        fail(
            "--field takes ID:TYPE or ID:TYPE:required (TYPE: STRING, DOUBLE, BOOL, TIMESTAMP, "
            f"RICHTEXT, ENUM(A|B)), not {spec!r}"
        )
    field_id, kind = parts[0], parts[1]
    field: dict[str, Any] = {}
    if kind.upper().startswith("ENUM(") and kind.endswith(")"):
        values = [v for v in kind[5:-1].split("|") if v]
        field["type"] = {"enumType": {"allowedValues": [{"displayName": v} for v in values]}}
    else:
        field["type"] = {"primitiveType": kind.upper()}
    if len(parts) == 3:
        field["isRequired"] = True
    return field_id, field


@template_app.command("list")
def template_list(
    as_json: JsonOption = False, store: StoreOption = None, server: ServerOption = None
) -> None:
    """List tag templates and their fields."""
    docs = _read(store, server, lambda c: c.list_all(TEMPLATE))
    if as_json:
        _print_json({"tagTemplates": docs})
        return
    if not docs:
        err.print("no tag templates")
        return
    table = _table("id", "display name", "fields")
    for d in docs:
        fields = ", ".join(
            f"{f}:{(v.get('type', {}).get('primitiveType') or 'ENUM')}{'*' if v.get('isRequired') else ''}"
            for f, v in d.get("fields", {}).items()
        )
        table.add_row(escape(d["name"].rsplit("/", 1)[-1]), escape(d.get("displayName", "")), escape(fields))
    out.print(table)


@template_app.command("show")
def template_show(
    template_id: str, as_of: AsOfOption = None, store: StoreOption = None, server: ServerOption = None
) -> None:
    """Show a tag template (JSON)."""
    _print_json(_get(store, server, TEMPLATE, template_name(template_id), _as_of(as_of), "tag template"))


@template_app.command("set")
def template_set(
    template_id: str,
    field: Annotated[
        list[str] | None,
        typer.Option(
            "--field",
            metavar="ID:TYPE[:required]",
            help="A field (repeat): usage:STRING, level:ENUM(GOLD|RAW).",
        ),
    ] = None,
    display_name: Annotated[str | None, typer.Option("--display-name")] = None,
    store: StoreOption = None,
    server: ServerOption = None,
) -> None:
    """Create a tag template, or add fields to one (a field's type never changes)."""
    specs = [_template_field(spec) for spec in field or []]

    def body(current: dict[str, Any] | None) -> dict[str, Any]:
        fields = dict((current or {}).get("fields", {}))
        for field_id, value in specs:
            fields[field_id] = {**fields.get(field_id, {}), **value}
        return _fields(displayName=display_name, fields=fields)

    _print_json(_set(store, server, TEMPLATE, template_name(template_id), body))


@template_app.command("delete")
def template_delete(
    template_id: str,
    force: Annotated[bool, typer.Option("--force", help="Delete the tags that use it too.")] = False,
    store: StoreOption = None,
    server: ServerOption = None,
) -> None:
    """Delete a tag template (one that tags use needs --force)."""
    _change(store, server, lambda c: c.delete(TEMPLATE, template_name(template_id), force=force))
    err.print(f"deleted tag template {template_id}")


# ---- tags ---------------------------------------------------------------------------------------


@tag_app.command("list")
def tag_list(
    group_id: str,
    entry_id: str,
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
    store: StoreOption = None,
    server: ServerOption = None,
) -> None:
    """List the tags of an entry and its columns."""
    parent = entry_name(group_id, entry_id)
    when = _as_of(as_of)

    def work(catalog: CatalogAccess) -> list[dict[str, Any]]:
        if catalog.get(ENTRY, parent, when) is None:
            fail(catalog.missing(ENTRY, parent, "entry", when))
        return catalog.list_all(TAG, parent, when)

    docs = _read(store, server, work)
    if as_json:
        _print_json({"tags": docs})
        return
    if not docs:
        err.print(f"no tags on {group_id}/{entry_id}")
        return
    table = _table("template", "column", "field", "value")
    for d in docs:
        for field_id, value in d.get("fields", {}).items():
            shown = files._plain_value(value)
            table.add_row(
                escape(d.get("template", "").rsplit("/", 1)[-1]),
                escape(d.get("column", "")),
                escape(field_id),
                escape(str(shown)),
            )
    out.print(table)


@tag_app.command("set")
def tag_set(
    group_id: str,
    entry_id: str,
    template: str,
    values: Annotated[
        list[str], typer.Argument(metavar="FIELD=VALUE...", help="Field values, typed by the template.")
    ],
    column: Annotated[
        str, typer.Option("--column", help="Tag this column (dotted path for nested ones).")
    ] = "",
    store: StoreOption = None,
    server: ServerOption = None,
) -> None:
    """Tag an entry (or a column) with a template's values; tagging again updates the tag."""
    fields: dict[str, Any] = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key:
            fail(f"values are FIELD=VALUE, not {value!r}")
        fields[key] = text

    def work(catalog: CatalogAccess) -> dict[str, Any]:
        found = catalog.get(TEMPLATE, template_name(template_id_of(template)))
        if found is None:
            raise BadRequest(
                catalog.missing(TEMPLATE, template_name(template_id_of(template)), "tag template")
            )
        kinds = {
            f: (v.get("type", {}).get("primitiveType") or "ENUM") for f, v in found.get("fields", {}).items()
        }
        typed = {
            key: files._typed(value, kinds.get(key, "STRING"), f"tag.fields.{key}")
            for key, value in _coerce(kinds, fields).items()
        }
        body = {"template": template_name(template_id_of(template)), "column": column, "fields": typed}
        return catalog.put_tag(entry_name(group_id, entry_id), body)

    _print_json(_change(store, server, work))


def _coerce(kinds: dict[str, str], fields: dict[str, str]) -> dict[str, Any]:
    """Command-line text as the template's types (numbers and booleans are text on a command line)."""
    coerced: dict[str, Any] = {}
    for key, text in fields.items():
        kind = kinds.get(key)
        if kind == "DOUBLE":
            try:
                coerced[key] = float(text)
            except ValueError:
                msg = f"fields.{key} is a DOUBLE field: {text!r} is not a number"
                raise BadRequest(msg) from None
        elif kind == "BOOL":
            if text.lower() not in ("true", "false"):
                msg = f"fields.{key} is a BOOL field: give true or false, not {text!r}"
                raise BadRequest(msg)
            coerced[key] = text.lower() == "true"
        else:
            coerced[key] = text
    return coerced


@tag_app.command("delete")
def tag_delete(
    group_id: str, entry_id: str, tag_id: str, store: StoreOption = None, server: ServerOption = None
) -> None:
    """Delete a tag (its id is the template's, with @COLUMN for a column's tag)."""
    _change(store, server, lambda c: c.delete(TAG, f"{entry_name(group_id, entry_id)}/tags/{tag_id}"))
    err.print(f"deleted tag {tag_id} of {group_id}/{entry_id}")


# ---- search, apply, export ----------------------------------------------------------------------


@app.command("search")
def search(
    query: str,
    page_size: Annotated[int, typer.Option("--page-size", min=1, max=1000)] = 20,
    order_by: Annotated[
        str, typer.Option("--order-by", help="relevance, last_modified_timestamp [asc|desc], default")
    ] = "relevance",
    as_json: JsonOption = False,
    store: StoreOption = None,
    server: ServerOption = None,
) -> None:
    """Search entries with Data Catalog's grammar, e.g. `tag:lineage_notes.usage:training`."""
    answer = _read(store, server, lambda c: c.search(query, page_size, order_by))
    if as_json:
        _print_json(answer)
        return
    if not answer["results"]:
        err.print("no entries match")
        return
    table = _table("entry", "type", "display name", "description")
    for r in answer["results"]:
        table.add_row(
            escape(r["relativeResourceName"]),
            escape(r["searchResultSubtype"].removeprefix("entry.").upper()),
            escape(r.get("displayName", "")),
            escape(r.get("description", "")),
        )
    out.print(table)
    err.print(
        f"{len(answer['results'])} of {plural(answer['totalSize'], 'entry')}".replace("entrys", "entries")
    )


@app.command("apply")
def apply(
    path: Annotated[Path, typer.Argument(metavar="FILE", help="A catalog file (YAML or JSON).")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would change; change nothing.")
    ] = False,
    store: StoreOption = None,
    server: ServerOption = None,
) -> None:
    """Create or update the templates, entry groups, entries and tags of a catalog file. Applying the
    same file again changes nothing."""
    with expected_errors():
        doc = files.load(path)
    with _catalog(store, server, create=not dry_run) as catalog:
        diff = catalog.apply(doc, dry_run=dry_run)
    for line in diff:
        out.print(escape(line))
    if dry_run:
        err.print(f"dry run: {plural(len(diff), 'change')} not applied")
    else:
        err.print(
            f"applied {plural(len(diff), 'change')}"
            if diff
            else "nothing to change: the catalog is as the file says"
        )


@app.command("export")
def export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="FILE", help="Write here, not to stdout.")
    ] = None,
    store: StoreOption = None,
    server: ServerOption = None,
) -> None:
    """Write the whole catalog as a catalog file (what `apply` reads)."""
    text = files.dump(_read(store, server, lambda c: c.export()))
    if output is None:
        typer.echo(text, nl=False)
        return
    with expected_errors():
        output.write_text(text, encoding="utf-8")
    err.print(f"wrote {output}")
