"""An HTTP JSON API source: paging (a next link in the body, or page numbers until an empty page),
retries with exponential backoff on connection errors, 429 and 5xx (``Retry-After`` honoured), and
headers taken from environment variables (``headers_from_env={"Authorization": "SHOP_API_TOKEN"}``),
so no secret is written in the pipeline file. Built on httpx.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from threadline.errors import PipelineError
from threadline.pipeline.sources import after_cursor

if TYPE_CHECKING:
    import pyarrow as pa

#: Statuses worth a retry.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: At most this many pages are read (a server that never ends its paging is an error, not a hang).
MAX_PAGES = 100_000


@dataclass(frozen=True)
class HttpSource:
    """Records from a JSON API (see the module docstring and :func:`api`)."""

    url: str
    records: str | None = None
    next_key: str | None = None
    page_param: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    headers_from_env: dict[str, str] = field(default_factory=dict)
    cursor_param: str | None = None
    retries: int = 4
    backoff: float = 0.5
    timeout: float = 30.0

    def resolved(self, base: Path) -> HttpSource:
        """See :meth:`Source.resolved`: nothing to resolve."""
        return self

    @property
    def uri(self) -> str:
        """See :meth:`Source.uri`: the URL without its query."""
        return self.url.split("?", 1)[0]

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        for header, variable in self.headers_from_env.items():
            value = os.environ.get(variable)
            if not value:
                msg = f"the API source {self.uri} needs the environment variable {variable} ({header} header)"
                raise PipelineError(msg)
            headers[header] = value
        return headers

    def _get(self, client: Any, url: str, params: dict[str, Any]) -> Any:
        import httpx

        delay = self.backoff
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = client.get(url, params=params or None)
            except httpx.HTTPError as exc:
                if last:
                    msg = f"cannot reach the API source {self.uri} after {attempt + 1} tries: {exc}"
                    raise PipelineError(msg) from exc
            else:
                if response.status_code in RETRY_STATUSES and not last:
                    wait = response.headers.get("Retry-After")
                    time.sleep(min(float(wait), 60.0) if wait and wait.isdigit() else delay)
                    delay *= 2
                    continue
                if response.status_code >= 400:
                    msg = (
                        f"the API source {self.uri} answered {response.status_code}"
                        f"{' after ' + str(attempt + 1) + ' tries' if attempt else ''}: {response.text[:200]}"
                    )
                    raise PipelineError(msg)
                try:
                    return response.json()
                except ValueError as exc:
                    msg = f"the API source {url} answered something that is not JSON"
                    raise PipelineError(msg) from exc
            time.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")

    def _records(self, body: Any) -> list[Any]:
        found = body.get(self.records) if self.records and isinstance(body, dict) else body
        if not isinstance(found, list):
            where = f"its key {self.records!r}" if self.records else "the body"
            msg = f"the API source {self.uri}: {where} is not a list of records"
            raise PipelineError(msg)
        return found

    def read(self, cursor: str | None, since: Any) -> pa.Table:
        """See :meth:`Source.read`: every page; the cursor is sent as ``cursor_param`` when given, and
        the rows are filtered on it too (an API that ignores it still yields only new rows)."""
        import httpx
        import pyarrow as pa

        params = dict(self.params)
        if self.cursor_param and since is not None:
            params[self.cursor_param] = since
        rows: list[Any] = []
        url: str | None = self.url
        page = 1
        seen = {self.url}
        with httpx.Client(headers=self._headers(), timeout=self.timeout, follow_redirects=True) as client:
            for _ in range(MAX_PAGES):
                if url is None:
                    break
                query = dict(params)
                if self.page_param:
                    query[self.page_param] = page
                body = self._get(client, url, query)
                batch = self._records(body)
                rows.extend(batch)
                if self.next_key:
                    link = body.get(self.next_key) if isinstance(body, dict) else None
                    following = str(httpx.URL(url).join(link)) if link else None
                    if following is not None and following in seen:
                        msg = f"the API source {self.uri} links back to a page it gave already: {following}"
                        raise PipelineError(msg)
                    url = following
                    seen.add(url or "")
                    params = {}  # a next link carries its own query
                elif self.page_param and batch:
                    page += 1
                else:
                    url = None
            else:
                msg = f"the API source {self.uri} has more than {MAX_PAGES} pages"
                raise PipelineError(msg)
        try:
            table = pa.Table.from_pylist(rows)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            msg = f"the records of {self.uri} do not make a table: {exc}"
            raise PipelineError(msg) from exc
        return after_cursor(table, cursor, since)


def api(
    url: str,
    *,
    records: str | None = None,
    next_key: str | None = None,
    page_param: str | None = None,
    params: dict[str, Any] | None = None,
    headers_from_env: dict[str, str] | None = None,
    cursor_param: str | None = None,
    retries: int = 4,
    backoff: float = 0.5,
    timeout: float = 30.0,
) -> HttpSource:
    """An HTTP JSON API source: ``records`` names the body's list of records (else the body is the
    list); paging follows ``next_key`` (a link in the body) or increments ``page_param`` until a page
    is empty; ``headers_from_env`` maps header names to environment variables; ``cursor_param`` sends
    the incremental cursor as a query parameter."""
    return HttpSource(
        url,
        records,
        next_key,
        page_param,
        dict(params or {}),
        dict(headers_from_env or {}),
        cursor_param,
        retries,
        backoff,
        timeout,
    )
