"""Run-level lineage, impact analysis, paths between nodes, and exports."""

from __future__ import annotations

import json

from tests.graph.helpers import D, J, chain, step
from tests.projection.helpers import PRODUCER, ds, feed, parent_facet, run_event, run_id
from threadline.graph.describe import describe
from threadline.graph.export import render, run_view, subgraph_view, to_json
from threadline.graph.impact import impact
from threadline.graph.paths import path
from threadline.graph.runs import RunNode, run_lineage
from threadline.graph.traverse import lineage
from threadline.store.ids import dataset_id


def test_run_lineage_finds_the_runs_that_made_each_input_version(store) -> None:
    feed(
        store,
        [
            step("extract", 1, 10, ["a"], ["b"]),
            step("extract", 2, 30, ["a"], ["b"]),  # a newer version of b, after clean ran
            step("clean", 3, 20, ["b"], ["c"]),  # read the version extract's run 1 made
            step("clean", 4, 40, ["b"], ["c"]),  # read run 2's
        ],
    )
    with store.read() as connection:
        up = run_lineage(connection, run_id(3), depth=None)
        down = run_lineage(connection, run_id(1), upstream=False, downstream=True, depth=None)
    b = dataset_id("db", "b")
    assert up.distances[RunNode(dataset_id=b, version=run_id(1))] == 1
    assert up.distances[RunNode(run=run_id(1))] == 2
    assert RunNode(run=run_id(2)) not in up.distances
    assert RunNode(run=run_id(3)) in down.distances
    assert RunNode(run=run_id(4)) not in down.distances


def test_run_lineage_uses_the_version_the_producer_named(store) -> None:
    version = {"version": {"datasetVersion": "v7"}}
    feed(
        store,
        [
            run_event("COMPLETE", 10, 1, job="load", outputs=[ds("t", **version)]),
            run_event("COMPLETE", 20, 2, job="load", outputs=[ds("t", version={"datasetVersion": "v8"})]),
            run_event("COMPLETE", 30, 3, job="report", inputs=[ds("t", **version)]),  # pinned to v7
        ],
    )
    with store.read() as connection:
        up = run_lineage(connection, run_id(3), depth=None)
    assert RunNode(run=run_id(1)) in up.distances
    assert RunNode(run=run_id(2)) not in up.distances


def test_run_lineage_says_which_runs_have_more_beyond_the_depth_limit(store) -> None:
    feed(store, chain())  # a -> extract(1) -> b -> clean(2) -> c -> train(3) -> model; b -> audit(4)
    with store.read() as connection:
        near = run_lineage(connection, run_id(3), depth=1)
        far = run_lineage(connection, run_id(3), depth=None)
        down = run_lineage(connection, run_id(1), upstream=False, downstream=True, depth=1)
    assert RunNode(run=run_id(2)) in near.distances
    assert RunNode(run=run_id(1)) not in near.distances
    assert near.more == {RunNode(run=run_id(2)): {"up"}}  # clean read b, which extract made
    assert far.more == {}
    assert down.more == {RunNode(run=run_id(2)): {"down"}, RunNode(run=run_id(4)): {"down"}}
    names = {dataset_id("db", n): ("db", n) for n in "abc"}
    nodes = {n["id"]: n for n in to_json(run_view(near, names, {run_id(2): "clean"}))["nodes"]}
    assert nodes[f"run:{run_id(2)}"]["more"] == ["up"]
    assert nodes[f"run:{run_id(2)}"]["job"] == "clean"
    assert "more" not in nodes[f"run:{run_id(3)}"]


def test_run_lineage_of_a_parent_run_is_that_of_the_runs_below_it(store) -> None:
    """A pipeline run reads and writes nothing itself; its steps do (and a step's own steps)."""
    feed(
        store,
        [
            run_event("COMPLETE", 5, 10, job="pipeline"),
            run_event("COMPLETE", 6, 11, job="pipeline.stage", run_facets=parent_facet(10, "pipeline")),
            run_event(
                "COMPLETE",
                8,
                1,
                job="extract",
                inputs=[ds("a")],
                outputs=[ds("b")],
                run_facets=parent_facet(10, "pipeline"),
            ),
            run_event(
                "COMPLETE",
                20,
                2,
                job="clean",
                inputs=[ds("b")],
                outputs=[ds("c")],
                run_facets=parent_facet(11, "pipeline.stage"),
            ),
            run_event("COMPLETE", 30, 3, job="train", inputs=[ds("c")], outputs=[ds("model")]),
        ],
    )
    with store.read() as connection:
        alone = run_lineage(connection, run_id(10), downstream=True, depth=1)
        steps = run_lineage(connection, run_id(10), downstream=True, depth=1, with_children=True)
    assert set(alone.distances) == {RunNode(run=run_id(10))}
    assert set(steps.children) == {run_id(11), run_id(1), run_id(2)}
    runs = {node.run for node in steps.distances if node.run}
    assert runs == {run_id(10), run_id(11), run_id(1), run_id(2), run_id(3)}  # train read clean's output
    assert steps.distances[RunNode(run=run_id(2))] == 0
    view = to_json(run_view(steps, {}, {}))
    children = {n["id"] for n in view["nodes"] if n.get("child")}
    assert children == {f"run:{run_id(n)}" for n in (11, 1, 2)}


def test_impact_lists_what_is_downstream_with_state_and_owners(store) -> None:
    owners = {"ownership": {"owners": [{"name": "team:ml", "type": "TEAM"}]}}
    feed(
        store,
        [
            *chain(),
            run_event(
                "FAIL",
                40,
                9,
                job="train",
                job_facets={k: {"_producer": PRODUCER, "_schemaURL": "s", **v} for k, v in owners.items()},
            ),
        ],
    )
    with store.read() as connection:
        result = impact(connection, D("b"))
    by_node = {item.node: item for item in result.impacted}
    assert set(by_node) == {J("clean"), D("c"), J("train"), D("model"), J("audit"), D("report")}
    assert by_node[J("train")].distance == 3
    assert by_node[J("train")].info.latest_state == "FAIL"
    assert result.owners == ["team:ml"]
    assert [item.node for item in result.failing] == [J("train")]


def test_paths(store) -> None:
    feed(store, chain())
    with store.read() as connection:
        forward = path(connection, D("a"), D("model"))
        backward = path(connection, D("model"), D("a"))
        sideways = path(connection, D("c"), D("report"))
        feed(store, [step("lonely", 20, 50, ["x"], ["y"])])
    assert forward.relation == "downstream"
    assert forward.nodes == [D("a"), J("extract"), D("b"), J("clean"), D("c"), J("train"), D("model")]
    assert forward.edges[0] == (D("a"), J("extract"))
    assert backward.relation == "upstream"
    assert backward.nodes[0] == D("model")
    assert sideways.relation == "undirected"
    with store.read() as connection:
        assert path(connection, D("a"), D("y")).relation == "none"


def test_exports_escape_names(store) -> None:
    hostile = 'evil"<img src=x onerror=alert(1)>'
    feed(store, [step("job\\x", 1, 10, [hostile], ["out"])])
    with store.read() as connection:
        subgraph = lineage(connection, D("out"), direction="upstream", depth=None)
        view = subgraph_view(subgraph, describe(connection, subgraph.distances))
    data = json.loads(render(view, "json"))
    assert {node["label"] for node in data["nodes"]} == {"out", "job\\x", hostile}
    dot = render(view, "dot")
    assert dot.startswith("digraph lineage {")
    assert '\\"<img' in dot
    assert "job\\\\x" in dot
    mermaid = render(view, "mermaid")
    assert mermaid.startswith("flowchart LR")
    assert "<img" not in mermaid
    assert "#lt;img" in mermaid
    assert "#quot;" in mermaid
    assert len(data["edges"]) == 2
