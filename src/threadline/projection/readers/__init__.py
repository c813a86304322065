"""Readers of the projected state: namespaces, sources, datasets, jobs, runs, tags and search, in the
shapes the Marquez-compatible API, the web UI's API and the CLI answer with.

Every reader takes an open SQLAlchemy ``Connection`` (``store.read()``).
"""

from __future__ import annotations
