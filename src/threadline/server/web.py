"""The web UI: ``index.html`` for every page, and the UI's static files.

The UI (``threadline/web/``, shipped in the package) is a single page whose routes are real paths
(``/datasets/…``, ``/lineage?node=…``), so a view is a link that can be shared: every ``GET`` that is
not under ``/api/`` or ``/static/`` answers with ``index.html`` and the page's own router shows the
view. Its files are served under ``/static/<digest>/``, where the digest is a hash of all the UI's
files: a browser may keep them for a year (``immutable``), and a new version of threadline, whose
files hash differently, is fetched afresh. A request for another digest (a page left open across an
upgrade) still gets the current file, but uncached. ``index.html`` names every module of the UI as a
``modulepreload`` (filled in here), so a first visit fetches them in parallel.

These answers come from :class:`WebUI`, an ASGI middleware in front of the API: each is built once
(read, and gzipped for clients that accept it) and kept in memory, and none goes through the API's
routing.

Every answer carries a strict Content-Security-Policy: scripts, styles and API calls from
this origin only, no inline script or style, images from this origin or ``data:`` (the graph's
icons). Together with the UI writing every name as text, a hostile dataset name stays text.
"""

from __future__ import annotations

import gzip
import json
import mimetypes
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import blake3
from starlette.types import ASGIApp, Receive, Scope, Send

from threadline.server.api.errors import error_body

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
#: What index.html writes where the digest goes: ``/static/ASSETS/app.css``.
ASSETS_MARK = "/static/ASSETS/"
#: Where index.html gets the ``modulepreload`` links of the UI's modules.
PRELOADS_MARK = "<!-- module preloads -->"

CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
IMMUTABLE = "public, max-age=31536000, immutable"

_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".json": "application/json",
    ".md": "text/plain; charset=utf-8",
    "": "text/plain; charset=utf-8",  # LICENSE files
}


def _files() -> list[Path]:
    return sorted(path for path in WEB_DIR.rglob("*") if path.is_file() and not path.name.startswith("."))


@cache
def asset_digest() -> str:
    """A hash of every file of the UI (names and bytes): part of the static URLs."""
    hasher = blake3.blake3()
    for path in _files():
        hasher.update(path.relative_to(WEB_DIR).as_posix().encode() + b"\0")
        hasher.update(path.read_bytes())
    return hasher.hexdigest()[:16]


def _module_preloads() -> str:
    """A ``modulepreload`` link for every module of the UI: the browser fetches them all at once
    instead of discovering them import by import (five levels deep, a round trip each)."""
    modules = sorted(path.relative_to(WEB_DIR).as_posix() for path in (WEB_DIR / "app").rglob("*.js"))
    modules.remove("app/main.js")  # the page loads it as its script
    return "".join(f'\n  <link rel="modulepreload" href="{ASSETS_MARK}{module}">' for module in modules)


@cache
def _index() -> bytes:
    text = (WEB_DIR / "index.html").read_text(encoding="utf-8")
    text = text.replace(PRELOADS_MARK, _module_preloads().lstrip())
    return text.replace(ASSETS_MARK, f"/static/{asset_digest()}/").encode()


def _content_type(path: Path) -> str:
    return _TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


@dataclass(frozen=True)
class _Answer:
    """A ready answer: its body, the body gzipped (when that is worth it), and their headers."""

    body: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    gzipped: bytes | None = None

    @classmethod
    def of(cls, body: bytes, content_type: str, cache_control: str) -> _Answer:
        """The answer for ``body``: compressed once here when it is text of more than a kilobyte."""
        headers = [(b"content-type", content_type.encode()), (b"cache-control", cache_control.encode())]
        headers += [(name.lower().encode(), value.encode()) for name, value in SECURITY_HEADERS.items()]
        gzipped = None
        if len(body) > GZIP_MIN_BYTES and content_type.startswith(_COMPRESSIBLE):
            gzipped = gzip.compress(body, compresslevel=6, mtime=0)
            headers.append((b"vary", b"accept-encoding"))
        return cls(body, tuple(headers), gzipped)

    async def send(self, scope: Scope, send: Send) -> None:
        """Send the answer (gzipped when the client accepts it; headers only for ``HEAD``)."""
        body, headers = self.body, list(self.headers)
        if self.gzipped is not None and _accepts_gzip(scope):
            body = self.gzipped
            headers.append((b"content-encoding", b"gzip"))
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


#: Text types worth compressing; smaller bodies are sent as they are.
_COMPRESSIBLE = ("text/", "application/json", "image/svg+xml")
GZIP_MIN_BYTES = 1024


def _accepts_gzip(scope: Scope) -> bool:
    """Whether the request's ``Accept-Encoding`` names gzip (or ``*``) with a weight above zero."""
    for name, value in scope.get("headers", ()):
        if name != b"accept-encoding":
            continue
        for item in value.split(b","):
            coding, _, weight = item.partition(b";")
            if coding.strip() not in (b"gzip", b"*"):
                continue
            weight = weight.replace(b" ", b"")
            try:
                return not weight.startswith(b"q=") or float(weight[2:]) > 0
            except ValueError:
                return False
    return False


class WebUI:
    """ASGI middleware answering the UI's pages and files itself; API requests go on to ``app``.

    A page load asks for thirty-odd files together with its API calls. Answered here, from memory
    and compressed once, a file costs a dictionary lookup instead of a pass through the API's routes
    and a read from disk, and the API calls of the same page do not wait behind them.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.digest = asset_digest()
        #: Every file of the UI by its path under ``web/``; nothing else can be asked for.
        self.files = {path.relative_to(WEB_DIR).as_posix(): path for path in _files()}
        self.answers: dict[tuple[str, str], _Answer] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path or path == "/api" or path.startswith("/api/") or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        if path.startswith("/static/"):
            digest, _, name = path.removeprefix("/static/").partition("/")
            answer = self._file(name, current=digest == self.digest)
            if answer is None:
                await _not_found(send, f"no file {name!r} in the web UI")
                return
        elif path == "/favicon.ico":  # browsers ask for it on their own; the page links the SVG
            answer = self._file("favicon.svg", current=False, cache_control="public, max-age=86400")
            if answer is None:
                await _not_found(send, "no favicon in the web UI")
                return
        else:  # every other path is a page of the UI, which shows the view the path names
            answer = self._cached(("", "no-cache"), lambda: _Answer.of(_index(), _HTML, "no-cache"))
        await answer.send(scope, send)

    def _file(self, name: str, *, current: bool, cache_control: str | None = None) -> _Answer | None:
        """The answer for the UI's file ``name``: cached for a year when asked under the current
        digest (a page left open across an upgrade asks for an old one and gets today's, uncached)."""
        path = self.files.get(name)
        if path is None:
            return None
        control = cache_control or (IMMUTABLE if current else "no-cache")
        return self._cached(
            (name, control), lambda: _Answer.of(path.read_bytes(), _content_type(path), control)
        )

    def _cached(self, key: tuple[str, str], make: Callable[[], _Answer]) -> _Answer:
        answer = self.answers.get(key)
        if answer is None:
            answer = self.answers[key] = make()
        return answer


_HTML = "text/html; charset=utf-8"


async def _not_found(send: Send, message: str) -> None:
    body = json.dumps(error_body(404, "not_found", message)).encode()  # the API's one error shape
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 404, "headers": headers})
    await send({"type": "http.response.body", "body": body})
