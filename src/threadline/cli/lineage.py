"""``threadline lineage`` and ``threadline impact``: the lineage graph from the command line."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from threadline.cli.common import StoreOption, connect, expected_errors, fail, out
from threadline.errors import BadRequest, InvalidParameter
from threadline.graph.columns import column_lineage
from threadline.graph.describe import dataset_names, describe
from threadline.graph.export import column_view, render, subgraph_view
from threadline.graph.impact import column_impact, impact
from threadline.graph.nodes import parse_node_id
from threadline.graph.resolve import resolve_column, resolve_node
from threadline.graph.traverse import lineage as walk
from threadline.params import DEPTH_HELP, NO_LIMIT, parse_depth, parse_moment
from threadline.vocabulary import RunState, state_label

OUTPUTS = ("table", "json", "dot", "mermaid")


#: ``--depth``: parsed as the HTTP API's ``depth`` is (``threadline.params``), one spelling of no limit.
DepthOption = Annotated[str, typer.Option(help=DEPTH_HELP)]
#: ``--as-of``: parsed as the HTTP API's ``asOf`` is.
AsOfOption = Annotated[
    str | None, typer.Option("--as-of", metavar="TIME", help="The graph as it was at TIME (ISO 8601).")
]


def _as_of(text: str | None) -> int | None:
    try:
        return parse_moment(text, "--as-of")
    except InvalidParameter as exc:
        fail(exc.message)


def _depth(text: str) -> int | None:
    try:
        return parse_depth(text, None, "--depth")
    except InvalidParameter as exc:
        fail(exc.message)


def lineage(
    node: Annotated[
        str, typer.Argument(help="A node id: dataset:NS:NAME, job:NS:NAME or datasetField:NS:DATASET:FIELD.")
    ],
    upstream: Annotated[bool, typer.Option("--upstream", help="Only what NODE comes from.")] = False,
    downstream: Annotated[bool, typer.Option("--downstream", help="Only what comes from NODE.")] = False,
    undirected: Annotated[
        bool, typer.Option("--undirected", help="Every edge either way (Marquez's neighbourhood).")
    ] = False,
    depth: DepthOption = NO_LIMIT,
    as_of: AsOfOption = None,
    columns: Annotated[bool, typer.Option("--columns", help="Column-level lineage instead.")] = False,
    output: Annotated[str, typer.Option("--format", help="table, json, dot or mermaid.")] = "table",
    store: StoreOption = None,
) -> None:
    """Show the lineage of NODE: upstream and downstream (default) or one way, to any depth, at any time."""
    if output not in OUTPUTS:
        fail(f"--format must be one of {', '.join(OUTPUTS)}, got {output!r}")
    if sum((upstream, downstream, undirected)) > 1:
        fail("give at most one of --upstream, --downstream and --undirected")
    direction = (
        "upstream" if upstream else "downstream" if downstream else "undirected" if undirected else "both"
    )
    limit, when = _depth(depth), _as_of(as_of)
    with expected_errors():
        opened = connect(store)
        try:
            with opened.read() as connection:
                parsed = parse_node_id(node)
                if columns or parsed.kind == "datasetField":
                    if direction == "undirected":
                        raise BadRequest("column lineage walks --upstream, --downstream or both")
                    graph = column_lineage(
                        connection,
                        resolve_column(connection, parsed),
                        upstream=direction in ("upstream", "both"),
                        downstream=direction in ("downstream", "both"),
                        depth=limit,
                        as_of=when,
                    )
                    view = column_view(graph, dataset_names(connection, {d for d, _ in graph.distances}))
                else:
                    subgraph = walk(
                        connection,
                        resolve_node(connection, parsed),
                        direction=direction,
                        depth=limit,
                        as_of=when,
                    )
                    view = subgraph_view(subgraph, describe(connection, subgraph.distances))
        finally:
            opened.close()
    if output != "table":
        out.print(render(view, output), markup=False, highlight=False, soft_wrap=True)
        return
    table = Table(title=f"lineage of {node} ({direction})", title_justify="left")
    for heading in ("distance", "type", "namespace", "name", "latest run"):
        table.add_column(heading, overflow="fold")
    for item in view.nodes:
        attributes = item.attributes
        name = attributes.get("name", item.label)
        if item.kind == "datasetField":
            name = (
                f"{attributes['dataset']}.{attributes['field']}"
                if attributes["field"]
                else attributes["dataset"]
            )
        table.add_row(
            str(item.distance),
            item.kind,
            attributes.get("namespace", ""),
            name,
            RunState(attributes["latestState"]).label if attributes.get("latestState") else "",
        )
    out.print(table)
    out.print(f"{len(view.nodes)} nodes, {len(view.edges)} edges")


def impact_command(
    node: Annotated[
        str, typer.Argument(help="A node id: dataset:NS:NAME, job:NS:NAME or datasetField:NS:DATASET:FIELD.")
    ],
    depth: DepthOption = NO_LIMIT,
    as_of: Annotated[
        str | None, typer.Option("--as-of", metavar="TIME", help="What depended on NODE at TIME.")
    ] = None,
    output: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    store: StoreOption = None,
) -> None:
    """Everything downstream of NODE, nearest first, with each job's latest run state and its owners."""
    if output not in ("table", "json"):
        fail(f"--format must be table or json, got {output!r}")
    limit, when = _depth(depth), _as_of(as_of)
    with expected_errors():
        opened = connect(store)
        try:
            with opened.read() as connection:
                parsed = parse_node_id(node)
                if parsed.kind == "datasetField":
                    result = column_impact(
                        connection, resolve_column(connection, parsed)[0], depth=limit, as_of=when
                    )
                else:
                    result = impact(connection, resolve_node(connection, parsed), depth=limit, as_of=when)
        finally:
            opened.close()
    if output == "json":
        data = {
            "nodeId": node,
            "impacted": [
                {
                    "id": item.info.node_id,
                    "type": item.node.kind,
                    "distance": item.distance,
                    "latestRunState": RunState.of(item.info.latest_state).value
                    if item.info.latest_state
                    else None,
                    "owners": list(item.info.owners),
                    **({"fields": list(item.fields)} if item.fields else {}),
                }
                for item in result.impacted
            ],
            "owners": result.owners,
        }
        out.print(json.dumps(data, indent=2), markup=False, highlight=False, soft_wrap=True)
        return
    table = Table(title=f"impact of {node}", title_justify="left")
    for heading in ("distance", "type", "namespace", "name", "latest run", "owners"):
        table.add_column(heading, overflow="fold")
    for item in result.impacted:
        name = item.info.name + (f" ({', '.join(item.fields)})" if item.fields else "")
        table.add_row(
            str(item.distance),
            item.node.kind,
            item.info.namespace,
            name,
            state_label(item.info.latest_state) if item.info.latest_state else "",
            ", ".join(item.info.owners),
        )
    out.print(table)
    summary = f"{len(result.impacted)} downstream"
    if result.failing:
        summary += f"; latest run failed: {', '.join(item.info.name for item in result.failing)}"
    if result.owners:
        summary += f"; owners: {', '.join(result.owners)}"
    out.print(summary)
