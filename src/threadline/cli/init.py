"""``threadline init``: make the current folder a threadline project, as ``git init`` does."""

from __future__ import annotations

import shutil
from pathlib import Path

from threadline import settings
from threadline.cli.common import expected_errors, fail, note, out
from threadline.tracking.config import TRACKING_SETTINGS, home_dir


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return f'"{value}"'


def config_template() -> str:
    """The commented ``config.toml`` that ``init`` writes: every setting, with its default."""
    lines = [
        "# threadline project settings. Every setting is shown commented out with its default;",
        "# uncomment a line to change it. A command-line option wins over this file, and this file",
        "# wins over THREADLINE_* environment variables.",
        "",
    ]
    for setting in settings.SETTINGS:
        lines.append(f"# {setting.help}")
        if setting.default is None:
            lines.append(f'# {setting.name} = "..."')
        else:
            lines.append(f"# {setting.name} = {_toml_value(setting.default)}")
        lines.append("")
    lines += [
        "# Run tracking (the Python SDK: `with threadline.run(...)`). Keep these under [tracking].",
        "# [tracking]",
    ]
    for tracking in TRACKING_SETTINGS:
        lines.append(f"# {tracking.help}")
        if tracking.default is None:
            lines.append(f'# {tracking.name} = "..."')
        else:
            lines.append(f"# {tracking.name} = {_toml_value(tracking.default)}")
    lines += [
        "",
        "# Artifact remotes for `threadline artifacts push/pull` and `threadline restore --remote NAME`.",
        "# [remotes.origin]",
        '# url = "s3://my-bucket/threadline"',
        '# endpoint_url = "http://minio.internal:9000"',
        "",
    ]
    return "\n".join(lines)


def init() -> None:
    """Make the current folder a threadline project: `.threadline/` with a commented `config.toml`,
    the embedded store `threadline.db` and the object store `objects/`.

    Refuses when the folder, or a folder above it, already is a project (every command finds the
    nearest `.threadline` folder upwards, as git finds `.git`).
    """
    here = Path.cwd().resolve()
    folder = here / settings.PROJECT_DIR_NAME
    existing = settings.find_project_dir(here)
    home = home_dir()
    is_home = existing is not None and home.exists() and existing == home.resolve()
    if existing is not None and existing == folder:
        fail(f"{here} is a threadline project already ({folder}); nothing was changed")
    if existing is not None and not is_home:
        fail(
            f"{here} is inside the threadline project at {existing.parent} ({existing}); commands here "
            "already use it. Run `threadline init` outside it, or remove that folder first"
        )
    if folder.exists():
        fail(f"{folder} exists and is not a folder; move it away first")
    with expected_errors():
        folder.mkdir()
        try:
            (folder / settings.CONFIG_FILE_NAME).write_text(config_template(), encoding="utf-8")
            (folder / "objects").mkdir()
            from threadline.store.sql import open_store

            open_store(f"sqlite:///{folder / settings.DATABASE_FILE_NAME}").close()
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)  # nothing half-made is left behind
            raise
    out.print(f"Initialised a threadline project in {folder}", markup=False, soft_wrap=True)
    if is_home:
        note(f"(it takes over from the global folder {home} for everything under {here})")
