"""README.md is the repository's front page: its links lead somewhere, it keeps the two commands a
newcomer runs first, and it stays short (the documentation itself is the site in docs/, which
`mkdocs build --strict` checks: `make test` runs it)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
LINKS = sorted({target for target in re.findall(r"\]\(([^)#\s]+)", README) if "://" not in target})


def test_the_readme_has_links() -> None:
    assert "docs/architecture.md" in LINKS
    assert "docs/getting-started.md" in LINKS


@pytest.mark.parametrize("target", LINKS)
def test_every_readme_link_names_a_file_that_is_there(target: str) -> None:
    assert (ROOT / target).exists(), f"README.md links to {target}, which is not in the repository"


def test_the_readme_starts_with_the_two_commands() -> None:
    quick_start = README[README.index("## Quick start") :]
    assert "make demo    #" in quick_start.split("##", 2)[1]
    assert "make test    #" in quick_start.split("##", 2)[1]


def test_the_readme_stays_a_front_page() -> None:
    lines = README.count("\n")
    assert lines <= 200, f"README.md has {lines} lines: move the detail to a page of docs/ and link it"
