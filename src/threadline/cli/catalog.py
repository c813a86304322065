"""``threadline catalog``: the Data Catalog from the command line, on the store (``--store``).

One command group per resource (``group``, ``entry``, ``template``, ``tag``), ``search``, and catalog
as code: ``apply FILE [--dry-run]`` and ``export``. Changes are events in the store's log like the
server's, recorded as made by the user running the command.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape
from rich.table import Table

from threadline.catalog import files, reads
from threadline.catalog.changes import Planner, entry_name, group_name, template_name
from threadline.catalog.local import commit, plan
from threadline.cli.common import StoreOption, connect, err, expected_errors, fail, out, plural
from threadline.errors import BadRequest
from threadline.openlineage.catalog_changes import ENTRY, GROUP, TAG, TEMPLATE
from threadline.openlineage.timestamps import parse_time
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


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def _read(store: str | None, work: Callable[[Any], T], *, create: bool = False) -> T:
    with expected_errors():
        opened = connect(store, create=create)
        try:
            with opened.read() as connection:
                return work(connection)
        finally:
            opened.close()


def _change(store: str | None, work: Callable[[Planner], T]) -> T:
    with expected_errors():
        opened = connect(store, create=True)
        try:
            result, changes = plan(opened, work, by=_user())
            commit(opened, changes)
            if not changes:
                err.print("nothing to change: it is already so")
            return result
        finally:
            opened.close()


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


def _get(store: str | None, kind: str, name: str, as_of: int | None, what: str) -> dict[str, Any]:
    def work(connection: Any) -> dict[str, Any]:
        record = reads.get(connection, kind, name, as_of=as_of)
        if record is None:
            return {}
        from threadline.catalog import links  # lineage's modules: not loaded by `catalog apply`

        return links.decorate(connection, record) if kind == ENTRY else record.to_json()

    doc = _read(store, work)
    if not doc:
        fail(f"{what} {name} does not exist" + (" at that time" if as_of is not None else ""))
    return doc


def _table(*columns: str) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _history(store: str | None, kind: str, name: str, what: str) -> None:
    changes = _read(store, lambda c: reads.history(c, kind, name))
    if not changes:
        fail(f"{what} {name} has never existed")
    table = _table("time", "action", "by")
    for change in changes:
        table.add_row(change["time"], change["action"], escape(change["by"] or ""))
    out.print(table)


def _set_create(store: str | None, kind: str, name: str) -> bool:
    """Whether ``set`` creates (the resource is missing) or updates."""
    return _read(store, lambda c: reads.get(c, kind, name), create=True) is None


def _fields(**given: Any) -> dict[str, Any]:
    return {k: v for k, v in given.items() if v is not None}


# ---- groups -------------------------------------------------------------------------------------


@group_app.command("list")
def group_list(as_of: AsOfOption = None, as_json: JsonOption = False, store: StoreOption = None) -> None:
    """List entry groups."""
    records, _ = _read(store, lambda c: reads.list_records(c, GROUP, as_of=_as_of(as_of)))
    if as_json:
        _print_json({"entryGroups": [r.to_json() for r in records]})
        return
    if not records:
        err.print("no entry groups")
        return
    table = _table("id", "display name", "description", "updated")
    for r in records:
        table.add_row(
            escape(r.name.rsplit("/", 1)[-1]),
            escape(r.body.get("displayName", "")),
            escape(r.body.get("description", "")),
            people_time(r.changed_at),
        )
    out.print(table)


@group_app.command("show")
def group_show(group_id: str, as_of: AsOfOption = None, store: StoreOption = None) -> None:
    """Show an entry group (JSON)."""
    _print_json(_get(store, GROUP, group_name(group_id), _as_of(as_of), "entry group"))


@group_app.command("set")
def group_set(
    group_id: str,
    display_name: Annotated[str | None, typer.Option("--display-name")] = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    label: LabelOption = None,
    store: StoreOption = None,
) -> None:
    """Create an entry group, or update the fields given."""
    body = _fields(displayName=display_name, description=description, labels=_labels(label))
    create = _set_create(store, GROUP, group_name(group_id))
    _print_json(_change(store, lambda p: p.put_group(group_id, body, create=create)))


@group_app.command("delete")
def group_delete(
    group_id: str,
    force: Annotated[bool, typer.Option("--force", help="Delete its entries and their tags too.")] = False,
    store: StoreOption = None,
) -> None:
    """Delete an entry group (one with entries needs --force)."""
    _change(store, lambda p: p.delete_group(group_id, force=force))
    err.print(f"deleted entry group {group_id}")


@group_app.command("history")
def group_history(group_id: str, store: StoreOption = None) -> None:
    """Every change of an entry group."""
    _history(store, GROUP, group_name(group_id), "entry group")


# ---- entries ------------------------------------------------------------------------------------


@entry_app.command("list")
def entry_list(
    group_id: str, as_of: AsOfOption = None, as_json: JsonOption = False, store: StoreOption = None
) -> None:
    """List the entries of a group."""
    records, _ = _read(
        store, lambda c: reads.list_records(c, ENTRY, parent=group_name(group_id), as_of=_as_of(as_of))
    )
    if as_json:
        _print_json({"entries": [r.to_json() for r in records]})
        return
    if not records:
        err.print(f"no entries in {group_id}")
        return
    table = _table("id", "type", "system", "display name", "linked resource")
    for r in records:
        table.add_row(
            escape(r.name.rsplit("/", 1)[-1]),
            escape(r.body.get("type") or r.body.get("userSpecifiedType") or ""),
            escape(r.body.get("userSpecifiedSystem") or ""),
            escape(r.body.get("displayName", "")),
            escape(r.body.get("linkedResource") or ""),
        )
    out.print(table)


@entry_app.command("show")
def entry_show(group_id: str, entry_id: str, as_of: AsOfOption = None, store: StoreOption = None) -> None:
    """Show an entry (JSON), with the datasets its file patterns name and its linked lineage node."""
    _print_json(_get(store, ENTRY, entry_name(group_id, entry_id), _as_of(as_of), "entry"))


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
    create = _set_create(store, ENTRY, entry_name(group_id, entry_id))
    _print_json(_change(store, lambda p: p.put_entry(group_id, entry_id, body, create=create)))


@entry_app.command("delete")
def entry_delete(group_id: str, entry_id: str, store: StoreOption = None) -> None:
    """Delete an entry and its tags."""
    _change(store, lambda p: p.delete_entry(group_id, entry_id))
    err.print(f"deleted entry {group_id}/{entry_id}")


@entry_app.command("history")
def entry_history(group_id: str, entry_id: str, store: StoreOption = None) -> None:
    """Every change of an entry."""
    _history(store, ENTRY, entry_name(group_id, entry_id), "entry")


@app.command("lookup")
def lookup(linked_resource: str, store: StoreOption = None) -> None:
    """The entry of a lineage dataset or job (dataset:NAMESPACE:NAME or job:NAMESPACE:NAME)."""
    from threadline.catalog import links

    _print_json(_read(store, lambda c: links.lookup(c, linked_resource)))


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
def template_list(as_json: JsonOption = False, store: StoreOption = None) -> None:
    """List tag templates and their fields."""
    records, _ = _read(store, lambda c: reads.list_records(c, TEMPLATE))
    if as_json:
        _print_json({"tagTemplates": [r.to_json() for r in records]})
        return
    if not records:
        err.print("no tag templates")
        return
    table = _table("id", "display name", "fields")
    for r in records:
        fields = ", ".join(
            f"{f}:{(v.get('type', {}).get('primitiveType') or 'ENUM')}{'*' if v.get('isRequired') else ''}"
            for f, v in r.body.get("fields", {}).items()
        )
        table.add_row(
            escape(r.name.rsplit("/", 1)[-1]), escape(r.body.get("displayName", "")), escape(fields)
        )
    out.print(table)


@template_app.command("show")
def template_show(template_id: str, as_of: AsOfOption = None, store: StoreOption = None) -> None:
    """Show a tag template (JSON)."""
    _print_json(_get(store, TEMPLATE, template_name(template_id), _as_of(as_of), "tag template"))


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
) -> None:
    """Create a tag template, or add fields to one (a field's type never changes)."""
    name = template_name(template_id)
    current = _read(store, lambda c: reads.get(c, TEMPLATE, name), create=True)
    fields = dict(current.body.get("fields", {})) if current is not None else {}
    for spec in field or []:
        field_id, value = _template_field(spec)
        fields[field_id] = {**fields.get(field_id, {}), **value}
    body = _fields(displayName=display_name, fields=fields)
    _print_json(_change(store, lambda p: p.put_template(template_id, body, create=current is None)))


@template_app.command("delete")
def template_delete(
    template_id: str,
    force: Annotated[bool, typer.Option("--force", help="Delete the tags that use it too.")] = False,
    store: StoreOption = None,
) -> None:
    """Delete a tag template (one that tags use needs --force)."""
    _change(store, lambda p: p.delete_template(template_id, force=force))
    err.print(f"deleted tag template {template_id}")


# ---- tags ---------------------------------------------------------------------------------------


@tag_app.command("list")
def tag_list(
    group_id: str,
    entry_id: str,
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
    store: StoreOption = None,
) -> None:
    """List the tags of an entry and its columns."""
    parent = entry_name(group_id, entry_id)
    records, _ = _read(store, lambda c: reads.list_records(c, TAG, parent=parent, as_of=_as_of(as_of)))
    if as_json:
        _print_json({"tags": [r.to_json() for r in records]})
        return
    if not records:
        err.print(f"no tags on {group_id}/{entry_id}")
        return
    table = _table("template", "column", "field", "value")
    for r in records:
        for field_id, value in r.body.get("fields", {}).items():
            shown = files._plain_value(value)
            table.add_row(
                escape(r.body.get("template", "").rsplit("/", 1)[-1]),
                escape(r.body.get("column", "")),
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
) -> None:
    """Tag an entry (or a column) with a template's values; tagging again updates the tag."""
    fields: dict[str, Any] = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key:
            fail(f"values are FIELD=VALUE, not {value!r}")
        fields[key] = text

    def work(planner: Planner) -> dict[str, Any]:
        body = files.tag_body(
            planner,
            {"template": template, "column": column, "fields": _coerce(planner, template, fields)},
            "tag",
        )
        return planner.put_tag(group_id, entry_id, body)

    _print_json(_change(store, work))


def _coerce(planner: Planner, template: str, fields: dict[str, str]) -> dict[str, Any]:
    """Command-line text as the template's types (numbers and booleans are text on a command line)."""
    found = planner.current(TEMPLATE, template_name(template.rsplit("/", 1)[-1]))
    if found is None:
        msg = f"tag template {template} does not exist"
        raise BadRequest(msg)
    kinds = {
        f: (v.get("type", {}).get("primitiveType") or "ENUM") for f, v in found.get("fields", {}).items()
    }
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
def tag_delete(group_id: str, entry_id: str, tag_id: str, store: StoreOption = None) -> None:
    """Delete a tag (its id is the template's, with @COLUMN for a column's tag)."""
    _change(store, lambda p: p.delete_tag(group_id, entry_id, tag_id))
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
) -> None:
    """Search entries with Data Catalog's grammar, e.g. `tag:lineage_notes.usage:training`."""
    from threadline.catalog.search import search as run_search

    answer = _read(store, lambda c: run_search(c, query, page_size=page_size, order_by=order_by))
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
) -> None:
    """Create or update the templates, entry groups, entries and tags of a catalog file. Applying the
    same file again changes nothing."""
    with expected_errors():
        doc = files.load(path)
        opened = connect(store, create=not dry_run)
        try:
            _, changes = plan(opened, lambda p: files.plan_file(p, doc), by=_user())
            with opened.read() as connection:
                diff = files.differences(connection, changes)
            for line in diff:
                out.print(escape(line.line()))
            if dry_run:
                err.print(f"dry run: {plural(len(diff), 'change')} not applied")
                return
            commit(opened, changes)
            err.print(
                f"applied {plural(len(diff), 'change')}"
                if diff
                else "nothing to change: the catalog is as the file says"
            )
        finally:
            opened.close()


@app.command("export")
def export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="FILE", help="Write here, not to stdout.")
    ] = None,
    store: StoreOption = None,
) -> None:
    """Write the whole catalog as a catalog file (what `apply` reads)."""
    text = files.dump(_read(store, files.export))
    if output is None:
        typer.echo(text, nl=False)
        return
    with expected_errors():
        output.write_text(text, encoding="utf-8")
    err.print(f"wrote {output}")
