"""threadline: where every dataset, model and pipeline run came from, and how to reproduce it."""

from __future__ import annotations

from threadline.errors import ThreadlineError

__version__ = "0.1.0"

__all__ = ["ThreadlineError", "__version__"]
