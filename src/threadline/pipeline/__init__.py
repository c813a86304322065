"""Staged DataOps pipelines: extract, land in the staging lake, load the warehouse, validate,
transform, validate, promote to production (write-audit-publish), each stage a threadline run that
records its lineage, data versions and check results by itself. See ``docs/pipelines.md``.

Needs the ``pipeline`` extra (``pip install 'threadline[pipeline]'``: duckdb, pandera, pyarrow, sqlglot).
"""

from __future__ import annotations

from threadline.pipeline import checks
from threadline.pipeline.config import Environment
from threadline.pipeline.declare import Pipeline
from threadline.pipeline.http_source import api
from threadline.pipeline.runner import PipelineResult, run_pipeline
from threadline.pipeline.sources import files, sql

__all__ = [
    "Environment",
    "Pipeline",
    "PipelineResult",
    "api",
    "checks",
    "files",
    "run_pipeline",
    "sql",
]
