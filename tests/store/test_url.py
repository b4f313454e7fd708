"""Store URLs: which engine a location names, and how it is shown safely."""

from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supportpulse.errors import StoreURLError
from supportpulse.store import StoreURL, parse_store_url


@pytest.mark.parametrize(
    ("value", "target"),
    [
        ("store.duckdb", "store.duckdb"),
        ("data/store.duckdb", "data/store.duckdb"),
        ("/var/lib/sp/store.duckdb", "/var/lib/sp/store.duckdb"),
        ("duckdb:///var/lib/sp/store.duckdb", "/var/lib/sp/store.duckdb"),
        ("duckdb:////var/lib/sp/store.duckdb", "/var/lib/sp/store.duckdb"),
        ("duckdb://store.duckdb", "store.duckdb"),
        ("duckdb://data/store.duckdb", "data/store.duckdb"),
        ("DuckDB:///var/store.duckdb", "/var/store.duckdb"),
        ("duckdb:///:memory:", ":memory:"),
    ],
)
def test_parse_store_url_reads_paths_as_duckdb(value: str, target: str) -> None:
    assert parse_store_url(value) == StoreURL("duckdb", target)


def test_parse_store_url_expands_the_home_directory() -> None:
    expected = str(Path.home() / "store.duckdb")

    assert parse_store_url("~/store.duckdb") == StoreURL("duckdb", expected)


@pytest.mark.parametrize(
    "value",
    [
        "postgresql://alice@db.internal:5433/support",
        "postgres://alice@db.internal:5433/support",
        "PostgreSQL://alice@db.internal:5433/support",
    ],
)
def test_parse_store_url_reads_both_postgresql_schemes(value: str) -> None:
    expected = "postgresql://alice@db.internal:5433/support"

    assert parse_store_url(value) == StoreURL("postgresql", expected)


def test_parse_store_url_rejects_an_unknown_scheme_naming_the_choices() -> None:
    with pytest.raises(StoreURLError) as raised:
        parse_store_url("mysql://alice@db/support")

    message = str(raised.value)
    assert "'mysql'" in message
    assert "duckdb:///path" in message
    assert "postgresql://" in message


@pytest.mark.parametrize("value", ["", "   ", "duckdb://", "duckdb:///"])
def test_parse_store_url_rejects_a_url_without_a_location(value: str) -> None:
    with pytest.raises(StoreURLError):
        parse_store_url(value)


def test_redacted_keeps_everything_but_the_password() -> None:
    url = parse_store_url("postgresql://alice:s3cret@db.internal:5433/support")

    assert url.redacted() == "postgresql://alice@db.internal:5433/support"


def test_redacted_drops_a_password_given_as_a_query_parameter() -> None:
    url = parse_store_url("postgresql://alice@db.internal/support?password=s3cret")

    assert "s3cret" not in url.redacted()


def test_redacted_shows_a_duckdb_path_as_it_is() -> None:
    assert parse_store_url("/srv/store.duckdb").redacted() == "/srv/store.duckdb"


@given(password=st.text(min_size=1))
def test_redacted_never_contains_a_percent_encoded_password(password: str) -> None:
    encoded = quote(password, safe="")
    url = parse_store_url(f"postgresql://alice:{encoded}@db.internal:5433/support")

    assert url.redacted() == "postgresql://alice@db.internal:5433/support"


@pytest.mark.parametrize("password", ["pa:ss", "p@ss", "pa ss"])
def test_redacted_drops_a_raw_password_with_separator_characters(
    password: str,
) -> None:
    url = parse_store_url(f"postgresql://alice:{password}@db.internal/support")

    assert url.redacted() == "postgresql://alice@db.internal/support"


@pytest.mark.parametrize("separator", ["/", "#", "?"])
def test_redacted_never_raises_or_shows_a_raw_password_with_reserved_characters(
    separator: str,
) -> None:
    url = parse_store_url(f"postgresql://alice:CANARY{separator}s3cret@db/support")

    shown = url.redacted()

    assert "CANARY" not in shown
    assert "s3cret" not in shown
