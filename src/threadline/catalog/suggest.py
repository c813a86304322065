"""Type-ahead for the catalog's search box: what the word being typed (the query's last) may become.

The last word of the query decides what is suggested:

- a plain word: the qualifiers that start with it (``name:``, ``type=``, ``tag:`` …), the templates
  whose id or display name starts with it (as ``tag:ID``), and the entries whose name has a word
  starting with it (each opens its entry);
- ``tag:PREFIX``: templates; ``tag:T.PREFIX``: the fields of ``T``, each with the operator its type
  takes (``:`` for text, ``=`` for enums and booleans, ``>=`` for numbers and times);
- ``tag:T.F:PREFIX`` (or ``=``): the field's values: an enum's allowed values, ``true``/``false``,
  the words of the text values tags hold (from the typed index of tag values);
- ``type=``, ``system=``, ``parent:``, ``name:``: entry types, systems, entry groups, entries.

Each suggestion is ``{"text", "query", "kind", "label", "detail", "entry", "complete"}``: ``text``
replaces the last word (``query`` is the whole query with it), ``complete`` says whether the word is
finished (a value, not a qualifier waiting for one). Everything is read from indexes, with limits:
templates and groups are few, entries come from the search itself (``name:WORD``), values from
``catalog_tag_values`` by template and field.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, select

from threadline.catalog import reads
from threadline.catalog.implicit import is_implicit
from threadline.catalog.model import ENTRY_TYPES
from threadline.catalog.query import QueryError
from threadline.catalog.search import search
from threadline.openlineage.catalog_changes import GROUP, TEMPLATE
from threadline.store import schema

MAX_SUGGESTIONS = 50
#: The qualifiers, as typed, with what each finds.
QUALIFIERS = (
    ("name:", "a word of the name or display name"),
    ("description:", "a word of the description"),
    ("column:", "a column's name"),
    ("type=", "the entry's type"),
    ("system=", "the entry's system"),
    ("parent:", "the entry group"),
    ("tag:", "a tag of a template (tag:T, tag:T.FIELD:VALUE)"),
    ("label.", "a label (label.KEY:VALUE)"),
    ("createtime>=", "created from a time (2024, 2024-06-15)"),
    ("updatetime>=", "changed from a time"),
)
_OPERATOR = {"STRING": ":", "RICHTEXT": ":", "BOOL": "=", "ENUM": "=", "DOUBLE": ">=", "TIMESTAMP": ">="}
_WORD = re.compile(r"[\w][\w.-]*", re.UNICODE)
_TAG_FIELD = re.compile(r"tag:([^.:=<>\s]+)\.([^:=<>\s]*)")
_TAG_VALUE = re.compile(r"tag:([^.:=<>\s]+)\.([^:=<>\s]+)(<=|>=|:|=|<|>)(.*)", re.DOTALL)
#: Words too common to be worth suggesting before anything is typed.
_COMMON = frozenset(
    ("a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "is", "it", "of", "on", "the")
)
_EXACT = re.compile(r"(type|system|parent|name)(:|=)(.*)", re.DOTALL | re.IGNORECASE)


def _split(query: str) -> tuple[str, str, str]:
    """``query`` as (what comes before the last word, the signs before it such as ``-(``, the word);
    a query that ends in a space (outside quotes) has an empty last word."""
    quoted = False
    start = 0
    for index, char in enumerate(query):
        if char == '"':
            quoted = not quoted
        elif char.isspace() and not quoted:
            start = index + 1
    word = query[start:]
    signs = word[: len(word) - len(word.lstrip("-("))]
    return query[:start], signs, word[len(signs) :]


def _templates(connection: Connection) -> list[tuple[str, dict[str, Any]]]:
    records, _ = reads.list_records(connection, TEMPLATE)
    return [(r.name.rsplit("/", 1)[-1], r.body) for r in records]


def _kind(field: dict[str, Any]) -> str:
    return str((field.get("type") or {}).get("primitiveType") or "ENUM")


def _quoted(value: str) -> str:
    return f'"{value}"' if re.search(r'[\s()"]', value) or not value else value


def _text_values(connection: Connection, template: str, field: str, prefix: str, limit: int) -> list[str]:
    """Words of the text values that tags of ``template.field`` hold, starting with ``prefix``."""
    values = schema.catalog_tag_values
    query = (
        select(values.c.text_value)
        .distinct()
        .where(values.c.template == template, values.c.field == field, values.c.text_value.is_not(None))
    )
    if prefix:
        query = query.where(values.c.text_value.contains(prefix.lower(), autoescape=True))
    rows = connection.execute(query.limit(200))
    counts: dict[str, int] = {}
    for (value,) in rows:
        for word in set(_WORD.findall(str(value).lower())):
            if word.startswith(prefix.lower()) and (prefix or word not in _COMMON):
                counts[word] = counts.get(word, 0) + 1
    return sorted(counts, key=lambda w: (-counts[w], w))[:limit]


def _entries(connection: Connection, prefix: str, limit: int) -> list[dict[str, Any]]:
    """The entries whose name or display name has a word starting with ``prefix``."""
    if not _WORD.fullmatch(prefix):
        return []
    try:
        answer = search(connection, f"name:{prefix}", page_size=limit, facets=False)
    except QueryError:
        return []
    return [
        {
            "kind": "entry",
            # lineage's own entries by their dataset's name: their ids are not words search knows
            "text": _quoted(r.get("displayName") or "")
            if is_implicit(r["relativeResourceName"])
            else r["relativeResourceName"].rsplit("/", 1)[-1],
            "label": r.get("displayName") or r["relativeResourceName"].rsplit("/", 1)[-1],
            "detail": r["relativeResourceName"],
            "entry": r["relativeResourceName"],
            "complete": True,
        }
        for r in answer["results"]
    ]


def _distinct(connection: Connection, column: str) -> list[str]:
    """The values of an entry column (``entry_type``, ``entry_system``) that entries have."""
    objects = schema.catalog_objects
    found = objects.c[column]
    rows = connection.execute(
        select(found)
        .distinct()
        .where(objects.c.kind == "entry", objects.c.deleted.is_(False), found.is_not(None))
        .limit(500)
    )
    return sorted({str(value) for (value,) in rows if value})


def _values(connection: Connection, key: str, op: str, prefix: str, limit: int) -> list[dict[str, Any]]:
    """Suggestions for ``type=``, ``system=``, ``parent:`` and ``name:``."""
    low = prefix.lower()
    if key == "name":
        out = _entries(connection, prefix, limit) if prefix else []
        for item in out:
            item["text"] = f"name:{item['text']}"
        return out
    if key == "type":
        used = {t.upper() for t in _distinct(connection, "entry_type")}
        values = [(t, "entries have it") for t in sorted(used)]  # the types in use first
        values += [(t, "an entry type") for t in ENTRY_TYPES if t.upper() not in used]
    elif key == "system":
        values = [(s, "a system") for s in _distinct(connection, "entry_system")]
    else:
        records, _ = reads.list_records(connection, GROUP)
        values = [(r.name.rsplit("/", 1)[-1], r.body.get("displayName") or "an entry group") for r in records]
    return [
        {"kind": key, "text": f"{key}{op}{_quoted(v)}", "label": v, "detail": detail, "complete": True}
        for v, detail in values
        if v.lower().startswith(low)
    ][:limit]


def _tag_suggestions(connection: Connection, word: str, limit: int) -> list[dict[str, Any]] | None:
    """Suggestions for a word that begins with ``tag:``; ``None`` for any other word."""
    if not word.lower().startswith("tag:"):
        return None
    templates = dict(_templates(connection))
    value = _TAG_VALUE.fullmatch(word)
    if value:
        template, field_id, op, prefix = value.groups()
        field = (templates.get(template) or {}).get("fields", {}).get(field_id)
        if field is None:
            return []
        kind = _kind(field)
        head = f"tag:{template}.{field_id}{op}"
        if kind == "ENUM":
            allowed = [v.get("displayName", "") for v in field["type"]["enumType"].get("allowedValues", [])]
            values = [v for v in allowed if v.lower().startswith(prefix.lower())]
        elif kind == "BOOL":
            values = [v for v in ("true", "false") if v.startswith(prefix.lower())]
        elif kind in ("STRING", "RICHTEXT"):
            values = _text_values(connection, template, field_id, prefix.strip('"'), limit)
        else:
            values = []
        return [
            {"kind": "value", "text": head + _quoted(v), "label": v, "detail": kind.lower(), "complete": True}
            for v in values[:limit]
        ]
    partial = _TAG_FIELD.fullmatch(word)
    if partial:
        template, prefix = partial.groups()
        fields = (templates.get(template) or {}).get("fields", {})
        return [
            {
                "kind": "field",
                "text": f"tag:{template}.{field_id}{_OPERATOR.get(_kind(field), ':')}",
                "label": field.get("displayName") or field_id,
                "detail": f"{templates[template].get('displayName') or template} · {_kind(field).lower()}",
                "complete": False,
            }
            for field_id, field in sorted(fields.items(), key=lambda f: (-f[1].get("order", 0), f[0]))
            if field_id.lower().startswith(prefix.lower())
        ][:limit]
    prefix = word[4:].lower()
    out = []
    for template, body in templates.items():
        title = str(body.get("displayName") or "")
        if template.lower().startswith(prefix) or title.lower().startswith(prefix):
            out.append(
                {
                    "kind": "template",
                    "text": f"tag:{template}",
                    "label": title or template,
                    "detail": f"{len(body.get('fields', {}))} fields",
                    "complete": True,
                }
            )
    if len(out) == 1:  # one template: its fields next, to go on with
        out.extend(_tag_suggestions(connection, f"{out[0]['text']}.", limit) or [])
    return out[:limit]


def suggest(connection: Connection, query: str, *, limit: int = 10) -> dict[str, Any]:
    """What the last word of ``query`` may become: ``{"suggestions": [...], "word": the last word}``."""
    head, signs, word = _split(query)
    found = _tag_suggestions(connection, word, limit)
    if found is None:
        exact = _EXACT.fullmatch(word)
        if exact:
            key, op, prefix = exact.groups()
            found = _values(connection, key.lower(), op, prefix.strip('"'), limit)
        elif re.search(r"[:=<>]", word):
            found = []  # a qualifier this does not complete (a label, a time): nothing to offer
        else:
            low = word.lower()
            found = [
                {"kind": "qualifier", "text": key, "label": key, "detail": what, "complete": False}
                for key, what in QUALIFIERS
                if key.startswith(low)
            ]
            if low:
                for template, body in _templates(connection):
                    title = str(body.get("displayName") or "")
                    if template.lower().startswith(low) or title.lower().startswith(low):
                        found.append(
                            {
                                "kind": "template",
                                "text": f"tag:{template}",
                                "label": title or template,
                                "detail": f"entries with a {template} tag",
                                "complete": True,
                            }
                        )
                found.extend(_entries(connection, word, limit))
    suggestions = []
    for item in found[:limit]:
        item["query"] = head + signs + item["text"] + (" " if item["complete"] else "")
        suggestions.append(item)
    return {"word": word, "suggestions": suggestions}


__all__ = ["MAX_SUGGESTIONS", "QUALIFIERS", "suggest"]
