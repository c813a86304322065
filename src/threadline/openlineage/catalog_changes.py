"""The ``threadline_catalog`` facet: changes to the Data Catalog (entry groups, entries, tag templates,
tags), carried by a DatasetEvent of the hidden catalog namespace.

A change says what one catalog resource became, not a diff: ``upsert`` with the resource's whole body
(Data Catalog v1 JSON, as validated by :mod:`threadline.catalog`), or ``delete``. The event's
``eventTime`` says when, ``by`` says which API key (or person) made it; the changes of one event
apply in their order::

    "threadline_catalog": {
      "_producer": "…", "_schemaURL": "…/ThreadlineCatalogFacet.json#/$defs/ThreadlineCatalogFacet",
      "changes": [{
        "kind": "tag", "action": "upsert", "by": "alice", "source": "USER",
        "name": "entryGroups/ml/entries/pipeline/tags/lineage_notes",
        "body": {"template": "tagTemplates/lineage_notes", "fields": {"usage": {"stringValue": "training"}}}
      }]
    }

The projection keeps each resource's latest change (by event time, then event id) and every change
as history, so catalog edits merge in any order and at any site, sync like lineage, and are rebuilt by
``threadline reindex``.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from threadline.openlineage.change_facets import ChangesFacet

#: The facet's name in a dataset's ``facets``.
FACET = "threadline_catalog"
SCHEMA_URL = (
    "https://github.com/threadline-dev/threadline/blob/main/src/threadline/tracking/schemas/1-0-0/"
    "ThreadlineCatalogFacet.json#/$defs/ThreadlineCatalogFacet"
)
UPSERT, DELETE = "upsert", "delete"
GROUP, ENTRY, TEMPLATE, TAG = "group", "entry", "template", "tag"
KINDS = (GROUP, ENTRY, TEMPLATE, TAG)


class CatalogChange(msgspec.Struct, frozen=True, omit_defaults=True):
    """One change: ``action`` on the resource ``name`` of kind ``kind``, by ``by``."""

    kind: Literal["group", "entry", "template", "tag"]
    action: Literal["upsert", "delete"]
    name: str
    body: dict[str, Any] | None = None
    source: str | None = None
    by: str | None = None


_FACET = ChangesFacet(SCHEMA_URL, CatalogChange)
#: The facet value holding a list of changes (``facet(changes, producer)``).
facet = _FACET.facet
#: The changes of a facet value; none when it is not one (``decode(value)``).
decode = _FACET.decode
