"""``threadline snapshot`` and ``threadline restore``: keep and bring back the exact inputs of a run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from threadline.cli.common import StoreOption, err, expected_errors, note, out, plural
from threadline.cli.tracked import (
    RunArgument,
    opened_artifacts,
    opened_store,
    resolve_run,
    short_run_id,
    tracking_folder,
)
from threadline.errors import TrackingError
from threadline.tracking.config import load_config
from threadline.tracking.snapshots import restore_run, snapshot_run


def snapshot(run_ref: RunArgument, store: StoreOption = None) -> None:
    """Store the exact inputs of a run (and of its steps) in the object store, so that `threadline
    restore` can bring them back later.

    An input already stored is kept; one whose file still has the content the run read is added; one
    that changed since is an error naming it, and then nothing is stored. The snapshot is recorded as
    an event of the run (an OTHER event with a `threadline_snapshot` facet).
    """
    with expected_errors(), opened_store(store) as opened:
        run_id = resolve_run(opened, run_ref)
        with opened_artifacts() as artifacts:
            result = snapshot_run(opened, artifacts, run_id)
        short_id = short_run_id(opened, run_id)
    for item in result.items:
        shown = item.object_id or "-"
        out.print(f"{item.action:<15} {shown}  {item.dataset.label}", markup=False, soft_wrap=True)
    kept = sum(1 for item in result.items if item.object_id)
    skipped = len(result.items) - kept
    note(
        f"snapshot of run {short_id} ({result.run.job_name}): {plural(kept, 'input')} kept"
        + (f", {skipped} not hashed (URIs) and not kept" if skipped else "")
    )


def restore(
    run_ref: RunArgument,
    to: Annotated[
        Path | None,
        typer.Option(
            "--to",
            metavar="DIR",
            help="Restore under DIR (paths relative to the project) instead of in place.",
            show_default=False,
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace files that exist.")] = False,
    root: Annotated[
        Path | None,
        typer.Option(
            "--root",
            metavar="ABSOLUTE_DIR",
            help="Restoring in place, allow targets anywhere under this folder (an absolute path), "
            "not only in the project.",
            show_default=False,
        ),
    ] = None,
    remote: Annotated[
        str | None,
        typer.Option(
            "--remote",
            metavar="NAME",
            help="Pull missing objects from this remote (a name from config.toml or a URL). "
            "Default: the tracking setting `remote`, if set.",
            show_default=False,
        ),
    ] = None,
    store: StoreOption = None,
) -> None:
    """Write back the exact bytes each input of a run had when the run read it.

    For a pipeline run, the inputs that came from outside the pipeline. Everything is checked first
    (targets, objects, integrity): an existing file is refused unless --force, a missing object is
    pulled from the remote or reported, and nothing is half-written. A target outside --to DIR, or
    (in place) outside the project unless --root names a folder that holds it, is refused.
    """
    with expected_errors(), opened_store(store) as opened:
        if root is not None and not root.is_absolute():
            msg = f"--root must be an absolute path (such as /data), got {root}"
            raise TrackingError(msg)
        run_id = resolve_run(opened, run_ref)
        chosen_remote = remote or load_config()["remote"]
        with opened_artifacts() as artifacts:
            _, items, skipped = restore_run(
                opened,
                artifacts,
                run_id,
                to=to,
                force=force,
                remote=chosen_remote,
                project_root=tracking_folder().parent,
                root=root,
            )
        short_id = short_run_id(opened, run_id)
    for item in items:
        out.print(f"{item.object_id}  {item.target}", markup=False, soft_wrap=True)
    for dataset in skipped:
        err.print(f"[yellow]not restored: {escape(dataset.label)} (no content id was recorded)[/]")
    note(f"restored {plural(len(items), 'input')} of run {short_id}")
