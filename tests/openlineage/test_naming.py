"""Equivalent spellings of a namespace have one canonical form; others are left alone."""

from __future__ import annotations

import pytest

from threadline.openlineage.naming import normalize_namespace


@pytest.mark.parametrize(
    ("spellings", "canonical"),
    [
        (
            [
                "postgres://db.example.com:5432",
                "Postgres://DB.example.com",
                "postgresql://db.example.com:5432/",
                "postgres://etl:secret@db.example.com",
            ],
            "postgres://db.example.com:5432",
        ),
        (["mysql://Warehouse", "mysql://warehouse:3306"], "mysql://warehouse:3306"),
        (["s3://acme-lake", "S3://acme-lake/", "s3a://acme-lake"], "s3://acme-lake"),
        (["gs://bucket/prefix/", "GS://bucket/prefix"], "gs://bucket/prefix"),
        (["kafka://broker1", "kafka://broker1:9092"], "kafka://broker1:9092"),
        (["postgres://[::1]", "postgres://[::1]:5432"], "postgres://[::1]:5432"),
    ],
)
def test_equivalent_spellings_share_a_canonical_form(spellings: list[str], canonical: str) -> None:
    assert {normalize_namespace(s) for s in spellings} == {canonical}


@pytest.mark.parametrize(
    "namespace",
    [
        "my-airflow",
        "bigquery",
        "file",
        "Team-ETL",
        "hive",
        "postgres://db:5433",
        "redshift://cluster.eu-west-1:5440",
    ],
)
def test_other_namespaces_keep_their_identity(namespace: str) -> None:
    assert normalize_namespace(namespace) in (namespace, namespace.lower())
    assert normalize_namespace(namespace) == normalize_namespace(normalize_namespace(namespace))


def test_non_default_ports_stay_distinct() -> None:
    assert normalize_namespace("postgres://db:5433") != normalize_namespace("postgres://db:5432")


def test_a_broken_url_is_kept_rather_than_refused() -> None:
    assert normalize_namespace("postgres://db:notaport") == "postgres://db:notaport"
