"""Canonical JSON and event ids; splitting documents and batches into events."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from threadline.errors import BadRequest
from threadline.openlineage.canonical import canonical_json, event_id, may_be_inexact
from threadline.openlineage.events import parse_event, split_batch, split_document

EVENT = {
    "eventType": "COMPLETE",
    "eventTime": "2024-05-01T12:00:00Z",
    "run": {"runId": "3f5e83fa-3480-44ff-99c5-ff943904e5e8", "facets": {}},
    "job": {"namespace": "ns", "name": "jöb ✓"},
    "inputs": [{"namespace": "db", "name": "a"}, {"namespace": "db", "name": "b"}],
    "outputs": [],
    "producer": "https://example.com/producer",
    "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
}


def _reversed_keys(value):
    if isinstance(value, dict):
        return {key: _reversed_keys(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [_reversed_keys(item) for item in value]
    return value


def test_canonical_json_sorts_keys_and_drops_whitespace() -> None:
    assert canonical_json({"b": 1, "a": {"d": [1, 2], "c": "x"}}) == b'{"a":{"c":"x","d":[1,2]},"b":1}'
    assert canonical_json({"k": "é✓"}) == '{"k":"é✓"}'.encode()


@pytest.mark.parametrize(
    "raw",
    [
        json.dumps(EVENT).encode(),
        json.dumps(EVENT, indent=4).encode(),
        json.dumps(EVENT, separators=(",", ":")).encode(),
        json.dumps(EVENT, ensure_ascii=False).encode(),
        json.dumps(_reversed_keys(EVENT)).encode(),
        json.dumps(_reversed_keys(EVENT), indent="\t").encode() + b"\r\n",
    ],
    ids=["plain", "indented", "compact", "unicode", "reversed-keys", "tabs-crlf"],
)
def test_key_order_and_whitespace_do_not_change_the_id(raw: bytes) -> None:
    reference = parse_event(json.dumps(EVENT).encode())
    parsed = parse_event(raw)
    assert parsed.id == reference.id
    assert parsed.raw == raw


def _changed(path, value):
    doc = json.loads(json.dumps(EVENT))
    container = doc
    for step in path[:-1]:
        container = container[step]
    container[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("eventType",), "START"),
        (("eventTime",), "2024-05-01T12:00:00.001Z"),
        (("job", "name"), "jöb ✗"),
        (("run", "facets"), {"x": {"_producer": "p", "_schemaURL": "s"}}),
        (("inputs", 1, "name"), "c"),
        (("inputs",), [{"namespace": "db", "name": "b"}, {"namespace": "db", "name": "a"}]),
        (("outputs",), None),
        (("producer",), "https://example.com/producer/"),
    ],
    ids=str,
)
def test_any_value_change_changes_the_id(path, value) -> None:
    reference = parse_event(json.dumps(EVENT).encode())
    assert parse_event(json.dumps(_changed(path, value)).encode()).id != reference.id


def test_the_id_is_the_hash_of_the_canonical_form() -> None:
    parsed = parse_event(json.dumps(EVENT, indent=2).encode())
    assert parsed.id == event_id(canonical_json(EVENT))
    assert len(parsed.id) == 64
    assert all(c in "0123456789abcdef" for c in parsed.id)


def test_number_spelling_is_canonical_for_integers() -> None:
    a = parse_event(json.dumps({**EVENT, "x": 1}).encode())
    b = parse_event(json.dumps({**EVENT, "x": 2}).encode())
    assert a.id != b.id


def _with_number(text: str) -> bytes:
    """EVENT with ``"x": <text>``, the number written exactly as ``text``."""
    return (json.dumps(EVENT)[:-1] + f', "x": {text}}}').encode()


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("1.00000000000000000000000000001e29", "1.00000000000000000000000000002e29"),
        ("1e29", "1.00000000000000000000000000001e29"),
        ("0.1", "0.1000000000000000055511151231257827"),
        ("0.1", "0.10000000000000001"),
        ("1e-400", "2e-400"),
        ("0.0", "1e-400"),
        ("123456789012345678.5", "123456789012345678.25"),
        ("9007199254740993.0", "9007199254740992.0"),
    ],
)
def test_numbers_beyond_a_double_keep_events_apart(a: str, b: str) -> None:
    first, second = parse_event(_with_number(a)), parse_event(_with_number(b))
    assert first.id != second.id
    assert first.raw == _with_number(a)
    # Each is its own event, however often it comes: the id depends on the value, not on chance.
    assert parse_event(_with_number(a)).id == first.id


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("1e5", "100000.0"),
        ("1E5", "1e+5"),
        ("0.5", "5e-1"),
        ("1.7976931348623157e308", "17976931348623157e292"),
    ],
)
def test_one_value_spelled_two_ways_is_one_event_when_a_double_holds_it(a: str, b: str) -> None:
    assert parse_event(_with_number(a)).id == parse_event(_with_number(b)).id


def test_ids_of_ordinary_events_are_those_of_earlier_versions(conformance) -> None:
    """A changed id is a store format change: re-sent events would be stored twice, and sites on
    two versions would not recognise each other's events. These ids were computed before numbers
    were kept exact."""
    ordinary = "[0.1, 1e5, 3.14, -2.5e-3, 100000.0, 1.7976931348623157e308, 5e-324, 0.30000000000000004, "
    ordinary += "12345678901234567890, -0.0]"
    assert parse_event(_with_number(ordinary)).id == (
        "1a38b76ca3c23128346166bd5f2e3af33d64123480894c99e69869829f3e2a71"
    )
    full = parse_event((conformance / "events" / "valid" / "fluentd-event_full.json").read_bytes())
    assert full.id == "d1369d664a108e3cd0d0b66e81d88d82e80d95195322d205a1c4638c8a5ba6a6"


_NUMBER = r"\A-?(0|[1-9][0-9]{0,25})(\.[0-9]{1,25})?([eE][+-]?[0-9]{1,3})?\Z"


@given(st.from_regex(_NUMBER), st.from_regex(_NUMBER))
@settings(max_examples=300)
def test_two_events_are_one_exactly_when_their_numbers_are_equal(a: str, b: str) -> None:
    exact_a, exact_b = Decimal(a), Decimal(b)
    assume(all(abs(x) < Decimal("1e308") for x in (exact_a, exact_b)))  # beyond: refused as JSON
    assume(exact_a != 0 or exact_b != 0)  # 0.0 and -0.0 are two doubles, and two events
    same = parse_event(_with_number(a)).id == parse_event(_with_number(b)).id
    if exact_a != exact_b:
        assert not same, (a, b)
    elif _is_integer(a) == _is_integer(b) and Decimal(repr(float(a))) == exact_a:
        assert same, (a, b)  # a value a double holds: one event however it is spelled


def _is_integer(text: str) -> bool:
    """An integer in JSON (no point, no exponent) stays an integer: 1 and 1.0 are two events."""
    return not any(c in text for c in ".eE")


# ---- split_document / split_batch --------------------------------------------------------------------


def _events(n: int) -> list[dict]:
    return [_changed(("job", "name"), f"job-{i}") for i in range(n)]


def test_split_document_single_object() -> None:
    body = json.dumps(EVENT, indent=2).encode()
    parts = list(split_document(b"\n  " + body + b"\n\n"))
    assert parts == [body]


def test_split_document_array() -> None:
    events = _events(3)
    body = b"[\n" + b",\n".join(json.dumps(e, indent=1).encode() for e in events) + b"\n]\n"
    parts = list(split_document(body))
    assert [json.loads(p) for p in parts] == events
    assert parts[1] == json.dumps(events[1], indent=1).encode()


def test_split_document_json_lines() -> None:
    events = _events(4)
    lines = [json.dumps(e).encode() for e in events]
    body = lines[0] + b"\n" + lines[1] + b"\r\n\n" + lines[2] + b"\n   \n" + lines[3]
    parts = list(split_document(body))
    assert parts == lines


def test_split_document_empty() -> None:
    assert list(split_document(b"")) == []
    assert list(split_document(b"  \n\n")) == []
    assert list(split_document(b"[]")) == []


def test_split_batch_keeps_the_exact_bytes_of_each_element() -> None:
    elements = [
        b'{ "b" : 1,\n  "a" : "\\u00e9" }',
        '{"x":"é✓",   "y":[1, 2 ,3]}'.encode(),
        b"{}",
        b'{"nested": {"deep": [ {"k": null} ]}}',
    ]
    body = b"[ " + b" ,\n\t".join(elements) + b"\n]"
    assert split_batch(body) == elements


@pytest.mark.parametrize("body", [b'{"a": 1}', b"[1, 2", b"not json", b'"text"'])
def test_split_batch_refuses_what_is_not_an_array(body: bytes) -> None:
    with pytest.raises(BadRequest):
        split_batch(body)


def test_split_batch_elements_parse_to_their_own_ids() -> None:
    events = _events(3)
    body = json.dumps(events, indent=3).encode()
    parts = split_batch(body)
    assert [parse_event(p).id for p in parts] == [parse_event(json.dumps(e).encode()).id for e in events]


@given(
    st.from_regex(_NUMBER),
    st.sampled_from([b"[", b'{"x":', b"[1,", b"[ -"]),
    st.sampled_from([b"]", b"}", b" ,2]"]),
)
@settings(max_examples=2000)
def test_the_quick_check_never_misses_a_number_a_double_cannot_hold(
    number: str, before: bytes, after: bytes
) -> None:
    if _is_integer(number) or abs(Decimal(number)) >= Decimal("1e308"):
        return
    if Decimal(repr(float(number))) != Decimal(number):
        assert may_be_inexact(before + number.encode() + after), number
