"""``threadline serve``: run the HTTP API (OpenLineage ingestion and the read API).

Its options are made from the settings table (:mod:`threadline.settings`): one option per store and
server setting (``--store`` aside, which every command shares), with the setting's type, allowed values,
bounds and help. What the options give is resolved with the config file, the environment and the
defaults into one :class:`~threadline.settings.ServerConfig`, which is all the server is handed.
"""

from __future__ import annotations

import inspect
from typing import Annotated, Any, Literal, cast

import typer

from threadline import settings
from threadline.cli.common import StoreOption, expected_errors, fail, resolve_store_url
from threadline.settings import Setting

# Kept for the readers of these names (the values are the settings table's).
AUTH_MODES = settings.setting("auth").choices
LOG_LEVELS = settings.setting("log_level").choices
SYNCHRONOUS = settings.setting("sqlite_synchronous").choices


def _help(row: Setting) -> str:
    default = row.default_text.replace("`", "")
    return f"{row.help} (env {row.env_var}, default {default})"


def _option(row: Setting) -> inspect.Parameter:
    """The ``serve`` parameter of setting ``row``: its type (a Literal of its choices), its bounds and
    help; ``None`` when not given, so that the config file and the environment can give it."""
    kind: Any
    if row.choices:
        kind = cast(Any, Literal)[row.choices]
    elif row.type is list:
        kind = list[str]
    else:
        kind = row.type
    extra: dict[str, Any] = {}
    if row.choices:
        extra["case_sensitive"] = False
    if row.type in (int, float):
        extra["min"] = None if row.minimum is None else row.type(row.minimum)
        extra["max"] = None if row.maximum is None else row.type(row.maximum)
    if row.metavar:
        extra["metavar"] = row.metavar
    option = typer.Option(row.option, help=_help(row), show_default=False, **extra)
    annotation = Annotated[kind | None, option]
    return inspect.Parameter(row.name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation)


def serve(store: StoreOption = None, **options: Any) -> None:
    """Serve the HTTP API: POST /api/v1/lineage and /api/v1/lineage/batch, GET /api/v1/events/…

    With --auth auto (the default) API keys are required as soon as one exists in the store;
    with none, a non-loopback --host is refused unless --auth none is given explicitly.
    Every option can also be set in .threadline/config.toml or the environment (docs/settings.md).
    """
    with expected_errors():
        config = settings.load_server_config(store=resolve_store_url(store), **options)
        try:
            from threadline.server import run_server
        except ImportError as exc:
            fail(f"the HTTP server is not available in this installation ({exc})")
        run_server(config)


_OPTIONS = [_option(row) for row in settings.SETTINGS if row.name != "store"]
_STORE = inspect.Parameter(
    "store", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=StoreOption
)
serve.__signature__ = inspect.Signature([_STORE, *_OPTIONS], return_annotation=None)  # type: ignore[attr-defined]
serve.__annotations__ = {"store": StoreOption, **{p.name: p.annotation for p in _OPTIONS}, "return": None}
