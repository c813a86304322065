"""``threadline serve``: run the HTTP API (OpenLineage ingestion and the read API)."""

from __future__ import annotations

import urllib.parse
from typing import Annotated, Literal

import typer

from threadline import settings
from threadline.cli.common import StoreOption, expected_errors, fail, resolve_store_url
from threadline.sync import remotes
from threadline.sync.filters import PullFilter

AUTH_MODES = ("auto", "token", "none")
LOG_LEVELS = ("debug", "info", "warning", "error")
SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")


def _setting(name: str, explicit: object, choices: tuple[str, ...] | None = None) -> object:
    """A setting's value from the option, config file, environment or default, checked."""
    value = settings.resolve(name, explicit)
    if choices is not None and str(value).lower() not in {c.lower() for c in choices}:
        setting = next(s for s in settings.SETTINGS if s.name == name)
        fail(f"{name} must be one of {', '.join(choices)}, got {value!r} (check {setting.env_var})")
    return value


def _positive(name: str, value: object) -> object:
    """A limit from the config file or environment, checked as its option is (above zero)."""
    if isinstance(value, int | float) and value <= 0:
        setting = next(s for s in settings.SETTINGS if s.name == name)
        fail(f"{name} must be above 0, got {value!r} (check {setting.env_var} and the config file)")
    return value


def _help(name: str) -> str:
    setting = next(s for s in settings.SETTINGS if s.name == name)
    return f"{setting.help} (env {setting.env_var}, default {setting.default})"


def _query(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    pairs = urllib.parse.parse_qsl(text, keep_blank_values=True, strict_parsing=False)
    known = {"pipeline", "namespace", "node", "direction", "depth", "since"}
    unknown = sorted({key for key, _ in pairs} - known)
    if unknown or not pairs:
        fail(f"--pull-filter takes {', '.join(sorted(known))} as key=value&…, got {text!r}")
    return dict(pairs)


def serve(
    store: StoreOption = None,
    host: Annotated[str | None, typer.Option(help=_help("host"), show_default=False)] = None,
    port: Annotated[
        int | None, typer.Option(help=_help("port"), show_default=False, min=0, max=65535)
    ] = None,
    auth: Annotated[
        Literal["auto", "token", "none"] | None,
        typer.Option(help=_help("auth"), case_sensitive=False, show_default=False),
    ] = None,
    max_body_bytes: Annotated[
        int | None, typer.Option(help=_help("max_body_bytes"), show_default=False, min=1)
    ] = None,
    max_batch_events: Annotated[
        int | None, typer.Option(help=_help("max_batch_events"), show_default=False, min=1)
    ] = None,
    sqlite_synchronous: Annotated[
        Literal["OFF", "NORMAL", "FULL", "EXTRA"] | None,
        typer.Option(help=_help("sqlite_synchronous"), case_sensitive=False, show_default=False),
    ] = None,
    parse_workers: Annotated[
        int | None, typer.Option(help=_help("parse_workers"), show_default=False, min=0, max=64)
    ] = None,
    log_level: Annotated[
        Literal["debug", "info", "warning", "error"] | None,
        typer.Option(help=_help("log_level"), case_sensitive=False, show_default=False),
    ] = None,
    objects: Annotated[
        str | None, typer.Option(metavar="DIR", help=_help("objects"), show_default=False)
    ] = None,
    max_event_inputs: Annotated[
        int | None, typer.Option(help=_help("max_event_inputs"), show_default=False, min=1)
    ] = None,
    max_event_outputs: Annotated[
        int | None, typer.Option(help=_help("max_event_outputs"), show_default=False, min=1)
    ] = None,
    max_event_fields: Annotated[
        int | None, typer.Option(help=_help("max_event_fields"), show_default=False, min=1)
    ] = None,
    max_event_column_edges: Annotated[
        int | None, typer.Option(help=_help("max_event_column_edges"), show_default=False, min=1)
    ] = None,
    max_object_bytes: Annotated[
        int | None, typer.Option(help=_help("max_object_bytes"), show_default=False, min=1)
    ] = None,
    header_timeout: Annotated[
        float | None,
        typer.Option(metavar="SECONDS", help=_help("header_timeout"), show_default=False, min=0.1),
    ] = None,
    body_timeout: Annotated[
        float | None,
        typer.Option(metavar="SECONDS", help=_help("body_timeout"), show_default=False, min=0.1),
    ] = None,
    max_connections: Annotated[
        int | None, typer.Option(help=_help("max_connections"), show_default=False, min=1)
    ] = None,
    read_wait: Annotated[
        float | None,
        typer.Option(metavar="SECONDS", help=_help("read_wait"), show_default=False, min=0.0),
    ] = None,
    pull_from: Annotated[
        list[str] | None,
        typer.Option(
            "--pull-from",
            metavar="REMOTE",
            help="Pull from this threadline server (a remote's name or URL) on a schedule; repeatable.",
        ),
    ] = None,
    pull_every: Annotated[
        float, typer.Option(metavar="SECONDS", min=1.0, help="How often to pull from --pull-from servers.")
    ] = 60.0,
    pull_filter: Annotated[
        str | None,
        typer.Option(
            metavar="QUERY",
            help="Pull only part of each --pull-from server, as pull's options in query form: "
            "pipeline=P, namespace=N, node=NODE&direction=upstream&depth=3, since=TIME.",
        ),
    ] = None,
) -> None:
    """Serve the HTTP API: POST /api/v1/lineage and /api/v1/lineage/batch, GET /api/v1/events/…

    With --auth auto (the default) API keys are required as soon as one exists in the store;
    with none, a non-loopback --host is refused unless --auth none is given explicitly.
    """
    with expected_errors():
        url = resolve_store_url(store)
        options = {
            "host": _setting("host", host),
            "port": _setting("port", port),
            "auth": _setting("auth", auth, AUTH_MODES),
            "max_body_bytes": _setting("max_body_bytes", max_body_bytes),
            "max_batch_events": _setting("max_batch_events", max_batch_events),
            "parse_workers": _setting("parse_workers", parse_workers),
            "log_level": str(_setting("log_level", log_level, LOG_LEVELS)).lower(),
            "sqlite_synchronous": str(
                _setting("sqlite_synchronous", sqlite_synchronous, SYNCHRONOUS)
            ).upper(),
            "objects_dir": _setting("objects", objects),
            **{
                name: _positive(name, _setting(name, value))
                for name, value in (
                    ("max_event_inputs", max_event_inputs),
                    ("max_event_outputs", max_event_outputs),
                    ("max_event_fields", max_event_fields),
                    ("max_event_column_edges", max_event_column_edges),
                    ("max_object_bytes", max_object_bytes),
                    ("header_timeout", header_timeout),
                    ("body_timeout", body_timeout),
                    ("max_connections", max_connections),
                )
            },
            "read_wait": _setting("read_wait", read_wait),
            "pull_from": [remotes.server_remote(name) for name in pull_from or []],
            "pull_every": pull_every,
            "pull_filter": PullFilter.from_params(_query(pull_filter)),
        }
        try:
            from threadline.server import run_server
        except ImportError as exc:
            fail(f"the HTTP server is not available in this installation ({exc})")
        run_server(url, **options)  # type: ignore[arg-type]
