"""Ingesting input built to break a reader: each record quarantined, never a crash.

Every case here once crashed an ingest, stored text from the wrong record or
listed a bad row twice; each test states what happens now.
"""

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from supportpulse.config import Settings, load_settings
from supportpulse.ingest.pipeline import IngestOptions, IngestSummary, ingest_file
from supportpulse.store import Store

TWCS_HEADER = (
    "tweet_id,author_id,inbound,created_at,text,response_tweet_id,"
    "in_response_to_tweet_id\n"
)
TWEET = "{id},115712,True,Tue Oct 31 22:10:47 +0000 2017,my phone is broken,,\n"


def ingest(path: Path, store: Store, settings: Settings | None = None) -> IngestSummary:
    return ingest_file(path, store, settings or Settings(), IngestOptions())


def config(tmp_path: Path, text: str) -> Settings:
    """Settings loaded from a config file holding `text`."""
    path = tmp_path / "supportpulse.yaml"
    path.write_text(text, encoding="utf-8")
    return load_settings(path)


def tickets(store: Store) -> dict[str, dict[str, Any]]:
    """Stored tickets by external id."""
    names, rows = store.fetch("SELECT * FROM tickets")
    return {row[1]: dict(zip(names, row, strict=True)) for row in rows}


def quarantined(store: Store) -> list[tuple[int, str]]:
    """(line, reason) of every quarantined record, by line."""
    _, rows = store.fetch("SELECT line, reason FROM quarantine ORDER BY line")
    return [(line, reason) for line, reason in rows]


def stored_text(store: Store) -> str:
    """Every stored ticket and message, as one text to search."""
    _, ticket_rows = store.fetch("SELECT * FROM tickets")
    _, message_rows = store.fetch("SELECT * FROM messages")
    return repr(ticket_rows + message_rows)


@pytest.mark.parametrize(
    "created_at", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]
)
def test_ingest_quarantines_a_time_outside_the_utc_range(
    duckdb_store: Store, tmp_path: Path, created_at: str
) -> None:
    path = tmp_path / "export.csv"
    path.write_text(f"ticket_id,created_at\n1,{created_at}\n2,2024-01-01\n")

    ingest(path, duckdb_store)

    assert list(tickets(duckdb_store)) == ["2"]
    [(line, reason)] = quarantined(duckdb_store)
    assert line == 2
    assert "out of range" in reason


@pytest.mark.parametrize(
    ("tweet_id", "phrase"),
    [("²", "is not a tweet id"), ("99999999999999999999", "larger than a 64-bit")],
    ids=["superscript_digit", "over_64_bits"],
)
def test_ingest_quarantines_a_twcs_row_whose_id_is_no_tweet_id(
    duckdb_store: Store, tmp_path: Path, tweet_id: str, phrase: str
) -> None:
    path = tmp_path / "tweets.csv"
    path.write_text(
        TWCS_HEADER + TWEET.format(id=tweet_id) + TWEET.format(id="7"),
        encoding="utf-8",
    )

    ingest(path, duckdb_store)

    assert list(tickets(duckdb_store)) == ["7"]
    [(line, reason)] = quarantined(duckdb_store)
    assert line == 2
    assert phrase in reason


def test_ingest_quarantines_a_json_lone_surrogate_as_invalid_utf8(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "export.jsonl"
    path.write_text(
        '{"ticket_id": "1", "created_at": "2024-01-01",'
        ' "customer_message": "a\\ud800b"}\n'
        '{"ticket_id": "2", "created_at": "2024-01-01"}\n',
        encoding="utf-8",
    )

    ingest(path, store)

    assert list(tickets(store)) == ["2"]
    [(line, reason)] = quarantined(store)
    assert line == 1
    assert "invalid UTF-8" in reason


def test_ingest_after_a_json_nul_goes_on_to_the_next_file(
    store: Store, tmp_path: Path
) -> None:
    # PostgreSQL text cannot hold NUL; storing it failed the whole command.
    first = tmp_path / "first.jsonl"
    first.write_text(
        '{"ticket_id": "1", "created_at": "2024-01-01",'
        ' "customer_message": "a\\u0000b"}\n',
        encoding="utf-8",
    )
    second = tmp_path / "second.csv"
    second.write_text("ticket_id,created_at\n2,2024-01-01\n", encoding="utf-8")

    ingest(first, store)
    ingest(second, store)

    assert list(tickets(store)) == ["2"]
    [(line, reason)] = quarantined(store)
    assert line == 1
    assert "NUL" in reason


def test_ingest_unterminated_quote_is_one_bad_record_naming_its_lines(
    duckdb_store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        'ticket_id,created_at,customer_message\n1,2024-01-01,"oops\n2,2024-01-01,ok\n'
    )

    ingest(path, duckdb_store)

    [(line, reason)] = quarantined(duckdb_store)
    assert line == 2
    assert "never closed" in reason
    assert "lines 2 to 3" in reason
    assert "ok" not in stored_text(duckdb_store)


def test_ingest_oversized_multiline_field_hides_no_ticket_inside_it(
    duckdb_store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "ticket_id,created_at,customer_message\n"
        '1,2024-01-01,"aaaaaaaaaaaaaaaaaaaaaaaaa\n'  # 2-4: oversized field
        "9,2024-01-01,injected\n"
        '"\n'
        "2,2024-01-01,ok\n"  # 5
    )

    ingest(path, duckdb_store, config(tmp_path, "ingest: {max_field_size: 20}"))

    assert list(tickets(duckdb_store)) == ["2"]
    [(line, reason)] = quarantined(duckdb_store)
    assert line == 2
    assert "customer_message" in reason


def test_ingest_jsonl_maps_each_record_by_its_own_keys(
    duckdb_store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "export.jsonl"
    path.write_text(
        '{"ticket_id": "1", "created_at": "2024-01-01"}\n'
        '{"ticket_id": "2", "created_at": "2024-01-01", "team": "A"}\n'
        '{"foo": 1}\n',
        encoding="utf-8",
    )

    ingest(path, duckdb_store)

    stored = tickets(duckdb_store)
    assert sorted(stored) == ["1", "2"]
    assert stored["2"]["team"] == "A"
    assert [line for line, _ in quarantined(duckdb_store)] == [3]


def test_ingest_again_under_any_path_spelling_lists_a_bad_row_once(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "x.csv"
    path.write_bytes(b"ticket_id,created_at\n1,2024-01-01\n2,caf\xe9\n")

    for spelling in (path, path, Path("x.csv"), Path("./x.csv")):
        ingest(spelling, store)

    [(line, reason)] = quarantined(store)
    assert line == 3
    assert "invalid UTF-8" in reason


@pytest.mark.parametrize("batch_size", [None, 150], ids=["one_batch", "batches_of_150"])
def test_ingest_duplicate_ids_equally_new_keep_the_last_row(
    store: Store, tmp_path: Path, batch_size: int | None
) -> None:
    path = tmp_path / "export.csv"
    rows = [
        f"{ticket},2024-01-01 09:00:00,T{copy:02d}"
        for copy in range(20)
        for ticket in range(100)
    ]
    path.write_text("ticket_id,created_at,team\n" + "\n".join(rows) + "\n")
    settings = Settings()
    if batch_size is not None:
        settings = config(tmp_path, f"ingest: {{batch_size: {batch_size}}}")

    ingest(path, store, settings)

    teams = {key: ticket["team"] for key, ticket in tickets(store).items()}
    assert teams == {str(ticket): "T19" for ticket in range(100)}


@pytest.mark.parametrize("csat", ["nan", "inf", "-Infinity"])
def test_ingest_quarantines_a_csat_that_is_not_finite(
    duckdb_store: Store, tmp_path: Path, csat: str
) -> None:
    path = tmp_path / "export.csv"
    path.write_text(f"ticket_id,created_at,csat\n1,2024-01-01,{csat}\n2,2024-01-01,4\n")

    ingest(path, duckdb_store)

    assert list(tickets(duckdb_store)) == ["2"]
    [(line, reason)] = quarantined(duckdb_store)
    assert line == 2
    assert "csat" in reason


def test_ingest_reads_epoch_milliseconds_as_utc(
    duckdb_store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "export.csv"
    path.write_text("ticket_id,created_at\n1,1700000000000\n")

    ingest(path, duckdb_store, config(tmp_path, "timezone: Europe/Berlin"))

    assert tickets(duckdb_store)["1"]["created_at"] == datetime(
        2023, 11, 14, 22, 13, 20
    )


def test_ingest_quarantines_an_ambiguous_day_month_date_with_an_iso_hint(
    duckdb_store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "export.csv"
    path.write_text("ticket_id,created_at\n1,01/02/2024 09:00\n")

    ingest(path, duckdb_store)

    assert tickets(duckdb_store) == {}
    [(line, reason)] = quarantined(duckdb_store)
    assert line == 2
    assert "ISO 8601" in reason


@pytest.mark.parametrize("ticket_id", ['{"nested": 1}', "[1, 2]", "true", "1.5"])
def test_ingest_quarantines_a_json_id_that_is_no_string_or_integer(
    duckdb_store: Store, tmp_path: Path, ticket_id: str
) -> None:
    path = tmp_path / "export.jsonl"
    path.write_text(
        f'{{"ticket_id": {ticket_id}, "created_at": "2024-01-01T00:00:00Z"}}\n'
        '{"ticket_id": 7, "created_at": "2024-01-01T00:00:00Z"}\n'
    )

    ingest(path, duckdb_store)

    assert list(tickets(duckdb_store)) == ["7"]
    [(line, reason)] = quarantined(duckdb_store)
    assert line == 1
    assert "ticket_id" in reason
    assert "strings or integers" in reason
