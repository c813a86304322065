"""Projections: the fold from the event log to current state, independent of event order."""

from __future__ import annotations

from threadline.projection.projector import apply_delta, fold_events, project_all, project_pending, reindex

__all__ = ["apply_delta", "fold_events", "project_all", "project_pending", "reindex"]
