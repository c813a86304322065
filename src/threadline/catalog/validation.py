"""Checks that involve more than one resource's own fields, with Data Catalog's rules.

* An entry: a known ``type`` or a ``userSpecifiedType`` (not both), a valid system name, valid file
  patterns, unique column names at each level.
* A template: 1 to 500 fields, each typed (a primitive type or an enum with unique values), and the
  evolution rules against the template it replaces: a field's type never changes, an enum only gains
  values (or renames them, see ``rename_enum_value``), no required field is added while tags use it.
* A tag: its template's fields only, every required field, each value of its field's type, an enum
  value among the allowed ones, a column that the entry's schema has (when it has one).

Every failure is a :class:`~threadline.errors.BadRequest` naming the field.
"""

from __future__ import annotations

from threadline.catalog.globs import parse_pattern
from threadline.catalog.model import (
    COLUMN_MODES,
    ENTRY_TYPES,
    FIELD_ID,
    PRIMITIVE_TYPES,
    SYSTEM_NAME,
    ColumnSchema,
    Entry,
    Tag,
    TagField,
    TagTemplate,
    TemplateField,
    check_id,
)
from threadline.errors import BadRequest
from threadline.projection.catalog import column_paths, parse_timestamp

MAX_FIELDS = 500
MAX_ENUM_VALUES = 500
PROPAGATE = ("downstream",)


def _bad(message: str) -> BadRequest:
    return BadRequest(message)


def check_entry(entry: Entry) -> Entry:
    """``entry`` if it is consistent; a 400 naming the field otherwise."""
    if entry.type is not None and entry.user_specified_type is not None:
        msg = "give type or userSpecifiedType, not both"
        raise _bad(msg)
    if entry.type is None and entry.user_specified_type is None:
        msg = f"type is required: one of {', '.join(ENTRY_TYPES)}, or a userSpecifiedType"
        raise _bad(msg)
    if entry.type is not None and entry.type not in ENTRY_TYPES:
        msg = (
            f"type {entry.type!r} is not an entry type: use one of {', '.join(ENTRY_TYPES)}, "
            "or userSpecifiedType for your own"
        )
        raise _bad(msg)
    if entry.user_specified_type is not None:
        check_id(SYSTEM_NAME, entry.user_specified_type, "userSpecifiedType")
    if entry.user_specified_system is not None:
        check_id(SYSTEM_NAME, entry.user_specified_system, "userSpecifiedSystem")
    if len(entry.display_name) > 200:
        msg = "displayName is longer than 200 characters"
        raise _bad(msg)
    if len(entry.description) > 2000:
        msg = "description is longer than 2000 characters"
        raise _bad(msg)
    if entry.gcs_fileset_spec is not None:
        if not entry.gcs_fileset_spec.file_patterns:
            msg = "gcsFilesetSpec.filePatterns needs at least one pattern"
            raise _bad(msg)
        for pattern in entry.gcs_fileset_spec.file_patterns:
            parse_pattern(pattern)
    if entry.schema is not None:
        _check_columns(entry.schema.columns, "schema.columns")
    return entry


def _check_columns(columns: list[ColumnSchema], where: str) -> None:
    seen: set[str] = set()
    for index, column in enumerate(columns):
        here = f"{where}[{index}]"
        if not column.column or "." in column.column:
            msg = f"{here}.column must be a non-empty name without '.' (nest with subcolumns)"
            raise _bad(msg)
        if column.column.lower() in seen:
            msg = f"{here}.column {column.column!r} appears twice"
            raise _bad(msg)
        seen.add(column.column.lower())
        if column.mode.upper() not in COLUMN_MODES:
            msg = f"{here}.mode must be NULLABLE, REQUIRED or REPEATED, not {column.mode!r}"
            raise _bad(msg)
        _check_columns(column.subcolumns, f"{here}.subcolumns")


def check_template(template: TagTemplate) -> TagTemplate:
    """``template`` if its fields are well typed; a 400 naming the field otherwise."""
    if not 1 <= len(template.fields) <= MAX_FIELDS:
        msg = f"a tag template has 1 to {MAX_FIELDS} fields, this one {len(template.fields)}"
        raise _bad(msg)
    for field_id, field in template.fields.items():
        check_id(FIELD_ID, field_id, "field id")
        where = f"fields.{field_id}"
        kind = field.type
        if (kind.primitive_type is None) == (kind.enum_type is None):
            msg = f"{where}.type needs exactly one of primitiveType and enumType"
            raise _bad(msg)
        if kind.primitive_type is not None and kind.primitive_type not in PRIMITIVE_TYPES:
            msg = f"{where}.type.primitiveType must be one of {', '.join(PRIMITIVE_TYPES)}"
            raise _bad(msg)
        if kind.enum_type is not None:
            names = [v.display_name for v in kind.enum_type.allowed_values]
            if not names or len(names) > MAX_ENUM_VALUES:
                msg = f"{where}.type.enumType.allowedValues needs 1 to {MAX_ENUM_VALUES} values"
                raise _bad(msg)
            lowered = [n.lower() for n in names]
            if len(set(lowered)) != len(lowered) or not all(n.strip() for n in names):
                msg = f"{where}.type.enumType.allowedValues must be non-empty and unique (ignoring case)"
                raise _bad(msg)
        if field.propagate is not None and field.propagate not in PROPAGATE:
            msg = f"{where}.propagate must be 'downstream' (or left out)"
            raise _bad(msg)
    return template


def field_kind(field: TemplateField) -> str:
    """``DOUBLE``, ``STRING``, ``BOOL``, ``TIMESTAMP``, ``RICHTEXT`` or ``ENUM``."""
    return field.type.primitive_type or "ENUM"


def check_evolution(old: TagTemplate, new: TagTemplate, *, has_tags: bool) -> None:
    """Data Catalog's rules for replacing ``old`` with ``new``; a 400 naming the field that breaks one."""
    for field_id, field in new.fields.items():
        before = old.fields.get(field_id)
        if before is None:
            if field.is_required and has_tags:
                msg = (
                    f"fields.{field_id}: a required field cannot be added to a template that tags "
                    "use; add it as optional"
                )
                raise _bad(msg)
            continue
        if field_kind(before) != field_kind(field):
            msg = (
                f"fields.{field_id}: a field's type never changes ({field_kind(before)} to "
                f"{field_kind(field)}); add a new field instead"
            )
            raise _bad(msg)
        if before.type.enum_type is not None and field.type.enum_type is not None:
            kept = {v.display_name.lower() for v in field.type.enum_type.allowed_values}
            gone = [
                v.display_name
                for v in before.type.enum_type.allowed_values
                if v.display_name.lower() not in kept
            ]
            if gone:
                msg = (
                    f"fields.{field_id}: enum values are only added or renamed, never removed "
                    f"({', '.join(gone)})"
                )
                raise _bad(msg)
        if field.is_required and not before.is_required and has_tags:
            msg = f"fields.{field_id}: a field cannot become required while tags use the template"
            raise _bad(msg)
    removed = [f for f in old.fields if f not in new.fields]
    if removed and has_tags:
        msg = (
            f"fields {', '.join(removed)}: a field cannot be removed while tags use the template "
            "(delete the template with force, or keep the field)"
        )
        raise _bad(msg)


def check_tag(tag: Tag, template: TagTemplate, entry: Entry | None) -> Tag:
    """``tag`` checked against ``template`` (and the column against ``entry``'s schema)."""
    for field_id in tag.fields:
        if field_id not in template.fields:
            known = ", ".join(sorted(template.fields))
            msg = f"fields.{field_id}: the template {tag.template} has no such field (it has {known})"
            raise _bad(msg)
    for field_id, field in template.fields.items():
        if field.is_required and field_id not in tag.fields:
            msg = f"fields.{field_id} is required by the template {tag.template}"
            raise _bad(msg)
    for field_id, value in tag.fields.items():
        _check_value(field_id, value, template.fields[field_id])
    if tag.column and entry is not None and entry.schema is not None and entry.schema.columns:
        paths = {p.lower() for p in column_paths(_builtins_columns(entry.schema.columns))}
        if tag.column.lower() not in paths:
            msg = f"column {tag.column!r} is not in the entry's schema"
            raise _bad(msg)
    return tag


def _builtins_columns(columns: list[ColumnSchema]) -> list[dict[str, object]]:
    return [{"column": c.column, "subcolumns": _builtins_columns(c.subcolumns)} for c in columns]


_VALUE_OF = {
    "DOUBLE": "doubleValue",
    "STRING": "stringValue",
    "BOOL": "boolValue",
    "TIMESTAMP": "timestampValue",
    "RICHTEXT": "richtextValue",
    "ENUM": "enumValue",
}


def _check_value(field_id: str, value: TagField, field: TemplateField) -> None:
    kind = field_kind(field)
    given = {
        "doubleValue": value.double_value,
        "stringValue": value.string_value,
        "boolValue": value.bool_value,
        "timestampValue": value.timestamp_value,
        "richtextValue": value.richtext_value,
        "enumValue": value.enum_value,
    }
    present = [k for k, v in given.items() if v is not None]
    wanted = _VALUE_OF[kind]
    if present != [wanted]:
        got = " and ".join(present) or "no value"
        msg = f"fields.{field_id} is a {kind} field: give {wanted}, not {got}"
        raise _bad(msg)
    if kind == "DOUBLE" and value.double_value is not None and value.double_value != value.double_value:
        msg = f"fields.{field_id}: NaN is not a number a tag can hold"
        raise _bad(msg)
    if kind == "STRING" and value.string_value is not None and len(value.string_value) > 2000:
        msg = f"fields.{field_id}: a string value holds at most 2000 characters"
        raise _bad(msg)
    if kind == "TIMESTAMP" and value.timestamp_value is not None:
        try:
            parse_timestamp(value.timestamp_value)
        except ValueError:
            msg = f"fields.{field_id}: {value.timestamp_value!r} is not an RFC 3339 timestamp"
            raise _bad(msg) from None
    if kind == "ENUM" and value.enum_value is not None and field.type.enum_type is not None:
        allowed = [v.display_name for v in field.type.enum_type.allowed_values]
        if value.enum_value.display_name not in allowed:
            msg = (
                f"fields.{field_id}: {value.enum_value.display_name!r} is not an allowed value "
                f"({', '.join(allowed)})"
            )
            raise _bad(msg)
