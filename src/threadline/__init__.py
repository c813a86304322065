"""threadline: where every dataset, model and pipeline run came from, and how to reproduce it."""

from __future__ import annotations

__version__ = "0.1.0"

from threadline.errors import ThreadlineError, TrackingError
from threadline.tracking import (
    Run,
    configure,
    current_run,
    flush,
    input,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    output,
    run,
    step,
    tag,
)

__all__ = [
    "Run",
    "ThreadlineError",
    "TrackingError",
    "__version__",
    "configure",
    "current_run",
    "flush",
    "input",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "output",
    "run",
    "step",
    "tag",
]
