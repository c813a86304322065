"""docs/tracking.md documents every tracking setting, its environment variables and the SDK's public API."""

from __future__ import annotations

import pytest

import threadline
from tests.conftest import ROOT
from threadline.tracking.config import TRACKING_SETTINGS

SECTION = (ROOT / "docs" / "tracking.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("setting", TRACKING_SETTINGS, ids=lambda s: s.name)
def test_every_tracking_setting_is_documented(setting: object) -> None:
    assert f"| `{setting.name}` |" in SECTION  # type: ignore[attr-defined]
    for variable in setting.env_vars:  # type: ignore[attr-defined]
        assert f"`{variable}`" in SECTION, f"docs/tracking.md does not name `{variable}`"


@pytest.mark.parametrize("name", [n for n in threadline.__all__ if not n.startswith("_") and n[0].islower()])
def test_every_public_function_is_documented(name: str) -> None:
    assert name in SECTION, f"docs/tracking.md does not mention threadline.{name}"
