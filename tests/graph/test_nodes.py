"""Node ids: Marquez's grammar (colons inside URL namespaces), versions, round trips, clear errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from threadline.errors import BadRequest
from threadline.graph.nodes import NodeId, format_node_id, parse_node_id

RUN = "0191a9a8-31b3-7a8e-a21f-6d3c1a2b3c4d"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "dataset:food_delivery:public.delivery_7_days",
            NodeId.dataset("food_delivery", "public.delivery_7_days"),
        ),
        ("dataset:postgres://host:5432:db.public.t", NodeId.dataset("postgres://host:5432", "db.public.t")),
        ("dataset:gs://bucket:path/to/file.csv", NodeId.dataset("gs://bucket", "path/to/file.csv")),
        ("dataset:kafka://b:9092:orders", NodeId.dataset("kafka://b:9092", "orders")),
        ("job:my-airflow:dag.task", NodeId.job("my-airflow", "dag.task")),
        ("job:airflow:dag:task", NodeId.job("airflow", "dag:task")),  # the name takes every later ':'
        ("dataset:s3://b:x:y", NodeId.dataset("s3://b", "x:y")),
        ("dataset:ns:2024_table", NodeId.dataset("ns", "2024_table")),  # exactly 3 parts: a plain split
        ("dataset:ns:t#42", NodeId.dataset("ns", "t", "42")),
        (f"job:ns:j#{RUN}", NodeId.job("ns", "j", RUN)),
        (
            "datasetField:postgres://h:5432:db.t:email",
            NodeId.dataset_field("postgres://h:5432", "db.t", "email"),
        ),
        ("datasetField:ns:t:a:b#v1", NodeId.dataset_field("ns", "t", "a:b", "v1")),
        (f"run:{RUN}", NodeId.run(RUN)),
        (f"run:{RUN.upper()}", NodeId.run(RUN)),
    ],
)
def test_parse(text: str, expected: NodeId) -> None:
    assert parse_node_id(text) == expected


@pytest.mark.parametrize(
    "node",
    [
        NodeId.dataset("postgres://host:5432", "db.schema.table"),
        NodeId.dataset("gs://bucket", "a/b/c.parquet"),
        NodeId.dataset("kafka://b:9092", "topic:with:colons"),
        NodeId.dataset("s3://bucket", "x", "v2"),
        NodeId.job("ns", "name:with:colons"),
        NodeId.job("https://airflow.example.com:8080", "dag.task", RUN),
        NodeId.dataset_field("postgres://host:5432", "db.t", "email"),
        NodeId.dataset_field("ns", "t", "a:b", "7"),
        NodeId.run(RUN),
    ],
    ids=str,
)
def test_round_trip(node: NodeId) -> None:
    assert parse_node_id(format_node_id(node)) == node
    assert str(node) == format_node_id(node)


def test_predicates_and_without_version() -> None:
    node = parse_node_id("dataset:ns:t#3")
    assert node.is_dataset
    assert [node.is_job, node.is_field, node.is_run] == [False, False, False]
    assert node.without_version() == NodeId.dataset("ns", "t")
    assert parse_node_id(f"run:{RUN}").is_run
    assert parse_node_id("datasetField:ns:t:f").is_field


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ("table:ns:x", "must start with"),
        ("dataset", "must start with"),
        ("dataset:ns", "needs a namespace and name"),
        ("dataset::name", "needs a namespace and name"),
        ("job:ns:", "needs a namespace and name"),
        ("datasetField:ns:t", "needs a namespace, dataset and field"),
        ("dataset:ns:t#", "nothing follows '#'"),
        ("run:not-a-uuid", "not a run id"),
    ],
)
def test_malformed_ids_name_the_expected_forms(text: str, why: str) -> None:
    with pytest.raises(BadRequest, match=why) as caught:
        parse_node_id(text)
    assert "dataset:<namespace>:<name>" in caught.value.message
    assert caught.value.status == 400


# ---- names that do not fit the grammar: escaped, and only then ------------------------------------

_part = st.text(
    min_size=1, max_size=8, alphabet=st.sampled_from(["a", "5", ":", "#", "%", "2", "3", "A", "/", " ", "é"])
)


@given(
    kind=st.sampled_from(["dataset", "job", "datasetField"]),
    namespace=_part,
    name=_part,
    field=_part,
    version=st.none() | _part,
)
@settings(max_examples=1000)
def test_every_node_reads_back_from_its_id(
    kind: str, namespace: str, name: str, field: str, version: str | None
) -> None:
    node = NodeId(kind, namespace, name, field if kind == "datasetField" else None, version=version)  # type: ignore[arg-type]
    text = format_node_id(node)
    assert parse_node_id(text) == node, text


@pytest.mark.parametrize(
    ("node", "text"),
    [
        (NodeId.dataset("ns", "a#b"), "dataset:ns:a%23b"),
        (NodeId.job("#", "#"), "job:%23:%23"),
        (NodeId.dataset("ns#frag", "t", "v#1"), "dataset:ns%23frag:t#v%231"),
        (NodeId.job("a:b", "c"), "job:a%3Ab:c"),
        (NodeId.job("a:5", "5:x"), "job:a%3A5:5%3Ax"),
        (NodeId.dataset("kafka://b:9092", "123topic"), "dataset:kafka%3A//b%3A9092:123topic"),
        (NodeId.dataset("ns", "100%"), "dataset:ns:100%"),
        (NodeId.dataset("ns", "a%20b"), "dataset:ns:a%20b"),
        (NodeId.dataset("ns", "a%23b"), "dataset:ns:a%2523b"),
        (NodeId.dataset(" ", " "), "dataset: : "),
        (NodeId.dataset("ns", "x "), "dataset:ns:x "),
        (NodeId.dataset_field("ns", "t:x", "f"), "datasetField:ns:t%3Ax:f"),
        (NodeId.dataset_field("ns", "t:1", "f"), "datasetField:ns:t:1:f"),
    ],
    ids=str,
)
def test_odd_names_are_escaped_in_ids(node: NodeId, text: str) -> None:
    assert format_node_id(node) == text
    assert parse_node_id(text) == node


@given(
    namespace=st.sampled_from(["postgres://h:5432", "kafka://b:9092", "s3://bucket", "airflow", "file"]),
    name=st.from_regex(r"\A[a-z_][a-z0-9_./:-]{0,20}\Z"),
)
def test_ids_that_fit_the_grammar_are_written_as_marquez_writes_them(namespace: str, name: str) -> None:
    assert format_node_id(NodeId.dataset(namespace, name)) == f"dataset:{namespace}:{name}"
