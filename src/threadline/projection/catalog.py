"""Folding catalog changes (``threadline_catalog`` facets) into the catalog's projected rows.

A change becomes three kinds of rows: the resource's latest state (``catalog_objects``, last writer
wins by stamp), one history row, and for a tag one typed-value row per field (``catalog_tag_values``,
valid while its stamp is the tag's). The search columns are derived here from the body alone, so the
fold still reads nothing from the store, and search and the brute-force check share :func:`tokens`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from threadline.openlineage.canonical import canonical_json
from threadline.openlineage.catalog_changes import DELETE, ENTRY, TAG, CatalogChange
from threadline.projection.entry_templates import NO_TAGS_MASK
from threadline.projection.model import Delta

_WORD = re.compile(r"[^\W_]+")


def tokens(text: str | None) -> list[str]:
    """The search tokens of ``text``: runs of letters and digits, lower-cased (``_``, ``-``, ``.``,
    ``/`` and spaces separate them). Stored space-separated, so both backends' full-text engines see
    exactly these words."""
    return _WORD.findall(text.lower()) if text else []


def token_text(*texts: str | None) -> str:
    """The tokens of ``texts`` as one space-separated string."""
    return " ".join(token for text in texts for token in tokens(text))


def column_paths(columns: Any, prefix: str = "") -> list[str]:
    """The dotted paths of a schema's columns, nested ones included (``address.city``)."""
    paths: list[str] = []
    for column in columns if isinstance(columns, list) else ():
        if not isinstance(column, dict) or not isinstance(column.get("column"), str):
            continue
        path = f"{prefix}{column['column']}"
        paths.append(path)
        paths.extend(column_paths(column.get("subcolumns"), f"{path}."))
    return paths


def labels_text(labels: Any) -> str:
    """Labels as ``|key=value|…|``, lower-cased, for exact matching with ``LIKE``."""
    if not isinstance(labels, dict) or not labels:
        return ""
    pairs = sorted(f"{str(k).lower()}={str(v).lower()}" for k, v in labels.items())
    return "|" + "|".join(pairs) + "|"


def parse_timestamp(value: str) -> int:
    """Microseconds since the epoch of an RFC 3339 timestamp (``Z`` or an offset)."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def typed_value(value: Any) -> tuple[str, float | None, str | None] | None:
    """A tag field's kind and its indexed number or text; ``None`` when it holds no known value."""
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("doubleValue"), int | float) and not isinstance(value["doubleValue"], bool):
        return "double", float(value["doubleValue"]), None
    if isinstance(value.get("boolValue"), bool):
        return "bool", None, "true" if value["boolValue"] else "false"
    if isinstance(value.get("timestampValue"), str):
        try:
            return "timestamp", float(parse_timestamp(value["timestampValue"])), None
        except ValueError:
            return None
    enum = value.get("enumValue")
    if isinstance(enum, dict) and isinstance(enum.get("displayName"), str):
        return "enum", None, enum["displayName"].lower()
    for key, kind in (("stringValue", "string"), ("richtextValue", "richtext")):
        if isinstance(value.get(key), str):
            return kind, None, f" {token_text(value[key])} "
    return None


def entry_search_columns(body: dict[str, Any], entry_id: str | None) -> dict[str, Any]:
    """The search columns of an entry's row, derived from its body (and its id, whose words its name
    holds; ``None`` for an id that is no words, lineage's own ``~hash`` ids)."""
    kind = body.get("type") or body.get("userSpecifiedType") or ""
    system = body.get("integratedSystem") or body.get("userSpecifiedSystem") or ""
    raw_schema = body.get("schema")
    schema: dict[str, Any] = raw_schema if isinstance(raw_schema, dict) else {}
    return {
        "entry_type": str(kind).lower(),
        "entry_system": str(system).lower(),
        "t_name": token_text(entry_id, body.get("displayName")),
        "t_description": token_text(body.get("description")),
        "t_columns": token_text(*column_paths(schema.get("columns"))),
        "labels": labels_text(body.get("labels")),
        "linked_resource": body.get("linkedResource"),
    }


def fold_change(delta: Delta, change: CatalogChange, time: int, lww: str) -> None:
    """Add the rows of one catalog change to ``delta``."""
    body = change.body if change.action != DELETE and change.body is not None else {}
    encoded = canonical_json(body).decode()
    delta.add(
        "catalog_history",
        {
            "kind": change.kind,
            "name": change.name,
            "stamp": lww,
            "action": change.action,
            "body": encoded,
            "source": change.source,
            "changed_by": change.by,
            "changed_at": time,
        },
    )
    row: dict[str, Any] = {
        "kind": change.kind,
        "name": change.name,
        "parent": change.name.rsplit("/", 2)[0] if change.kind in (ENTRY, TAG) else None,
        "deleted": change.action == DELETE,
        "body": encoded,
        "source": change.source,
        "changed_by": change.by,
        "changed_at": time,
        "created_at": time,
        "stamp": lww,
        "entry_type": None,
        "entry_system": None,
        "t_name": None,
        "t_description": None,
        "t_columns": None,
        "labels": None,
        "linked_resource": None,
        "template": None,
        "tag_column": None,
    }
    if change.kind == ENTRY:
        row["tag_mask"] = NO_TAGS_MASK  # a new row's; a stored entry's mask is the refresh's to write
        if body:
            row.update(entry_search_columns(body, change.name.rsplit("/", 1)[-1]))
    elif change.kind == TAG and body:
        template = str(body.get("template", "")).rsplit("/", 1)[-1]
        row.update(template=template, tag_column=body.get("column") or "")
        raw_fields = body.get("fields")
        fields: dict[str, Any] = raw_fields if isinstance(raw_fields, dict) else {}
        for field, value in fields.items():
            typed = typed_value(value)
            if typed is None:
                continue
            kind, number, text = typed
            delta.add(
                "catalog_tag_values",
                {
                    "tag": change.name,
                    "field": field,
                    "stamp": lww,
                    "entry": row["parent"],
                    "template": template,
                    "kind": kind,
                    "num_value": number,
                    "text_value": text,
                },
            )
    elif change.kind == TAG:
        row["template"] = ""
    delta.add("catalog_objects", row)
