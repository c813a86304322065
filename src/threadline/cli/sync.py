"""``threadline remote``, ``push``, ``pull`` and ``status``: sync with other sites, git-style."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from threadline import settings
from threadline.artifacts.objects import ObjectDB
from threadline.artifacts.store import ArtifactStore
from threadline.cli.common import (
    StoreOption,
    connect,
    display_url,
    err,
    expected_errors,
    fail,
    note,
    out,
    plural,
)
from threadline.openlineage.timestamps import parse_time
from threadline.projection import project_all
from threadline.redact import redact_url
from threadline.sync import remotes
from threadline.sync.client import SyncClient
from threadline.sync.filters import PullFilter
from threadline.sync.objects import ObjectsReport, objects_status, pull_objects, push_objects
from threadline.sync.pull import pull as pull_events
from threadline.sync.push import push as push_events
from threadline.sync.status import status as sync_status

remote_app = typer.Typer(
    help="Named remotes (threadline servers and object stores), like git's.", no_args_is_help=True
)

RemoteArgument = Annotated[
    str | None,
    typer.Argument(
        help="A remote's name or a server URL (default: the only remote, or origin).", show_default=False
    ),
]


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )


@remote_app.command("add")
def remote_add(
    name: Annotated[str, typer.Argument(help="A name for the remote, e.g. origin.")],
    url: Annotated[
        str, typer.Argument(help="http(s)://HOST:PORT of a threadline server, or an object store URL.")
    ],
    key_env: Annotated[
        str | None,
        typer.Option("--key-env", metavar="VAR", help="The environment variable that holds its API key."),
    ] = None,
    ask_key: Annotated[
        bool, typer.Option("--ask-key", help="Ask for the API key (hidden) and keep it in the config file.")
    ] = False,
) -> None:
    """Add a remote. Its API key never goes on the command line: see --key-env and --ask-key."""
    with expected_errors():
        key = getpass.getpass(f"API key for {name}: ").strip() if ask_key else None
        path = remotes.add_remote(name, url, key_env=key_env, key=key or None)
    out.print(f"added remote {name} ({redact_url(url)}) to {path}")
    if remotes.is_server_url(url) and not (key or key_env):
        err.print(
            f"[dim]its API key comes from {remotes.key_env_var(name)} or {remotes.API_KEY_ENV} when needed[/]"
        )


@remote_app.command("list")
def remote_list() -> None:
    """List the remotes and where each one's API key comes from."""
    with expected_errors():
        rows = remotes.list_remotes()
    if not rows:
        out.print("no remotes; add one with `threadline remote add NAME URL`")
        return
    table = Table()
    for heading in ("name", "url", "key from"):
        table.add_column(heading, overflow="fold")
    for row in rows:
        table.add_row(*row)
    out.print(table)


@remote_app.command("remove")
def remote_remove(name: Annotated[str, typer.Argument(help="The remote to forget.")]) -> None:
    """Remove a remote from the config file."""
    with expected_errors():
        url = remotes.remove_remote(name)
    out.print(f"removed remote {name} ({redact_url(url)})")


def _remote(name: str | None) -> remotes.ServerRemote:
    return remotes.server_remote(name or remotes.default_remote())


ArtifactsOption = Annotated[
    bool,
    typer.Option(
        "--artifacts",
        help="Also the objects the runs refer to (inputs, outputs, snapshots) that the other side lacks.",
    ),
]


def _object_db() -> ObjectDB:
    return ArtifactStore.for_project().odb


def _objects_line(verb: str, report: ObjectsReport) -> str:
    moved = report.transfer
    line = (
        f"{verb} {plural(report.transferred, 'object')} ({moved.bytes:,} bytes), "
        f"{moved.already_present} already there"
    )
    if report.unavailable:
        line += f"; {plural(report.unavailable, 'referenced object')} stored on neither side"
    return line


def _transfer_objects(verb: str, move: Callable[..., ObjectsReport], *args: object) -> None:
    with _progress() as progress:
        task = progress.add_task(f"{verb} objects", total=None)
        report = move(*args, progress=lambda done, total: progress.update(task, completed=done, total=total))
    out.print(_objects_line(verb, report), soft_wrap=True)
    if report.transfer.failed:
        oid, reason = next(iter(report.transfer.failed.items()))
        fail(f"{plural(len(report.transfer.failed), 'object')} failed, e.g. {oid}: {reason}")


def push(
    remote: RemoteArgument = None, artifacts: ArtifactsOption = False, store: StoreOption = None
) -> None:
    """Send a remote every event of this store it lacks (resumable; nothing is sent twice)."""
    with expected_errors():
        target = _remote(remote)
        odb = _object_db() if artifacts else None
        opened = connect(store)
        try:
            with _progress() as progress:
                task = progress.add_task(f"pushing to {target.name}", total=None)

                def shown(done: int, total: int) -> None:
                    progress.update(task, completed=done, total=total)

                report = push_events(opened, target, progress=shown)
            line = (
                f"pushed {plural(report.sent, 'event')} to {target}: "
                f"{report.stored} new there, {report.duplicates} it had"
            )
            out.print(line if report.to_send else f"{target} is up to date: nothing to push")
            if odb is not None:
                with SyncClient(target) as client:
                    _transfer_objects("pushed", push_objects, opened, odb, client)
        finally:
            opened.close()
    if report.rejected:
        first = report.rejected[0].get("reason")
        fail(f"{plural(len(report.rejected), 'event')} refused by the remote: {first}")


def pull(
    remote: RemoteArgument = None,
    pipeline: Annotated[
        str | None, typer.Option(help="Only this pipeline's jobs (and the jobs under it).")
    ] = None,
    namespace: Annotated[
        str | None, typer.Option(help="Only the jobs and datasets of this namespace.")
    ] = None,
    node: Annotated[
        str | None, typer.Option(help="Only the lineage of this node id (see --upstream).")
    ] = None,
    upstream: Annotated[
        bool, typer.Option("--upstream", help="With --node: what it comes from (default).")
    ] = False,
    downstream: Annotated[
        bool, typer.Option("--downstream", help="With --node: what depends on it.")
    ] = False,
    depth: Annotated[str, typer.Option(help="With --node: edges away, or all.")] = "all",
    since: Annotated[
        str | None, typer.Option(metavar="TIME", help="Only events at or after TIME (ISO 8601).")
    ] = None,
    artifacts: ArtifactsOption = False,
    store: StoreOption = None,
) -> None:
    """Bring a remote's events into this store: everything, or the part a filter names."""
    direction = "both" if upstream and downstream else "downstream" if downstream else "upstream"
    with expected_errors():
        wanted = PullFilter.from_params(
            {
                "pipeline": pipeline or "",
                "namespace": namespace or "",
                "node": node or "",
                "direction": direction,
                "depth": depth,
                "since": since or "",
            }
        )
        if since:
            parse_time(since)
        target = _remote(remote)
        odb = _object_db() if artifacts else None
        opened = connect(store, create=True)
        try:
            with _progress() as progress:
                task = progress.add_task(f"pulling from {target.name}", total=None)
                report = pull_events(
                    opened, target, wanted, progress=lambda done: progress.update(task, completed=done)
                )
                folding = progress.add_task("projecting", total=opened.projection_lag())
                project_all(opened, progress=lambda done: progress.advance(folding, done))
            out.print(
                f"pulled {plural(report.received, 'event')} from {target} ({wanted.describe()}): "
                f"{report.stored} new here, {report.duplicates} already here"
            )
            if odb is not None:
                with SyncClient(target) as client:
                    _transfer_objects("pulled", pull_objects, opened, odb, client)
        finally:
            opened.close()
    if report.rejected:
        fail(f"{plural(len(report.rejected), 'event')} from the remote refused here: {report.rejected[0]}")


def status(remote: RemoteArgument = None, store: StoreOption = None) -> None:
    """Which store this is, and how many events (and objects) it and a remote each have that the
    other lacks."""
    with expected_errors():
        opened = connect(store)
        try:
            out.print(f"this store: {display_url(opened.url)}", soft_wrap=True, markup=False)
            if remote is None and not remotes.server_remote_names():
                out.print(f"events: {opened.count_events():,}")
                note(
                    "no remote to compare with: add one with `threadline remote add origin http://HOST:PORT`"
                )
                return
            target = _remote(remote)
            report = sync_status(opened, target)
            project = settings.find_project_dir()
            objects = None
            if project is not None:
                with SyncClient(target) as client:
                    objects = objects_status(opened, _object_db(), client)
        finally:
            opened.close()
    out.print(f"this site: {report.local_site}", soft_wrap=True)
    out.print(f"remote {target}: site {report.remote_site}", soft_wrap=True)
    out.print(f"events: {report.ahead:,} ahead (to push), {report.behind:,} behind (to pull)")
    if objects is None:
        out.print(
            "objects: not compared (the remote keeps no objects, or this is not a project)", soft_wrap=True
        )
    else:
        line = f"objects: {objects.ahead:,} ahead (to push --artifacts), {objects.behind:,} behind (to pull)"
        if objects.unavailable:
            line += f"; {objects.unavailable:,} referenced but stored on neither side"
        out.print(line, soft_wrap=True)
