"""``threadline journal``: the events that tracked runs left waiting on disk for their destination."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from threadline.cli.common import expected_errors, fail, note, out, plural
from threadline.errors import ConfigError
from threadline.tracking.config import load_config
from threadline.tracking.journal import Journal
from threadline.tracking.transports import EmbeddedTransport, HttpTransport, Transport

app = typer.Typer(
    help="Events waiting in the local journal (.threadline/journal) until a server or the store has them.",
    no_args_is_help=True,
)

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        metavar="URL",
        help="Server to send to. Default: the tracking setting `url`.",
        show_default=False,
    ),
]
KeyOption = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        metavar="KEY",
        help="API key. Default: the tracking setting `api_key`.",
        show_default=False,
    ),
]


@app.command()
def status() -> None:
    """How many events wait in the journal, how old the oldest is, and how many were refused."""
    with expected_errors():
        config = load_config()
        state = Journal(config.journal_dir).status()
    age = ""
    if state.oldest is not None:
        age = f", oldest {time.time() - state.oldest:.0f} s old"
    out.print(
        f"{plural(state.events, 'event')} waiting in {plural(state.segments, 'segment')} "
        f"({state.bytes} bytes{age}) in {state.folder}",
        markup=False,
        soft_wrap=True,
    )
    if state.rejected_events:
        note(
            f"{plural(state.rejected_events, 'event')} refused for good, kept in {state.folder / 'rejected'}"
        )
    destination = config.transport
    note(f"destination: {config['url'] if destination == 'http' else destination}")


@app.command()
def flush(url: UrlOption = None, api_key: KeyOption = None) -> None:
    """Send every waiting event now: to the server (http transport, or --url), else into the store.

    Each segment is removed once the destination has it; events are stored once however often they
    are sent. Exit status 1 when the destination cannot be reached (the events stay).
    """
    with expected_errors():
        config = load_config(url=url, api_key=api_key, transport="http" if url else None)
        journal = Journal(config.journal_dir)
        before = journal.status()
        if config.transport == "http":
            transport: Transport = HttpTransport(
                config["url"], journal, api_key=config["api_key"], timeout=config["timeout"]
            )
            target = config["url"]
        elif config.transport == "embedded":
            transport = EmbeddedTransport(config.store_url, journal)
            target = config.store_url
        else:
            msg = f"the {config.transport} transport has no destination to flush to; give --url"
            raise ConfigError(msg)
        try:
            report = transport.retry(force=True)
        finally:
            transport.close()
    assert report is not None
    out.print(
        f"sent {plural(report.sent_events, 'event')} of {before.events} to {target}; "
        f"{plural(report.pending_segments, 'segment')} still waiting",
        markup=False,
        soft_wrap=True,
    )
    if report.rejected_events:
        note(
            f"{plural(report.rejected_events, 'event')} refused for good, "
            f"kept in {journal.folder / 'rejected'}"
        )
    if report.failure is not None:
        fail(f"{report.failure}; the events stay in the journal, run `threadline journal flush` again later")
