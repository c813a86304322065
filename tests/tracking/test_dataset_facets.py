"""Extra OpenLineage facets given to ``input()`` and ``output()`` reach the dataset in the final event,
next to the facets the SDK writes itself (the pipeline toolkit records its checks this way)."""

from __future__ import annotations

from pathlib import Path

import threadline
from tests.tracking.conftest import events_of, write_old
from threadline.store import SqlStore


def test_input_and_output_facets_are_added_to_the_datasets(project: Path, store: SqlStore) -> None:
    source = write_old(project / "in.csv", "a\n1\n")
    assertions = {
        "assertions": [{"assertion": "not_null(a)", "success": True}],
        "_producer": "p",
        "_schemaURL": "u",
    }
    lineage = {"fields": {"b": {"inputFields": []}}, "_producer": "p", "_schemaURL": "u"}
    with threadline.run("facets") as run:
        run.input(source, input_facets={"dataQualityAssertions": assertions})
        (project / "out.csv").write_text("b\n1\n")
        run.output(project / "out.csv", facets={"columnLineage": lineage})
        run.output(
            "duckdb://local/wh.duckdb/analytics.t", output_facets={"outputStatistics": {"rowCount": 3}}
        )
    threadline.flush()
    final = next(e for e in events_of(store, run.id) if e["eventType"] == "COMPLETE")
    (read,) = final["inputs"]
    assert read["inputFacets"]["dataQualityAssertions"] == assertions
    assert read["facets"]["version"]["datasetVersion"].startswith("blake3:")  # its own facets stay
    written = {o["name"]: o for o in final["outputs"]}
    assert written[str(project / "out.csv")]["facets"]["columnLineage"] == lineage
    assert written["wh.duckdb/analytics.t"]["outputFacets"]["outputStatistics"] == {"rowCount": 3}
