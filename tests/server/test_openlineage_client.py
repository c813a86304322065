"""The official openlineage-python client talks to the server: API key, gzip, every event kind."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import nominal_time_run, schema_dataset, sql_job
from openlineage.client.transport.http import (
    ApiKeyTokenProvider,
    HttpCompression,
    HttpConfig,
    HttpTransport,
)

from tests.server.conftest import ServerFactory
from threadline.store import open_store

pytestmark = pytest.mark.slow
PRODUCER = "https://github.com/threadline/tests"


def _events(job: str) -> list[RunEvent]:
    run = Run(
        runId=str(uuid.uuid4()),
        facets={"nominalTime": nominal_time_run.NominalTimeRunFacet(nominalStartTime="2024-05-01T00:00:00Z")},
    )
    job_ = Job(namespace="ol-client", name=job, facets={"sql": sql_job.SQLJobFacet(query="select 1")})
    schema = schema_dataset.SchemaDatasetFacet(fields=[schema_dataset.SchemaDatasetFacetFields("id", "int")])
    inputs = [InputDataset(namespace="db", name="in_table", facets={"schema": schema})]
    outputs = [OutputDataset(namespace="db", name=f"{job}_out")]
    return [
        RunEvent(
            eventType=state,
            eventTime=datetime.now(UTC).isoformat(),
            run=run,
            job=job_,
            producer=PRODUCER,
            inputs=inputs,
            outputs=outputs,
        )
        for state in (RunState.START, RunState.COMPLETE)
    ]


@pytest.mark.parametrize("compression", [None, HttpCompression.GZIP])
def test_openlineage_client_with_api_key(
    start_server: ServerFactory, tmp_path: Path, compression: HttpCompression | None
) -> None:
    url = f"sqlite:///{tmp_path / 'threadline.db'}"
    store = open_store(url)
    secret, _ = store.create_api_key("ol-client", "write")
    store.close()
    server = start_server(url, auth="token")

    config = HttpConfig(
        url=server.url, auth=ApiKeyTokenProvider({"apiKey": secret}), compression=compression, timeout=10
    )
    client = OpenLineageClient(transport=HttpTransport(config))
    job = f"job_{compression or 'plain'}"
    sent = _events(job)
    for event in sent:
        client.emit(event)  # raises on any non-2xx answer
    client.close()

    with server.client(secret) as http:
        page = http.get("/api/v1/events/lineage", params={"limit": 1000}).json()
    mine = [event for event in page["events"] if event["job"]["name"] == job]
    assert sorted(event["eventType"] for event in mine) == ["COMPLETE", "START"]
    assert {event["run"]["runId"] for event in mine} == {sent[0].run.runId}
    assert mine[0]["inputs"][0]["facets"]["schema"]["fields"][0]["name"] == "id"

    # Without the key the same client is refused.
    anonymous = OpenLineageClient(transport=HttpTransport(HttpConfig(url=server.url, timeout=10)))
    with pytest.raises(Exception, match="401"):
        anonymous.emit(_events("refused")[0])
    anonymous.close()
