"""Property: every event a server accepts can be read back, whatever its times, numbers and names.

Hypothesis draws events with times at and beyond the ends of the calendar, in any offset, without a
zone or as a date alone; numbers beyond a float's precision and range; and names with ``#``, ``:``,
``%``, whitespace, slashes, control characters and other scripts. Each is posted to one real server
(per backend, for the whole module). An event may be refused, with a 400 that names the field; an
accepted one must be found through every list endpoint, search, lineage, the UI's API and the
command line (see ``readback.py``), and its twin that differs only in one number's last digit must be
a different event, kept byte for byte.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from tests.conftest import drop_pg_schema
from tests.server.conftest import ServerProcess, _pg_schema_url, free_port
from tests.server.helpers import JSON, PRODUCER, SCHEMA_URL
from tests.server.readback import Sent, read_back, read_back_cli
from threadline.openlineage.naming import normalize_namespace
from threadline.openlineage.timestamps import MIN_MICROS, parse_time

pytestmark = pytest.mark.slow

#: Times at the ends of the calendar, in offsets that push them over, and vague ones.
ODD_TIMES = [
    "9999-12-31T23:59:59.999999Z",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59.999999+14:00",
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00-14:00",
    "1970-01-01T00:00:00Z",
    "1969-12-31T23:59:59.999999Z",
    "2024-05-01",
    "20240501",
    "2024-05-01T12:00:00",
    "2024-05-01T12:00:00.123456789Z",
    "2024-02-30T00:00:00Z",
    "2016-12-31T23:59:60Z",
    "+002024-05-01T00:00:00Z",
]
#: Names that have broken node ids, URLs, splitting or stripping somewhere.
ODD_NAMES = [
    "#",
    "a#b",
    "#1",
    "x#",
    "a:b",
    "a:5",
    "5:x",
    "ns:with:colons",
    "%23",
    "%3A",
    "%25",
    "100%",
    "a%20b",
    " ",
    "  ",
    " x",
    "x ",
    "\t",
    "\u3000",
    "a\nb",
    "a/b",
    "/abs/path",
    "../up",
    "a\\b",
    "dataset:x:y",
    "job:x#1",
    "run:y",
    "名前",
    "🙂",
    "<b>x</b>",
    "x?y=1&z=2",
    "a+b",
    "a" * 300,
]
ODD_NAMESPACES = [
    *ODD_NAMES,
    "postgres://db.example.com:5432",
    "postgres://db.example.com",
    "kafka://broker:9092",
    "s3://bucket",
    "file",
    "bigquery",
    "a:5",
    "ns#frag",
    "http://h:80/p#x",
]
#: Numbers beyond a float: digits past 17, exponents past 308, values that round to one float.
ODD_NUMBERS = [
    "1e29",
    "1.00000000000000000000000000001e29",
    "1.00000000000000000000000000002e29",
    "0.1",
    "0.1000000000000000055511151231257827",
    "0.10000000000000001",
    "-0.0",
    "1E-400",
    "2E-400",
    "1e308",
    "1e309",
    "123456789012345678901234567890",
    "-9223372036854775809",
    "18446744073709551616",
    "3.141592653589793238462643383279",
]

_text = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12)
names = st.one_of(st.sampled_from(ODD_NAMES), _text)
namespaces = st.one_of(st.sampled_from(ODD_NAMESPACES), _text)
_offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
_datetimes = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 999_999))
times = st.one_of(
    st.sampled_from(ODD_TIMES),
    st.builds(
        lambda value, zone, spec: value.replace(tzinfo=zone).isoformat(timespec=spec).replace("+00:00", "Z"),
        _datetimes,
        _offsets,
        st.sampled_from(["seconds", "milliseconds", "microseconds"]),
    ),
)
numbers = st.one_of(
    st.sampled_from(ODD_NUMBERS),
    st.from_regex(r"\A-?(0|[1-9][0-9]{0,30})(\.[0-9]{1,30})?([eE][+-]?[0-9]{1,3})?\Z"),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
)


def _event(time_text: str, namespace: str, job: str, datasets: list[tuple[str, str]], number: str) -> bytes:
    """A RunEvent as JSON text, with ``number`` written exactly as given in a run facet."""
    doc = {
        "eventType": "COMPLETE",
        "eventTime": time_text,
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
        "run": {
            "runId": str(uuid.uuid4()),
            "facets": {
                "numbers": {"_producer": PRODUCER, "_schemaURL": "https://example.com/Numbers.json", "n": 0}
            },
        },
        "job": {"namespace": namespace, "name": job},
        "inputs": [{"namespace": ns, "name": name} for ns, name in datasets[:1]],
        "outputs": [{"namespace": ns, "name": name} for ns, name in datasets[1:]],
    }
    text = json.dumps(doc, ensure_ascii=False)
    return text.replace('"n": 0', f'"n": {number}').encode()


def _other_number(number: str) -> str:
    """``number`` with its last mantissa digit one lower (a 0 becomes 1): always another value, and
    seldom one beyond a double's range."""
    mantissa, e, exponent = number.lower().partition("e")
    last = int(mantissa[-1])
    changed = mantissa[:-1] + str(last - 1 if last else 1)
    return changed + (e + exponent if e else "")


def _representable(time_text: str) -> bool | None:
    """Whether the time is a date-time a reader can print in UTC; ``None`` when it is not one at all."""
    try:
        value = datetime.fromisoformat(time_text)
    except ValueError:
        return None
    try:
        value.astimezone(UTC) if value.tzinfo else value
    except OverflowError:
        return False
    utc = value.astimezone(UTC) if value.tzinfo else value
    return 1 <= utc.year <= 9999


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def hostile_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A server on a fresh store of each backend, shared by every example of the module."""
    folder = tmp_path_factory.mktemp("hostile")
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'threadline.db'}"
    else:
        pg_server = request.getfixturevalue("pg_server")
        schema, url = _pg_schema_url(pg_server)
    server = ServerProcess(url, free_port(), folder / "server.log", {"auth": "none"}).start()
    yield server
    server.stop()
    assert "Traceback" not in server.log(), server.log()
    if schema is not None:
        drop_pg_schema(request.getfixturevalue("pg_server"), schema)


#: The newest event time posted for each job (canonical namespace, name), across the examples.
_NEWEST: dict[tuple[str, str], int] = {}


def _settled(client: httpx.Client) -> None:
    deadline = time.monotonic() + 30
    while client.get("/api/v1/health").json()["projectionLag"] and time.monotonic() < deadline:
        time.sleep(0.02)


def _refused_well(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"]
    assert "\n" not in body["error"]
    assert "Traceback" not in response.text


@settings(
    max_examples=40,
    deadline=None,
    # Each example costs a post and some 40 reads: a failing one is reported as found, not shrunk.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# The reproductions of the issue, always run first.
@example("9999-12-31T23:59:59.999999Z", "a:b", "#", [("ns#x", "a#b")], "1.00000000000000000000000000001e29")
@example("9999-12-31T23:59:59-14:00", "ns", "poison", [], "0")
@example("0001-01-01T00:00:00+14:00", "ns", "poison", [], "0")
@example("0001-01-01T00:00:00Z", " ", " ", [(" ", "  ")], "0.1000000000000000055511151231257827")
@example("2024-05-01", "kafka://b:9092", "123topic", [("kafka://b:9092", "123topic")], "1e-400")
@given(
    time_text=times,
    namespace=namespaces,
    job=names,
    datasets=st.lists(st.tuples(namespaces, names), min_size=0, max_size=2),
    number=numbers,
)
def test_every_accepted_event_reads_back(
    hostile_server: ServerProcess,
    time_text: str,
    namespace: str,
    job: str,
    datasets: list[tuple[str, str]],
    number: str,
) -> None:
    body = _event(time_text, namespace, job, datasets, number)
    with hostile_server.client() as client:
        response = client.post("/api/v1/lineage", content=body, headers=JSON)
        representable = _representable(time_text)
        if response.status_code != 201:
            _refused_well(response)
            field = response.json().get("field")
            if field == "eventTime":
                assert representable is not True, f"{time_text} is a printable time, refused: {response.text}"
                return
            # Otherwise only a number beyond a double's range, or a NUL no store can hold, may be refused.
            assert field == "$", response.text
            assert any(w in response.json()["error"] for w in ("out of range", "NUL")), response.text
            return
        assert representable is not False, f"{time_text} cannot be printed in UTC, yet it was accepted"
        answer = response.json()
        assert answer["status"] == "created", answer
        twin = body.replace(f'"n": {number}'.encode(), f'"n": {_other_number(number)}'.encode())
        twin_answer = client.post("/api/v1/lineage", content=twin, headers=JSON)
        twin_kept = twin_answer.status_code == 201
        if not twin_kept:  # the other number is beyond a double's range
            _refused_well(twin_answer)
            assert "out of range" in twin_answer.json()["error"], twin_answer.text
        else:
            assert twin_answer.json()["status"] == "created", f"{number}, {_other_number(number)}: one id"
            assert twin_answer.json()["id"] != answer["id"]
        _settled(client)
        doc = json.loads(body)
        key = (normalize_namespace(namespace), job)
        newest = parse_time(time_text) > _NEWEST.get(key, MIN_MICROS - 1)
        _NEWEST[key] = max(parse_time(time_text), _NEWEST.get(key, MIN_MICROS - 1))
        sent = Sent(
            event_id=answer["id"],
            raw=body,
            event_time=parse_time(time_text),
            namespace=namespace,
            job=job,
            run_id=doc["run"]["runId"],
            datasets=datasets,
            newest=newest,
        )
        problems = read_back(client, sent)
        if twin_kept:
            assert client.get(f"/api/v1/events/{twin_answer.json()['id']}/raw").content == twin
    problems += read_back_cli(hostile_server.store_url, sent)
    assert not problems, "\n".join(problems)


def test_times_a_reader_cannot_print_never_fail_a_read(tmp_path: Path) -> None:
    """A store written before the range check may hold any time: every read prints it (clamped)."""
    from threadline.openlineage.events import parse_event
    from threadline.openlineage.timestamps import MAX_MICROS
    from threadline.projection import project_all
    from threadline.store import open_store

    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = open_store(url)
    events = []
    for n, when in enumerate((MAX_MICROS + 10**15, MIN_MICROS - 10**15)):
        event = parse_event(_event("2024-05-01T00:00:00Z", "old", f"poisoned-{n}", [("old", f"d{n}")], "1"))
        event.event_time = when  # as an older version stored it
        events.append(event)
    store.append(events)
    project_all(store)
    store.close()
    server = ServerProcess(url, free_port(), tmp_path / "server.log", {"auth": "none"}).start()
    try:
        with server.client() as client:
            for event in events:
                doc = json.loads(event.raw)
                sent = Sent(
                    event.id, event.raw, event.event_time, "old", doc["job"]["name"], doc["run"]["runId"]
                )
                sent.datasets = [("old", doc["inputs"][0]["name"])]
                # (the time filters of /events/lineage and asOf cannot name a time beyond the range)
                unsaid = ("event time", "/events/lineage", "asOf", "as of")
                problems = [p for p in read_back(client, sent) if not any(w in p for w in unsaid)]
                assert not problems, "\n".join(problems)
                assert client.get(f"/api/v1/events/{event.id}").json()["eventTime"] in (
                    "9999-12-31T23:59:59.999999Z",
                    "0001-01-01T00:00:00.000000Z",
                )
                assert not read_back_cli(url, sent)
    finally:
        server.stop()
    assert "Traceback" not in server.log()


def test_the_store_reindexes_and_restarts_with_every_accepted_event(
    hostile_server: ServerProcess, tmp_path: Path
) -> None:
    """After the examples (run before this test, in file order): a reindex and a restart read back too."""
    from typer.testing import CliRunner

    from threadline.cli.main import app

    hostile_server.stop()
    result = CliRunner().invoke(app, ["reindex", "--store", hostile_server.store_url])
    assert result.exit_code == 0, result.output
    hostile_server.start()
    with hostile_server.client() as client:
        for path in ("/api/v1/namespaces", "/api/v1/jobs", "/api/v1/ui/overview", "/api/v1/ui/runs"):
            response = client.get(path, params={"limit": 1000})
            assert response.status_code == 200, response.text
