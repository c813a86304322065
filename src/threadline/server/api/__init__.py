"""The HTTP API: one module per group of endpoints, every router listed in ``routers.py``.

threadline's own endpoints (``ingest``, ``events``, ``status``, ``lineage``, ``sync``, ``objects``),
Marquez's read API (``namespaces``, ``sources``, ``datasets``, ``runs``, ``jobs``, ``tags``,
``search``: Marquez's web UI and clients work against threadline unchanged) and the web UI's own
(``insights``, ``ui_lineage``, ``ui_pages``).

What the endpoints share: ``params.py`` (the declared query parameters), ``access.py`` (the server's
state and the API key's scope, as dependencies), ``models.py`` (the answers' schemas, for
``/api/openapi.json``), ``errors.py`` (the one error shape), ``routing.py`` (Marquez's paths matched
as sent), ``shapes.py`` (Marquez's JSON shapes) and ``changes.py`` (changes made through the API).
"""
