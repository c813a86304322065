"""The documentation's pages, in reading order: README.md, then the site's pages in docs/ as
mkdocs.yml's nav lists them (then any page the nav leaves out, which `mkdocs build --strict` refuses
anyway). The tests that check the documentation (every command runs as written, every command and
setting is documented) read these.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

from tests.conftest import ROOT

DOCS = ROOT / "docs"


def _nav_pages(entry: Any) -> Iterator[str]:
    """The Markdown files of one nav entry: a path, a {title: path} or a {title: [entries]}."""
    if isinstance(entry, str):
        if entry.endswith(".md"):
            yield entry
    elif isinstance(entry, list):
        for item in entry:
            yield from _nav_pages(item)
    elif isinstance(entry, dict):
        for value in entry.values():
            yield from _nav_pages(value)


def site_pages() -> list[str]:
    """The site's pages, relative to the repository, in the nav's order, then those it leaves out."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    in_nav = [f"docs/{page}" for page in _nav_pages(config.get("nav", []))]
    every = sorted(str(path.relative_to(ROOT)) for path in DOCS.rglob("*.md"))
    return [page for page in in_nav if (ROOT / page).is_file()] + [p for p in every if p not in in_nav]


def documents() -> list[str]:
    """README.md, then every page of the site: the documents a user reads."""
    return ["README.md", *site_pages()]


def text() -> str:
    """Every document's text, one after the other."""
    return "\n\n".join((ROOT / page).read_text(encoding="utf-8") for page in documents())
