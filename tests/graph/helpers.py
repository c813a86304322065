"""Small lineage graphs built from events, and node helpers."""

from __future__ import annotations

from tests.projection.helpers import ds, run_event
from threadline.graph.model import DATASET, JOB, Node
from threadline.store.ids import dataset_id, job_id


def J(name: str, namespace: str = "ns") -> Node:  # noqa: N802
    return Node(JOB, job_id(namespace, name))


def D(name: str, namespace: str = "db") -> Node:  # noqa: N802
    return Node(DATASET, dataset_id(namespace, name))


def step(
    job: str, run: int, second: int, inputs: list[str], outputs: list[str], state: str = "COMPLETE"
) -> dict:
    """One run of ``job`` reading ``inputs`` and writing ``outputs``, as a single event."""
    return run_event(
        state,
        second,
        run,
        job=job,
        inputs=[ds(name) for name in inputs],
        outputs=[ds(name) for name in outputs],
    )


def chain() -> list[dict]:
    """a -> extract -> b -> clean -> c -> train -> model; b -> audit -> report."""
    return [
        step("extract", 1, 10, ["a"], ["b"]),
        step("clean", 2, 20, ["b"], ["c"]),
        step("train", 3, 30, ["c"], ["model"]),
        step("audit", 4, 25, ["b"], ["report"]),
    ]
