"""Tracking from threads, from forked and spawned processes, from ``python -c`` and notebooks."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import threadline
from tests.tracking.conftest import events_of
from threadline.store import SqlStore
from threadline.tracking import environment


def _child_work(index: int) -> str:
    with threadline.run(f"worker-{index}", params={"index": index}) as run:
        for step in range(5):
            run.log_metric("loss", step * index)
    return run.id


def _parent_of(store: SqlStore, run_id: str) -> str | None:
    final = events_of(store, run_id)[-1]
    parent = final["run"]["facets"].get("parent")
    return parent["run"]["runId"] if parent else None


def test_threads_each_keep_their_own_runs(project: Path, store: SqlStore) -> None:
    ids: dict[int, str] = {}
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            with threadline.run(f"thread-{index}") as run:
                for step in range(200):
                    threadline.log_metric("m", step + index)
            ids[index] = run.id
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    with threadline.run("main") as main:
        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not errors
    assert threadline.flush(30)
    for index, run_id in ids.items():
        final = events_of(store, run_id)[-1]
        points = final["run"]["facets"]["threadline_metrics"]["metrics"]["m"]
        assert [p[1] for p in points] == [float(s + index) for s in range(200)]
        # a thread started inside the main run sees it as the enclosing run
        assert _parent_of(store, run_id) == main.id


def test_one_run_logged_from_many_threads_keeps_every_point(project: Path, store: SqlStore) -> None:
    with threadline.run("shared") as run:

        def work() -> None:
            for _ in range(1000):
                run.log_metric("ticks", 1.0)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert threadline.flush(30)
    final = events_of(store, run.id)[-1]
    assert len(final["run"]["facets"]["threadline_metrics"]["metrics"]["ticks"]) == 4000


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_child_processes_record_child_runs(project: Path, store: SqlStore, method: str) -> None:
    context = multiprocessing.get_context(method)
    with threadline.run("pipeline") as pipeline:
        pipeline.log_metric("before", 1)
        with context.Pool(2) as pool:
            child_ids = pool.map(_child_work, [1, 2, 3])
        pipeline.log_metric("after", 2)
    assert threadline.flush(30)
    assert len(set(child_ids)) == 3
    for index, run_id in enumerate(child_ids, start=1):
        events = events_of(store, run_id)
        assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
        final = events[-1]
        assert final["job"]["name"] == f"pipeline.worker-{index}"
        assert [p[1] for p in final["run"]["facets"]["threadline_metrics"]["metrics"]["loss"]] == [
            float(step * index) for step in range(5)
        ]
        assert _parent_of(store, run_id) == pipeline.id
        assert (
            final["run"]["facets"]["threadline_environment"]["pid"]
            != events_of(store, pipeline.id)[-1]["run"]["facets"]["threadline_environment"]["pid"]
        )
    final = events_of(store, pipeline.id)[-1]
    assert set(final["run"]["facets"]["threadline_metrics"]["metrics"]) == {"before", "after"}


def test_a_forked_child_ignores_the_parents_run_but_may_start_its_own(project: Path, store: SqlStore) -> None:
    context = multiprocessing.get_context("fork")
    with threadline.run("parent") as parent:

        def child() -> None:
            parent.log_metric("from-child", 1)  # the parent's run: ignored in the child, with a warning
            with threadline.run("child"):
                threadline.log_metric("mine", 1)

        process = context.Process(target=child)
        process.start()
        process.join(60)
        assert process.exitcode == 0
        parent.log_metric("mine", 2)
    assert threadline.flush(30)
    final = events_of(store, parent.id)[-1]
    assert set(final["run"]["facets"]["threadline_metrics"]["metrics"]) == {"mine"}
    (child_run,) = [
        e for e in events_of(store) if e["job"]["name"] == "parent.child" and e["eventType"] == "COMPLETE"
    ]
    assert child_run["run"]["facets"]["parent"]["run"]["runId"] == parent.id


def test_a_subprocess_learns_its_parent_run_from_the_environment(project: Path, store: SqlStore) -> None:
    code = "import threadline\nwith threadline.run('sub') as r:\n    r.log_metric('x', 1)\nprint(r.id)\n"
    with threadline.run("outer") as outer:
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
        )
    assert threadline.flush(30)
    sub_id = done.stdout.strip()
    final = events_of(store, sub_id)[-1]
    assert final["job"]["name"] == "outer.sub"
    assert _parent_of(store, sub_id) == outer.id
    # `python -c` has no script file: its command line is recorded as it was given
    assert final["run"]["facets"]["threadline_environment"]["command_line"].split()[1] == "-c"


def test_command_line_in_a_notebook_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_main = type(sys)("__main__")
    fake_main.__file__ = "/opt/venv/lib/python3.11/site-packages/ipykernel_launcher.py"
    monkeypatch.setitem(sys.modules, "__main__", fake_main)
    monkeypatch.setitem(sys.modules, "ipykernel", type(sys)("ipykernel"))
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    assert environment.command_line() == "jupyter kernel"
    assert environment.main_script() is None
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/me/analysis.ipynb")
    assert environment.command_line() == "jupyter kernel: /home/me/analysis.ipynb"
    assert environment.main_script() == "/home/me/analysis.ipynb"


def test_git_state_is_captured(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("config", "user.email", "t@example.com")
    git("config", "user.name", "T")
    git("remote", "add", "origin", "https://user:secret-token@github.com/acme/models.git")
    (repo / "train.py").write_text("print(1)\n")
    git("add", "train.py")
    git("commit", "-q", "-m", "first")
    info = environment.git_info(repo)
    assert info is not None
    assert len(info.commit) == 40
    assert info.branch == "main"
    assert info.dirty is False
    assert info.remote == "https://github.com/acme/models.git"
    (repo / "train.py").write_text("print(2)\n")
    environment._git_cache.clear()
    assert environment.git_info(repo).dirty is True  # type: ignore[union-attr]
    assert environment.git_info(tmp_path / "home") is None


_SCRIPT = """
import subprocess, sys, threadline
with threadline.run("extract", pipeline="etl"):
    pass
with threadline.run("load", pipeline="etl"):
    # a process started in a step of etl is in etl too: its run is a step, not another pipeline run
    child = "import threadline\\nwith threadline.run('index', pipeline='etl'): pass"
    subprocess.run([sys.executable, "-c", child], check=True)
if sys.argv[1] == "crash":
    raise RuntimeError("the warehouse went away")
"""


@pytest.mark.parametrize("ending", ["ok", "crash"])
def test_a_script_with_pipeline_steps_ends_its_pipeline_run(
    project: Path, store: SqlStore, ending: str
) -> None:
    """`pipeline="etl"` outside any run: the SDK's run of etl holds every step of the script, and ends
    with it: as its last step ended, FAIL after an uncaught exception."""
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, ending],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == (0 if ending == "ok" else 1), done.stderr
    events = events_of(store)
    pipeline = [e for e in events if e["job"]["name"] == "etl"]
    assert [e["eventType"] for e in pipeline] == ["START", "COMPLETE" if ending == "ok" else "FAIL"]
    (pipeline_id,) = {e["run"]["runId"] for e in pipeline}
    steps = {
        e["job"]["name"]: e for e in events if e["eventType"] == "COMPLETE" and e["job"]["name"] != "etl"
    }
    assert set(steps) == {"etl.extract", "etl.load", "etl.index"}
    assert steps["etl.extract"]["run"]["facets"]["parent"]["run"]["runId"] == pipeline_id
    assert steps["etl.load"]["run"]["facets"]["parent"]["run"]["runId"] == pipeline_id
    load_id = steps["etl.load"]["run"]["runId"]
    assert steps["etl.index"]["run"]["facets"]["parent"]["run"]["runId"] == load_id
    assert steps["etl.index"]["run"]["facets"]["parent"]["root"]["run"]["runId"] == pipeline_id
    assert pipeline[-1]["eventTime"] == steps["etl.load"]["eventTime"]  # ends with its last step
    if ending == "crash":
        assert "the warehouse went away" in pipeline[-1]["run"]["facets"]["errorMessage"]["message"]
