"""Search answers exactly what a brute-force filter in Python answers (full recall, no false hits),
for every operator and type, on a generated catalog, on both backends."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import StoreFactory
from threadline.catalog.local import change
from threadline.catalog.query import QueryError, parse
from threadline.catalog.search import EntryDoc, add_tag, entry_doc, matches, search
from threadline.projection.catalog import parse_timestamp
from threadline.store.sql import SqlStore

WORDS = ["alpha", "beta", "gamma", "orders", "customer", "training", "model", "pii", "raw", "Über"]
GROUPS = ["sales", "ml", "ops"]
TYPES = ["TABLE", "FILESET", "DATA_STREAM", "MODEL"]
SYSTEMS = ["dataflow", "airflow_x", None]
ENUM = ["EMAIL", "PHONE", "NONE"]
TEMPLATES = {
    "quality": {
        "score": {"type": {"primitiveType": "DOUBLE"}},
        "checked": {"type": {"primitiveType": "TIMESTAMP"}},
        "ok": {"type": {"primitiveType": "BOOL"}},
    },
    "notes": {
        "usage": {"type": {"primitiveType": "STRING"}},
        "doc": {"type": {"primitiveType": "RICHTEXT"}},
    },
    "pii": {"kind": {"type": {"enumType": {"allowedValues": [{"displayName": v} for v in ENUM]}}}},
}
YEAR = 365 * 86_400_000_000


def _phrase(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _value(rng: random.Random, template: str, field: str) -> dict[str, Any]:
    kind = TEMPLATES[template][field]["type"].get("primitiveType", "ENUM")
    if kind == "DOUBLE":
        return {"doubleValue": rng.choice([-1.5, 0, 1, 2.5, 3, 10, 100])}
    if kind == "TIMESTAMP":
        return {
            "timestampValue": f"{rng.randint(2020, 2025)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T12:00:00Z"
        }
    if kind == "BOOL":
        return {"boolValue": rng.random() < 0.5}
    if kind == "ENUM":
        return {"enumValue": {"displayName": rng.choice(ENUM)}}
    return {("stringValue" if kind == "STRING" else "richtextValue"): _phrase(rng, rng.randint(1, 3))}


def _build(store: SqlStore) -> list[EntryDoc]:
    """A seeded random catalog written through the planner; the documents the brute force reads,
    made from the generated data (not read back from the store)."""
    rng = random.Random(16)
    docs: list[EntryDoc] = []
    for group in GROUPS:
        change(store, lambda p, g=group: p.put_group(g, {"displayName": g.title()}))
    for template, fields in TEMPLATES.items():
        change(store, lambda p, t=template, f=fields: p.put_template(t, {"fields": f}))
    for index in range(60):
        group = rng.choice(GROUPS)
        entry_id = f"{rng.choice(WORDS).lower().replace('ü', 'u')}_{index}"
        body: dict[str, Any] = {
            "displayName": _phrase(rng, 2),
            "description": _phrase(rng, rng.randint(0, 4)),
        }
        kind = rng.choice([*TYPES, "my_type"])
        body["type" if kind != "my_type" else "userSpecifiedType"] = kind
        system = rng.choice(SYSTEMS)
        if system:
            body["userSpecifiedSystem"] = system
        if rng.random() < 0.5:
            body["labels"] = {"env": rng.choice(["prod", "dev"]), "team": rng.choice(["a", "b_c"])}
        columns = [
            {"column": rng.choice(WORDS).lower() + str(c), "subcolumns": [{"column": rng.choice(WORDS)}]}
            for c in range(rng.randint(0, 2))
        ]
        if columns:
            body["schema"] = {"columns": columns}
        when = parse_timestamp(f"{rng.randint(2020, 2025)}-0{rng.randint(1, 9)}-15T00:00:00Z")
        stored = change(store, lambda p, b=body, g=group, e=entry_id: p.put_entry(g, e, b), event_time=when)
        name = f"entryGroups/{group}/entries/{entry_id}"
        doc = entry_doc(name, stored, when, when)
        for template, fields in TEMPLATES.items():
            targets = [""] + [c["column"] for c in columns]
            for column in targets:
                if rng.random() < 0.35:
                    chosen = {f: _value(rng, template, f) for f in fields if rng.random() < 0.8}
                    tag = {"template": f"tagTemplates/{template}", "fields": chosen, "column": column}
                    written = change(store, lambda p, t=tag, g=group, e=entry_id: p.put_tag(g, e, t))
                    add_tag(doc, written)
                    # every fifth entry loses its first tag again: search sees live tags only
                    if index % 5 == 0 and len(doc.tags) == 1:
                        tag_id = written["name"].rsplit("/", 1)[-1]
                        change(store, lambda p, g=group, e=entry_id, t=tag_id: p.delete_tag(g, e, t))
                        doc.tags.pop()
        docs.append(doc)
    # an updated entry and a deleted one: search sees the latest state only
    last = docs.pop()
    group, entry_id = last.name.split("/")[1], last.name.split("/")[3]
    change(store, lambda p: p.delete_entry(group, entry_id))
    return docs


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def catalog(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[SqlStore, list[EntryDoc]]]:
    if request.param == "postgresql":
        request.getfixturevalue("pg_server")
    factory = StoreFactory(request.param, Path(tmp_path_factory.mktemp("catalog")))
    store = factory()
    try:
        yield store, _build(store)
    finally:
        factory.close()


def _kinds() -> dict[str, dict[str, str]]:
    return {
        t: {f: v["type"].get("primitiveType", "ENUM") for f, v in fields.items()}
        for t, fields in TEMPLATES.items()
    }


def _check(catalog: tuple[SqlStore, list[EntryDoc]], query: str) -> int:
    store, docs = catalog
    tree = parse(query)
    expected = sorted(d.name for d in docs if matches(tree, d, _kinds()))
    with store.read() as connection:
        found: list[str] = []
        token = None
        while True:
            answer = search(connection, query, page_size=1000, page_token=token, facets=False)
            found.extend(r["relativeResourceName"] for r in answer["results"])
            token = answer.get("nextPageToken")
            if token is None:
                break
        assert answer["totalSize"] == len(expected)
    assert sorted(found) == expected, query
    return len(expected)


EVERY_OPERATOR = [
    "alpha",
    "al",
    "über",
    "alpha beta",
    "alpha OR beta",
    "alpha AND NOT beta",
    "-alpha",
    "(alpha OR gamma) -(model OR pii)",
    "name:alpha",
    "name:orders",
    "column:customer",
    "column:alpha0",
    "description:training",
    "type=TABLE",
    "type=fileset",
    "type=my_type",
    "system=dataflow",
    "-system=dataflow",
    "parent:ml",
    "label.env:prod",
    "label.team=b_c",
    "createtime>=2023",
    "createtime<2022-05",
    "createtime=2024",
    "updatetime>2021-03-15",
    "updatetime<=2021",
    "tag:quality",
    "tag:quality.score",
    "tag:quality.score=3",
    "tag:quality.score>2.5",
    "tag:quality.score<0",
    "tag:quality.score<=1",
    "tag:quality.score>=10",
    "tag:quality.checked>=2023",
    "tag:quality.checked:2022",
    "tag:quality.checked<2021-05-10",
    "tag:quality.ok=true",
    "tag:quality.ok=FALSE",
    "tag:notes.usage:training",
    'tag:notes.usage:"model train"',
    "tag:notes.doc:raw",
    "tag:pii.kind=EMAIL",
    "tag:pii.kind=phone type=TABLE OR tag:notes.usage:pii",
    "NOT tag:pii",
    "-tag:quality.score>2.5",
    "alpha -tag:notes.usage:training",
    "NOT tag:pii.kind=EMAIL",
    "type=TABLE -tag:quality.ok=true",
    "-(tag:quality.checked<2022 OR tag:notes.doc:raw)",
    # a field's presence: a number's index and a text's (each holds only its own values)
    "tag:notes.usage",
    "tag:pii.kind",
    "-tag:quality.score",
    "-tag:notes.usage alpha",
]


@pytest.mark.parametrize("query", EVERY_OPERATOR)
def test_every_operator_answers_what_the_brute_force_answers(
    catalog: tuple[SqlStore, list[EntryDoc]], query: str
) -> None:
    _check(catalog, query)


def test_the_generated_catalog_is_not_trivial(catalog: tuple[SqlStore, list[EntryDoc]]) -> None:
    """Each kind of clause finds some entries and misses others, so the comparisons can fail."""
    for query in (
        "alpha",
        "tag:quality.score>2.5",
        "tag:pii.kind=EMAIL",
        "tag:notes.usage:training",
        "createtime>=2023",
    ):
        assert 0 < _check(catalog, query) < 59, query


def _atoms() -> st.SearchStrategy[str]:
    word = st.sampled_from([*WORDS, "al", "ord", "tra", "zzz"])
    return st.one_of(
        word,
        st.builds(lambda k, w: f"{k}:{w}", st.sampled_from(["name", "column", "description"]), word),
        st.builds(lambda t: f"type={t}", st.sampled_from([*TYPES, "my_type"])),
        st.builds(lambda s: f"system={s}", st.sampled_from(["dataflow", "airflow_x"])),
        st.builds(lambda g: f"parent:{g}", st.sampled_from(GROUPS)),
        st.builds(
            lambda k, v: f"label.{k}:{v}",
            st.sampled_from(["env", "team"]),
            st.sampled_from(["prod", "dev", "a", "b_c"]),
        ),
        st.builds(
            lambda f, o, d: f"{f}{o}{d}",
            st.sampled_from(["createtime", "updatetime"]),
            st.sampled_from(["=", "<", ">", "<=", ">="]),
            st.sampled_from(["2021", "2022-06", "2023-03-15", "2024"]),
        ),
        st.sampled_from(["tag:quality", "tag:notes", "tag:pii", "tag:quality.ok", "tag:notes.doc"]),
        st.builds(
            lambda o, n: f"tag:quality.score{o}{n}",
            st.sampled_from(["=", "<", ">", "<=", ">="]),
            st.sampled_from(["-1.5", "0", "1", "2.5", "3", "50"]),
        ),
        st.builds(
            lambda o, d: f"tag:quality.checked{o}{d}",
            st.sampled_from([":", "=", "<", ">", "<=", ">="]),
            st.sampled_from(["2021", "2022-06", "2023-03-15"]),
        ),
        st.builds(lambda b: f"tag:quality.ok={b}", st.sampled_from(["true", "false"])),
        st.builds(lambda f, w: f"tag:notes.{f}:{w}", st.sampled_from(["usage", "doc"]), word),
        st.builds(lambda v: f"tag:pii.kind={v}", st.sampled_from(ENUM)),
    )


def _queries() -> st.SearchStrategy[str]:
    return st.recursive(
        _atoms(),
        lambda inner: st.one_of(
            st.builds(lambda a, b: f"{a} {b}", inner, inner),
            st.builds(lambda a, b: f"{a} AND {b}", inner, inner),
            st.builds(lambda a, b: f"{a} OR {b}", inner, inner),
            st.builds(lambda a: f"-{a}" if not a.startswith("-") else f"NOT {a}", inner),
            st.builds(lambda a: f"NOT {a}", inner),
            st.builds(lambda a: f"({a})", inner),
        ),
        max_leaves=6,
    )


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=_queries())
def test_generated_queries_answer_what_the_brute_force_answers(
    catalog: tuple[SqlStore, list[EntryDoc]], query: str
) -> None:
    _check(catalog, query)


@pytest.mark.parametrize(
    ("query", "position", "says"),
    [
        ("(alpha", 1, "never closed"),
        ("alpha)", 6, "closes no"),
        ("alpha OR", 7, "OR needs something after"),
        ("foo:bar", 1, "unknown qualifier 'foo'"),
        ("tag:nope.x=1", 5, "no tag template 'nope'"),
        ("tag:quality.nope=1", 13, "no field 'nope'"),
        ("tag:quality.score:3", 18, "DOUBLE field"),
        ("tag:quality.score>abc", 19, "not a number"),
        ("tag:notes.usage=x", 16, "STRING field"),
        ("tag:pii.kind:EMAIL", 13, "ENUM field"),
        ("tag:quality.ok=maybe", 16, "true or false"),
        ("createtime>20x", 12, "not a date"),
        ('name:"open', 6, "quote"),
    ],
)
def test_a_malformed_query_says_where(
    catalog: tuple[SqlStore, list[EntryDoc]], query: str, position: int, says: str
) -> None:
    store, _ = catalog
    with store.read() as connection, pytest.raises(QueryError) as error:
        search(connection, query)
    assert error.value.status == 400
    assert says in error.value.message
    assert f"position {position}:" in error.value.message, error.value.message


def test_the_template_facet_counts_the_matches_with_a_live_tag_of_each_template(
    catalog: tuple[SqlStore, list[EntryDoc]],
) -> None:
    store, docs = catalog
    for query in [*EVERY_OPERATOR, "tag:quality", "-tag:pii"]:
        tree = parse(query)
        matched = [d for d in docs if matches(tree, d, _kinds())]
        expected = Counter(template for d in matched for template in {t for t, _ in d.tags})
        with store.read() as connection:
            facets = search(connection, query)["facets"]["template"]
        assert facets == dict(sorted(expected.items())), query


def test_ranking_paging_and_facets(catalog: tuple[SqlStore, list[EntryDoc]]) -> None:
    store, docs = catalog
    with store.read() as connection:
        first = search(connection, "alpha", page_size=5)
        assert len(first["results"]) == 5
        assert "nextPageToken" in first
        second = search(connection, "alpha", page_size=5, page_token=first["nextPageToken"])
        names = [r["relativeResourceName"] for r in first["results"] + second["results"]]
        assert len(set(names)) == 10
        # an entry with the word in its name ranks before one with it only in a column
        ranked = search(connection, "alpha", page_size=1000)["results"]
        in_name = [any(t.startswith("alpha") for t in d.t_name) for d in docs]
        by_name = {d.name: hit for d, hit in zip(docs, in_name, strict=True)}
        flags = [by_name[r["relativeResourceName"]] for r in ranked]
        assert flags == sorted(flags, reverse=True)
        facets = search(connection, "tag:quality")["facets"]
        expected_types: dict[str, int] = {}
        for doc in docs:
            if any(t == "quality" for t, _ in doc.tags):
                expected_types[doc.entry_type.upper()] = expected_types.get(doc.entry_type.upper(), 0) + 1
        assert facets["type"] == expected_types
        assert facets["template"]["quality"] == sum(expected_types.values())
        with pytest.raises(QueryError, match="pageToken"):
            search(connection, "alpha", page_token="nonsense")
