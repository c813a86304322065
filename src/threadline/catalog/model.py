"""The catalog's resources in Data Catalog v1 JSON (camelCase field names), decoded and checked.

Each resource is a msgspec struct: decoding a request body checks every field's type and names the
field that is wrong (``Expected `str`, got `int` - at `$.displayName```). What is checked against other
resources (a tag against its template, a template against its older self) is in ``validation``.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec

from threadline.errors import BadRequest

T = TypeVar("T")

#: The entry types of Data Catalog v1 (``EntryType``); any other is a ``userSpecifiedType``.
ENTRY_TYPES = (
    "TABLE",
    "MODEL",
    "DATA_STREAM",
    "FILESET",
    "CLUSTER",
    "DATABASE",
    "DATA_SOURCE_CONNECTION",
    "ROUTINE",
    "LAKE",
    "ZONE",
    "SERVICE",
    "DATABASE_SCHEMA",
    "DASHBOARD",
    "EXPLORE",
    "LOOK",
    "FEATURE_ONLINE_STORE",
    "FEATURE_VIEW",
    "FEATURE_GROUP",
    "VIEW",
    "JOB",
)
PRIMITIVE_TYPES = ("DOUBLE", "STRING", "BOOL", "TIMESTAMP", "RICHTEXT")
COLUMN_MODES = ("", "NULLABLE", "REQUIRED", "REPEATED")
#: Fields that the server writes and a client may send back unchanged: ignored on input.
OUTPUT_ONLY = ("name", "dataCatalogTimestamps", "templateDisplayName", "fullyQualifiedName", "threadline")

GROUP_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
ENTRY_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
TEMPLATE_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
FIELD_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
SYSTEM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")

_Text200 = msgspec.Meta(max_length=200)
_Text2000 = msgspec.Meta(max_length=2000)


class _Struct(msgspec.Struct, rename="camel", omit_defaults=True, forbid_unknown_fields=True, kw_only=True):
    pass


class EntryGroup(_Struct):
    """A group of entries."""

    display_name: str = ""
    description: str = ""
    labels: dict[str, str] = {}


class ColumnSchema(_Struct):
    """A column of an entry's schema; ``subcolumns`` nest (a record's fields)."""

    column: str
    type: str = ""
    mode: str = ""
    description: str = ""
    subcolumns: list[ColumnSchema] = []


class Schema(_Struct):
    """An entry's schema."""

    columns: list[ColumnSchema] = []


class FilesetSpec(_Struct):
    """File patterns (``gs://bucket/dir/*``, ``**``, ``?``, ``[a-m]``) naming the files of an entry."""

    file_patterns: list[str]


class Entry(_Struct):
    """A catalog entry: a table, a file set, a stream, a model, a job…"""

    type: str | None = None
    user_specified_type: str | None = None
    user_specified_system: str | None = None
    display_name: str = ""
    description: str = ""
    labels: dict[str, str] = {}
    linked_resource: str | None = None
    gcs_fileset_spec: FilesetSpec | None = None
    schema: Schema | None = None


class EnumValue(_Struct):
    """One allowed value of an enum field, or an enum tag value."""

    display_name: str


class EnumType(_Struct):
    """An enum field's allowed values."""

    allowed_values: list[EnumValue] = []


class FieldType(_Struct):
    """A template field's type: a primitive type or an enum."""

    primitive_type: str | None = None
    enum_type: EnumType | None = None


class TemplateField(_Struct):
    """A field of a tag template. ``propagate`` (threadline's): ``downstream`` along column lineage."""

    type: FieldType
    display_name: str = ""
    description: str = ""
    is_required: bool = False
    order: int = 0
    propagate: str | None = None


class TagTemplate(_Struct):
    """A tag template: typed fields by id."""

    display_name: str = ""
    description: str = ""
    is_publicly_readable: bool = True
    fields: dict[str, TemplateField] = {}


class TagField(_Struct):
    """One value of a tag: exactly one of the typed values."""

    double_value: float | None = None
    string_value: str | None = None
    bool_value: bool | None = None
    timestamp_value: str | None = None
    richtext_value: str | None = None
    enum_value: EnumValue | None = None
    display_name: str | None = None  # output only (the template field's), ignored on input
    order: int | None = None  # output only


class Tag(_Struct):
    """A tag: a template's field values on an entry or on one of its columns (``column``, dotted)."""

    template: str
    fields: dict[str, TagField] = {}
    column: str = ""
    source: str | None = None  # output only: USER, INTEGRATION, PROPAGATED


def decode(kind: type[T], value: Any, what: str) -> T:
    """``value`` (decoded JSON) as a ``kind``; a 400 naming the field that is wrong."""
    if not isinstance(value, dict):
        msg = f"the {what} must be a JSON object"
        raise BadRequest(msg)
    value = {k: v for k, v in value.items() if k not in OUTPUT_ONLY}
    try:
        return msgspec.convert(value, kind)
    except msgspec.ValidationError as exc:
        message = _name_the_key(kind, value, str(exc)).replace("`$.", "`")
        msg = f"invalid {what}: {message}"
        raise BadRequest(msg) from None


def _name_the_key(kind: type, value: dict[str, Any], message: str) -> str:
    """msgspec writes ``fields[...]`` for a map's key: find the field that failed and name it."""
    item_types: dict[type, type] = {Tag: TagField, TagTemplate: TemplateField}
    item_type = item_types.get(kind)
    fields = value.get("fields")
    if "fields[...]" not in message or item_type is None or not isinstance(fields, dict):
        return message
    for key, item in fields.items():
        try:
            msgspec.convert(item, item_type)
        except msgspec.ValidationError as exc:
            return str(exc).replace("`$.", f"`fields.{key}.").replace("`$`", f"`fields.{key}`")
    return message


def to_json(value: msgspec.Struct) -> dict[str, Any]:
    """A resource as JSON-ready builtins (camelCase, defaults left out)."""
    return msgspec.to_builtins(value)


def check_id(pattern: re.Pattern[str], value: str, what: str) -> str:
    """``value`` if it is a valid ``what`` id; a 400 saying the rule otherwise."""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        rule = (
            "letters, digits and _ (not starting with a digit), at most 64"
            if pattern in (TEMPLATE_ID, FIELD_ID, SYSTEM_NAME)
            else "letters, digits, _, - and . (not starting with - or .), at most 64"
        )
        msg = f"{what} {value!r} is not valid: use {rule}"
        raise BadRequest(msg)
    return value
