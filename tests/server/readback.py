"""Read one accepted event back through every list endpoint, the UI's API and the command line.

:func:`read_back` is what the hostile-input tests ask of every event a server accepted: each read
answers 200 (never a 500, never a traceback), and the event's job, run, datasets and the event itself
are found where a user would look for them. It returns what went wrong, one line per read, so that a
failing example names every read it broke at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
from typer.testing import CliRunner

from threadline.cli.main import app
from threadline.graph.nodes import NodeId
from threadline.openlineage.timestamps import MIN_MICROS, format_time


def enc(name: str) -> str:
    """A name as one path segment."""
    return quote(name, safe="")


@dataclass
class Sent:
    """What an accepted event holds that a reader should find."""

    event_id: str
    raw: bytes
    event_time: int
    namespace: str
    job: str
    run_id: str
    datasets: list[tuple[str, str]] = field(default_factory=list)
    #: Whether this is the job's newest event: only then are its datasets the job's edges (the
    #: lineage of a job is that of its current run).
    newest: bool = True


def _get(client: httpx.Client, problems: list[str], path: str, **params: Any) -> Any:
    response = client.get(path, params=params)
    if response.status_code != 200:
        problems.append(f"GET {path} {params} answered {response.status_code}: {response.text[:300]}")
        return None
    if "json" not in response.headers.get("content-type", ""):
        return response.text
    return response.json()


def _expect(problems: list[str], found: bool, what: str) -> None:
    if not found:
        problems.append(what)


def read_back(client: httpx.Client, sent: Sent) -> list[str]:
    """Every read of the HTTP API that should show ``sent``; what went wrong, or nothing."""
    problems: list[str] = []
    ns, job = sent.namespace, sent.job
    job_node = str(NodeId.job(ns, job))
    time_text = format_time(sent.event_time)

    event = _get(client, problems, f"/api/v1/events/{sent.event_id}")
    if event is not None:
        _expect(problems, event["eventTime"] == time_text, f"event time {event['eventTime']} != {time_text}")
    raw = client.get(f"/api/v1/events/{sent.event_id}/raw")
    _expect(problems, raw.status_code == 200 and raw.content == sent.raw, "the raw event is not as sent")
    window: dict[str, Any] = {"before": time_text, "limit": 1000}
    if sent.event_time > MIN_MICROS:
        window["after"] = format_time(sent.event_time - 1)  # the window is (after, before]
    page = _get(client, problems, "/api/v1/events/lineage", **window)
    if page is not None:
        doc = json.loads(sent.raw)
        _expect(problems, doc in page["events"], f"the event is not in /api/v1/events/lineage {window}")
    _get(client, problems, "/api/v1/events/lineage")
    _get(client, problems, "/api/v1/events/problems")

    namespaces = _get(client, problems, "/api/v1/namespaces", limit=1000)
    if namespaces is not None:
        _expect(problems, len(namespaces["namespaces"]) > 0, "no namespace listed")
    _get(client, problems, f"/api/v1/namespaces/{enc(ns)}")
    jobs = _get(client, problems, f"/api/v1/namespaces/{enc(ns)}/jobs", limit=1000)
    if jobs is not None:
        _expect(problems, job in [j["name"] for j in jobs["jobs"]], f"job {job!r} not listed in {ns!r}")
    _get(client, problems, "/api/v1/jobs", limit=1000)
    found = _get(client, problems, f"/api/v1/namespaces/{enc(ns)}/jobs/{enc(job)}")
    if found is not None:
        _expect(problems, found["name"] == job, f"job page names {found['name']!r}")
    runs = _get(client, problems, f"/api/v1/namespaces/{enc(ns)}/jobs/{enc(job)}/runs", limit=1000)
    if runs is not None:
        _expect(problems, sent.run_id in [r["id"] for r in runs["runs"]], "run not listed under its job")
    _get(client, problems, f"/api/v1/jobs/runs/{sent.run_id}")
    _get(client, problems, f"/api/v1/jobs/runs/{sent.run_id}/facets")

    for dns, dname in sent.datasets:
        listed = _get(client, problems, f"/api/v1/namespaces/{enc(dns)}/datasets", limit=1000)
        if listed is not None:
            names = [d["name"] for d in listed["datasets"]]
            _expect(problems, dname in names, f"dataset {dname!r} not listed in {dns!r}")
        _get(client, problems, f"/api/v1/namespaces/{enc(dns)}/datasets/{enc(dname)}")
        _get(client, problems, f"/api/v1/namespaces/{enc(dns)}/datasets/{enc(dname)}/versions")
        node = str(NodeId.dataset(dns, dname))
        graph = _get(client, problems, "/api/v1/lineage", nodeId=node, depth=1)
        if graph is not None:
            _expect(problems, node in [n["id"] for n in graph["graph"]], f"{node!r} not in its own lineage")
        _get(client, problems, "/api/v1/column-lineage", nodeId=node)
        _get(client, problems, "/api/v1/ui/dataset-runs", nodeId=node)
        page = _get(client, problems, "/api/v1/ui/pages/dataset", namespace=dns, name=dname)
        if page is not None:
            _expect(problems, page["dataset"]["name"] == dname, "the UI's dataset page names another")

    graph = _get(client, problems, "/api/v1/lineage", nodeId=job_node, depth=1)
    if graph is not None:
        ids = [n["id"] for n in graph["graph"]]
        _expect(problems, job_node in ids, f"{job_node!r} not in its own lineage {ids}")
        for dns, dname in sent.datasets if sent.newest else ():
            _expect(problems, str(NodeId.dataset(dns, dname)) in ids, f"dataset {dname!r} not beside its job")
    _get(client, problems, "/api/v1/lineage/impact", nodeId=job_node)
    _get(client, problems, "/api/v1/lineage/runs", runId=sent.run_id)
    # as of the event's own time (the ends of the calendar included): the job is there already
    as_of = _get(client, problems, "/api/v1/lineage", nodeId=job_node, depth=1, asOf=time_text)
    if as_of is not None:
        _expect(
            problems,
            job_node in [n["id"] for n in as_of["graph"]],
            f"{job_node!r} not there as of {time_text}",
        )
    ui = _get(client, problems, "/api/v1/ui/lineage", nodeId=job_node, depth=1)
    if ui is not None:
        _expect(problems, job_node in [n["id"] for n in ui["graph"]], f"{job_node!r} not in the UI's lineage")
    if job.strip():  # a blank query is refused: there is nothing to look for
        search = _get(client, problems, "/api/v1/search", q=job, filter="JOB", namespace=ns, limit=10_000)
        if search is not None:
            found = [(r["name"], r["nodeId"]) for r in search["results"]]
            _expect(problems, (job, job_node) in found, f"search for {job!r} does not find it: {found[:5]}")
    _get(client, problems, "/api/v1/tags")
    _get(client, problems, "/api/v1/sources")
    _get(client, problems, "/api/v1/ui/overview")
    _get(client, problems, "/api/v1/ui/timespan")
    _get(client, problems, "/api/v1/ui/events", limit=200)
    ui_runs = _get(client, problems, "/api/v1/ui/runs", namespace=ns, limit=200)
    if ui_runs is not None:
        _expect(problems, sent.run_id in [r["id"] for r in ui_runs["runs"]], "run not in /api/v1/ui/runs")
    _get(client, problems, "/api/v1/ui/pages/run", runId=sent.run_id)
    page = _get(client, problems, "/api/v1/ui/pages/job", namespace=ns, name=job)
    if page is not None:
        _expect(problems, page["job"]["name"] == job, "the UI's job page names another job")
    return problems


def read_back_cli(store_url: str, sent: Sent) -> list[str]:
    """``threadline jobs|datasets|events|runs`` on the store: each exits 0 and shows the event's parts."""
    runner = CliRunner()
    problems: list[str] = []

    def run(*args: str) -> str:
        result = runner.invoke(app, [*args, "--store", store_url])
        if result.exit_code != 0 or (
            result.exception is not None and not isinstance(result.exception, SystemExit)
        ):
            problems.append(
                f"threadline {' '.join(args)} exited {result.exit_code}: {result.output[-500:]}"
                f"{result.exception!r}"
            )
        if "Traceback" in result.output:
            problems.append(f"threadline {' '.join(args)} printed a traceback")
        return result.stdout

    jobs = run("jobs", "--namespace", sent.namespace, "--format", "json", "--limit", "1000")
    if jobs and not problems:
        names = [j["name"] for j in json.loads(jobs)["jobs"]]
        _expect(problems, sent.job in names, f"threadline jobs does not list {sent.job!r}")
    run("jobs")
    for dns, dname in sent.datasets:
        listed = run("datasets", "--namespace", dns, "--format", "json", "--limit", "1000")
        if listed and not problems:
            names = [d["name"] for d in json.loads(listed)["datasets"]]
            _expect(problems, dname in names, f"threadline datasets does not list {dname!r}")
    run("datasets")
    run("events", "--limit", "100000")
    run("runs", "--format", "json")
    return problems
