"""The fold: from OpenLineage events to the projected rows they contribute.

Each event adds rows to a :class:`~threadline.projection.model.Delta`; nothing here reads the store,
so the result of folding a set of events depends only on the set (see ``model`` for the merge rules).

Work that repeats from event to event is done once per batch: facet values are kept as decoded and
only the newest value of each facet is encoded (:meth:`Folder.finish`), and a column-lineage facet
seen again for the same dataset and job is not turned into edges again: its edges are emitted once,
with the earliest and latest time and the newest stamp of the events that carried it. That is the
same result as folding every event's edges (the merge is a join), at a fraction of the cost. In the
same way namespaces, jobs, datasets and job inputs/outputs, which most events of a batch mention again,
are gathered as spans (earliest and latest time, newest stamped values) and become one row each.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import blake3
import msgspec

from threadline.openlineage.canonical import canonical_json
from threadline.openlineage.catalog_changes import FACET as CATALOG
from threadline.openlineage.catalog_changes import decode as decode_catalog_change
from threadline.openlineage.events import ParsedEvent
from threadline.openlineage.facets import (
    ColumnLineageDatasetFacet,
    DatasetVersionDatasetFacet,
    InputField,
    ParentRunFacet,
    SchemaDatasetFacet,
    SchemaField,
    SymlinksDatasetFacet,
    decode_facet,
)
from threadline.openlineage.naming import normalize_namespace
from threadline.openlineage.tag_changes import FACET as TAG_CHANGES
from threadline.openlineage.tag_changes import decode as decode_tag_changes
from threadline.openlineage.versions import DATASET_EVENT, PHASE_OF, RUN_EVENT, TERMINAL_TYPES, EventType
from threadline.projection.catalog import fold_change
from threadline.projection.model import Delta, Packed, stamp
from threadline.store.base import StoredEvent
from threadline.store.ids import dataset_id, job_id, node_id

_decoder = msgspec.json.Decoder()
_lineage_decoder = msgspec.json.Decoder(ColumnLineageDatasetFacet)

#: A run's state is decided by rank first, so a late START or RUNNING never undoes an end state.
OWN, REFERENCED = 1, 0  # a run's own events outrank what a child's parent facet says about it


class _Seen:
    """When something was seen in a batch: the earliest and latest event time, the oldest and the
    newest stamp."""

    __slots__ = ("first", "first_stamp", "last", "stamp")

    def __init__(self, time: int, lww: str) -> None:
        self.first = time
        self.last = time
        self.stamp = lww
        self.first_stamp = lww

    def add(self, time: int, lww: str) -> None:
        if time < self.first:
            self.first = time
        elif time > self.last:
            self.last = time
        if lww > self.stamp:
            self.stamp = lww
        elif lww < self.first_stamp:
            self.first_stamp = lww


class _Entity:
    """A job or dataset mentioned in a batch: its name, when, its newest stamped values, and the
    spelling of its namespace seen first."""

    __slots__ = ("display", "display_stamp", "name", "namespace", "seen", "values")

    def __init__(self, spelling: str, name: str, time: int, lww: str) -> None:
        self.namespace = normalize_namespace(spelling)
        self.name = name
        self.seen = _Seen(time, lww)
        self.values: dict[str, tuple[str, Any]] = {}  # stamp column -> (stamp, value)
        self.display = spelling
        self.display_stamp = lww

    def see(self, spelling: str, time: int, lww: str) -> None:
        self.seen.add(time, lww)
        if lww < self.display_stamp:
            self.display, self.display_stamp = spelling, lww

    def set(self, stamp_column: str, lww: str, value: Any) -> None:
        current = self.values.get(stamp_column)
        if current is None or lww > current[0]:
            self.values[stamp_column] = (lww, value)


class Folder:
    """Folds events into a delta; one instance per batch. Call :meth:`finish` before using the delta."""

    def __init__(self) -> None:
        self.delta = Delta()
        self._schemas: dict[bytes, str | None] = {}  # schema fields JSON -> hash, folded once per batch
        self._jobs: dict[int, _Entity] = {}
        self._datasets: dict[int, _Entity] = {}
        self._job_io: dict[tuple[int, int, str], _Seen] = {}
        # (entity type, entity key, facet name) -> [stamp, value]: the newest value wins.
        self._facet_values: dict[tuple[str, str, str], list[Any]] = {}
        # (output dataset, job, canonical facet JSON) -> when that column-lineage facet was seen.
        self._lineage: dict[tuple[int, int | None, bytes], _Seen] = {}

    # ---- entry points ---------------------------------------------------------------------------

    def fold(self, event: StoredEvent | ParsedEvent, doc: dict[str, Any] | None = None) -> None:
        """Add the rows that ``event`` contributes."""
        doc = doc if doc is not None else _decoder.decode(event.raw)
        time, eid = event.event_time, event.id
        lww = stamp(0, time, eid)
        self.delta.add("event_ids", {"id": eid, "event_time": time})
        if event.kind == DATASET_EVENT:
            dataset = doc.get("dataset") or {}
            self._dataset(dataset, time, eid, lww, job=None, run_id=None, direction=None)
            did = dataset_id(dataset["namespace"], dataset["name"])
            self._entity_event(did, time, eid)
            self._tag_changes("dataset", did, dataset.get("facets"), time, lww)
            facets = dataset.get("facets")
            if isinstance(facets, dict) and CATALOG in facets:
                for index, change in enumerate(decode_catalog_change(facets[CATALOG])):
                    fold_change(self.delta, change, time, f"{lww}{index:04x}")
            return
        job = doc.get("job") or {}
        jid = self._job(job["namespace"], job["name"], time, lww)
        self._entity_event(jid, time, eid)
        self._facets("job", str(jid), job.get("facets"), lww)
        self._tag_changes("job", jid, job.get("facets"), time, lww)
        run_id = event.run_id if event.kind == RUN_EVENT else None
        if run_id is not None:
            self._run(run_id, jid, doc.get("run") or {}, event, time, eid, lww)
        for direction, key in (("in", "inputs"), ("out", "outputs")):
            for dataset in doc.get(key) or ():
                self._dataset(dataset, time, eid, lww, job=jid, run_id=run_id, direction=direction)

    def _entity_event(self, entity: int, time: int, eid: str) -> None:
        self.delta.add("entity_events", {"entity_id": entity, "event_time": time, "event_id": eid})

    def finish(self) -> Delta:
        """Emit what was gathered across the batch (entities, facets, column edges); return the delta."""
        for (output, job, encoded), seen in self._lineage.items():
            self._column_lineage(output, _lineage_decoder.decode(encoded), job, seen)
        self._lineage.clear()
        for table, entities, stamps in (
            ("jobs", self._jobs, {"parent_stamp": "parent_job_id", "current_run_stamp": "current_run_id"}),
            ("datasets", self._datasets, {"schema_stamp": "schema_hash", "version_stamp": "current_version"}),
        ):
            for entity_id, entity in entities.items():
                seen = entity.seen
                row = {
                    "id": entity_id,
                    "namespace": entity.namespace,
                    "name": entity.name,
                    "created_at": seen.first,
                    "updated_at": seen.last,
                    "display_namespace": entity.display,
                    "display_stamp": entity.display_stamp,
                }
                for stamp_column, column in stamps.items():
                    lww, value = entity.values.get(stamp_column, (None, None))
                    row[stamp_column] = lww
                    row[column] = value
                self.delta.add(table, row)
                self.delta.add(
                    "namespaces",
                    {
                        "name": entity.namespace,
                        "created_at": seen.first,
                        "updated_at": seen.last,
                        "display_name": entity.display,
                        "display_stamp": entity.display_stamp,
                    },
                )
            entities.clear()
        for (job, dataset, direction), seen in self._job_io.items():
            self.delta.add(
                "job_io",
                {
                    "job_id": job,
                    "dataset_id": dataset,
                    "direction": direction,
                    "first_seen": seen.first,
                    "last_seen": seen.last,
                },
            )
        self._job_io.clear()
        for (entity_type, entity_key, name), (lww, value) in self._facet_values.items():
            self.delta.add(
                "facets",
                {
                    "entity_type": entity_type,
                    "entity_key": entity_key,
                    "name": name,
                    "value": canonical_json(value).decode(),
                    "stamp": lww,
                },
            )
        self._facet_values.clear()
        return self.delta

    # ---- entities -------------------------------------------------------------------------------

    def _job(self, namespace: str, name: str, time: int, lww: str) -> int:
        jid = job_id(namespace, name)
        entity = self._jobs.get(jid)
        if entity is None:
            self._jobs[jid] = _Entity(namespace, name, time, lww)
        else:
            entity.see(namespace, time, lww)
        return jid

    def _run(
        self,
        run_id: str,
        jid: int,
        run: dict[str, Any],
        event: StoredEvent | ParsedEvent,
        time: int,
        eid: str,
        lww: str,
    ) -> None:
        facets: dict[str, Any] = run["facets"] if isinstance(run.get("facets"), dict) else {}
        parent = decode_facet(facets.get("parent"), ParentRunFacet)
        parent_run_id = None
        tail = lww[1:]  # a stamp of another rank is that rank before the same time and id
        own = f"{OWN}{tail}"
        if parent is not None:
            parent_run_id = str(parent.run.runId)
            parent_job = self._job(parent.job.namespace, parent.job.name, time, lww)
            # The child's job sits under the parent's job; the parent run exists even if its own
            # events have not arrived yet (a placeholder that those events fill in later).
            self._jobs[jid].set("parent_stamp", own, parent_job)
            self.delta.add("runs", self._run_row(parent_run_id, parent_job, f"{REFERENCED}{tail}", time))
        # The job's current run: the one of its latest COMPLETE event, else of its latest event.
        self._jobs[jid].set(
            "current_run_stamp", f"{int(event.event_type == EventType.COMPLETE)}{tail}", run_id
        )
        row = self._run_row(run_id, jid, own, time)
        row["has_events"] = True
        if parent_run_id is not None:
            row["parent_run_id"] = parent_run_id
            row["parent_stamp"] = own
        event_type = event.event_type
        rank = PHASE_OF.get(event_type or "")  # the run lifecycle: started < running < ended
        if rank is not None:
            row["state"] = event_type
            row["state_stamp"] = f"{rank}{tail}"
        if event_type == EventType.START:
            row["started_at"] = time
        if event_type in TERMINAL_TYPES:
            row["ended_at"] = time
        self.delta.add("runs", row)
        # Every event of a run, with its type (none for producers that send none): the state history,
        # and what lineage as of a time needs to find a job's current run then.
        self.delta.add(
            "run_states", {"run_id": run_id, "event_id": eid, "state": event_type, "event_time": time}
        )
        self._facets("run", run_id, facets, lww)

    @staticmethod
    def _run_row(run_id: str, jid: int, job_stamp: str, time: int) -> dict[str, Any]:
        return {
            "id": run_id,
            "job_id": jid,
            "job_stamp": job_stamp,
            "parent_run_id": None,
            "parent_stamp": None,
            "state": None,
            "state_stamp": None,
            "created_at": time,
            "updated_at": time,
            "started_at": None,
            "ended_at": None,
            "has_events": False,
        }

    def _dataset_row(self, namespace: str, name: str, time: int, lww: str) -> _Entity:
        did = dataset_id(namespace, name)
        entity = self._datasets.get(did)
        if entity is None:
            entity = self._datasets[did] = _Entity(namespace, name, time, lww)
        else:
            entity.see(namespace, time, lww)
        return entity

    def _dataset(
        self,
        dataset: dict[str, Any],
        time: int,
        eid: str,
        lww: str,
        *,
        job: int | None,
        run_id: str | None,
        direction: str | None,
    ) -> None:
        namespace, name = dataset["namespace"], dataset["name"]
        did = dataset_id(namespace, name)
        entity = self._dataset_row(namespace, name, time, lww)
        facets: dict[str, Any] = dataset["facets"] if isinstance(dataset.get("facets"), dict) else {}
        self._facets("dataset", str(did), facets, lww)
        schema_hash = self._schema(facets.get("schema"))
        if schema_hash is not None:
            entity.set("schema_stamp", lww, schema_hash)
        symlinks = decode_facet(facets.get("symlinks"), SymlinksDatasetFacet)
        for alias in (symlinks.identifiers or ()) if symlinks else ():
            self.delta.add(
                "dataset_symlinks",
                {
                    "dataset_id": did,
                    "namespace": normalize_namespace(alias.namespace),
                    "name": alias.name,
                    "type": alias.type,
                    "first_seen": time,
                },
            )
        lineage = facets.get("columnLineage")
        if isinstance(lineage, dict) and lineage.get("_deleted") is not True:
            self._remember_lineage(did, job, lineage, time, lww)
        version_facet = decode_facet(facets.get("version"), DatasetVersionDatasetFacet)
        version = version_facet.datasetVersion if version_facet else None
        if direction == "out" and version is None:
            version = run_id  # like Marquez: each run that writes a dataset makes a version of it
        if version is not None:
            self.delta.add(
                "dataset_versions",
                {
                    "dataset_id": did,
                    "version": version,
                    "created_at": time,
                    "run_id": run_id if direction == "out" else None,
                    "run_stamp": f"1{lww[1:]}" if direction == "out" else None,
                    "schema_hash": schema_hash,
                    "schema_stamp": lww if schema_hash else None,
                },
            )
            if direction == "out" or direction is None:
                entity.set("version_stamp", lww, version)
        if job is not None and direction is not None:
            io_key = (job, did, direction)
            seen = self._job_io.get(io_key)
            if seen is None:
                self._job_io[io_key] = _Seen(time, lww)
            else:
                seen.add(time, lww)
        if run_id is not None and direction is not None:
            self.delta.add(
                "run_io",
                {
                    "run_id": run_id,
                    "dataset_id": did,
                    "direction": direction,
                    "version": version,
                    "version_stamp": lww if version is not None else None,
                    "first_seen": time,
                },
            )
            facets_key = "inputFacets" if direction == "in" else "outputFacets"
            entity_type = "input" if direction == "in" else "output"
            self._facets(entity_type, f"{run_id}/{did}", dataset.get(facets_key), lww)

    # ---- facets ---------------------------------------------------------------------------------

    def _facets(self, entity_type: str, entity_key: str, facets: Any, lww: str) -> None:
        if not isinstance(facets, dict):
            return
        values = self._facet_values
        for name, value in facets.items():
            if name in (TAG_CHANGES, CATALOG):
                continue  # operations, folded by _tag_changes and fold_change, not a state to show
            key = (entity_type, entity_key, name)
            current = values.get(key)
            if current is None:
                values[key] = [lww, value]
            elif lww > current[0]:
                current[0] = lww
                current[1] = value

    def _tag_changes(self, entity_type: str, entity: int, facets: Any, time: int, lww: str) -> None:
        """The tags a ``threadline_tag_changes`` facet adds or removes: each one's latest change wins;
        within one event, the later change in the list."""
        if not isinstance(facets, dict) or TAG_CHANGES not in facets:
            return
        for index, change in enumerate(decode_tag_changes(facets[TAG_CHANGES])):
            self.delta.add(
                "tag_changes",
                {
                    "entity_type": entity_type,
                    "entity_key": str(entity),
                    "field": change.field or "",
                    "tag": change.tag,
                    "action": change.action,
                    "value": change.value,
                    "source": change.source,
                    "changed_by": change.by,
                    "changed_at": time,
                    "stamp": f"{lww}{index:04x}",
                },
            )

    def _schema(self, value: Any) -> str | None:
        if not isinstance(value, dict):
            return None
        seen_key = canonical_json(value.get("fields"))
        if seen_key in self._schemas:
            return self._schemas[seen_key]
        facet = decode_facet(value, SchemaDatasetFacet)
        schema_hash = None
        if facet is not None and facet.fields is not None:
            fields = facet.fields
            schema_hash = blake3.blake3(canonical_json(msgspec.to_builtins(fields))).hexdigest()
            self._schema_fields(schema_hash, fields, parent=None, depth=0, counter=[0])
        self._schemas[seen_key] = schema_hash
        return schema_hash

    def _schema_fields(
        self, schema_hash: str, fields: list[SchemaField], parent: str | None, depth: int, counter: list[int]
    ) -> None:
        for field in fields:
            path = field.name if parent is None else f"{parent}.{field.name}"
            self.delta.add(
                "schema_fields",
                {
                    "schema_hash": schema_hash,
                    "path": path,
                    "ordinal": counter[0],
                    "name": field.name,
                    "parent_path": parent,
                    "depth": depth,
                    "type": field.type,
                    "description": field.description,
                },
            )
            counter[0] += 1
            if field.fields:
                self._schema_fields(schema_hash, field.fields, path, depth + 1, counter)

    # ---- column lineage -------------------------------------------------------------------------

    def _remember_lineage(
        self, output: int, job: int | None, value: dict[str, Any], time: int, lww: str
    ) -> None:
        """Note a column-lineage facet; its edges are emitted once per batch by :meth:`finish`."""
        encoded = canonical_json(value)
        key = (output, job, encoded)
        seen = self._lineage.get(key)
        if seen is not None:
            seen.add(time, lww)
            return
        if decode_facet(value, ColumnLineageDatasetFacet) is None:
            return  # does not match the spec (reported at ingest): it contributes no edges
        self._lineage[key] = _Seen(time, lww)

    def _column_lineage(
        self, output: int, facet: ColumnLineageDatasetFacet, job: int | None, seen: _Seen
    ) -> None:
        for output_field, entry in facet.fields.items():
            for source in entry.inputFields:
                if source.transformations:
                    for transformation in source.transformations:
                        self._column_edge(
                            output,
                            output_field,
                            source,
                            job,
                            seen,
                            kind=transformation.type,
                            subtype=transformation.subtype,
                            description=transformation.description,
                            masking=transformation.masking,
                        )
                else:
                    # The older form describes the transformation once per output field.
                    legacy = entry.transformationType
                    self._column_edge(
                        output,
                        output_field,
                        source,
                        job,
                        seen,
                        kind=legacy,
                        subtype=None,
                        description=entry.transformationDescription,
                        masking=(legacy == "MASKED") if legacy else None,
                    )
        for source in facet.dataset or ():
            for transformation in source.transformations or ():
                self._column_edge(
                    output,
                    "",
                    source,
                    job,
                    seen,
                    kind=transformation.type,
                    subtype=transformation.subtype,
                    description=transformation.description,
                    masking=transformation.masking,
                )
            if not source.transformations:
                self._column_edge(
                    output,
                    "",
                    source,
                    job,
                    seen,
                    kind="INDIRECT",
                    subtype=None,
                    description=None,
                    masking=None,
                )

    def _column_edge(
        self,
        output: int,
        output_field: str,
        source: InputField,
        job: int | None,
        seen: _Seen,
        *,
        kind: str | None,
        subtype: str | None,
        description: str | None,
        masking: bool | None,
    ) -> None:
        entity = self._dataset_row(source.namespace, source.name, seen.first, seen.first_stamp)
        entity.see(source.namespace, seen.last, seen.stamp)
        source_id = dataset_id(source.namespace, source.name)
        edge = node_id(
            "column",
            str(output),
            output_field,
            str(source_id),
            source.field,
            kind or "",
            subtype or "",
            str(job or 0),
        )
        self.delta.add(
            "column_lineage",
            {
                "id": edge,
                "output_dataset_id": output,
                "output_field": output_field,
                "input_dataset_id": source_id,
                "input_field": source.field,
                "transformation_type": kind,
                "transformation_subtype": subtype,
                "job_id": job,
                "description": description,
                "masking": masking,
                "detail_stamp": seen.stamp,
                "first_seen": seen.first,
                "last_seen": seen.last,
            },
        )


def fold_packed(
    events: Iterable[StoredEvent | ParsedEvent], documents: Iterable[Any] | None = None
) -> Packed:
    """Fold events into one packed delta; ``documents``: their decoded JSON, when at hand (the parse
    workers have it), else each event's bytes are decoded."""
    folder = Folder()
    count = 0
    if documents is None:
        for event in events:
            folder.fold(event)
            count += 1
    else:
        for event, document in zip(events, documents, strict=True):
            folder.fold(event, document)
            count += 1
    return Packed.of(folder.finish(), count)
