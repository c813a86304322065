"""The HTTP API: one module per group of endpoints, every router listed in ``routers.py``.

threadline's own endpoints (``ingest``, ``events``, ``status``, ``lineage``, ``sync``, ``objects``),
Marquez's read API (``namespaces``, ``sources``, ``datasets``, ``runs``, ``jobs``, ``tags``,
``search``: Marquez's web UI and clients work against threadline unchanged) and the web UI's own
(``insights``, ``ui_lineage``, ``ui_pages``). ``routing.py`` matches Marquez's paths as sent;
``shapes.py`` holds the answers' shapes.
"""
