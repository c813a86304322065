"""The fast check of an event: its whole shape as one typed ``msgspec`` structure, checked in C.

:func:`threadline.openlineage.events.parse_document` walks an event in Python to say exactly what is
wrong with it. Almost every event is fine, and for those the walk is most of the cost of ingest. So an
event is first converted into the structures below, which require what the walk requires (the core
fields, and every standard facet matching its schema, base fields included); when that succeeds, the
walk is skipped and only what a structure cannot express is checked in Python (custom facets, times,
run ids). When it fails, the walk runs and finds the problem. The check is stricter than the walk,
never more lenient: anything it cannot vouch for goes to the walk.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from threadline.openlineage.facets import STANDARD_FACETS, Location
from threadline.openlineage.versions import DATASET_EVENT, JOB_EVENT, RUN_EVENT

NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]


def _with_base_fields(facet: type[msgspec.Struct]) -> type[msgspec.Struct]:
    """``facet`` whose base fields, when present, must be strings (as the walk requires)."""
    return msgspec.defstruct(
        f"Checked{facet.__name__}",
        [
            ("producer", str | UnsetType, msgspec.field(default=UNSET, name="_producer")),
            ("schema_url", str | UnsetType, msgspec.field(default=UNSET, name="_schemaURL")),
        ],
        bases=(facet,),
        kw_only=True,
        forbid_unknown_fields=False,
    )


def _facets_of(location: Location) -> type[msgspec.Struct]:
    """The standard facets of ``location`` as optional fields; other keys are left to the walk.

    A standard facet sent as ``null`` or as a deletion marker fails here (UNSET admits neither), and
    so goes to the walk, which knows what to make of it.
    """
    fields = [
        (key, _with_base_fields(facet) | UnsetType, UNSET) for key, facet in STANDARD_FACETS[location].items()
    ]
    return msgspec.defstruct(f"{location.title()}Facets", fields, forbid_unknown_fields=False)


_RunFacets = _facets_of("run")
_JobFacets = _facets_of("job")
_DatasetFacets = _facets_of("dataset")
_InputFacets = _facets_of("input")
_OutputFacets = _facets_of("output")


class _Job(msgspec.Struct, forbid_unknown_fields=False):
    namespace: NonEmpty
    name: NonEmpty
    facets: _JobFacets | None = None  # type: ignore[valid-type]


class _Run(msgspec.Struct, forbid_unknown_fields=False):
    runId: NonEmpty
    facets: _RunFacets | None = None  # type: ignore[valid-type]


class _Dataset(msgspec.Struct, forbid_unknown_fields=False):
    namespace: NonEmpty
    name: NonEmpty
    facets: _DatasetFacets | None = None  # type: ignore[valid-type]


class _InputDataset(_Dataset, forbid_unknown_fields=False):
    inputFacets: _InputFacets | None = None  # type: ignore[valid-type]


class _OutputDataset(_Dataset, forbid_unknown_fields=False):
    outputFacets: _OutputFacets | None = None  # type: ignore[valid-type]


class _Event(msgspec.Struct, forbid_unknown_fields=False, kw_only=True):
    eventTime: NonEmpty
    producer: NonEmpty
    schemaURL: str | None = None


class _RunEvent(_Event, forbid_unknown_fields=False, kw_only=True):
    run: _Run
    job: _Job
    # EventType's values, spelled out for msgspec's decoder (tests/test_vocabulary.py checks they agree)
    eventType: Literal["START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"] | None = None
    inputs: list[_InputDataset] | None = None
    outputs: list[_OutputDataset] | None = None


class _JobEvent(_Event, forbid_unknown_fields=False, kw_only=True):
    job: _Job
    inputs: list[_InputDataset] | None = None
    outputs: list[_OutputDataset] | None = None


class _DatasetEvent(_Event, forbid_unknown_fields=False, kw_only=True):
    dataset: _Dataset


_SHAPES: dict[str, type[msgspec.Struct]] = {
    RUN_EVENT: _RunEvent,
    JOB_EVENT: _JobEvent,
    DATASET_EVENT: _DatasetEvent,
}


def fits(kind: str, doc: dict[str, Any]) -> bool:
    """Whether ``doc`` has every core field right and every standard facet valid for an event of
    ``kind``. ``False`` says only that the thorough check must decide."""
    shape = _SHAPES.get(kind)
    if shape is None:
        return False
    try:
        msgspec.convert(doc, shape, strict=True)
    except msgspec.ValidationError:
        return False
    return True
