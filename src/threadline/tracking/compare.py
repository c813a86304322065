"""What differs between two runs: the one definition that ``threadline diff`` prints and the web UI's
*Compare with another run* shows (``GET /api/v1/ui/pages/run?runId=A&compare=B``).

A comparison is a list of :class:`Change`, by section:

- ``run``: the job, the state (Marquez's word), the duration (milliseconds);
- ``inputs`` and ``outputs``: datasets by identity (namespace and name), each with the version the run
  read or wrote (:func:`~threadline.projection.readers.runs.io_version`: the content id ``blake3:…`` of a
  hashed file, else the producer's version or the dataset version the run read or made);
- ``params`` and ``metrics`` (the final value of each series; ``delta`` is B - A for two numbers);
- ``code``: the git commit, branch, dirty flag and remote of the code;
- ``environment``: Python, implementation, platform, host, and the packages added, removed or changed
  (read from the package lists in the object store, when it has them; else their ids are compared and
  a note says why).

Each change is ``added`` (only B has it), ``removed`` (only A has it), ``changed``, ``same``, or, for a
dataset both runs used and neither has a version of, ``unknown``. A pipeline run is compared with the
runs below it: the parameters and metrics of its steps are named ``STEP.key``, its inputs are the data
that came from outside the pipeline (what no run of it wrote, as ``threadline restore`` sees them), its
outputs everything its runs wrote.

:func:`shown` spells each value for people (durations, states and versions as everywhere else, see
:mod:`threadline.vocabulary`); the CLI prints it and the API sends it (``text``) for the UI to render.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import Connection

from threadline.artifacts.object_id import ObjectId
from threadline.artifacts.objects import ObjectDB
from threadline.errors import ArtifactError, InvalidObjectId
from threadline.projection.readers.runs import Run, load_runs, run_tree
from threadline.store.run_ids import short_run_ids
from threadline.tracking.environment import parse_packages
from threadline.vocabulary import RunState, format_duration, iso_time

#: The sections of a comparison, in the order they are shown.
SECTIONS = ("run", "inputs", "outputs", "params", "metrics", "code", "environment")
#: What a change is.
KINDS = ("added", "removed", "changed", "same", "unknown")
_DATASET_SECTIONS = ("inputs", "outputs")
_CODE_KEYS = ("commit", "branch", "dirty", "remote")
_ENVIRONMENT_KEYS = ("python", "implementation", "platform", "host")
#: How a value that is there but empty (null, no duration) is shown.
NOTHING = "\N{EN DASH}"
#: Versions and ids longer than this are shown shortened (the whole value is in the JSON).
SHORT_VALUE = 20


@dataclass
class Change:
    """One thing compared between runs A and B: its section, key, each side's value (``None`` when the
    side lacks it: ``in_a``/``in_b`` say whether it has it) and, for datasets, which dataset."""

    section: str
    key: str
    a: Any
    b: Any
    in_a: bool = True
    in_b: bool = True
    dataset: dict[str, str] | None = None

    @property
    def kind(self) -> str:
        """``added`` (only in B), ``removed`` (only in A), ``changed``, ``same`` or ``unknown``."""
        if not self.in_a:
            return "added"
        if not self.in_b:
            return "removed"
        if self.section in _DATASET_SECTIONS and self.a is None and self.b is None:
            return "unknown"
        return "same" if self.a == self.b else "changed"

    @property
    def delta(self) -> float | None:
        """B - A, for a metric or parameter whose values are both numbers."""
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (self.a, self.b))
        if not numbers or not self.in_a or not self.in_b or self.section not in ("metrics", "params"):
            return None
        return self.b - self.a

    def to_dict(self, *, with_text: bool = False, root: str | None = None) -> dict[str, Any]:
        """JSON-ready; ``with_text`` adds the key and each value as people read them (``text``; a local
        file's path relative to ``root``, see :func:`shown_key`)."""
        found: dict[str, Any] = {
            "section": self.section,
            "key": self.key,
            "a": self.a,
            "b": self.b,
            "change": self.kind,
        }
        if self.dataset is not None:
            found["dataset"] = self.dataset
        if self.delta is not None:
            found["delta"] = self.delta
        if with_text:
            found["text"] = {
                "key": shown_key(self, root),
                "a": shown(self, "a"),
                "b": shown(self, "b"),
                "delta": delta_text(self),
            }
        return found


@dataclass
class RunSide:
    """One of the two runs compared: its id and short id, job, state and times."""

    info: Run
    short_id: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "id": self.info.id,
            "shortId": self.short_id,
            "job": {"namespace": self.info.job_namespace, "name": self.info.job_name},
            "state": RunState.of(self.info.state).value,
            "startedAt": iso_time(self.info.started_at),
            "endedAt": iso_time(self.info.ended_at),
        }


@dataclass
class RunComparison:
    """Runs A and B, and everything compared between them."""

    a: RunSide
    b: RunSide
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def root(self) -> str | None:
        """The folder local files are shown relative to: where run A ran (else B), as the SDK recorded
        it (``threadline_environment.cwd``); none for runs from other producers."""
        for side in (self.a, self.b):
            cwd = side.info.environment.get("cwd")
            if isinstance(cwd, str) and cwd:
                return cwd
        return None

    def differing(self) -> list[Change]:
        """The changes that are not ``same``."""
        return [change for change in self.changes if change.kind != "same"]

    def counts(self) -> dict[str, int]:
        """How many changes of each kind."""
        found = dict.fromkeys(KINDS, 0)
        for change in self.changes:
            found[change.kind] += 1
        return found

    def to_dict(self, *, include_same: bool = False, with_text: bool = False) -> dict[str, Any]:
        """JSON-ready: the two runs, the changes by section (without ``same`` ones unless asked), how
        many of each kind, and notes."""
        sections: dict[str, list[dict[str, Any]]] = {section: [] for section in SECTIONS}
        for change in self.changes if include_same else self.differing():
            sections[change.section].append(change.to_dict(with_text=with_text, root=self.root))
        return {
            "a": self.a.to_dict(),
            "b": self.b.to_dict(),
            **sections,
            "counts": self.counts(),
            "notes": self.notes,
        }


# ---- values for people ------------------------------------------------------------------------------


def _short(text: str) -> str:
    return text if len(text) <= SHORT_VALUE else f"{text[: SHORT_VALUE - 1]}…"


def format_value(value: Any) -> str:
    """A parameter or metric value, short: floats to 6 significant digits, lists and objects as JSON."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.6g}"
    if value is None:
        return NOTHING
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def shown_key(change: Change, root: str | os.PathLike[str] | None) -> str:
    """A change's key as people read it: a local file's path relative to ``root`` when inside it."""
    if change.dataset is None or change.dataset["namespace"] != "file" or root is None:
        return change.key
    try:
        return str(PurePosixPath(change.key).relative_to(PurePosixPath(os.fspath(root))))
    except ValueError:
        return change.key


def shown(change: Change, side: str) -> str:
    """The value of side ``a`` or ``b`` as people read it ("" when that side lacks it)."""
    if not (change.in_a if side == "a" else change.in_b):
        return ""
    value = change.a if side == "a" else change.b
    if change.section in _DATASET_SECTIONS:
        return ", ".join(_short(v) for v in value.split(", ")) if value else "no version"
    if change.section == "run":
        if change.key == "duration":
            return format_duration(value * 1000) if value is not None else NOTHING
        if change.key == "state":
            return RunState(value).label
    if change.section == "code" and change.key == "commit" and isinstance(value, str):
        return value[:12]
    if change.key in ("packages",) or (isinstance(value, str) and value.startswith("blake3:")):
        return _short(str(value)) if value else NOTHING
    return format_value(value)


def delta_text(change: Change) -> str:
    """``+0.05`` or ``-3`` for a change between two numbers, else ""."""
    delta = change.delta
    if delta is None or change.kind == "same":
        return ""
    return f"{'+' if delta > 0 else ''}{format_value(delta)}"


# ---- comparing ---------------------------------------------------------------------------------------


def _keyed(section: str, a: dict[str, Any], b: dict[str, Any]) -> list[Change]:
    return [
        Change(section, key, a.get(key), b.get(key), key in a, key in b) for key in sorted(set(a) | set(b))
    ]


def _tree_values(runs: list[Run], attribute: str) -> dict[str, Any]:
    """Parameters or final metrics of a run tree; those of runs below the top one are named ``step.key``."""
    values: dict[str, Any] = {}
    top = runs[0]
    for info in runs:
        prefix = "" if info is top else info.job_name.rsplit(".", 1)[-1] + "."
        for key, value in getattr(info, attribute).items():
            values[f"{prefix}{key}"] = value
    return values


def _datasets(runs: list[Run]) -> tuple[dict[int, Any], dict[int, Any]]:
    """The inputs and outputs of a run tree by dataset id: ``(label, identity, versions)``.

    Inputs are those no run of the tree wrote at the version read; outputs every dataset a run of
    the tree wrote. A dataset read or written in several versions has them all, sorted.
    """
    written = {(entry.id, entry.version) for run in runs for entry in run.outputs}
    sides: tuple[dict[int, Any], dict[int, Any]] = ({}, {})
    for run in runs:
        for side, entries in ((0, run.inputs), (1, run.outputs)):
            for entry in entries:
                if side == 0 and (entry.id, entry.version) in written:
                    continue
                identity = {"namespace": entry.namespace, "name": entry.name}
                found = sides[side].setdefault(entry.id, (entry.label, identity, set()))
                if entry.version is not None:
                    found[2].add(entry.version)
    return sides


def _dataset_changes(section: str, a: dict[int, Any], b: dict[int, Any]) -> list[Change]:
    changes = []
    for dataset in set(a) | set(b):
        label, identity, _ = a.get(dataset) or b[dataset]
        versions = [
            ", ".join(sorted(side[dataset][2])) or None if dataset in side else None for side in (a, b)
        ]
        changes.append(Change(section, label, versions[0], versions[1], dataset in a, dataset in b, identity))
    return sorted(changes, key=lambda change: change.key)


def _packages(objects: ObjectDB | None, info: Run, short_id: str, notes: list[str]) -> dict[str, str] | None:
    text = info.environment.get("packages_object")
    if not text:
        return None
    try:
        oid = ObjectId.parse(str(text))
        if objects is not None and objects.has(oid):
            return parse_packages(objects.read(oid))
    except (ArtifactError, InvalidObjectId, OSError):
        pass
    where = "the object store" if objects is not None else "an object store (this server keeps none)"
    notes.append(f"the package list of run {short_id} ({_short(str(text))}) is not in {where}")
    return None


def compare_runs(
    connection: Connection, a_id: str, b_id: str, objects: ObjectDB | None = None
) -> RunComparison:
    """Compare runs ``a_id`` and ``b_id`` (full ids; resolve prefixes first), with the runs below them
    (see the module docstring). ``objects`` is the object store holding package lists, if any."""
    a_runs, b_runs = (load_runs(connection, run_tree(connection, run_id)) for run_id in (a_id, b_id))
    short = short_run_ids(connection, [a_id, b_id])
    result = RunComparison(RunSide(a_runs[0], short[a_id]), RunSide(b_runs[0], short[b_id]))
    a, b = result.a.info, result.b.info
    changes = result.changes
    changes.append(Change("run", "job", a.job_name, b.job_name))
    changes.append(Change("run", "state", RunState.of(a.state).value, RunState.of(b.state).value))
    changes.append(Change("run", "duration", a.duration_ms, b.duration_ms))
    a_io, b_io = _datasets(a_runs), _datasets(b_runs)
    changes += _dataset_changes("inputs", a_io[0], b_io[0])
    changes += _dataset_changes("outputs", a_io[1], b_io[1])
    changes += _keyed("params", _tree_values(a_runs, "params"), _tree_values(b_runs, "params"))
    changes += _keyed("metrics", _tree_values(a_runs, "final_metrics"), _tree_values(b_runs, "final_metrics"))
    git_a, git_b = a.git, b.git
    changes += _keyed(
        "code",
        {k: git_a[k] for k in _CODE_KEYS if k in git_a},
        {k: git_b[k] for k in _CODE_KEYS if k in git_b},
    )
    env_a, env_b = a.environment, b.environment
    changes += _keyed(
        "environment",
        {k: env_a[k] for k in _ENVIRONMENT_KEYS if k in env_a},
        {k: env_b[k] for k in _ENVIRONMENT_KEYS if k in env_b},
    )
    packages_a = _packages(objects, a, result.a.short_id, result.notes)
    packages_b = _packages(objects, b, result.b.short_id, result.notes)
    if packages_a is not None and packages_b is not None:
        changes += [
            Change(
                "environment",
                f"package {name}",
                packages_a.get(name),
                packages_b.get(name),
                name in packages_a,
                name in packages_b,
            )
            for name in sorted(set(packages_a) | set(packages_b))
        ]
    elif "packages_object" in env_a or "packages_object" in env_b:
        changes += _keyed(
            "environment",
            {"packages": env_a["packages_object"]} if "packages_object" in env_a else {},
            {"packages": env_b["packages_object"]} if "packages_object" in env_b else {},
        )
    return result
