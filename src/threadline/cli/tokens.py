"""``threadline token``: API keys for the HTTP API (``Authorization: Bearer <key>``)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from threadline.cli.common import StoreOption, connect, err, expected_errors, format_micros, out
from threadline.store.base import SCOPES
from threadline.store.sync import bind_site, site_bindings

app = typer.Typer(
    help=(
        "Create, list and revoke API keys, and bind pushing sites to them. Keys are stored hashed; "
        "a key's secret is shown once."
    ),
    no_args_is_help=True,
)


def _check_scope(value: str) -> str:
    if value not in SCOPES:
        msg = f"must be one of {', '.join(SCOPES)}"
        raise typer.BadParameter(msg)
    return value


@app.command()
def create(
    name: Annotated[str, typer.Option("--name", help="A unique name for the key, e.g. airflow-prod.")],
    scope: Annotated[
        str,
        typer.Option(
            "--scope",
            help="read (GET), write (read + post events) or admin (everything).",
            callback=_check_scope,
            show_default=False,
        ),
    ],
    store: StoreOption = None,
) -> None:
    """Create an API key and print its secret (only this once) on stdout."""
    with expected_errors():
        opened = connect(store, create=True)
        try:
            secret, key = opened.create_api_key(name, scope)
        finally:
            opened.close()
    err.print(f"created {key.scope} key [bold]{key.name}[/] (id {key.id}); its secret follows.")
    err.print("[yellow]Copy it now: it is stored only as a hash and cannot be shown again.[/]")
    out.print(secret, soft_wrap=True, markup=False)


@app.command("list")
def list_keys(store: StoreOption = None) -> None:
    """List every API key, active and revoked (never the secrets)."""
    with expected_errors():
        opened = connect(store)
        try:
            keys = opened.list_api_keys()
        finally:
            opened.close()
    if not keys:
        err.print("no API keys; create one with `threadline token create --name NAME --scope write`")
        return
    table = Table("id", "name", "scope", "created", "status")
    for key in keys:
        status = "active" if key.active else f"revoked {format_micros(key.revoked_at)}"
        table.add_row(key.id, key.name, key.scope, format_micros(key.created_at), status)
    out.print(table)


@app.command()
def revoke(
    name_or_id: Annotated[str, typer.Argument(metavar="NAME_OR_ID", help="The key's name or id.")],
    store: StoreOption = None,
) -> None:
    """Revoke an API key: requests that use it are refused from now on."""
    with expected_errors():
        opened = connect(store)
        try:
            key = opened.revoke_api_key(name_or_id)
        finally:
            opened.close()
    out.print(f"revoked key {key.name} (id {key.id})", markup=False)


@app.command()
def bind(
    site: Annotated[
        str,
        typer.Argument(
            metavar="SITE", help="The site's id (`threadline status` at the site prints it as `this store`)."
        ),
    ],
    key: Annotated[str, typer.Argument(metavar="NAME_OR_ID", help="The API key that may push as the site.")],
    store: StoreOption = None,
) -> None:
    """Bind a site to the API key that may push as it (when its key is replaced, or ahead of its first
    push)."""
    with expected_errors():
        opened = connect(store)
        try:
            bound, before = bind_site(opened, site, key)
        finally:
            opened.close()
    was = f" (was {before.key_name or before.key_id})" if before and before.key_id != bound.key_id else ""
    out.print(f"site {bound.site} pushes with key {bound.key_name} (id {bound.key_id}){was}", markup=False)


@app.command("sites")
def list_sites(store: StoreOption = None) -> None:
    """List the sites that push here and the API key each one is bound to."""
    with expected_errors():
        opened = connect(store)
        try:
            bindings = site_bindings(opened)
        finally:
            opened.close()
    if not bindings:
        err.print("no site has pushed here yet; each is bound to the key of its first push")
        return
    table = Table()
    table.add_column("site", no_wrap=True)  # an id to copy whole, whatever the terminal's width
    for heading in ("key", "key id", "bound", "status"):
        table.add_column(heading, overflow="fold")
    for binding in bindings:
        status = "key revoked: rebind it" if binding.key_revoked else "active"
        table.add_row(
            binding.site, binding.key_name or "?", binding.key_id, format_micros(binding.bound_at), status
        )
    out.print(table)
