"""Catalog as code: a YAML (or JSON) file of tag templates, entry groups, entries and their tags,
applied declaratively and exported in the same format.

::

    tagTemplates:
      - id: lineage_notes
        displayName: Lineage notes
        fields:
          usage: {type: STRING, displayName: Usage, required: true}
          level: {type: {enum: [GOLD, RAW]}}
    entryGroups:
      - id: machine-learning-pipelines
        displayName: Entry Group for Machine Learning Pipelines
        entries:
          - id: ml-pipeline
            type: DATA_STREAM
            gcsFilesetSpec: {filePatterns: ["gs://your-bucket/path/to/output/data/*"]}
            tags:
              - template: lineage_notes
                column: ""            # or a column's dotted path
                fields: {usage: Model training}

Lineage's own entries (every dataset and job, in ``@NAMESPACE``) take tags from the file by the node
they stand for; lineage writes the rest of them::

    lineage:
      - linkedResource: dataset:postgres://db:5432:public.users
        tags:
          - {template: pii, column: email, fields: {kind: EMAIL}}

Everything else an entry, group or template holds is written as in the REST API (Data Catalog v1
field names). Tag values may be plain (a string, a number, true/false, an enum's name, a time),
typed by their template's field, or in the API's typed form (``{stringValue: …}``). A template field's
``type`` is a primitive type's name, ``{enum: [..]}``, or the API's form; ``required`` is
``isRequired``.

Applying creates what is missing and updates what differs, and nothing else: a resource the file does
not mention is left as it is, and applying the same file twice changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from threadline.catalog import implicit, reads
from threadline.catalog.changes import Planner, entry_name, group_name, template_id_of, template_name
from threadline.catalog.links import implicit_entry
from threadline.catalog.yaml_reading import load_yaml
from threadline.errors import BadRequest, ThreadlineError
from threadline.openlineage.catalog_changes import DELETE, ENTRY, GROUP, TAG, TEMPLATE, CatalogChange
from threadline.projection.catalog import parse_timestamp

#: libyaml's safe dumper when PyYAML was built with it (ten times faster), else PyYAML's.
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_KIND_TITLES = {GROUP: "entry group", ENTRY: "entry", TEMPLATE: "tag template", TAG: "tag"}


def _parse(path: Path, text: str) -> Any:
    """The value of a catalog file's text: JSON (a subset of YAML) read as JSON, ten times faster,
    when it is a ``.json`` file or starts with ``{``; else (or when that fails) read as YAML."""
    if path.suffix.lower() == ".json" or text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except ValueError:
            pass  # YAML's flow style, or malformed: the YAML reader says where
    return load_yaml(text)


def load(path: Path) -> dict[str, Any]:
    """The document in ``path`` (YAML or JSON); a 400 saying where it is malformed."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        msg = f"no catalog file at {path}"
        raise BadRequest(msg) from None
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"cannot read {path}: {exc}"
        raise BadRequest(msg) from None
    try:
        doc = _parse(path, text)
    except yaml.YAMLError as exc:
        msg = f"{path} is not valid YAML: {exc}"
        raise BadRequest(msg) from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        msg = f"{path} must hold a mapping with tagTemplates and entryGroups"
        raise BadRequest(msg)
    unknown = sorted(set(doc) - {"tagTemplates", "entryGroups", "lineage"})
    if unknown:
        msg = (
            f"{path}: unknown top-level key(s) {', '.join(unknown)} "
            "(use tagTemplates, entryGroups and lineage)"
        )
        raise BadRequest(msg)
    return doc


def _items(doc: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    items = doc.get(key) or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        msg = f"{where}{key} must be a list of mappings"
        raise BadRequest(msg)
    return items


def _id(item: dict[str, Any], where: str) -> str:
    value = item.get("id")
    if not isinstance(value, str) or not value:
        msg = f"{where}.id is required (a string)"
        raise BadRequest(msg)
    return value


def _field_type(value: Any, where: str) -> dict[str, Any]:
    if isinstance(value, str):
        return {"primitiveType": value.upper()}
    if isinstance(value, dict) and "enum" in value:
        values = value["enum"]
        if not isinstance(values, list):
            msg = f"{where}.type.enum must be a list of names"
            raise BadRequest(msg)
        return {"enumType": {"allowedValues": [{"displayName": str(v)} for v in values]}}
    if isinstance(value, dict):
        return value
    msg = f"{where}.type must be STRING, DOUBLE, BOOL, TIMESTAMP, RICHTEXT or {{enum: [...]}}"
    raise BadRequest(msg)


def template_body(item: dict[str, Any], where: str) -> dict[str, Any]:
    """A template of the file as the API's body."""
    body = {k: v for k, v in item.items() if k != "id"}
    fields = body.get("fields")
    if isinstance(fields, dict):
        converted = {}
        for field_id, given in fields.items():
            here = f"{where}.fields.{field_id}"
            if not isinstance(given, dict):
                msg = f"{here} must be a mapping with a type"
                raise BadRequest(msg)
            field = dict(given)
            if "required" in field:
                field["isRequired"] = field.pop("required")
            field["type"] = _field_type(field.get("type"), here)
            converted[field_id] = field
        body["fields"] = converted
    return body


def _typed(value: Any, kind: str, where: str) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if kind == "DOUBLE" and isinstance(value, int | float) and not isinstance(value, bool):
        return {"doubleValue": value}
    if kind == "BOOL" and isinstance(value, bool):
        return {"boolValue": value}
    if kind == "ENUM" and isinstance(value, str):
        return {"enumValue": {"displayName": value}}
    if kind == "TIMESTAMP":
        text = value.isoformat() if hasattr(value, "isoformat") else value
        if isinstance(text, str):
            try:
                parse_timestamp(text)
            except ValueError:
                pass
            else:
                return {"timestampValue": text if "T" in text else f"{text}T00:00:00Z"}
    if kind in ("STRING", "RICHTEXT") and isinstance(value, str):
        return {("stringValue" if kind == "STRING" else "richtextValue"): value}
    msg = f"{where}: {value!r} is not a {kind} value"
    raise BadRequest(msg)


def tag_body(planner: Planner, item: dict[str, Any], where: str) -> dict[str, Any]:
    """A tag of the file as the API's body, plain values typed by the template's fields."""
    template = item.get("template")
    if not isinstance(template, str):
        msg = f"{where}.template is required (a template id)"
        raise BadRequest(msg)
    found = planner.current(TEMPLATE, template_name(template_id_of(template))) or {}
    kinds = {
        f: (v.get("type", {}).get("primitiveType") or "ENUM") for f, v in (found.get("fields") or {}).items()
    }
    fields = item.get("fields") or {}
    if not isinstance(fields, dict):
        msg = f"{where}.fields must be a mapping of field ids to values"
        raise BadRequest(msg)
    typed = {
        f: _typed(v, kinds.get(f, "STRING"), f"{where}.fields.{f}")
        for f, v in fields.items()
        if v is not None
    }
    return {
        "template": f"tagTemplates/{template_id_of(template)}",
        "column": item.get("column") or "",
        "fields": typed,
    }


def plan_file(planner: Planner, doc: dict[str, Any]) -> None:
    """Plan what applying ``doc`` changes: templates, then groups, entries and their tags."""
    planner.preload()
    for index, item in enumerate(_items(doc, "tagTemplates", "")):
        where = f"tagTemplates[{index}]"
        with _at(where):
            planner.put_template(_id(item, where), template_body(item, where))
    for g_index, group in enumerate(_items(doc, "entryGroups", "")):
        g_where = f"entryGroups[{g_index}]"
        group_id = _id(group, g_where)
        with _at(g_where):
            planner.put_group(group_id, {k: v for k, v in group.items() if k not in ("id", "entries")})
        for e_index, entry in enumerate(_items(group, "entries", f"{g_where}.")):
            e_where = f"{g_where}.entries[{e_index}]"
            entry_id = _id(entry, e_where)
            with _at(e_where):
                planner.put_entry(
                    group_id, entry_id, {k: v for k, v in entry.items() if k not in ("id", "tags")}
                )
            for t_index, tag in enumerate(_items(entry, "tags", f"{e_where}.")):
                t_where = f"{e_where}.tags[{t_index}]"
                with _at(t_where):
                    planner.put_tag(group_id, entry_id, tag_body(planner, tag, t_where))
    for index, item in enumerate(_items(doc, "lineage", "")):
        where = f"lineage[{index}]"
        group_id, entry_id = _lineage_entry(planner, item, where)
        for t_index, tag in enumerate(_items(item, "tags", f"{where}.")):
            t_where = f"{where}.tags[{t_index}]"
            with _at(t_where):
                planner.put_tag(group_id, entry_id, tag_body(planner, tag, t_where))


def _lineage_entry(planner: Planner, item: dict[str, Any], where: str) -> tuple[str, str]:
    """The group and entry ids of the implicit entry a ``lineage`` item names by ``linkedResource``."""
    unknown = sorted(set(item) - {"linkedResource", "tags"})
    if unknown:
        msg = (
            f"{where}: unknown key(s) {', '.join(unknown)} (a lineage item has linkedResource and tags: "
            "lineage writes the rest)"
        )
        raise BadRequest(msg)
    resource = item.get("linkedResource")
    if not isinstance(resource, str) or not resource:
        msg = f"{where}.linkedResource is required (dataset:NAMESPACE:NAME or job:NAMESPACE:NAME)"
        raise BadRequest(msg)
    try:
        name = implicit_entry(planner.connection, resource)
    except ThreadlineError as exc:
        msg = f"{where}.linkedResource: {exc.message}"
        raise BadRequest(msg) from None
    _, group_id, _, entry_id = name.split("/")
    return group_id, entry_id


@contextmanager
def _at(where: str) -> Iterator[None]:
    """Say where in the file an error is."""
    try:
        yield
    except BadRequest as exc:
        if exc.message.startswith(where):
            raise
        raise type(exc)(f"{where}: {exc.message}") from None


@dataclass(frozen=True)
class Difference:
    """One planned change, for ``--dry-run``: created, updated (which keys) or deleted."""

    action: str
    kind: str
    name: str
    keys: tuple[str, ...] = ()

    def line(self) -> str:
        """The change in one line: ``+ create …``, ``~ update … (keys)``, ``- delete …``."""
        sign = {"create": "+", "update": "~", "delete": "-"}[self.action]
        keys = f" ({', '.join(self.keys)})" if self.keys else ""
        return f"{sign} {self.action} {_KIND_TITLES[self.kind]} {self.name}{keys}"


def differences(connection: Any, changes: list[CatalogChange]) -> list[Difference]:
    """What ``changes`` do to the catalog as it is."""
    out = []
    for change in changes:
        before = reads.get(connection, change.kind, change.name)
        if change.action == DELETE:
            out.append(Difference("delete", change.kind, change.name))
        elif before is None:
            out.append(Difference("create", change.kind, change.name))
        else:
            after = change.body or {}
            keys = sorted(k for k in set(before.body) | set(after) if before.body.get(k) != after.get(k))
            out.append(Difference("update", change.kind, change.name, tuple(keys)))
    return out


# ---- export -------------------------------------------------------------------------------------


def _plain_value(value: dict[str, Any]) -> Any:
    for key in ("stringValue", "richtextValue", "doubleValue", "boolValue", "timestampValue"):
        if key in value:
            return value[key]
    if "enumValue" in value:
        return value["enumValue"].get("displayName")
    return value


def _plain_type(kind: dict[str, Any]) -> Any:
    if "primitiveType" in kind:
        return kind["primitiveType"]
    return {"enum": [v["displayName"] for v in kind.get("enumType", {}).get("allowedValues", [])]}


def export(connection: Any) -> dict[str, Any]:
    """The whole catalog in the file format (applying it to an empty store makes the same catalog)."""
    templates = []
    for record in reads.list_records(connection, TEMPLATE)[0]:
        body = dict(record.body)
        fields = {}
        for field_id, stored in body.get("fields", {}).items():
            field = dict(stored)
            field["type"] = _plain_type(field.get("type", {}))
            if "isRequired" in field:
                field["required"] = field.pop("isRequired")
            fields[field_id] = field
        templates.append({"id": record.name.rsplit("/", 1)[-1], **body, "fields": fields})
    tags_by_entry: dict[str, list[dict[str, Any]]] = {}
    for record in reads.list_records(connection, TAG)[0]:
        tag: dict[str, Any] = {"template": template_id_of(record.body.get("template", ""))}
        if record.body.get("column"):
            tag["column"] = record.body["column"]
        tag["fields"] = {k: _plain_value(v) for k, v in record.body.get("fields", {}).items()}
        tags_by_entry.setdefault(record.name.rsplit("/", 2)[0], []).append(tag)
    groups = []
    for record in reads.list_records(connection, GROUP, implicit=False)[0]:
        group_id = record.name.rsplit("/", 1)[-1]
        entries = []
        for entry in reads.list_records(connection, ENTRY, parent=group_name(group_id))[0]:
            item = {"id": entry.name.rsplit("/", 1)[-1], **entry.body}
            tags = tags_by_entry.get(entry_name(group_id, item["id"]))
            if tags:
                item["tags"] = tags
            entries.append(item)
        groups.append({"id": group_id, **record.body, **({"entries": entries} if entries else {})})
    # the tags on lineage's own entries, by the node each entry stands for
    tagged = sorted(n for n in tags_by_entry if implicit.is_implicit(n))
    lineage = [
        {"linkedResource": found.body["linkedResource"], "tags": tags_by_entry[found.name]}
        for found in sorted(reads.get_many(connection, ENTRY, tagged), key=lambda record: record.name)
        if found.body.get("linkedResource")
    ]
    doc: dict[str, Any] = {"tagTemplates": templates, "entryGroups": groups}
    if lineage:
        doc["lineage"] = lineage
    return doc


def dump(doc: dict[str, Any]) -> str:
    """``doc`` as YAML, keys in the order given."""
    return yaml.dump(doc, Dumper=_DUMPER, sort_keys=False, allow_unicode=True, width=100)
