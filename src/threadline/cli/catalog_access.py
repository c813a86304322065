"""Where ``threadline catalog`` reads and changes the catalog: a store (``--store``, the default) or a
threadline server over HTTP (``--server REMOTE|URL``).

Both give the same answers in Data Catalog v1's JSON, so the commands print the same whichever they
use. A server is named as ``threadline pull`` names one: a remote of the project's config file
(``threadline remote add origin http://HOST:PORT``) or a URL; its API key comes from where a remote's
does (the remote's ``key`` or ``key_env``, ``THREADLINE_REMOTE_<NAME>_KEY``, ``THREADLINE_API_KEY``),
never from the command line. The server checks the key's scope: ``read`` to list, show and search,
``write`` to change groups, entries and tags and to apply a file of them, ``admin`` for templates.

On a store a change is recorded as made by the user running the command; on a server, by the key's
name.
"""

from __future__ import annotations

import getpass
import json
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from threadline import __version__
from threadline.catalog import files, reads
from threadline.catalog.local import commit, plan
from threadline.errors import RemoteRefused, SyncError
from threadline.openlineage.catalog_changes import ENTRY, GROUP, TAG, TEMPLATE
from threadline.openlineage.timestamps import format_time
from threadline.store.sql import SqlStore
from threadline.sync.remotes import ServerRemote

C = "/api/v1/catalog"


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


class CatalogAccess(Protocol):
    """What the commands ask of a catalog; ``name``s are full resource names (``entryGroups/G``)."""

    def get(self, kind: str, name: str, as_of: int | None = None) -> dict[str, Any] | None:
        """A resource's JSON (an entry's with what lineage adds), ``None`` when it does not exist."""
        ...

    def missing(self, kind: str, name: str, what: str, as_of: int | None = None) -> str:
        """What to say of a resource :meth:`get` did not find: that it does not exist, and the names
        it may have meant."""
        ...

    def list_all(
        self, kind: str, parent: str | None = None, as_of: int | None = None
    ) -> list[dict[str, Any]]:
        """Every resource of ``kind`` (under ``parent``), by name; a person's tags only."""
        ...

    def history(self, kind: str, name: str, *, with_tags: bool = False) -> list[dict[str, Any]]:
        """Every change of a resource, oldest first (none when it never existed); ``with_tags``: an
        entry's with its tags' changes."""
        ...

    def put(self, kind: str, name: str, body: dict[str, Any], *, create: bool) -> dict[str, Any]:
        """Create a group, entry or template, or update the fields given; its new JSON."""
        ...

    def put_tag(self, entry: str, body: dict[str, Any]) -> dict[str, Any]:
        """Write a tag on an entry (or a column of it); writing the same template again updates it."""
        ...

    def delete(self, kind: str, name: str, *, force: bool = False) -> None:
        """Delete a resource (``force``: what depends on it too)."""
        ...

    def search(self, query: str, page_size: int, order_by: str) -> dict[str, Any]:
        """The first page of entries answering ``query``."""
        ...

    def lookup(self, linked_resource: str) -> dict[str, Any]:
        """The entry of a lineage dataset or job."""
        ...

    def apply(self, doc: dict[str, Any], *, dry_run: bool) -> list[str]:
        """Apply a catalog file (all or nothing); the changes it makes, one line each."""
        ...

    def export(self) -> dict[str, Any]:
        """The whole catalog as a catalog file."""
        ...

    def close(self) -> None:
        """Let go of the store or the connections."""
        ...


def _ids(name: str) -> list[str]:
    """The ids in a resource name: ``entryGroups/G/entries/E/tags/T`` -> ``[G, E, T]``."""
    return name.split("/")[1::2]


class StoreCatalog:
    """The catalog of a store, changed as the user running the command."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.by = _user()
        #: How many changes the last change made (none: it was already so).
        self.changed = 0

    def _read(self, work: Any) -> Any:
        with self.store.read() as connection:
            return work(connection)

    def _change(self, work: Any) -> Any:
        result, changes = plan(self.store, work, by=self.by)
        self.changed = commit(self.store, changes)
        return result

    def get(self, kind: str, name: str, as_of: int | None = None) -> dict[str, Any] | None:
        def work(connection: Any) -> dict[str, Any] | None:
            record = reads.get(connection, kind, name, as_of=as_of)
            if record is None:
                return None
            from threadline.catalog import links  # lineage's modules: not loaded by `catalog apply`

            return links.decorate(connection, record) if kind == ENTRY else record.to_json()

        return self._read(work)

    def missing(self, kind: str, name: str, what: str, as_of: int | None = None) -> str:
        def work(connection: Any) -> str:
            return reads.missing(connection, kind, name, what, as_of=as_of)

        return self._read(work)

    def list_all(
        self, kind: str, parent: str | None = None, as_of: int | None = None
    ) -> list[dict[str, Any]]:
        records, _ = self._read(lambda c: reads.list_records(c, kind, parent=parent, as_of=as_of))
        return [r.to_json() for r in records]

    def history(self, kind: str, name: str, *, with_tags: bool = False) -> list[dict[str, Any]]:
        return self._read(lambda c: reads.history(c, kind, name, with_tags=with_tags))

    def put(self, kind: str, name: str, body: dict[str, Any], *, create: bool) -> dict[str, Any]:
        ids = _ids(name)
        if kind == GROUP:
            return self._change(lambda p: p.put_group(ids[0], body, create=create))
        if kind == ENTRY:
            return self._change(lambda p: p.put_entry(ids[0], ids[1], body, create=create))
        return self._change(lambda p: p.put_template(ids[0], body, create=create))

    def put_tag(self, entry: str, body: dict[str, Any]) -> dict[str, Any]:
        group, entry_id = _ids(entry)
        return self._change(lambda p: p.put_tag(group, entry_id, body))

    def delete(self, kind: str, name: str, *, force: bool = False) -> None:
        ids = _ids(name)
        if kind == GROUP:
            self._change(lambda p: p.delete_group(ids[0], force=force))
        elif kind == ENTRY:
            self._change(lambda p: p.delete_entry(ids[0], ids[1]))
        elif kind == TAG:
            self._change(lambda p: p.delete_tag(ids[0], ids[1], ids[2]))
        else:
            self._change(lambda p: p.delete_template(ids[0], force=force))

    def search(self, query: str, page_size: int, order_by: str) -> dict[str, Any]:
        from threadline.catalog.search import search

        return self._read(lambda c: search(c, query, page_size=page_size, order_by=order_by))

    def lookup(self, linked_resource: str) -> dict[str, Any]:
        from threadline.catalog import links

        return self._read(lambda c: links.lookup(c, linked_resource))

    def apply(self, doc: dict[str, Any], *, dry_run: bool) -> list[str]:
        _, changes = plan(self.store, lambda p: files.plan_file(p, doc), by=self.by)
        diff = self._read(lambda c: files.differences(c, changes))
        if not dry_run:
            commit(self.store, changes)
        return [d.line() for d in diff]

    def export(self) -> dict[str, Any]:
        return self._read(files.export)

    def close(self) -> None:
        self.store.close()


def _path(kind: str, name: str) -> str:
    """The REST path of a resource name (its ids escaped)."""
    parts = name.split("/")
    return "/" + "/".join(p if i % 2 == 0 else quote(p, safe="") for i, p in enumerate(parts))


_COLLECTIONS = {GROUP: ("entryGroups", "entryGroupId"), ENTRY: ("entries", "entryId")}
_DECORATIONS = ("displayName", "order")


class ServerCatalog:
    """The catalog of a threadline server, through its REST API (``/api/v1/catalog/``)."""

    def __init__(self, remote: ServerRemote) -> None:
        self.remote = remote
        headers = {"User-Agent": f"threadline/{__version__}", "Accept": "application/json"}
        if remote.key:
            headers["Authorization"] = f"Bearer {remote.key}"
        self.http = httpx.Client(base_url=remote.url, headers=headers, timeout=remote.limits.timeout)

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
        missing_ok: bool = False,
    ) -> Any:
        """Send a request; its JSON answer (``None`` for a 404 when ``missing_ok``). An error answer
        is raised with the server's message; a refused key says where the key came from."""
        try:
            response = self.http.request(
                method, C + path, params=params, json=body if body is not None else None
            )
        except httpx.HTTPError as exc:
            reason = str(exc) or exc.__class__.__name__
            msg = f"cannot reach the server {self.remote}: {reason}; is it running?"
            raise SyncError(msg) from exc
        if response.status_code == 404 and missing_ok:
            return None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code >= 400:
            message = answer.get("message") or answer.get("error") if isinstance(answer, dict) else None
            code = answer.get("code", "") if isinstance(answer, dict) else ""
            reason = str(message or f"HTTP {response.status_code}")
            if response.status_code in (401, 403):
                reason += f" (the key from {self.remote.key_source})"
            raise RemoteRefused(f"{self.remote}: {reason}", response.status_code, str(code))
        if answer is None:
            msg = f"{self.remote} is not a threadline server: {method} {C}{path} did not answer JSON"
            raise SyncError(msg)
        return answer

    def get(self, kind: str, name: str, as_of: int | None = None) -> dict[str, Any] | None:
        params = {"asOf": format_time(as_of) or ""} if as_of is not None else None
        return self._call("GET", _path(kind, name), params=params, missing_ok=True)

    def missing(self, kind: str, name: str, what: str, as_of: int | None = None) -> str:
        params = {"asOf": format_time(as_of) or ""} if as_of is not None else None
        try:
            self._call("GET", _path(kind, name), params=params)
        except RemoteRefused as refused:  # the server's words (with what it may have meant), as a store's
            return str(refused).removeprefix(f"{self.remote}: ")
        return f"{what} {name} does not exist" + (" at that time" if as_of is not None else "")

    def _pages(self, path: str, key: str, params: dict[str, str]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            page = self._call("GET", path, params={**params, "pageSize": "1000", "pageToken": token})
            items.extend(page.get(key, []))
            token = page.get("nextPageToken") or ""
            if not token:
                return items

    def list_all(
        self, kind: str, parent: str | None = None, as_of: int | None = None
    ) -> list[dict[str, Any]]:
        params = {"asOf": format_time(as_of) or ""} if as_of is not None else {}
        if kind == GROUP:
            return self._pages("/entryGroups", "entryGroups", params)
        if kind == TEMPLATE:
            return self._pages("/tagTemplates", "tagTemplates", params)
        if kind == ENTRY:
            return self._pages(_path(GROUP, parent or "") + "/entries", "entries", params)
        answer = self._call("GET", _path(ENTRY, parent or "") + "/tags", params=params)
        tags = []
        for tag in answer.get("tags", []):
            if tag.get("source") not in (None, "USER"):
                continue  # a producer's or a propagated tag: `entry show` has them
            tag.pop("templateDisplayName", None)
            for value in tag.get("fields", {}).values():
                for key in _DECORATIONS:
                    value.pop(key, None)
            tags.append(tag)
        return tags

    def history(self, kind: str, name: str, *, with_tags: bool = False) -> list[dict[str, Any]]:
        params = {"tags": "true"} if with_tags else None
        answer = self._call("GET", _path(kind, name) + "/history", params=params, missing_ok=True)
        return [] if answer is None else answer.get("changes", [])

    def put(self, kind: str, name: str, body: dict[str, Any], *, create: bool) -> dict[str, Any]:
        if not create:
            return self._call("PATCH", _path(kind, name), body=body)
        parent, _, own = name.rpartition("/")
        if kind == TEMPLATE:
            return self._call("POST", "/tagTemplates", params={"tagTemplateId": own}, body=body)
        collection, id_param = _COLLECTIONS[kind]
        where = _path(GROUP, parent.rsplit("/", 1)[0]) if kind == ENTRY else ""
        return self._call("POST", f"{where}/{collection}", params={id_param: own}, body=body)

    def put_tag(self, entry: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", _path(ENTRY, entry) + "/tags", body=body)

    def delete(self, kind: str, name: str, *, force: bool = False) -> None:
        self._call("DELETE", _path(kind, name), params={"force": "true"} if force else None)

    def search(self, query: str, page_size: int, order_by: str) -> dict[str, Any]:
        return self._call(
            "POST", "/catalog:search", body={"query": query, "pageSize": page_size, "orderBy": order_by}
        )

    def lookup(self, linked_resource: str) -> dict[str, Any]:
        return self._call("GET", "/entries:lookup", params={"linkedResource": linked_resource})

    def apply(self, doc: dict[str, Any], *, dry_run: bool) -> list[str]:
        # a file's dates and times (YAML reads them as such) go as ISO text, as the store's apply reads them
        body = json.loads(
            json.dumps(doc, default=lambda v: v.isoformat() if hasattr(v, "isoformat") else str(v))
        )
        answer = self._call("POST", "/catalog:apply", params={"dryRun": str(dry_run).lower()}, body=body)
        return [str(change["line"]) for change in answer.get("changes", [])]

    def export(self) -> dict[str, Any]:
        return self._call("GET", "/catalog:export")

    def close(self) -> None:
        self.http.close()


__all__ = ["CatalogAccess", "ServerCatalog", "StoreCatalog"]
