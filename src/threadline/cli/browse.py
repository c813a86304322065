"""``threadline datasets``, ``threadline jobs`` and ``threadline show``: browsing what lineage knows.

Tables go to stdout; ``--format json`` prints exactly what the HTTP API answers for the same thing.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Connection

from threadline.cli.common import StoreOption, connect, err, expected_errors, out, plural
from threadline.errors import NotFound
from threadline.graph.nodes import NodeId, parse_node_id
from threadline.projection.readers import datasets as dataset_catalog
from threadline.projection.readers import jobs as job_catalog
from threadline.projection.readers.datasets import Dataset, DatasetVersion, Field
from threadline.projection.readers.jobs import Job, JobVersion
from threadline.projection.readers.runs import Run, child_runs, get_run
from threadline.server.api import shapes
from threadline.store.run_ids import resolve_run_id, short_run_ids
from threadline.tracking.compare import format_value
from threadline.vocabulary import EventType, format_duration, people_time

T = TypeVar("T")
#: How many runs and versions ``show`` lists.
RECENT = 10
#: How many child runs ``show RUN`` lists.
CHILD_RUNS = 50


class Format(StrEnum):
    """How results are printed."""

    table = "table"
    json = "json"


FormatOption = Annotated[
    Format, typer.Option("--format", "-f", help="table, or json: what the HTTP API answers.")
]
NamespaceOption = Annotated[
    str | None,
    typer.Option("--namespace", "-n", help="Only this namespace (any spelling of it). Default: all."),
]
LimitOption = Annotated[int, typer.Option("--limit", min=0, help="Show at most this many.")]
OffsetOption = Annotated[int, typer.Option("--offset", min=0, help="Skip this many first.")]


def _read(store: str | None, work: Callable[[Connection], T]) -> T:
    with expected_errors():
        opened = connect(store)
        try:
            with opened.read() as connection:
                return work(connection)
        finally:
            opened.close()


def _table(*headers: str, **options: Any) -> Table:
    """A table whose cells wrap rather than lose their end (names and ids must stay whole)."""
    table = Table(*headers, **options)
    for column in table.columns:
        column.overflow = "fold"
    return table


def _json(content: Any) -> None:
    out.print_json(json.dumps(content), highlight=False)


def _duration(ms: int | None) -> str:
    return format_duration(None if ms is None else ms * 1000)


def _tags(tags: list[Any]) -> str:
    return ", ".join(tag.name for tag in tags)


def _owners(owners: list[dict[str, Any]]) -> str:
    return ", ".join(f"{o['name']}" + (f" ({o['type']})" if o.get("type") else "") for o in owners)


# ---- lists ------------------------------------------------------------------------------------------


def datasets(
    namespace: NamespaceOption = None,
    limit: LimitOption = 50,
    offset: OffsetOption = 0,
    output: FormatOption = Format.table,
    store: StoreOption = None,
) -> None:
    """List datasets by namespace and name: fields, tags, current version, last update."""
    page = _read(store, lambda c: dataset_catalog.list_datasets(c, namespace, limit=limit, offset=offset))
    if output is Format.json:
        _json({"datasets": [shapes.dataset_json(d) for d in page.items], "totalCount": page.total})
        return
    if not page.items:
        err.print("no datasets" + (f" in namespace {namespace}" if namespace else ""))
        return
    table = _table("namespace", "name", "fields", "tags", "version", "updated")
    for d in page.items:
        table.add_row(
            escape(d.namespace),
            escape(d.name),
            str(len(d.fields)),
            escape(_tags(d.dataset_tags)),
            (d.current_version or "")[:12],
            people_time(d.updated_at),
        )
    out.print(table)
    err.print(f"{len(page.items)} of {plural(page.total, 'dataset')}")


def jobs(
    namespace: NamespaceOption = None,
    limit: LimitOption = 50,
    offset: OffsetOption = 0,
    output: FormatOption = Format.table,
    store: StoreOption = None,
) -> None:
    """List jobs by namespace and name: type, inputs and outputs, latest run."""
    page = _read(store, lambda c: job_catalog.list_jobs(c, namespace, limit=limit, offset=offset))
    if output is Format.json:
        _json({"jobs": [shapes.job_json(j) for j in page.items], "totalCount": page.total})
        return
    if not page.items:
        err.print("no jobs" + (f" in namespace {namespace}" if namespace else ""))
        return
    table = _table("namespace", "name", "type", "inputs", "outputs", "latest run", "state", "duration")
    for j in page.items:
        run = j.latest_run
        table.add_row(
            escape(j.namespace),
            escape(j.name),
            j.type,
            str(len(j.inputs)),
            str(len(j.outputs)),
            people_time(run.created_at) if run else "",
            run.marquez_state.label if run else "",
            _duration(run.duration_ms) if run else "",
        )
    out.print(table)
    err.print(f"{len(page.items)} of {plural(page.total, 'job')}")


# ---- show -------------------------------------------------------------------------------------------


def _resolve(connection: Connection, node: str) -> Any:
    """What ``node`` names, read: a dataset (or version, or field), a job (or version), or a run."""
    text = node.strip()
    kind = text.split(":", 1)[0]
    if kind not in ("dataset", "job", "datasetField", "run"):
        return get_run(connection, resolve_run_id(connection, text))
    if kind == "run":  # run:ID, where ID may be a unique prefix like everywhere else
        return get_run(connection, resolve_run_id(connection, text.split(":", 1)[1]))
    parsed = parse_node_id(text)
    if parsed.is_run:
        return get_run(connection, resolve_run_id(connection, parsed.run_id or ""))
    assert parsed.namespace is not None
    assert parsed.name is not None
    if parsed.is_job:
        if parsed.version is not None:
            return job_catalog.get_job_version(connection, parsed.namespace, parsed.name, parsed.version)
        job = job_catalog.get_job(connection, parsed.namespace, parsed.name)
        return job, job_catalog.list_job_runs(connection, parsed.namespace, parsed.name, limit=RECENT)
    if parsed.version is not None:
        return dataset_catalog.get_dataset_version(connection, parsed.namespace, parsed.name, parsed.version)
    dataset = dataset_catalog.get_dataset(connection, parsed.namespace, parsed.name)
    if parsed.is_field:
        return _field(dataset, parsed)
    versions = dataset_catalog.list_dataset_versions(connection, parsed.namespace, parsed.name, limit=RECENT)
    return dataset, versions


@dataclass
class _Extras:
    """What ``show`` prints beside what the API answers: short run ids, a run's child runs."""

    short: dict[str, str] = dataclasses.field(default_factory=dict)
    children: list[Run] = dataclasses.field(default_factory=list)
    child_count: int = 0

    def short_id(self, run_id: str | None) -> str:
        """The short id of a run (the first 8 characters when unknown)."""
        return self.short.get(run_id, run_id[:8]) if run_id else ""


def _with_extras(connection: Connection, found: Any) -> tuple[Any, _Extras]:
    """``found`` and, read in the same transaction, the extras it is shown with."""
    extras = _Extras()
    ids: list[str | None] = []
    if isinstance(found, Run):
        extras.children, extras.child_count = child_runs(connection, found.id, CHILD_RUNS)
        ids = [found.id, found.parent_run_id, *(child.id for child in extras.children)]
    elif isinstance(found, tuple) and isinstance(found[0], Job):
        ids = [run.id for run in found[1].items]
    elif isinstance(found, tuple) and isinstance(found[0], Dataset) and not isinstance(found[1], Field):
        ids = [v.created_by.id for v in found[1].items if v.created_by]
    extras.short = short_run_ids(connection, [i for i in ids if i])
    return found, extras


def _field(dataset: Dataset, node: NodeId) -> tuple[Dataset, Field]:
    for field in dataset.fields:
        if node.field in (field.path, field.name):
            return dataset, field
    msg = f"dataset {dataset.name!r} has no field {node.field!r}"
    raise NotFound(msg)


def show(
    node: Annotated[
        str,
        typer.Argument(
            help="dataset:NAMESPACE:NAME, job:NAMESPACE:NAME, datasetField:NAMESPACE:DATASET:FIELD, "
            "run:ID (each may end in #VERSION but runs), or a run id or unique prefix of one.",
            show_default=False,
        ),
    ],
    output: FormatOption = Format.table,
    store: StoreOption = None,
) -> None:
    """Show a dataset, a job or a run: facets, schema, versions, runs, inputs and outputs, tags."""
    found, extras = _read(store, lambda c: _with_extras(c, _resolve(c, node)))
    if isinstance(found, Run):
        _show_run(found, extras, output)
    elif isinstance(found, JobVersion):
        _show_job_version(found, output)
    elif isinstance(found, DatasetVersion):
        _show_dataset_version(found, output)
    elif isinstance(found[0], Job):
        _show_job(found[0], found[1].items, extras, output)
    elif isinstance(found[1], Field):
        if output is Format.json:
            _json(shapes.field_json(found[1]))
        else:
            _fields_table([found[1]], f"{found[0].namespace} {found[0].name}")
    else:
        _show_dataset(found[0], found[1].items, extras, output)


def _facts(title: str, rows: list[tuple[str, str | None]]) -> None:
    out.print(f"[bold]{escape(title)}[/]")
    for label, value in rows:
        if value:
            out.print(f"  [dim]{label + ':':<16}[/] {escape(value)}")


def _facets(facets: dict[str, Any]) -> None:
    if not facets:
        return
    table = _table("facet", "value", title="facets", title_justify="left")
    for name, value in sorted(facets.items()):
        shown = (
            {k: v for k, v in value.items() if not k.startswith("_")} if isinstance(value, dict) else value
        )
        text = json.dumps(shown, ensure_ascii=False, sort_keys=True)
        table.add_row(escape(name), escape(text if len(text) <= 160 else text[:157] + "..."))
    out.print(table)


def _fields_table(fields: list[Field], title: str = "schema") -> None:
    if not fields:
        return
    table = _table("field", "type", "tags", "description", title=title, title_justify="left")
    for field in fields:
        table.add_row(
            escape("  " * field.depth + field.name),
            escape(field.type or ""),
            escape(_tags(field.tags)),
            escape(field.description or ""),
        )
    out.print(table)


def _show_dataset(dataset: Dataset, versions: list[DatasetVersion], extras: _Extras, output: Format) -> None:
    if output is Format.json:
        _json(shapes.dataset_json(dataset))
        return
    _facts(
        f"dataset {dataset.namespace} {dataset.name}",
        [
            ("description", dataset.description),
            ("source", dataset.source_name),
            ("current version", dataset.current_version),
            ("created", people_time(dataset.created_at)),
            ("updated", people_time(dataset.updated_at)),
            ("owners", _owners(dataset.owners)),
            ("tags", _tags(dataset.dataset_tags)),
            ("aliases", ", ".join(f"{a.namespace} {a.name}" for a in dataset.aliases)),
        ],
    )
    _fields_table(dataset.fields)
    if versions:
        table = _table("version", "created", "run", "job", "state", title="versions", title_justify="left")
        for v in versions:
            run = v.created_by
            table.add_row(
                escape(v.version),
                people_time(v.created_at),
                extras.short_id(run.id if run else None),
                escape(f"{run.job_namespace} {run.job_name}") if run else "",
                run.marquez_state.label if run else "",
            )
        out.print(table)
    _facets(dataset.facets)


def _show_dataset_version(version: DatasetVersion, output: Format) -> None:
    if output is Format.json:
        _json(shapes.dataset_version_json(version))
        return
    run = version.created_by
    _facts(
        f"dataset {version.dataset.namespace} {version.dataset.name} version {version.version}",
        [
            ("created", people_time(version.created_at)),
            ("written by run", run.id if run else None),
            ("job", f"{run.job_namespace} {run.job_name}" if run else None),
        ],
    )
    _fields_table(version.fields)
    _facets(version.facets)


def _io_table(title: str, refs: list[Any], with_version: bool = False) -> None:
    if not refs:
        return
    columns = ["namespace", "name"] + (["version"] if with_version else [])
    table = _table(*columns, title=title, title_justify="left")
    for ref in refs:
        row = [escape(ref.namespace), escape(ref.name)]
        if with_version:
            row.append(escape(ref.version or ""))
        table.add_row(*row)
    out.print(table)


def _show_job(job: Job, runs: list[Run], extras: _Extras, output: Format) -> None:
    if output is Format.json:
        _json(shapes.job_json(job))
        return
    _facts(
        f"job {job.namespace} {job.name}",
        [
            ("type", job.type),
            ("description", job.description),
            ("location", job.location),
            ("parent", f"{job.parent[0]} {job.parent[1]}" if job.parent else None),
            ("current version", job.current_version),
            ("created", people_time(job.created_at)),
            ("updated", people_time(job.updated_at)),
            ("owners", _owners(job.owners)),
            ("tags", _tags(job.tags)),
        ],
    )
    _io_table("inputs", job.inputs)
    _io_table("outputs", job.outputs)
    if runs:
        table = _table(
            "run", "state", "started", "ended", "duration", title="recent runs", title_justify="left"
        )
        for run in runs:
            table.add_row(
                extras.short_id(run.id),
                run.marquez_state.label,
                people_time(run.started_at),
                people_time(run.ended_at),
                _duration(run.duration_ms),
            )
        out.print(table)
    _facets(job.facets)


def _show_job_version(version: JobVersion, output: Format) -> None:
    if output is Format.json:
        _json(shapes.job_version_json(version))
        return
    _facts(
        f"job {version.namespace} {version.name} version {version.version}",
        [
            ("first run", people_time(version.created_at)),
            ("runs", str(version.run_count)),
            ("latest run", version.latest_run.id if version.latest_run else None),
            ("location", version.location),
        ],
    )
    _io_table("inputs", version.inputs)
    _io_table("outputs", version.outputs)


def _show_run(run: Run, extras: _Extras, output: Format) -> None:
    if output is Format.json:
        _json(shapes.run_json(run))
        return
    environment = run.facets.get("threadline_environment")
    environment = environment if isinstance(environment, dict) else {}
    git: dict[str, Any] = environment["git"] if isinstance(environment.get("git"), dict) else {}
    _facts(
        f"run {run.id}",
        [
            ("short id", extras.short_id(run.id)),
            ("job", f"{run.job_namespace} {run.job_name}"),
            ("state", run.marquez_state.label),
            ("started", people_time(run.started_at)),
            ("ended", people_time(run.ended_at)),
            ("duration", _duration(run.duration_ms)),
            ("parent run", extras.short_id(run.parent_run_id) or None),
            ("job version", run.job_version),
            ("error", _error_message(run.facets)),
            ("commit", git.get("commit")),
            ("branch", git.get("branch")),
            ("dirty", None if git.get("dirty") is None else "yes" if git.get("dirty") else "no"),
            ("python", environment.get("python")),
            ("host", environment.get("host")),
            ("command", environment.get("command_line")),
        ],
    )
    _params_table(run.facets)
    _metrics_table(run.facets)
    _io_table("inputs", run.inputs, with_version=True)
    _io_table("outputs", run.outputs, with_version=True)
    if extras.children:
        shown = len(extras.children)
        more = f", the newest {shown}" if extras.child_count > shown else ""
        table = _table(
            "run",
            "job",
            "state",
            "started",
            "duration",
            title=f"child runs ({extras.child_count}{more})",
            title_justify="left",
        )
        for child in extras.children:
            table.add_row(
                extras.short_id(child.id),
                escape(child.job_name),
                child.marquez_state.label,
                people_time(child.started_at or child.created_at),
                _duration(child.duration_ms),
            )
        out.print(table)
    if run.states:
        table = _table("time", "event", title="events", title_justify="left")
        for change in run.states:
            table.add_row(people_time(change.time), change.state or EventType.OTHER)
        out.print(table)
    _facets({name: value for name, value in run.facets.items() if name not in _SHOWN_RUN_FACETS})


#: Run facets ``show RUN`` prints as tables or facts rather than in the facet list.
_SHOWN_RUN_FACETS = ("threadline_params", "threadline_metrics", "errorMessage")


def _error_message(facets: dict[str, Any]) -> str | None:
    facet = facets.get("errorMessage")
    message = facet.get("message") if isinstance(facet, dict) else None
    return message if isinstance(message, str) else None


def _params_table(facets: dict[str, Any]) -> None:
    """The run's parameters (``threadline_params``), one per row, whole."""
    facet = facets.get("threadline_params")
    params = facet.get("params") if isinstance(facet, dict) else None
    if not isinstance(params, dict) or not params:
        return
    table = _table("name", "value", title=f"parameters ({len(params)})", title_justify="left")
    for name, value in sorted(params.items()):
        table.add_row(escape(str(name)), escape(format_value(value)))
    out.print(table)


def _metrics_table(facets: dict[str, Any]) -> None:
    """The run's metrics (``threadline_metrics``): the last value of each series and its length."""
    facet = facets.get("threadline_metrics")
    series = facet.get("metrics") if isinstance(facet, dict) else None
    if not isinstance(series, dict) or not series:
        return
    table = _table("metric", "last value", "points", title=f"metrics ({len(series)})", title_justify="left")
    for name, points in sorted(series.items()):
        last = points[-1][1] if isinstance(points, list) and points and isinstance(points[-1], list) else None
        table.add_row(escape(str(name)), escape(format_value(last)), str(len(points or [])))
    out.print(table)
