"""Run tracking: the SDK that records runs, parameters, metric series, inputs and outputs as
OpenLineage events (see ``run`` for the API, ``tracker`` for the background thread, ``transports``).

Importing this package is cheap: the OpenLineage client, SQLAlchemy and the store are imported by the
background thread when the first event is built.
"""

from __future__ import annotations

from threadline.tracking.run import (
    Run,
    current_run,
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
from threadline.tracking.tracker import configure, flush

__all__ = [
    "Run",
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
