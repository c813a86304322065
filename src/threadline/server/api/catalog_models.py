"""The Data Catalog's bodies and answers as pydantic models, for ``/api/openapi.json`` only.

They mirror the msgspec structs of :mod:`threadline.catalog.model` in Data Catalog v1's JSON (camelCase
names). A request body is still decoded and checked by those structs (``catalog.model.decode``), so a
refusal names the field exactly as before; these models document it (:func:`body`). An answer is
still built by the catalog and encoded by msgspec; these models are the routes' ``response_model``,
which ``tests/server/test_api_contract.py`` checks the real answers against.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from threadline.catalog.model import COLUMN_MODES, ENTRY_TYPES, PRIMITIVE_TYPES
from threadline.server.api.models import Model

# ---- what a client sends (and reads back) ----------------------------------------------------------------


class CatalogEntryGroup(Model):
    """An entry group's fields."""

    display_name: str | None = Field(None, description="Shown instead of the id.")
    description: str | None = None
    labels: dict[str, str] | None = None


class CatalogColumn(Model):
    """A column of an entry's schema; ``subcolumns`` nest (a record's fields)."""

    column: str
    type: str | None = None
    mode: str | None = Field(None, description=f"One of {', '.join(m for m in COLUMN_MODES if m)}.")
    description: str | None = None
    subcolumns: list[CatalogColumn] | None = None


class CatalogSchema(Model):
    """An entry's schema."""

    columns: list[CatalogColumn] | None = None


class FilesetSpec(Model):
    """File patterns (``gs://bucket/dir/*``, ``**``, ``?``, ``[a-m]``) naming the files of an entry."""

    file_patterns: list[str]


class CatalogEntry(Model):
    """An entry's fields: a table, a file set, a stream, a model, a job..."""

    type: str | None = Field(None, description=f"One of {', '.join(ENTRY_TYPES)}.")
    user_specified_type: str | None = Field(None, description="Any other type (instead of type).")
    user_specified_system: str | None = None
    display_name: str | None = None
    description: str | None = None
    labels: dict[str, str] | None = None
    linked_resource: str | None = Field(
        None, description="The lineage node it is: dataset:NAMESPACE:NAME or job:NAMESPACE:NAME."
    )
    gcs_fileset_spec: FilesetSpec | None = None
    schema_: CatalogSchema | None = Field(None, alias="schema")


class EnumValue(Model):
    """One allowed value of an enum field, or an enum tag value."""

    display_name: str


class EnumType(Model):
    """An enum field's allowed values."""

    allowed_values: list[EnumValue] | None = None


class FieldType(Model):
    """A template field's type: a primitive type or an enum."""

    primitive_type: str | None = Field(None, description=f"One of {', '.join(PRIMITIVE_TYPES)}.")
    enum_type: EnumType | None = None


class TemplateField(Model):
    """A field of a tag template."""

    type: FieldType
    display_name: str | None = None
    description: str | None = None
    is_required: bool | None = None
    order: int | None = None
    propagate: str | None = Field(None, description="threadline's: downstream, along column lineage.")


class CatalogTagTemplate(Model):
    """A tag template's fields: typed fields by id."""

    display_name: str | None = None
    description: str | None = None
    is_publicly_readable: bool | None = None
    fields: dict[str, TemplateField] | None = None


class TagValue(Model):
    """One value of a tag: exactly one of the typed values."""

    double_value: float | None = None
    string_value: str | None = None
    bool_value: bool | None = None
    timestamp_value: str | None = None
    richtext_value: str | None = None
    enum_value: EnumValue | None = None
    display_name: str | None = Field(None, description="Output only: the template field's.")
    order: int | None = Field(None, description="Output only: the template field's.")


class CatalogTag(Model):
    """A tag: a template's field values on an entry, or on one of its columns (``column``, dotted)."""

    template: str = Field(description="tagTemplates/ID (or the id alone).")
    fields: dict[str, TagValue] | None = None
    column: str | None = None


class SearchRequest(Model):
    """A catalog search."""

    query: str = Field(description="Data Catalog's search syntax: words, name:, type:, tag:T.F:V, ...")
    page_size: int | None = Field(None, description="Most results (default 10).")
    page_token: str | None = Field(None, description="The nextPageToken of the previous answer.")
    order_by: str | None = Field(
        None, description="relevance (default), last_modified_timestamp [asc|desc] or default."
    )


class TagToWrite(Model):
    """One tag of a batch, and its entry."""

    entry: str = Field(description="entryGroups/GROUP/entries/ENTRY")
    tag: CatalogTag


class TagBatch(Model):
    """Tags to write at once, all or none."""

    tags: list[TagToWrite]


class EnumValueRename(Model):
    """The new name of an enum value."""

    new_enum_value_display_name: str


# ---- what the server answers ------------------------------------------------------------------------------


class CatalogTimestamps(Model):
    create_time: str
    update_time: str


class EntryGroupOut(CatalogEntryGroup):
    name: str = Field(description="entryGroups/ID")
    data_catalog_timestamps: CatalogTimestamps


class EntryGroupList(Model):
    entry_groups: list[EntryGroupOut]
    total_size: int
    next_page_token: str | None = Field(None, description="Pass as pageToken for the next page.")


class PropagatedFrom(Model):
    tag: str
    column: str


class CatalogTagOut(CatalogTag):
    """A tag as read: a person's (``USER``), a producer's (``INTEGRATION``) or one propagated along
    column lineage (``PROPAGATED``)."""

    name: str = Field(description="entryGroups/G/entries/E/tags/ID")
    source: str | None = Field(None, description="USER, INTEGRATION or PROPAGATED.")
    template_display_name: str | None = None
    producer_source: str | None = Field(None, description="INTEGRATION: who sent it.")
    propagated_from: PropagatedFrom | None = None
    via: list[str] | None = Field(None, description="PROPAGATED: the jobs from there to here.")


class EntryLineage(Model):
    """What lineage adds to an entry (threadline's)."""

    linked_node: str | None = None
    integration_tags: list[CatalogTagOut] | None = None
    propagated_tags: list[CatalogTagOut] | None = None
    matching_datasets: list[str] | None = Field(None, description="The datasets its file patterns name.")
    covering_entries: list[str] | None = Field(None, description="The entries whose patterns name it.")


class EntryOut(CatalogEntry):
    name: str = Field(description="entryGroups/GROUP/entries/ID")
    data_catalog_timestamps: CatalogTimestamps
    threadline: EntryLineage | None = None


class EntryList(Model):
    entries: list[EntryOut]
    total_size: int
    next_page_token: str | None = None


class CatalogTagList(Model):
    tags: list[CatalogTagOut]


class TagBatchAnswer(Model):
    tags: list[CatalogTagOut]
    changed: int = Field(description="How many tags changed (one already as given changes nothing).")


class TagTemplateOut(CatalogTagTemplate):
    name: str = Field(description="tagTemplates/ID")
    data_catalog_timestamps: CatalogTimestamps


class TagTemplateList(Model):
    tag_templates: list[TagTemplateOut]
    total_size: int
    next_page_token: str | None = None


class CatalogChange(Model):
    kind: str = Field(description="What changed: group, entry, template or tag.")
    name: str = Field(description="The resource's name (a tag's, in an entry's history with its tags).")
    action: str = Field(description="upsert or delete.")
    time: str
    by: str | None = Field(description="The API key's name (none without keys).")
    source: str | None
    resource: dict[str, Any] | None = Field(description="The resource after the change (none: deleted).")


class CatalogHistory(Model):
    name: str
    changes: list[CatalogChange]


class SearchResult(Model):
    search_result_type: str
    search_result_subtype: str
    relative_resource_name: str
    modify_time: str
    display_name: str
    linked_resource: str | None = None
    description: str | None = None
    user_specified_system: str | None = None
    propagated_tags: list[str] | None = Field(
        None,
        description="threadline's: the query's tags this entry holds by propagation along column "
        "lineage, as TEMPLATE.FIELD@COLUMN.",
    )


class SearchFacets(Model):
    type: dict[str, int]
    system: dict[str, int]
    template: dict[str, int]


class SearchAnswer(Model):
    results: list[SearchResult]
    total_size: int
    next_page_token: str | None = None
    facets: SearchFacets | None = None


class CatalogFile(Model):
    """A catalog file: tag templates, then entry groups with their entries and tags (docs/catalog.md,
    "Catalog as code"); tag values may be plain, typed by the templates' fields."""

    tag_templates: list[dict[str, Any]] | None = None
    entry_groups: list[dict[str, Any]] | None = None


class ApplyChange(Model):
    """One change a catalog file makes."""

    action: str = Field(description="create, update or delete.")
    kind: str = Field(description="template, group, entry or tag.")
    name: str
    keys: list[str] = Field(description="For an update: the fields that differ.")
    line: str = Field(description="The change in one line, as `threadline catalog apply` prints it.")


class ApplyAnswer(Model):
    changes: list[ApplyChange]
    applied: bool = Field(description="Whether the changes were made (false for a dry run or none).")


class Suggestion(Model):
    """One completion of the query's last word."""

    text: str = Field(description="What replaces the last word.")
    query: str = Field(description="The whole query with it.")
    kind: str = Field(description="qualifier, template, field, value, entry, type, system, parent or name.")
    label: str
    detail: str | None = None
    entry: str | None = Field(None, description="An entry's name (entryGroups/G/entries/E): open it.")
    complete: bool = Field(description="Whether the word is finished (else a value is still to come).")


class SuggestAnswer(Model):
    word: str = Field(description="The word completed: the query's last.")
    suggestions: list[Suggestion]


class Deleted(Model):
    """An empty object: done."""


# ---- request bodies in the document --------------------------------------------------------------------


def body(model: type[Model], description: str, *, required: bool = True) -> dict[str, Any]:
    """``openapi_extra`` documenting a JSON body of ``model`` (read and checked by the handler).

    The nested models are written in place; a model nested in itself (a column's subcolumns) refers to
    its component, which the answers put in the document."""
    schema = model.model_json_schema(ref_template="#/$defs/{model}")
    definitions = schema.pop("$defs", {})
    return {
        "requestBody": {
            "required": required,
            "description": description,
            "content": {"application/json": {"schema": _inline(schema, definitions, ())}},
        }
    }


def _inline(node: Any, definitions: dict[str, Any], within: tuple[str, ...]) -> Any:
    if isinstance(node, list):
        return [_inline(item, definitions, within) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        name = ref.removeprefix("#/$defs/")
        if name in within:
            return {"$ref": f"#/components/schemas/{name}"}
        return _inline(definitions[name], definitions, (*within, name))
    return {key: _inline(value, definitions, within) for key, value in node.items()}
