"""``threadline init``, ``runs``, ``diff``, ``snapshot``, ``restore``, ``journal`` and the default of
``artifacts gc``: results on stdout, one ``error:`` line for each expected failure, nothing half-written."""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import threadline
from tests.cli.conftest import Run, error_lines
from tests.tracking.conftest import write_old
from threadline.artifacts import ArtifactStore, ObjectId
from threadline.artifacts.hashing import hash_bytes
from threadline.cli import common
from threadline.tracking import tracker


def oid_of(data: bytes) -> str:
    """The object id of some bytes."""
    return f"blake3:{hash_bytes(data)}"


@pytest.fixture(autouse=True)
def _private_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    tracker.reset()
    yield
    tracker.reset()


def pipeline_run(raw: Path, *, alpha: float, epochs: int = 2) -> str:
    """A pipeline run whose step reads ``raw`` and logs a metric that depends on it."""

    @threadline.step
    def train(path: str, alpha: float) -> None:
        data = Path(threadline.input(path)).read_text()
        for epoch in range(epochs):
            threadline.log_metric("loss", alpha / (epoch + 1))
        threadline.log_metric("rows", data.count("\n"))
        Path("model.bin").write_text(f"{alpha}:{data}")
        threadline.output("model.bin", kind="model", store=True)

    with threadline.run("churn", params={"alpha": alpha}) as pipeline:
        train(str(raw), alpha)
    assert threadline.flush(30)
    return pipeline.id


def test_init_creates_the_project(run: Run) -> None:
    result = run("init")
    assert result.exit_code == 0
    folder = Path(".threadline").resolve()
    assert result.stdout.strip() == f"Initialised a threadline project in {folder}"
    config = (folder / "config.toml").read_text()
    assert "# [tracking]" in config
    assert "# store_outputs = false" in config
    assert "# port = 5000" in config
    assert (folder / "threadline.db").is_file()
    assert (folder / "objects").is_dir()
    assert run("db", "status").exit_code == 0


def test_init_refuses_an_existing_project_here_or_above(run: Run) -> None:
    assert run("init").exit_code == 0
    again = run("init")
    assert again.exit_code == 1
    here = Path.cwd().resolve()
    assert error_lines(again) == [
        f"error: {here} is a threadline project already ({here / '.threadline'}); nothing was changed"
    ]
    Path("sub/deeper").mkdir(parents=True)
    os.chdir("sub/deeper")
    below = run("init")
    assert below.exit_code == 1
    assert f"is inside the threadline project at {here}" in error_lines(below)[0]
    assert not Path(".threadline").exists()


def test_init_below_the_global_folder_is_allowed(run: Run, tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".threadline").mkdir()
    project = home / "projects" / "churn"
    project.mkdir(parents=True)
    os.chdir(project)
    result = run("init")
    assert result.exit_code == 0
    assert "takes over from the global folder" in result.stderr
    assert (project / ".threadline" / "threadline.db").exists()


def test_runs_lists_newest_first_with_metrics(run: Run) -> None:
    run("init")
    raw = write_old(Path("raw.csv"), "a\n1\n2\n")
    first = pipeline_run(raw, alpha=0.5)
    second = pipeline_run(raw, alpha=0.25)
    with threadline.run("other"):
        pass
    threadline.flush(30)
    result = run("runs", "--pipeline", "churn")
    assert result.exit_code == 0
    assert second[:8] in result.stdout
    assert first[:8] in result.stdout
    assert "churn.train" in result.stdout
    assert "other" not in result.stdout
    assert "loss=0.125" in result.stdout
    assert "completed" in result.stdout  # the state as people read it, as the web UI writes it
    listed = json.loads(run("runs", "--format", "json", "--limit", "3").stdout)
    assert [r["job"]["name"] for r in listed] == ["other", "churn.train", "churn"]
    assert listed[2]["id"] == second
    assert listed[2]["shortId"] == second[:8]
    assert listed[2]["params"] == {"alpha": 0.25}
    assert listed[1]["parentRunId"] == second
    assert listed[2]["state"] == "COMPLETED"  # Marquez's word, as the HTTP API says it
    for key in ("createdAt", "startedAt", "endedAt"):  # ISO 8601, as every JSON answer
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", listed[2][key]), listed[2][key]
    assert isinstance(listed[2]["durationMs"], int)
    unknown = run("runs", "--pipeline", "nothing-like-it")
    assert unknown.exit_code == 1
    assert error_lines(unknown) == [
        "error: no pipeline 'nothing-like-it': no job has that name; `threadline jobs` lists the jobs"
    ]


def test_diff_shows_inputs_params_metrics_and_packages(run: Run) -> None:
    run("init")
    raw = write_old(Path("raw.csv"), "a\n1\n2\n")
    first = pipeline_run(raw, alpha=0.5)
    write_old(raw, "a\n1\n2\n3\n")
    second = pipeline_run(raw, alpha=0.25)
    result = run("diff", first[:6], second[:6], "--format", "json")
    assert result.exit_code == 0
    diff = json.loads(result.stdout)
    assert diff["a"]["id"] == first
    assert diff["b"]["id"] == second
    assert diff["a"]["shortId"] == first[:8]
    (changed_input,) = diff["inputs"]
    assert changed_input["key"] == str(raw.resolve())
    assert changed_input["dataset"] == {"namespace": "file", "name": str(raw.resolve())}
    assert changed_input["a"] == oid_of(b"a\n1\n2\n")
    assert changed_input["b"] == oid_of(b"a\n1\n2\n3\n")
    assert changed_input["change"] == "changed"
    (model,) = diff["outputs"]  # the model is written from the data: another content
    assert model["key"].endswith("model.bin")
    assert model["change"] == "changed"
    params = {p["key"]: (p["a"], p["b"]) for p in diff["params"]}
    assert params == {"alpha": (0.5, 0.25), "train.alpha": (0.5, 0.25)}
    metrics = {m["key"]: (m["a"], m["b"], m["delta"]) for m in diff["metrics"]}
    assert metrics == {"train.loss": (0.25, 0.125, -0.125), "train.rows": (3.0, 4.0, 1.0)}
    assert diff["environment"] == []  # the same process: the same packages
    table = run("diff", first, second)
    assert table.exit_code == 0
    assert "train.alpha" in table.stdout
    assert "changed" in table.stdout
    assert " raw.csv " in table.stdout  # relative to the project
    every = json.loads(run("diff", first, second, "--format", "json", "--all").stdout)
    assert any(e["key"].startswith("package openlineage-python") for e in every["environment"])
    assert every["counts"]["same"] > 0


def _producer_run(run_id: str, second: int, inputs: list[dict], outputs: list[dict]) -> list[dict]:
    """A START and a COMPLETE of job ``load`` (as a producer sends them: no content hashes)."""
    base = {
        "producer": "https://github.com/OpenLineage/OpenLineage/tree/1.24.2/integration/dbt",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": run_id},
        "job": {"namespace": "acme", "name": "load"},
        "inputs": inputs,
        "outputs": outputs,
    }
    return [
        {**base, "eventType": "START", "eventTime": f"2026-11-01T10:00:{second:02d}Z"},
        {**base, "eventType": "COMPLETE", "eventTime": f"2026-11-01T10:00:{second + 1:02d}Z"},
    ]


def test_diff_tells_apart_datasets_without_content_hashes(run: Run) -> None:
    """Two runs of a producer read different tables: removed and added, never "the same"; outputs
    are compared too, by the dataset version each run made."""
    run("init")
    warehouse = "postgres://db:5432"
    a, b = "11111111-0000-4000-8000-000000000001", "22222222-0000-4000-8000-000000000002"
    events = [
        *_producer_run(
            a,
            0,
            [{"namespace": warehouse, "name": "public.orders"}],
            [{"namespace": warehouse, "name": "mart.sales"}],
        ),
        *_producer_run(
            b,
            10,
            [
                {"namespace": warehouse, "name": "public.orders"},
                {"namespace": warehouse, "name": "public.refunds"},
            ],
            [{"namespace": warehouse, "name": "mart.sales"}],
        ),
        *_producer_run(
            "33333333-0000-4000-8000-000000000003",
            20,
            [{"namespace": warehouse, "name": "public.customers"}],
            [],
        ),
    ]
    Path("events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    assert run("ingest", "events.jsonl").exit_code == 0
    diff = json.loads(run("diff", a, "3333", "--format", "json").stdout)
    inputs = {(i["key"], i["change"]) for i in diff["inputs"]}
    assert inputs == {
        (f"{warehouse}/public.orders", "removed"),
        (f"{warehouse}/public.customers", "added"),
    }
    removed = next(i for i in diff["inputs"] if i["change"] == "removed")
    assert removed["b"] is None
    assert removed["dataset"] == {"namespace": warehouse, "name": "public.orders"}
    both = json.loads(run("diff", a, b, "--format", "json", "--all").stdout)
    changes = {
        (i["section"], i["key"]): (i["a"], i["b"], i["change"]) for i in both["inputs"] + both["outputs"]
    }
    assert changes[("inputs", f"{warehouse}/public.orders")][2] == "unknown"  # no version, either run
    assert changes[("inputs", f"{warehouse}/public.refunds")] == (None, None, "added")
    # each run that writes a dataset makes a version of it: two runs, two versions
    assert changes[("outputs", f"{warehouse}/mart.sales")] == (a, b, "changed")


def test_diff_of_unknown_or_ambiguous_runs_is_one_line(run: Run) -> None:
    run("init")
    result = run("diff", "0000", "ffff")
    assert result.exit_code == 1
    assert error_lines(result) == ["error: no run with an id starting '0000'; `threadline runs` lists them"]
    assert error_lines(run("diff", "ab", "cd"))[0].startswith("error: run id 'ab' is too short")


def test_snapshot_then_restore_brings_back_the_exact_bytes(run: Run) -> None:
    run("init")
    raw = write_old(Path("data/raw.csv"), "a\n1\n2\n")
    original = raw.read_bytes()
    first = pipeline_run(raw, alpha=0.5)
    snap = run("snapshot", first[:8])
    assert snap.exit_code == 0, snap.output
    oid = f"blake3:{hash_bytes(original)}"
    assert snap.stdout.split() == ["added", oid, str(raw.resolve())]
    assert "1 input kept" in snap.stderr
    assert run("snapshot", first).stdout.split()[0] == "stored"  # "stored already"

    write_old(raw, "a\n9\n")
    refused = run("restore", first)
    assert refused.exit_code == 1
    assert error_lines(refused) == [
        f"error: {raw.resolve()} exists; give --force to replace it, or --to DIR to restore elsewhere"
    ]
    assert raw.read_text() == "a\n9\n"

    to = run("restore", first, "--to", "restored")
    assert to.exit_code == 0, to.output
    assert Path("restored/data/raw.csv").read_bytes() == original
    assert to.stdout.split() == [oid, str(Path("restored/data/raw.csv").resolve())]

    forced = run("restore", first, "--force")
    assert forced.exit_code == 0
    assert raw.read_bytes() == original


def test_snapshot_refuses_an_input_that_changed_and_stores_nothing(run: Run) -> None:
    run("init")
    raw = write_old(Path("raw.csv"), "a\n1\n")
    first = pipeline_run(raw, alpha=0.5)
    write_old(raw, "a\n2\n")
    result = run("snapshot", first)
    assert result.exit_code == 1
    (line,) = error_lines(result)
    assert line.startswith(f"error: cannot snapshot run {first[:8]}: input {raw.resolve()} changed since run")
    assert line.endswith("nothing was stored")
    assert not ArtifactStore.for_project(".threadline").odb.has(ObjectId(hash_bytes(b"a\n1\n")))
    raw.unlink()
    gone = run("snapshot", first)
    assert "does not exist" in error_lines(gone)[0]


def test_restore_without_a_stored_object_says_what_to_do(run: Run) -> None:
    run("init")
    raw = write_old(Path("raw.csv"), "a\n1\n")
    first = pipeline_run(raw, alpha=0.5)
    result = run("restore", first, "--to", "out")
    assert result.exit_code == 1
    (line,) = error_lines(result)
    assert "is not in the object store" in line
    assert "threadline snapshot RUN" in line
    assert not Path("out").exists()


def test_restore_refuses_a_corrupt_object_and_writes_nothing(run: Run) -> None:
    run("init")
    raw = write_old(Path("raw.csv"), "a\n1\n")
    first = pipeline_run(raw, alpha=0.5)
    assert run("snapshot", first).exit_code == 0
    path = ArtifactStore.for_project(".threadline").odb.path_of(ObjectId(hash_bytes(b"a\n1\n")))
    path.chmod(0o644)
    path.write_bytes(b"rotten")
    result = run("restore", first, "--to", "out")
    assert result.exit_code == 1
    (line,) = error_lines(result)
    assert "is corrupt" in line
    assert "nothing was restored" in line
    assert not Path("out").exists()
    check = run("artifacts", "check")
    assert check.exit_code == 1
    assert "1 corrupt object" in error_lines(check)[0]


def test_restore_pulls_from_a_remote_or_says_it_cannot(run: Run, tmp_path: Path) -> None:
    run("init")
    raw = write_old(Path("raw.csv"), "a\n1\n")
    first = pipeline_run(raw, alpha=0.5)
    assert run("snapshot", first).exit_code == 0
    remote = tmp_path / "remote"
    remote.mkdir()
    assert run("artifacts", "push", str(remote)).exit_code == 0
    oid = ObjectId(hash_bytes(b"a\n1\n"))
    store = ArtifactStore.for_project(".threadline")
    store.odb.remove(oid)

    unreachable = run("restore", first, "--to", "out", "--remote", str(tmp_path / "no-such-remote"))
    assert unreachable.exit_code == 1
    assert "remote folder" in error_lines(unreachable)[0]
    assert "does not exist" in error_lines(unreachable)[0]
    assert not Path("out").exists()

    Path(".threadline/config.toml").write_text(f'[remotes.backup]\nurl = "{remote}"\n')
    pulled = run("restore", first, "--to", "out", "--remote", "backup")
    assert pulled.exit_code == 0, pulled.output
    assert Path("out/raw.csv").read_text() == "a\n1\n"


def test_gc_keeps_what_runs_refer_to(run: Run) -> None:
    run("init")
    raw = write_old(Path("raw.csv"), "a\n1\n")
    first = pipeline_run(raw, alpha=0.5)
    assert run("snapshot", first).exit_code == 0
    stray = Path("stray.bin")
    stray.write_bytes(b"nobody needs me")
    assert run("artifacts", "add", "stray.bin").exit_code == 0
    dry = run("artifacts", "gc", "--dry-run")
    assert dry.exit_code == 0
    assert dry.stdout.split() == [oid_of(b"nobody needs me")]
    assert "referenced by runs kept" in dry.stderr
    kept = run("artifacts", "gc", "--keep", oid_of(b"nobody needs me"))
    assert "removed 0 objects" in kept.stderr
    assert run("artifacts", "gc").exit_code == 0
    odb = ArtifactStore.for_project(".threadline").odb
    assert not odb.has(ObjectId(hash_bytes(b"nobody needs me")))
    assert odb.has(ObjectId(hash_bytes(b"a\n1\n")))  # the snapshot
    assert odb.has(ObjectId(hash_bytes(b"0.5:a\n1\n")))  # the model, stored as the run ended


def test_journal_status_and_flush_without_a_server(run: Run) -> None:
    from tests.server.conftest import free_port

    run("init")
    url = f"http://127.0.0.1:{free_port()}"
    threadline.configure(url=url)
    with threadline.run("offline"):
        pass
    threadline.flush(30)
    status = run("journal", "status")
    assert status.exit_code == 0
    assert status.stdout.startswith("2 events waiting in 1 segment")
    flushed = run("journal", "flush", "--url", url)
    assert flushed.exit_code == 1
    assert "is unreachable" in error_lines(flushed)[0]
    assert "stay in the journal" in error_lines(flushed)[0]
    assert run("journal", "status").stdout.startswith("2 events waiting")


def test_journal_flush_into_the_store(run: Run) -> None:
    from threadline.tracking.journal import Journal

    run("init")
    with threadline.run("kept") as kept:
        pass
    threadline.flush(30)
    from threadline.store import open_store

    store = open_store("sqlite:///.threadline/threadline.db")
    try:
        raw = [e.raw for batch in store.iter_events() for e in batch]
    finally:
        store.close()
    Path(".threadline/threadline.db").unlink()
    Journal(".threadline/journal").write(raw)
    flushed = run("journal", "flush")
    assert flushed.exit_code == 0, flushed.output
    assert flushed.stdout.startswith("sent 2 events of 2 to sqlite:///")
    assert kept.id[:8] in run("runs").stdout


def test_a_named_pipeline_is_a_job_with_its_steps_under_it(run: Run) -> None:
    """`pipeline="etl"` makes runs of the job `etl` with the steps as children, so that every
    `--pipeline etl` (runs, pull, the API) finds them."""
    run("init")
    with threadline.run("extract", pipeline="etl", params={"source": "crm"}):
        threadline.log_metric("rows", 10)

    @threadline.step(pipeline="etl")
    def load(rows: int) -> None:
        threadline.log_metric("rows", rows)

    load(10)
    with threadline.run("other") as other:  # not a step of etl: the pipeline run is nobody's current run
        pass
    tracker.reset()  # the pipeline run ends with the tracker, as it does when a script ends
    listed = json.loads(run("runs", "--pipeline", "etl", "--format", "json").stdout)
    assert sorted(r["job"]["name"] for r in listed) == ["etl", "etl.extract", "etl.load"]
    (pipeline,) = [r for r in listed if r["job"]["name"] == "etl"]
    steps = [r for r in listed if r is not pipeline]
    assert all(step["parentRunId"] == pipeline["id"] for step in steps)
    assert pipeline["state"] == "COMPLETED"
    assert pipeline["startedAt"] == min(step["startedAt"] for step in steps)
    assert pipeline["endedAt"] == max(step["endedAt"] for step in steps)
    assert other.id not in {r["id"] for r in listed}
    job = json.loads(run("show", "job:work:etl.load", "--format", "json").stdout)
    assert job["parentJobName"] == "etl"


def test_a_pipeline_run_fails_when_a_step_fails(run: Run) -> None:
    run("init")
    with threadline.run("extract", pipeline="etl"):
        pass
    with pytest.raises(ValueError, match="bad row"), threadline.run("transform", pipeline="etl"):
        raise ValueError("bad row 7")
    tracker.reset()
    listed = json.loads(run("runs", "--pipeline", "etl", "--format", "json").stdout)
    states = {r["job"]["name"]: r["state"] for r in listed}
    assert states == {"etl": "FAILED", "etl.extract": "COMPLETED", "etl.transform": "FAILED"}
    (pipeline,) = [r for r in listed if r["job"]["name"] == "etl"]
    shown = run("show", pipeline["shortId"])
    assert "step transform ended FAIL: ValueError: bad row 7" in shown.stdout


def test_show_run_lists_parameters_metrics_and_child_runs(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common.out, "_width", 200)
    run("init")
    raw = write_old(Path("raw.csv"), "a\n1\n2\n")
    first = pipeline_run(raw, alpha=0.5)
    shown = run("show", first[:8])
    assert shown.exit_code == 0, shown.output
    assert "child runs (1)" in shown.stdout
    assert "churn.train" in shown.stdout
    step = json.loads(run("runs", "--format", "json").stdout)[0]
    assert step["parentRunId"] == first
    detail = run("show", step["shortId"]).stdout
    assert f"parent run:      {first[:8]}" in detail
    assert re.search(r"parameters \(2\)\s", detail)
    assert re.search(r"│ path\s+│ \S*raw.csv\s+│", detail)  # whole, not inside cut facet JSON
    assert re.search(r"│ loss\s+│ 0.25\s+│ 2\s+│", detail)  # last value and number of points
    assert re.search(r"│ rows\s+│ 3\s+│ 1\s+│", detail)
    assert "threadline_params" not in detail
    assert "threadline_metrics" not in detail


def _hostile_run(run: Run, name: str, oid: str) -> str:
    """Ingest a run whose one input is the local file ``name`` at content ``oid``; its id."""
    run_id = str(uuid.uuid4())
    version = {
        "_producer": "https://example.com/p",
        "_schemaURL": "https://example.com/s",
        "datasetVersion": oid,
    }
    event = {
        "eventType": "COMPLETE",
        "eventTime": "2024-05-01T12:00:00Z",
        "producer": "https://example.com/hostile",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": run_id},
        "job": {"namespace": "hostile", "name": f"job-{run_id[:8]}"},
        "inputs": [{"namespace": "file", "name": name, "facets": {"version": version}}],
    }
    events = Path(f"event-{run_id}.json")
    events.write_text(json.dumps(event))
    assert run("ingest", str(events)).exit_code == 0
    return run_id


def _nothing_outside(outside: Path, tmp_path: Path) -> None:
    assert list(outside.rglob("*")) == []
    assert not (tmp_path / "escape").exists()
    assert not (tmp_path.parent / "x").exists()
    assert not (tmp_path / "x").exists()


def test_restore_never_writes_outside_its_destination(run: Run, tmp_path: Path) -> None:
    """Dataset names come from events that anyone with a write key (or a remote) may have sent."""
    run("init")
    project = Path.cwd()
    outside = tmp_path / "outside"
    outside.mkdir()
    payload = write_old(tmp_path / "payload", "pwned\n")
    oid = str(ArtifactStore.for_project(".threadline").add(payload))
    up = "/.." * (len(project.parts) + 2)
    Path("out").mkdir()
    (Path("out") / "link").symlink_to(outside, target_is_directory=True)
    (project / "link").symlink_to(outside, target_is_directory=True)
    # name -> what restoring it under --to out does: the target under out/, or the refusal's words
    cases = {
        f"{up}{outside}/x": ("out" + str(outside / "x"), "outside the project"),
        "../../x": ("not an absolute path", "not an absolute path"),
        "x": ("not an absolute path", "not an absolute path"),
        f"{project}/../escape/x": ("out" + str(tmp_path / "escape" / "x"), "outside the project"),
        f"{project}/link/x": ("a link in it leads out", "outside the project"),
        f"{project}": ("would replace", "would replace"),
    }
    for name, (under_to, in_place) in cases.items():
        run_id = _hostile_run(run, name, oid)
        for force in ([], ["--force"]):
            placed = run("restore", run_id, *force)
            assert placed.exit_code == 1, (name, placed.output)
            (line,) = error_lines(placed)
            assert in_place in line, (name, line)
            assert "nothing was restored" in line or "cannot be restored" in line, line
            _nothing_outside(outside, tmp_path)
            elsewhere = run("restore", run_id, "--to", "out", *force)
            if under_to.startswith("out/"):
                assert elsewhere.exit_code == 0, (name, elsewhere.output)
                assert Path(under_to).read_text() == "pwned\n"
            else:
                assert elsewhere.exit_code == 1, (name, elsewhere.output)
                assert under_to in error_lines(elsewhere)[0], (name, elsewhere.output)
            _nothing_outside(outside, tmp_path)


def test_restore_in_place_outside_the_project_needs_root(run: Run, tmp_path: Path) -> None:
    run("init")
    outside = tmp_path / "data"
    outside.mkdir()
    raw = write_old(outside / "raw.csv", "a\n1\n")
    first = pipeline_run(raw, alpha=0.5)
    assert run("snapshot", first).exit_code == 0
    raw.unlink()
    refused = run("restore", first)
    assert refused.exit_code == 1
    assert "--root ABSOLUTE_DIR" in error_lines(refused)[0]
    assert "--root must be an absolute path" in error_lines(run("restore", first, "--root", "data"))[0]
    narrow = run("restore", first, "--root", str(tmp_path / "elsewhere"))
    assert "(--root)" in error_lines(narrow)[0]
    assert not raw.exists()
    allowed = run("restore", first, "--root", str(outside))
    assert allowed.exit_code == 0, allowed.output
    assert raw.read_text() == "a\n1\n"
