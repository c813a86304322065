"""The fold: from one OpenLineage event to the projected rows it contributes.

Each event adds rows to a :class:`~threadline.projection.model.Delta`; nothing here reads the store,
so the result of folding a set of events depends only on the set (see ``model`` for the merge rules).
"""

from __future__ import annotations

from typing import Any

import blake3
import msgspec

from threadline.openlineage.canonical import canonical_json
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
from threadline.openlineage.versions import DATASET_EVENT, JOB_EVENT, TERMINAL_TYPES
from threadline.projection.model import Delta, stamp
from threadline.store.base import StoredEvent
from threadline.store.ids import dataset_id, job_id, node_id

_decoder = msgspec.json.Decoder()

#: A run's state is decided by rank first, so a late START or RUNNING never undoes an end state.
STATE_RANK = {"START": 1, "RUNNING": 2, "COMPLETE": 3, "FAIL": 3, "ABORT": 3}
OWN, REFERENCED = 1, 0  # a run's own events outrank what a child's parent facet says about it


class Folder:
    """Folds events into a delta; one instance per batch."""

    def __init__(self) -> None:
        self.delta = Delta()
        self._schemas: dict[bytes, str] = {}  # schema facet JSON -> hash, folded once per batch
        self._touched: set[tuple[str, object, int]] = set()  # (kind, key, time) already folded

    def _first_touch(self, kind: str, key: object, time: int) -> bool:
        """Whether an entity is seen at this time for the first time in this batch."""
        marker = (kind, key, time)
        if marker in self._touched:
            return False
        self._touched.add(marker)
        return True

    # ---- entry point ----------------------------------------------------------------------------

    def fold(self, event: StoredEvent, doc: dict[str, Any] | None = None) -> None:
        """Add the rows that ``event`` contributes."""
        doc = doc if doc is not None else _decoder.decode(event.raw)
        time, eid = event.event_time, event.id
        if event.kind == DATASET_EVENT:
            dataset = doc.get("dataset") or {}
            self._dataset(dataset, time, eid, job=None, run_id=None, direction=None)
            return
        job = doc.get("job") or {}
        jid = self._job(job["namespace"], job["name"], time)
        self._facets("job", str(jid), job.get("facets"), stamp(0, time, eid))
        run_id = event.run_id if event.kind not in (JOB_EVENT, DATASET_EVENT) else None
        if run_id is not None:
            self._run(run_id, jid, doc.get("run") or {}, event, time, eid)
        for direction, key in (("in", "inputs"), ("out", "outputs")):
            for dataset in doc.get(key) or ():
                self._dataset(dataset, time, eid, job=jid, run_id=run_id, direction=direction)

    # ---- entities -------------------------------------------------------------------------------

    def _namespace(self, name: str, time: int) -> None:
        if not self._first_touch("namespace", name, time):
            return
        self.delta.add("namespaces", {"name": name, "created_at": time, "updated_at": time})

    def _job(self, namespace: str, name: str, time: int) -> int:
        jid = job_id(namespace, name)
        if not self._first_touch("job", jid, time):
            return jid
        self._namespace(namespace, time)
        self.delta.add(
            "jobs",
            {
                "id": jid,
                "namespace": namespace,
                "name": name,
                "created_at": time,
                "updated_at": time,
                "parent_job_id": None,
                "parent_stamp": None,
            },
        )
        return jid

    def _run(
        self, run_id: str, jid: int, run: dict[str, Any], event: StoredEvent, time: int, eid: str
    ) -> None:
        facets = run.get("facets") if isinstance(run.get("facets"), dict) else {}
        parent = decode_facet(facets.get("parent"), ParentRunFacet)
        parent_run_id = None
        if parent is not None:
            parent_run_id = str(parent.run.runId)
            parent_job = self._job(parent.job.namespace, parent.job.name, time)
            # The child's job sits under the parent's job; the parent run exists even if its own
            # events have not arrived yet (a placeholder that those events fill in later).
            self.delta.add(
                "jobs",
                {
                    "id": jid,
                    "created_at": time,
                    "updated_at": time,
                    "parent_job_id": parent_job,
                    "parent_stamp": stamp(OWN, time, eid),
                },
            )
            self.delta.add("runs", self._run_row(parent_run_id, parent_job, REFERENCED, time, eid))
        row = self._run_row(run_id, jid, OWN, time, eid)
        row["has_events"] = True
        if parent_run_id is not None:
            row["parent_run_id"] = parent_run_id
            row["parent_stamp"] = stamp(OWN, time, eid)
        event_type = event.event_type
        rank = STATE_RANK.get(event_type or "")
        if rank is not None:
            row["state"] = event_type
            row["state_stamp"] = stamp(rank, time, eid)
        if event_type == "START":
            row["started_at"] = time
        if event_type in TERMINAL_TYPES:
            row["ended_at"] = time
        self.delta.add("runs", row)
        if event_type is not None:
            self.delta.add(
                "run_states", {"run_id": run_id, "event_id": eid, "state": event_type, "event_time": time}
            )
        self._facets("run", run_id, facets, stamp(0, time, eid))

    @staticmethod
    def _run_row(run_id: str, jid: int, rank: int, time: int, eid: str) -> dict[str, Any]:
        return {
            "id": run_id,
            "job_id": jid,
            "job_stamp": stamp(rank, time, eid),
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

    def _dataset_row(self, namespace: str, name: str, time: int) -> int:
        did = dataset_id(namespace, name)
        if not self._first_touch("dataset", did, time):
            return did
        self._namespace(namespace, time)
        self.delta.add(
            "datasets",
            {
                "id": did,
                "namespace": namespace,
                "name": name,
                "created_at": time,
                "updated_at": time,
                "schema_hash": None,
                "schema_stamp": None,
                "current_version": None,
                "version_stamp": None,
            },
        )
        return did

    def _dataset(
        self,
        dataset: dict[str, Any],
        time: int,
        eid: str,
        *,
        job: int | None,
        run_id: str | None,
        direction: str | None,
    ) -> None:
        namespace, name = dataset["namespace"], dataset["name"]
        did = self._dataset_row(namespace, name, time)
        facets = dataset.get("facets") if isinstance(dataset.get("facets"), dict) else {}
        lww = stamp(0, time, eid)
        self._facets("dataset", str(did), facets, lww)
        schema_hash = self._schema(facets.get("schema"))
        if schema_hash is not None:
            self.delta.add("datasets", {"id": did, "schema_hash": schema_hash, "schema_stamp": lww})
        symlinks = decode_facet(facets.get("symlinks"), SymlinksDatasetFacet)
        for alias in (symlinks.identifiers or ()) if symlinks else ():
            self.delta.add(
                "dataset_symlinks",
                {
                    "dataset_id": did,
                    "namespace": alias.namespace,
                    "name": alias.name,
                    "type": alias.type,
                    "first_seen": time,
                },
            )
        lineage = decode_facet(facets.get("columnLineage"), ColumnLineageDatasetFacet)
        if lineage is not None:
            self._column_lineage(did, lineage, job, time, eid)
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
                    "run_stamp": stamp(1, time, eid) if direction == "out" else None,
                    "schema_hash": schema_hash,
                    "schema_stamp": lww if schema_hash else None,
                },
            )
            if direction == "out" or direction is None:
                self.delta.add("datasets", {"id": did, "current_version": version, "version_stamp": lww})
        if job is not None and direction is not None:
            self.delta.add(
                "job_io",
                {
                    "job_id": job,
                    "dataset_id": did,
                    "direction": direction,
                    "first_seen": time,
                    "last_seen": time,
                },
            )
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
            io_key = "inputFacets" if direction == "in" else "outputFacets"
            io_facets = dataset.get(io_key)
            entity = "input" if direction == "in" else "output"
            self._facets(entity, f"{run_id}/{did}", io_facets, lww)

    # ---- facets ---------------------------------------------------------------------------------

    def _facets(self, entity_type: str, entity_key: str, facets: Any, lww: str) -> None:
        if not isinstance(facets, dict):
            return
        for name, value in facets.items():
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

    def _schema(self, value: Any) -> str | None:
        if not isinstance(value, dict):
            return None
        seen_key = canonical_json(value.get("fields"))
        known = self._schemas.get(seen_key)
        if known is not None:
            return known
        facet = decode_facet(value, SchemaDatasetFacet)
        if facet is None or facet.fields is None:
            return None
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

    def _column_lineage(
        self, output: int, facet: ColumnLineageDatasetFacet, job: int | None, time: int, eid: str
    ) -> None:
        lww = stamp(0, time, eid)
        for output_field, entry in facet.fields.items():
            for source in entry.inputFields:
                if source.transformations:
                    for transformation in source.transformations:
                        self._column_edge(
                            output,
                            output_field,
                            source,
                            job,
                            time,
                            lww,
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
                        time,
                        lww,
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
                    time,
                    lww,
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
                    time,
                    lww,
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
        time: int,
        lww: str,
        *,
        kind: str | None,
        subtype: str | None,
        description: str | None,
        masking: bool | None,
    ) -> None:
        source_id = self._dataset_row(source.namespace, source.name, time)
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
                "detail_stamp": lww,
                "first_seen": time,
                "last_seen": time,
            },
        )
