"""The ``threadline_tag_changes`` facet: tags added to or removed from a dataset, a field or a job.

A tag change is an operation, not a new tag set: "add tag ``pii`` to field ``email``", "remove tag
``gold``", each with who made it. It rides in a DatasetEvent (for a dataset or its fields) or a JobEvent
(for a job), whose ``eventTime`` says when::

    "threadline_tag_changes": {
      "_producer": "…", "_schemaURL": "…/ThreadlineTagChangesFacet.json#/$defs/ThreadlineTagChangesFacet",
      "changes": [{"action": "add", "tag": "pii", "value": "true", "field": "email",
                   "source": "threadline", "by": "alice"}]
    }

The projection keeps, for each tag of each dataset, field and job, the latest change (by event time,
then event id): so changes merge in any order and at any site, and two made at once never undo each
other unless they are about the same tag. ``tag`` is the tag's name (a key, or ``key:value``);
``value`` is what the OpenLineage ``tags`` facet would hold for it (``"true"`` when the name says it
all). The shape is meant to carry the catalog's typed tags later: a template and its fields would be
more keys of a change.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from threadline.openlineage.change_facets import ChangesFacet

#: The facet's name in a dataset's or a job's ``facets``.
FACET = "threadline_tag_changes"
SCHEMA_URL = (
    "https://github.com/threadline-dev/threadline/blob/main/src/threadline/tracking/schemas/1-0-0/"
    "ThreadlineTagChangesFacet.json#/$defs/ThreadlineTagChangesFacet"
)
ADD, REMOVE = "add", "remove"


class TagChange(msgspec.Struct, frozen=True, omit_defaults=True):
    """One change: ``action`` (add or remove) of tag ``tag`` (on ``field``, if any), by ``by``."""

    action: Literal["add", "remove"]
    tag: Annotated[str, msgspec.Meta(min_length=1)]
    value: str = "true"
    field: str | None = None
    source: str | None = None
    by: str | None = None


_FACET = ChangesFacet(SCHEMA_URL, TagChange)
#: The facet value holding a list of changes (``facet(changes, producer)``).
facet = _FACET.facet
#: The changes of a facet value; none when it is not one (``decode(value)``).
decode = _FACET.decode
