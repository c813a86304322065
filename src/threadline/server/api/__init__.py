"""Marquez's read API (``/api/v1/namespaces``, ``/datasets``, ``/jobs``, ``/runs``, ``/tags``,
``/search``, ``/sources``), one module per resource, so that Marquez's web UI and clients work against
threadline unchanged."""
