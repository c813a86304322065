"""Synthetic lineage at scale, as OpenLineage events, for the graph benchmarks.

The default scale is the one the lineage benchmark asks for: **100,000 jobs, 300,000 datasets,
1,000,000 run-dataset edges, 10 runs per job on average**, layered so that some nodes are more than 50
edges deep. How the numbers are met:

- Jobs come in pipelines of 50 (2,000 pipelines), grouped 20 to a *domain*. A pipeline is 10 layers of 5
  jobs; each job writes 2 datasets (200,000 in all) and reads up to 9: 2 outputs of the previous layer,
  up to 5 more of earlier layers, the rest among the pipeline's 50 sources (about 100,000 sources are
  read in all); repeats are dropped, which leaves about 8.4. One input in a hundred is instead an
  output of another pipeline of the same domain, so lineage crosses pipelines, but a traversal's reach
  stays within a domain, as it does in real organisations. 2 of the pipelines are instead chains of 50
  jobs, one per layer: their last datasets are 100 edges from their first.
- A job's latest run reports its inputs and outputs (about 10.4): about 1,040,000 run-dataset edges,
  which are also the current job graph's edges. Each job has 9 older runs on average (between 4 and 14)
  that report no datasets: about 1,000,000 runs in all, 10 per job.
- The chains also carry column lineage: each output field ``v`` (and ``w``) comes from the same field of
  the job's previous dataset, so ``v`` at the end of a chain is 49 column hops from its origin.

Events are built as compact JSON bytes, one COMPLETE event per run, with increasing event times.
``python benchmarks/graphgen.py [--scale F]`` prints the counts for a scale (``F`` = 1.0 is the above).
"""

from __future__ import annotations

import argparse
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

PRODUCER = "https://github.com/threadline-dev/threadline/benchmarks"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
LINEAGE_URL = (
    "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet"
)
NAMESPACE = "warehouse://bench"
JOB_NAMESPACE = "bench"
PIPELINE_JOBS = 50
LAYERS = 10
PIPELINES_PER_DOMAIN = 20
OUTPUTS_PER_JOB = 2
INPUTS_PER_JOB = 9
SOURCES_PER_PIPELINE = 50
CROSS_PIPELINE = 0.01
BASE_TIME = 1_767_225_600  # 2026-01-01T00:00:00Z


@dataclass
class Plan:
    """The shape of the generated lineage."""

    pipelines: int
    chains: int

    @property
    def jobs(self) -> int:
        return self.pipelines * PIPELINE_JOBS

    @property
    def datasets(self) -> int:
        return self.jobs * OUTPUTS_PER_JOB + self.pipelines * SOURCES_PER_PIPELINE


def plan(scale: float = 1.0) -> Plan:
    """The plan for ``scale`` (1.0: 100,000 jobs)."""
    pipelines = max(PIPELINES_PER_DOMAIN, round(2_000 * scale))
    return Plan(pipelines=pipelines, chains=max(1, round(2 * scale)))


def _time(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def job_name(pipeline: int, job: int) -> str:
    """The name of job ``job`` of pipeline ``pipeline``."""
    return f"p{pipeline:04d}.j{job:02d}"


def output_name(pipeline: int, job: int, index: int) -> str:
    """The name of the ``index``-th output of a job."""
    return f"p{pipeline:04d}.t{job:02d}_{index}"


def source_name(pipeline: int, index: int) -> str:
    """The name of a pipeline's source dataset."""
    return f"p{pipeline:04d}.src{index:02d}"


def _structure(the_plan: Plan, rng: random.Random) -> dict[tuple[int, int], list[str]]:
    """Each job's input dataset names."""
    inputs: dict[tuple[int, int], list[str]] = {}
    chain_pipelines = set(range(the_plan.chains))
    for pipeline in range(the_plan.pipelines):
        domain_start = pipeline - pipeline % PIPELINES_PER_DOMAIN
        for job in range(PIPELINE_JOBS):
            if pipeline in chain_pipelines:  # one job per layer
                earlier = list(range(job))
                previous = [job - 1] if job else []
            else:
                per_layer = PIPELINE_JOBS // LAYERS
                layer = job // per_layer
                earlier = list(range(layer * per_layer))
                previous = list(range((layer - 1) * per_layer, layer * per_layer)) if layer else []
            chosen: list[str] = []
            if previous:
                pick = rng.sample(previous, min(len(previous), 2))
                chosen += [output_name(pipeline, j, rng.randrange(OUTPUTS_PER_JOB)) for j in pick]
            while len(chosen) < INPUTS_PER_JOB - 2 and earlier:
                chosen.append(output_name(pipeline, rng.choice(earlier), rng.randrange(OUTPUTS_PER_JOB)))
            while len(chosen) < INPUTS_PER_JOB:
                chosen.append(source_name(pipeline, rng.randrange(SOURCES_PER_PIPELINE)))
            for index in range(len(chosen)):
                if rng.random() < CROSS_PIPELINE and pipeline > domain_start:
                    other = rng.randrange(domain_start, pipeline)
                    chosen[index] = output_name(
                        other, rng.randrange(PIPELINE_JOBS), rng.randrange(OUTPUTS_PER_JOB)
                    )
            inputs[(pipeline, job)] = list(dict.fromkeys(chosen))
    return inputs


def _dataset(name: str, lineage_from: str | None = None) -> dict:
    dataset: dict = {"namespace": NAMESPACE, "name": name}
    if lineage_from is not None:
        dataset["facets"] = {
            "columnLineage": {
                "_producer": PRODUCER,
                "_schemaURL": LINEAGE_URL,
                "fields": {
                    field: {
                        "inputFields": [
                            {
                                "namespace": NAMESPACE,
                                "name": lineage_from,
                                "field": field,
                                "transformations": [{"type": "DIRECT", "subtype": "TRANSFORMATION"}],
                            }
                        ]
                    }
                    for field in ("v", "w")
                },
            }
        }
    return dataset


def events(scale: float = 1.0, seed: int = 1) -> Iterator[bytes]:
    """Every event of the generated lineage (older runs first, then each job's latest run)."""
    rng = random.Random(seed)
    the_plan = plan(scale)
    inputs = _structure(the_plan, rng)
    clock = float(BASE_TIME)
    older = {key: rng.randint(4, 14) for key in inputs}
    for round_number in range(max(older.values())):
        for key, count in older.items():
            if round_number < count:
                clock += 0.001
                yield _event(
                    job_name(*key), str(uuid.UUID(int=rng.getrandbits(128), version=4)), clock, [], []
                )
    for (pipeline, job), names in inputs.items():
        clock += 0.001
        chain = pipeline < the_plan.chains
        outputs = [
            _dataset(output_name(pipeline, job, index), lineage_from=(names[0] if chain and job else None))
            for index in range(OUTPUTS_PER_JOB)
        ]
        run = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        yield _event(job_name(pipeline, job), run, clock, [_dataset(name) for name in names], outputs)


def _event(job: str, run: str, clock: float, inputs: list[dict], outputs: list[dict]) -> bytes:
    doc = {
        "eventType": "COMPLETE",
        "eventTime": _time(clock),
        "run": {"runId": run},
        "job": {"namespace": JOB_NAMESPACE, "name": job},
        "inputs": inputs,
        "outputs": outputs,
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    the_plan = plan(args.scale)
    count = edges = 0
    for raw in events(args.scale):
        count += 1
        doc = json.loads(raw)
        edges += len(doc["inputs"]) + len(doc["outputs"])
    print(f"pipelines {the_plan.pipelines:,}, jobs {the_plan.jobs:,}, datasets {the_plan.datasets:,}")
    print(f"runs (events) {count:,} ({count / the_plan.jobs:.1f} per job), run-dataset edges {edges:,}")


if __name__ == "__main__":
    main()
