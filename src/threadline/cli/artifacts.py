"""``threadline artifacts``: the project's content-addressed object store (``.threadline/objects``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from threadline.artifacts import ArtifactStore, ObjectId, TransferReport, open_remote
from threadline.cli.common import StoreOption, err, expected_errors, fail, note, out, plural
from threadline.errors import InvalidObjectId, StoreNotFound

#: Failures listed one per line before the final ``error:`` line; the rest are counted.
SHOW_AT_MOST = 20

app = typer.Typer(
    help="Store files and folders by content (BLAKE3 ids), check them out, check, collect garbage, "
    "push and pull to remotes.",
    no_args_is_help=True,
)

JobsOption = Annotated[
    int | None,
    typer.Option(
        "--jobs",
        "-j",
        min=1,
        metavar="N",
        help="Files or transfers handled at a time. Default: one per core to hash, 4 per core to transfer.",
        show_default=False,
    ),
]
RemoteArgument = Annotated[
    str,
    typer.Argument(
        metavar="REMOTE",
        help="A remote named in .threadline/config.toml ([remotes.NAME] url = ...), a folder, "
        "or a URL: file:///PATH, s3://BUCKET/PREFIX, gs://..., az://...",
        show_default=False,
    ),
]
IdsArgument = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="[ID]...",
        help="Object ids (blake3:..., blake3:....dir for a folder). Default: every object.",
        show_default=False,
    ),
]


def human_size(size: int) -> str:
    """``512 B``, ``1.5 KiB``, ``2.0 GiB``."""
    if size < 1024:
        return f"{size} B"
    value = size / 1024
    for unit in ("KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int], None]]:
    """A transient progress bar on stderr (when it is a terminal); yields ``update(done, total)``."""
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    with bar:
        task = bar.add_task(escape(description), total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total or None)

        yield update


def _store(jobs: int | None = None) -> ArtifactStore:
    return ArtifactStore.for_project(jobs=jobs)


def _parse_ids(values: list[str] | None) -> list[ObjectId] | None:
    return None if not values else [ObjectId.parse(value) for value in values]


@app.command()
def add(
    paths: Annotated[
        list[Path],
        typer.Argument(metavar="PATH...", help="Files and folders to store.", show_default=False),
    ],
    jobs: JobsOption = None,
) -> None:
    """Store files and folders in the project's object store; print `ID  PATH` for each.

    Files are copied (later changes to them do not touch the stored copy). Unchanged files already
    stored are not read again. A folder's id ends in `.dir`.
    """
    with expected_errors():
        for path in paths:
            if not path.exists():
                fail(f"{path} does not exist")
        store = _store(jobs)
        try:
            for path in paths:
                with progress_bar(f"adding {path}") as update:
                    oid = store.add(path, progress=update)
                out.print(f"{oid}  {path}", markup=False, soft_wrap=True)
        finally:
            store.close()


@app.command()
def checkout(
    object_id: Annotated[str, typer.Argument(metavar="ID", help="A file or folder id.", show_default=False)],
    target: Annotated[Path, typer.Argument(metavar="TARGET", help="Where to write it.", show_default=False)],
    force: Annotated[bool, typer.Option("--force", help="Replace TARGET if it exists.")] = False,
    jobs: JobsOption = None,
) -> None:
    """Write a stored file or folder at TARGET, verifying every byte; refuses an existing TARGET.

    Nothing is half-written: the result appears at TARGET only once complete.
    """
    with expected_errors():
        oid = ObjectId.parse(object_id)
        with progress_bar(f"checking out {target}") as update:
            _store(jobs).checkout(oid, target, force=force, progress=update)
    note(f"checked out {oid} at {target}")


@app.command()
def check(
    ids: IdsArgument = None,
    remove: Annotated[
        bool, typer.Option("--remove", help="Delete corrupt objects (pull or add them again after).")
    ] = False,
    jobs: JobsOption = None,
) -> None:
    """Re-hash stored objects (all, or those the ids need) and report the corrupt ones."""
    with expected_errors():
        wanted = _parse_ids(ids)
        with progress_bar("checking") as update:
            report = _store(jobs).check(wanted, remove=remove, progress=update)
    for problem in report.corrupt[:SHOW_AT_MOST]:
        err.print(f"[red]corrupt: {escape(problem.object_id)} at {escape(problem.path)}[/]")
    if len(report.corrupt) > SHOW_AT_MOST:
        err.print(f"[red]… and {len(report.corrupt) - SHOW_AT_MOST} more[/]")
    for oid in report.missing[:SHOW_AT_MOST]:
        err.print(f"[red]missing: {oid}[/]")
    out.print(f"checked {plural(report.checked, 'object')} ({human_size(report.bytes)})", soft_wrap=True)
    if report.removed:
        err.print(
            f"[yellow]removed {plural(len(report.removed), 'corrupt object')}; "
            "fetch them again with `threadline artifacts pull REMOTE`[/]"
        )
    if report.missing:
        fail(
            f"{plural(len(report.missing), 'object')} missing; "
            "fetch them with `threadline artifacts pull REMOTE`"
        )
    if report.corrupt and not remove:
        fail(
            f"{plural(len(report.corrupt), 'corrupt object')}; delete them with "
            "`threadline artifacts check --remove`, then pull them again"
        )


def read_keep_file(path: Path) -> list[ObjectId]:
    """Ids listed in a file: the first word of each line; blank lines and `#` comments are skipped.

    So the output of `threadline artifacts add` (`ID  PATH` lines) works as it is.
    """
    ids: list[ObjectId] = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            try:
                ids.append(ObjectId.parse(words[0]))
            except InvalidObjectId as exc:
                msg = f"{path}:{number}: {exc.message}"
                raise InvalidObjectId(msg) from exc
    return ids


def referenced_by_runs(store_url: str | None, artifacts: ArtifactStore) -> list[ObjectId]:
    """The stored objects that runs in the store refer to (dataset versions, run inputs and outputs,
    `threadline_artifact` hashes, snapshots, package lists); ids not stored here are left out."""
    from threadline.cli.tracked import opened_store
    from threadline.projection.readers.objects import referenced_objects

    try:
        with opened_store(store_url) as store, store.read() as connection:
            referenced = referenced_objects(connection)
    except StoreNotFound:
        if store_url is not None:
            raise
        referenced = set()  # objects added by hand, and no store of runs: no run refers to any
    kept = []
    for text in sorted(referenced):
        try:
            oid = ObjectId.parse(text)
        except InvalidObjectId:
            continue
        if artifacts.odb.has(oid.file_id):
            kept.append(oid)
    return kept


@app.command()
def gc(
    keep: Annotated[
        list[str] | None,
        typer.Option(
            "--keep", metavar="ID", help="Also keep this id (repeatable); a folder keeps its files."
        ),
    ] = None,
    keep_file: Annotated[
        Path | None,
        typer.Option(
            "--keep-file",
            metavar="FILE",
            help="Also keep the ids in FILE, one per line (the output of `artifacts add` works).",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list what would be removed and the space freed.")
    ] = False,
    store: StoreOption = None,
) -> None:
    """Remove every stored object that neither the runs in the store nor the kept ids need.

    By default gc keeps every object that a run refers to: the content of dataset versions and of run
    inputs and outputs, `threadline_artifact` hashes, snapshot objects and package lists. --keep and
    --keep-file keep more. When no run refers to any stored object and nothing is kept explicitly, gc
    refuses rather than remove everything (an empty --keep-file does remove everything).
    """
    with expected_errors():
        kept = _parse_ids(keep) or []
        if keep_file is not None:
            kept += read_keep_file(keep_file)
        artifacts = _store()
        by_runs = referenced_by_runs(store, artifacts)
        if not by_runs and not kept and keep_file is None:
            fail(
                "no run in the store refers to a stored object, so gc would remove every object; "
                "say what to keep with --keep ID or --keep-file FILE (it does nothing otherwise)"
            )
        report = artifacts.gc([*by_runs, *kept], dry_run=dry_run)
    note(f"{plural(len(by_runs), 'object')} referenced by runs kept")
    if dry_run:
        for oid in report.removed:
            out.print(str(oid), markup=False)
        err.print(
            f"would remove {plural(len(report.removed), 'object')} ({human_size(report.bytes_freed)}); "
            f"{report.kept} kept"
        )
    else:
        err.print(
            f"removed {plural(len(report.removed), 'object')}, freed {human_size(report.bytes_freed)}; "
            f"{report.kept} kept"
        )


def _report_transfer(verb: str, report: TransferReport, where: str) -> None:
    failed = sorted(report.failed.items())
    for oid, problem in failed[:SHOW_AT_MOST]:
        err.print(f"[red]{oid}: {escape(problem)}[/]")
    if len(failed) > SHOW_AT_MOST:
        err.print(f"[red]… and {len(failed) - SHOW_AT_MOST} more[/]")
    out.print(
        f"{verb} {plural(len(report.transferred), 'object')} ({human_size(report.bytes)}) {where}; "
        f"{report.already_present} already there",
        soft_wrap=True,
        markup=False,
    )
    if failed:
        fail(
            f"{plural(len(failed), 'object')} could not be {verb}; "
            "run the command again to retry them (objects already copied are not copied again)"
        )


@app.command()
def push(remote: RemoteArgument, ids: IdsArgument = None, jobs: JobsOption = None) -> None:
    """Upload the objects the remote lacks: every object, or those the ids need."""
    with expected_errors():
        wanted = _parse_ids(ids)
        opened = open_remote(remote)
        with progress_bar(f"pushing to {opened.url}") as update:
            report = _store().push(opened, wanted, jobs=jobs, progress=update)
    _report_transfer("pushed", report, f"to {opened.url}")


@app.command()
def pull(remote: RemoteArgument, ids: IdsArgument = None, jobs: JobsOption = None) -> None:
    """Download the objects this project lacks: everything on the remote, or what the ids need."""
    with expected_errors():
        wanted = _parse_ids(ids)
        opened = open_remote(remote)
        with progress_bar(f"pulling from {opened.url}") as update:
            report = _store().pull(opened, wanted, jobs=jobs, progress=update)
    _report_transfer("pulled", report, f"from {opened.url}")
