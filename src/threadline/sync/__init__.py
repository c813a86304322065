"""Sync between sites: push and pull of events (and the objects runs use) between stores, git-style."""

from __future__ import annotations
