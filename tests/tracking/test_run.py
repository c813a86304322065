"""The SDK: runs, steps, parameters, metric series, inputs and outputs, failures, as stored events."""

from __future__ import annotations

import asyncio
import logging
import math
import os
from pathlib import Path

import pytest

import threadline
from tests.tracking.conftest import events_of, write_old
from threadline.artifacts import ArtifactStore, ObjectId
from threadline.artifacts.hashing import hash_bytes
from threadline.projection.readers.runs import Run, get_run, run_tree
from threadline.store import SqlStore


def _run(store: SqlStore, run_id: str) -> Run:
    with store.read() as connection:
        return get_run(connection, run_id)


def test_a_run_is_a_start_and_a_complete_event_with_everything(project: Path, store: SqlStore) -> None:
    raw = write_old(project / "data" / "raw.csv", "a,b\n1,2\n3,4\n5,6\n")
    with threadline.run("train", params={"lr": 0.1, "layers": [64, 32]}, tags={"team": "ml"}) as run:
        run.log_param("epochs", 3)
        run.log_params({"optimizer": "adam", "seed": None})
        for epoch in range(3):
            run.log_metric("loss", 1.0 / (epoch + 1))
        run.log_metric("acc", 0.9, step=10)
        run.tag("stage", "dev")
        assert run.input("data/raw.csv") == "data/raw.csv"
        (project / "model.bin").write_bytes(b"weights")
        run.output(project / "model.bin", kind="model")
    assert threadline.flush(30)

    events = events_of(store, run.id)
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    start, complete = events
    assert start["job"] == complete["job"]
    assert complete["job"]["name"] == "train"
    assert complete["job"]["namespace"] == "work"  # the project folder's name
    facets = complete["run"]["facets"]
    assert facets["threadline_params"]["params"] == {
        "lr": 0.1,
        "layers": [64, 32],
        "epochs": 3,
        "optimizer": "adam",
        "seed": "None",
    }
    series = facets["threadline_metrics"]["metrics"]
    assert [p[:2] for p in series["loss"]] == [[0, 1.0], [1, 0.5], [2, 1 / 3]]
    assert series["acc"][0][:2] == [10, 0.9]
    assert facets["threadline_metrics"]["complete"] is True
    assert {t["key"]: t["value"] for t in facets["tags"]["tags"]} == {"team": "ml", "stage": "dev"}
    assert facets["processing_engine"]["name"] == "threadline"
    environment = facets["threadline_environment"]
    assert environment["python"].count(".") == 2
    assert environment["packages_object"].startswith("blake3:")
    assert environment["packages_count"] > 10
    assert environment["pid"] == os.getpid()
    assert complete["job"]["facets"]["jobType"]["integration"] == "THREADLINE"

    (source,) = complete["inputs"]
    assert (source["namespace"], source["name"]) == ("file", str(raw))
    content = f"blake3:{hash_bytes(raw.read_bytes())}"
    assert source["facets"]["version"]["datasetVersion"] == content
    assert source["facets"]["threadline_artifact"]["hash"] == content
    assert source["facets"]["threadline_artifact"]["stored"] is False
    assert source["inputFacets"]["inputStatistics"] == {
        "_producer": source["inputFacets"]["inputStatistics"]["_producer"],
        "_schemaURL": source["inputFacets"]["inputStatistics"]["_schemaURL"],
        "rowCount": 3,
        "size": raw.stat().st_size,
    }
    assert [f["name"] for f in source["facets"]["schema"]["fields"]] == ["a", "b"]
    (model,) = complete["outputs"]
    assert model["facets"]["threadline_artifact"]["kind"] == "model"
    assert model["facets"]["datasetType"]["datasetType"] == "MODEL"
    assert model["facets"]["version"]["datasetVersion"] == f"blake3:{hash_bytes(b'weights')}"

    # ... and the projections know it, as the commands read it.
    info = _run(store, run.id)
    assert info.state == "COMPLETE"
    assert info.params["epochs"] == 3
    assert info.final_metrics == {"loss": pytest.approx(1 / 3), "acc": 0.9}
    assert [d.version for d in info.inputs] == [content]
    assert [d.object_id for d in info.outputs] == [f"blake3:{hash_bytes(b'weights')}"]


def test_steps_and_nested_runs_are_children_of_the_pipeline_run(project: Path, store: SqlStore) -> None:
    @threadline.step
    def clean(rows: int, path: Path = Path("x.csv"), frame: object = None) -> str:
        """Clean the rows."""
        threadline.log_metric("dropped", rows // 10)
        return threadline.current_run().id  # type: ignore[union-attr]

    with threadline.run("churn") as pipeline:
        clean_id = clean(100)
        with threadline.run("report") as report, threadline.run("deep") as deep:
            pass
    assert threadline.flush(30)
    clean_event = events_of(store, clean_id)[-1]
    assert clean_event["job"]["name"] == "churn.clean"
    assert clean_event["job"]["facets"]["documentation"]["description"] == "Clean the rows."
    assert clean_event["job"]["facets"]["jobType"]["jobType"] == "STEP"
    parent = clean_event["run"]["facets"]["parent"]
    assert parent["run"]["runId"] == pipeline.id
    assert parent["job"]["name"] == "churn"
    # scalar arguments and paths are logged as parameters, other objects are not
    assert clean_event["run"]["facets"]["threadline_params"]["params"] == {"rows": 100, "path": "x.csv"}
    deep_event = events_of(store, deep.id)[-1]
    assert deep_event["job"]["name"] == "churn.deep"
    assert deep_event["run"]["facets"]["parent"]["run"]["runId"] == report.id
    assert deep_event["run"]["facets"]["parent"]["root"]["run"]["runId"] == pipeline.id
    assert events_of(store, pipeline.id)[-1]["job"]["facets"]["jobType"]["jobType"] == "PIPELINE"
    assert _run(store, clean_id).parent_run_id == pipeline.id
    with store.read() as connection:
        assert run_tree(connection, pipeline.id)[0] == pipeline.id
        assert set(run_tree(connection, pipeline.id)[1:]) == {clean_id, report.id, deep.id}


def test_an_exception_fails_the_run_with_the_error_and_propagates(project: Path, store: SqlStore) -> None:
    @threadline.step
    def explode() -> None:
        msg = "the model diverged"
        raise FloatingPointError(msg)

    with pytest.raises(FloatingPointError, match="diverged"), threadline.run("pipeline") as pipeline:
        explode()
    assert threadline.flush(30)
    final = events_of(store, pipeline.id)[-1]
    assert final["eventType"] == "FAIL"
    error = final["run"]["facets"]["errorMessage"]
    assert error["message"] == "FloatingPointError: the model diverged"
    assert error["programmingLanguage"] == "python"
    assert "raise FloatingPointError(msg)" in error["stackTrace"]
    assert _run(store, pipeline.id).state == "FAIL"


def test_keyboard_interrupt_aborts_and_sys_exit_zero_completes(project: Path, store: SqlStore) -> None:
    with pytest.raises(KeyboardInterrupt), threadline.run("interrupted") as interrupted:
        raise KeyboardInterrupt
    with pytest.raises(SystemExit), threadline.run("exits") as exits:
        raise SystemExit(0)
    assert threadline.flush(30)
    assert _run(store, interrupted.id).state == "ABORT"
    assert _run(store, exits.id).state == "COMPLETE"


def test_a_run_left_open_records_its_params_and_stays_running(project: Path, store: SqlStore) -> None:
    """``leave_open``: a RUNNING event with the params as they are, no end event (another process ends
    it: a pipeline run awaiting approval); the ``with`` block's end and the next run change nothing."""
    with threadline.run("etl") as run:
        run.log_param("approval", {"status": "awaiting"})
        run.leave_open()
        assert threadline.current_run() is None
        with threadline.run("next") as other:
            assert other.parent is None  # not a child of the run left open
    with pytest.raises(threadline.TrackingError):
        run.leave_open()
    assert threadline.flush(30)
    events = events_of(store, run.id)
    assert [e["eventType"] for e in events] == ["START", "RUNNING"]
    assert events[1]["run"]["facets"]["threadline_params"]["params"] == {"approval": {"status": "awaiting"}}
    assert _run(store, run.id).state == "RUNNING"


def test_async_steps_are_runs(project: Path, store: SqlStore) -> None:
    @threadline.step("fetch", pipeline="ingest")
    async def fetch(n: int) -> int:
        await asyncio.sleep(0)
        threadline.log_metric("fetched", n)
        return n

    assert asyncio.run(fetch(3)) == 3
    assert threadline.flush(30)
    (event,) = [e for e in events_of(store) if e["eventType"] == "COMPLETE"]
    assert event["job"]["name"] == "ingest.fetch"
    assert event["run"]["facets"]["threadline_metrics"]["metrics"]["fetched"][0][1] == 3


def test_metric_values_json_cannot_hold_are_written_as_strings(project: Path, store: SqlStore) -> None:
    with threadline.run("odd") as run:
        run.log_metric("x", math.nan)
        run.log_metric("x", math.inf)
        run.log_metric("x", -math.inf)
        run.log_metric("x", "not a number")  # type: ignore[arg-type]
        run.log_metric("x", True)
    assert threadline.flush(30)
    points = events_of(store, run.id)[-1]["run"]["facets"]["threadline_metrics"]["metrics"]["x"]
    assert [p[1] for p in points] == ["NaN", "Infinity", "-Infinity", 1.0]


def test_running_events_carry_the_points_since_the_last_event(project: Path, store: SqlStore) -> None:
    threadline.configure(running_points=4)
    with threadline.run("long") as run:
        for step in range(10):
            run.log_metric("loss", float(step))
    assert threadline.flush(30)
    events = events_of(store, run.id)
    assert [e["eventType"] for e in events] == ["START", "RUNNING", "RUNNING", "COMPLETE"]
    chunks = [e["run"]["facets"]["threadline_metrics"] for e in events[1:3]]
    assert [[p[0] for p in c["metrics"]["loss"]] for c in chunks] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert all(c["complete"] is False for c in chunks)
    final = events[-1]["run"]["facets"]["threadline_metrics"]
    assert [p[0] for p in final["metrics"]["loss"]] == list(range(10))
    assert _run(store, run.id).state == "COMPLETE"  # the fold keeps the complete series last


def test_module_level_helpers_act_on_the_current_run(
    project: Path, store: SqlStore, caplog: pytest.LogCaptureFixture
) -> None:
    write_old(project / "in.txt", "x")
    with threadline.run("main") as run:
        threadline.log_param("a", 1)
        threadline.log_params({"b": 2})
        threadline.log_metric("m", 1.5)
        threadline.log_metrics({"n": 2.5}, step=4)
        threadline.tag("k", "v")
        threadline.input("in.txt")
        threadline.output("in.txt")
    with caplog.at_level(logging.WARNING, logger="threadline.tracking"):
        threadline.log_metric("lost", 1)  # outside any run: a warning, not an error
        run.log_metric("late", 1)  # after the end: a warning too
    assert "outside a run is ignored" in caplog.text
    assert "has ended is ignored" in caplog.text
    assert threadline.flush(30)
    final = events_of(store, run.id)[-1]
    assert final["run"]["facets"]["threadline_params"]["params"] == {"a": 1, "b": 2}
    assert set(final["run"]["facets"]["threadline_metrics"]["metrics"]) == {"m", "n"}
    assert len(final["inputs"]) == len(final["outputs"]) == 1


def test_a_missing_input_is_a_clear_error(project: Path) -> None:
    with (
        threadline.run("reads"),
        pytest.raises(threadline.TrackingError, match=r"input data/nope.csv does not exist"),
    ):
        threadline.input("data/nope.csv")


def test_an_unreadable_input_is_a_clear_error(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = write_old(project / "secret.csv", "a\n1\n")
    secret.chmod(0)
    if os.access(secret, os.R_OK):  # root reads anything: make opening it fail as it would for a user
        from threadline.artifacts import hashing

        real_open = open

        def deny(path: object, *args: object, **kwargs: object) -> object:
            if os.fspath(path) == str(secret):  # type: ignore[arg-type]
                raise PermissionError(13, "Permission denied", str(secret))
            return real_open(path, *args, **kwargs)  # type: ignore[call-overload]

        monkeypatch.setattr(hashing, "open", deny, raising=False)
    with (
        threadline.run("reads"),
        pytest.raises(threadline.TrackingError, match=r"cannot read input secret\.csv: permission denied"),
    ):
        threadline.input("secret.csv")


def test_an_output_that_was_never_written_is_recorded_without_content(
    project: Path, store: SqlStore, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="threadline.tracking"), threadline.run("writes") as run:
        run.output("never.csv")
    assert "output never.csv does not exist" in caplog.text
    assert threadline.flush(30)
    final = events_of(store, run.id)[-1]
    assert final["eventType"] == "COMPLETE"
    assert final["outputs"][0]["name"] == str(project / "never.csv")
    assert "version" not in final["outputs"][0].get("facets", {})


def test_uris_are_named_by_the_openlineage_conventions(project: Path, store: SqlStore) -> None:
    with threadline.run("io") as run:
        run.input("s3://bucket/raw/2024/customers.parquet")
        run.input("hdfs://namenode:8020/warehouse/t")
        run.input("gs://lake/events/")
        run.output("postgres://db:5432/shop.public.orders")
    assert threadline.flush(30)
    final = events_of(store, run.id)[-1]
    names = {(d["namespace"], d["name"]) for d in final["inputs"] + final["outputs"]}
    assert names == {
        ("s3://bucket", "raw/2024/customers.parquet"),
        ("hdfs://namenode:8020", "/warehouse/t"),
        ("gs://lake", "events/"),
        ("postgres://db:5432", "shop.public.orders"),
    }


def test_an_unchanged_input_is_not_hashed_again(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from threadline.tracking import content

    calls: list[str] = []
    real = content.hash_file

    def counting(path: str) -> tuple[str, int]:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(content, "hash_file", counting)
    write_old(project / "big.csv", "a\n" * 1000)
    with threadline.run("one") as run:
        run.input("big.csv")
    assert len(calls) == 1
    threadline.flush(30)
    threadline.configure()  # a new tracker: the in-memory memo is gone, the hash cache on disk is not
    with threadline.run("two") as run:
        run.input("big.csv")
    assert len(calls) == 1
    write_old(project / "big.csv", "b\n" * 1000)
    with threadline.run("three") as run:
        run.input("big.csv")
    assert len(calls) == 2


def test_folders_are_hashed_like_the_artifact_store_does(project: Path, store: SqlStore) -> None:
    write_old(project / "images" / "a.png", "A")
    write_old(project / "images" / "sub" / "b.png", "B")
    with threadline.run("folder") as run:
        run.input("images")
    assert threadline.flush(30)
    with ArtifactStore.for_project(project / ".threadline") as artifacts:
        expected = str(artifacts.add(project / "images"))
    final = events_of(store, run.id)[-1]
    artifact = final["inputs"][0]["facets"]["threadline_artifact"]
    assert artifact["hash"] == expected
    assert expected.endswith(".dir")
    assert artifact["files"] == 2
    assert final["inputs"][0]["inputFacets"]["inputStatistics"]["fileCount"] == 2


def test_outputs_are_stored_when_asked(project: Path, store: SqlStore) -> None:
    (project / "model.pkl").write_bytes(b"model bytes")
    (project / "plot.png").write_bytes(b"png bytes")
    with threadline.run("train") as run:
        run.output("model.pkl", kind="model", store=True)
        run.output("plot.png")
    assert threadline.flush(30)
    odb = ArtifactStore.for_project(project / ".threadline").odb
    assert odb.has(ObjectId(hash_bytes(b"model bytes")))
    assert not odb.has(ObjectId(hash_bytes(b"png bytes")))
    final = events_of(store, run.id)[-1]
    stored = {
        d["name"].rsplit("/", 1)[-1]: d["facets"]["threadline_artifact"]["stored"] for d in final["outputs"]
    }
    assert stored == {"model.pkl": True, "plot.png": False}


def test_store_settings_store_every_output_and_input(project: Path) -> None:
    (project / ".threadline" / "config.toml").write_text(
        "[tracking]\nstore_outputs = true\nstore_inputs = true\n"
    )
    write_old(project / "in.csv", "in")
    (project / "out.csv").write_text("out")
    with threadline.run("keeps") as run:
        run.input("in.csv")
        run.output("out.csv")
    assert threadline.flush(30)  # the tracking thread writes the bytes read when the run ended
    odb = ArtifactStore.for_project(project / ".threadline").odb
    assert odb.has(ObjectId(hash_bytes(b"in")))
    assert odb.has(ObjectId(hash_bytes(b"out")))


def test_parquet_schema_and_rows(project: Path, store: SqlStore) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pa.table({"id": [1, 2, 3, 4], "name": ["a", "b", "c", "d"]})
    pq.write_table(table, project / "t.parquet")
    with threadline.run("reads") as run:
        run.input("t.parquet")
    assert threadline.flush(30)
    dataset = events_of(store, run.id)[-1]["inputs"][0]
    assert [(f["name"], f["type"]) for f in dataset["facets"]["schema"]["fields"]] == [
        ("id", "int64"),
        ("name", "string"),
    ]
    assert dataset["inputFacets"]["inputStatistics"]["rowCount"] == 4


def test_the_package_list_is_stored_once(project: Path, store: SqlStore) -> None:
    with threadline.run("a") as first:
        pass
    with threadline.run("b") as second:
        pass
    assert threadline.flush(30)
    objects = {
        events_of(store, r.id)[-1]["run"]["facets"]["threadline_environment"]["packages_object"]
        for r in (first, second)
    }
    (oid,) = objects
    data = ArtifactStore.for_project(project / ".threadline").odb.read(ObjectId.parse(oid))
    assert b"openlineage-python==" in data
    assert data.decode().splitlines() == sorted(data.decode().splitlines())


def test_disabled_tracking_is_a_no_op(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THREADLINE_DISABLED", "true")
    with threadline.run("quiet") as run:
        run.input("does/not/exist.csv")
        run.log_metric("x", 1)
        threadline.log_param("p", 1)
    assert len(run.id) == 36
    assert threadline.flush(1)
    assert not (tmp_path / "home" / ".threadline").exists()
    assert not (tmp_path / "work" / ".threadline").exists()


def test_a_broken_config_file_turns_tracking_off_with_a_warning(
    project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (project / ".threadline" / "config.toml").write_text("[tracking\nbroken")
    with caplog.at_level(logging.WARNING, logger="threadline.tracking"), threadline.run("still works") as run:
        run.log_metric("x", 1)
    assert "tracking is off" in caplog.text
    assert "not valid TOML" in caplog.text


def test_configure_refuses_unknown_options_and_bad_values(project: Path) -> None:
    with pytest.raises(threadline.ThreadlineError, match="unknown tracking setting"):
        threadline.configure(transprt="http")
    with pytest.raises(
        threadline.ThreadlineError, match="setting transport from the argument transport= must be one of"
    ):
        threadline.configure(transport="carrier-pigeon")
    with pytest.raises(threadline.ThreadlineError, match="needs a url"):
        threadline.configure(transport="http")


def test_settings_come_from_argument_then_config_file_then_environment(
    project: Path, store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THREADLINE_TRACKING_NAMESPACE", "from-env")
    with threadline.run("a") as a:
        pass
    threadline.flush(30)
    (project / ".threadline" / "config.toml").write_text('[tracking]\nnamespace = "from-file"\n')
    threadline.configure()
    with threadline.run("b") as b:
        pass
    threadline.flush(30)
    threadline.configure(namespace="from-argument")
    with threadline.run("c") as c:
        pass
    threadline.flush(30)
    namespaces = [events_of(store, r.id)[-1]["job"]["namespace"] for r in (a, b, c)]
    assert namespaces == ["from-env", "from-file", "from-argument"]


def test_outside_any_project_runs_go_to_the_global_folder(tmp_path: Path) -> None:
    with threadline.run("adhoc") as run:
        run.log_metric("x", 1)
    assert threadline.flush(30)
    home = tmp_path / "home" / ".threadline"
    assert (home / "threadline.db").exists()
    from threadline.store import open_store

    store = open_store(f"sqlite:///{home / 'threadline.db'}")
    try:
        final = events_of(store, run.id)[-1]
    finally:
        store.close()
    assert final["job"]["namespace"] == "default"
    assert not (tmp_path / "work" / ".threadline").exists()
