"""``threadline pipeline run|list|show`` as a user types them: the example end to end, and clear
one-line errors for a missing file, a typo'd table or environment, and a configuration mistake."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from threadline.cli.main import app


def threadline(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout, result.stderr


def error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, stderr
    return lines[0]


def test_run_list_and_show_the_example(example: Path) -> None:
    code, out, err = threadline("pipeline", "run", str(example / "shop.py"), "--env", "staging")
    assert code == 0, err
    assert "promote" in out
    assert "promoted; run" in err
    code, out, _ = threadline("pipeline", "list")
    assert code == 0
    assert "shop" in out
    assert "staging" in out
    code, out, _ = threadline("pipeline", "show", "shop")
    assert code == 0
    for stage in (
        "extract.orders",
        "load.orders",
        "validate.orders",
        "transform.revenue_by_country",
        "promote",
    ):
        assert stage in out
    assert "unique(order_id)" in out
    assert "passed" in out


def test_a_blocked_run_exits_1_naming_the_check_and_show_has_the_rows(example: Path) -> None:
    assert threadline("pipeline", "run", str(example / "shop.py"))[0] == 0
    with (example / "data/orders.csv").open("a") as handle:
        handle.write("1011,2,-1.00,shipped,2026-12-05T09:00:00\n")
    code, out, err = threadline("pipeline", "run", str(example / "shop.py"), "--format", "json")
    assert code == 1
    assert "between(amount)" in error_line(err)
    assert "production analytics is unchanged" in error_line(err)
    report = json.loads(out)
    assert report["promoted"] is False
    checks = {c["check"]: c for s in report["stages"] for c in s["checks"]}
    assert checks["between(amount)"]["sample"][0]["order_id"] == 1011
    code, out, _ = threadline("pipeline", "show", "shop", "-n", "1")
    assert code == 0
    assert "failed" in out
    assert "1011" in out


def test_missing_file(project: Path) -> None:
    code, _, err = threadline("pipeline", "run", "nope.py")
    assert code == 1
    assert (
        error_line(err)
        == "error: no pipeline file nope.py: give the path of a .py file that declares a Pipeline"
    )


def test_unknown_environment(example: Path) -> None:
    code, _, err = threadline("pipeline", "run", str(example / "shop.py"), "--env", "prod")
    assert code == 1
    assert "has no environment 'prod'; its environments: staging, production" in error_line(err)


def test_typo_in_a_table_name(example: Path) -> None:
    path = example / "shop.py"
    path.write_text(
        path.read_text().replace('pipeline.validate(\n    "orders"', 'pipeline.validate(\n    "oders"')
    )
    code, _, err = threadline("pipeline", "run", str(path))
    assert code == 1
    assert "validate names table 'oders', which it does not make; did you mean 'orders'?" in error_line(err)


def test_bad_config_key_is_one_line_naming_it(example: Path) -> None:
    path = example / "shop.py"
    path.write_text(path.read_text().replace('"staging": {"lake"', '"staging": {"lakes"'))
    code, _, err = threadline("pipeline", "run", str(path))
    assert code == 1
    assert "environments.staging: unknown key 'lakes'; known keys: lake, warehouse" in error_line(err)


def test_a_file_that_fails_says_where(project: Path) -> None:
    (project / "broken.py").write_text("from threadline.pipeline import Pipeline\n\nx = 1 / 0\n")
    code, _, err = threadline("pipeline", "run", "broken.py")
    assert code == 1
    assert (
        error_line(err) == "error: broken.py:3: the pipeline file failed: ZeroDivisionError: division by zero"
    )


def test_a_file_without_a_pipeline(project: Path) -> None:
    (project / "empty.py").write_text("x = 1\n")
    code, _, err = threadline("pipeline", "run", "empty.py")
    assert code == 1
    assert "declares no pipeline" in error_line(err)


def test_show_an_unknown_pipeline(example: Path) -> None:
    assert threadline("pipeline", "run", str(example / "shop.py"))[0] == 0
    code, _, err = threadline("pipeline", "show", "shoop")
    assert code == 1
    assert "no pipeline 'shoop'" in error_line(err)


def test_show_prints_null_failing_values_as_json_does(example: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # the whole sample on one line
    with (example / "data/orders.csv").open("a") as handle:
        handle.write(",2,5.00,shipped,2026-12-05T09:00:00\n")  # no order_id
    assert threadline("pipeline", "run", str(example / "shop.py"))[0] == 1
    code, out, _ = threadline("pipeline", "show", "shop", "-n", "1")
    assert code == 0
    line = next(line for line in out.splitlines() if "not_null(order_id)" in line and "sample" in line)
    assert '"order_id": null' in line
    assert "None" not in out


SLOW_STAGE = """

@pipeline.transform("slow_copy", inputs=["revenue_by_country"])
def slow_copy(revenue_by_country):
    import sys
    import time

    print("slow stage started", file=sys.stderr, flush=True)
    time.sleep(60)
    return revenue_by_country
"""


def test_ctrl_c_in_a_stage_says_so_aborts_the_run_and_leaves_production(example: Path) -> None:
    """Ctrl+C (SIGINT) while a stage runs: one line saying what happened, exit 130, the run recorded as
    aborted, production as the last promotion left it."""
    code, _, err = threadline("pipeline", "run", str(example / "shop.py"), "--env", "staging")
    assert code == 0, err
    warehouse = example / "build" / "staging" / "warehouse.duckdb"

    def production() -> dict[str, list[tuple[object, ...]]]:
        with duckdb.connect(str(warehouse), read_only=True) as connection:
            tables = ("customers", "orders", "revenue_by_country")
            read = "SELECT * FROM analytics.{} ORDER BY ALL"
            return {t: connection.execute(read.format(t)).fetchall() for t in tables}

    before = production()
    source = (example / "shop.py").read_text()
    source = source.replace(
        'pipeline.promote("customers", "orders", "revenue_by_country")',
        SLOW_STAGE + '\npipeline.promote("customers", "orders", "revenue_by_country", "slow_copy")',
    )
    (example / "shop.py").write_text(source)
    with (example / "data" / "orders.csv").open("a") as orders:  # new data the run would promote
        orders.write("1007,1,77.00,placed,2026-12-02T09:00:00\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "threadline", "pipeline", "run", str(example / "shop.py"), "--env", "staging"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # as a terminal starts it: a process started in the background without job control (a CI
        # runner's `make test &`, `nohup`) ignores SIGINT, its children inherit that, and Python then
        # leaves SIGINT ignored rather than raising KeyboardInterrupt (the stage slept on and the run
        # promoted, in two CI runs started so)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
    )
    assert process.stderr is not None
    seen = []
    for line in process.stderr:  # the stage has started: interrupt it
        seen.append(line)
        if "slow stage started" in line:
            process.send_signal(signal.SIGINT)
            break
    _, rest = process.communicate(timeout=120)
    said = "".join(seen) + rest
    assert process.returncode == 130, said
    assert "Traceback" not in said
    assert "pipeline shop (staging): interrupted; its run is recorded as aborted" in said
    assert production() == before
    code, listed, _ = threadline("pipeline", "list")
    assert code == 0
    assert "aborted" in listed
