"""The web UI: ``index.html`` for every page, and the UI's static files.

The UI (``threadline/web/``, shipped in the package) is a single page whose routes are real paths
(``/datasets/…``, ``/lineage?node=…``), so a view is a link that can be shared: every ``GET`` that is
not under ``/api/`` or ``/static/`` answers with ``index.html`` and the page's own router shows the
view. Its files are served under ``/static/<digest>/``, where the digest is a hash of all the UI's
files: a browser may keep them for a year (``immutable``), and a new version of threadline, whose
files hash differently, is fetched afresh. A request for another digest (a page left open across an
upgrade) still gets the current file, but uncached. ``index.html`` names every module of the UI as a
``modulepreload`` (filled in here), so a first visit fetches them in parallel.

Every answer carries a strict Content-Security-Policy: scripts, styles, workers and API calls from
this origin only, no inline script or style, images from this origin or ``data:`` (the graph's
icons). Together with the UI writing every name as text, a hostile dataset name stays text.
"""

from __future__ import annotations

import mimetypes
from functools import cache
from pathlib import Path

import blake3
from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import Scope

from threadline.errors import NotFound

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
#: What index.html writes where the digest goes: ``/static/ASSETS/app.css``.
ASSETS_MARK = "/static/ASSETS/"
#: Where index.html gets the ``modulepreload`` links of the UI's modules.
PRELOADS_MARK = "<!-- module preloads -->"

CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "worker-src 'self'",
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


class WebRoute(APIRoute):
    """A route of the UI: it never matches a path under ``/api/``.

    The UI's pages answer every other ``GET`` path, so without this an unknown API path would get
    ``index.html`` instead of a JSON 404, and API routes that match a path only partially (names sent
    with unencoded slashes, see ``server.api.routing``) would be shadowed.
    """

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """Match UI paths only."""
        path = scope.get("path", "")
        if path == "/api" or path.startswith("/api/"):
            return Match.NONE, {}
        return super().matches(scope)


router = APIRouter(route_class=WebRoute)


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


def index_response() -> Response:
    """``index.html`` with the static files' digest filled in; never cached, so an upgrade shows at once."""
    headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache"}
    return Response(_index(), media_type="text/html; charset=utf-8", headers=headers)


@router.get("/static/{digest}/{path:path}", include_in_schema=False)
async def static_file(digest: str, path: str) -> Response:
    """A file of the UI; cached for a year when asked under the current digest."""
    target = (WEB_DIR / path).resolve()
    if not target.is_relative_to(WEB_DIR) or not target.is_file() or target.name.startswith("."):
        msg = f"no file {path!r} in the web UI"
        raise NotFound(msg)
    cache_control = IMMUTABLE if digest == asset_digest() else "no-cache"
    headers = {**SECURITY_HEADERS, "Cache-Control": cache_control}
    return Response(target.read_bytes(), media_type=_content_type(target), headers=headers)


@router.get("/favicon.ico", include_in_schema=False)
async def favicon() -> Response:
    """The icon browsers ask for on their own (the page links the same SVG)."""
    headers = {**SECURITY_HEADERS, "Cache-Control": "public, max-age=86400"}
    return Response((WEB_DIR / "favicon.svg").read_bytes(), media_type="image/svg+xml", headers=headers)


async def page(request: Request) -> Response:
    """``index.html``: the UI's router shows the view the path names."""
    if request.url.path.startswith("/static/"):
        msg = f"no file {request.url.path!r} in the web UI"
        raise NotFound(msg)
    return index_response()


router.add_api_route("/{path:path}", page, methods=["GET", "HEAD"], include_in_schema=False)
