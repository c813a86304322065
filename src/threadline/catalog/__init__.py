"""The catalog: reading what the projections know about namespaces, datasets, jobs and runs."""

from __future__ import annotations
