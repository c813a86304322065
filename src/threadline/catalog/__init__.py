"""The Data Catalog: entry groups, entries, typed tag templates, tags on entries and columns, search.

Every change is an event in the log (``threadline.openlineage.catalog_changes``), folded into the
catalog's projections (``threadline.projection.catalog``); this package validates changes
(``model``, ``validation``), turns them into events (``changes``), reads the projected catalog and its
history (``reads``), resolves file patterns against lineage (``globs``), searches (``query``,
``search``) and applies catalog files (``files``).
"""
