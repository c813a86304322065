"""Sync tests run real servers (tests/server's fixtures) and real stores on disk."""

from __future__ import annotations

from tests.cli.conftest import run  # noqa: F401  (a fixture)
from tests.server.conftest import start_server  # noqa: F401  (a fixture)
