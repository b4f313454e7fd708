"""Ingesting files into a store: layouts, columns, time zones, bad rows, re-runs."""

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from supportpulse.analytics.kpis import KPIQuery, compute_kpis
from supportpulse.config import Settings, load_settings
from supportpulse.errors import InputError
from supportpulse.ingest.pipeline import IngestOptions, IngestSummary, ingest_file
from supportpulse.store import Store


def on_engines() -> pytest.MarkDecorator:
    """Run on both engines."""
    return pytest.mark.parametrize(
        "store_url",
        ["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)],
        indirect=True,
    )


def ingest(
    path: Path, store: Store, settings: Settings | None = None, **options: Any
) -> IngestSummary:
    return ingest_file(path, store, settings or Settings(), IngestOptions(**options))


def config(tmp_path: Path, text: str) -> Settings:
    """Settings loaded from a config file holding `text`."""
    path = tmp_path / "supportpulse.yaml"
    path.write_text(text, encoding="utf-8")
    return load_settings(path)


def tickets(store: Store) -> dict[str, dict[str, Any]]:
    """Stored tickets by external id."""
    names, rows = store.fetch("SELECT * FROM tickets")
    return {row[1]: dict(zip(names, row, strict=True)) for row in rows}


def bodies(store: Store) -> dict[str, str]:
    """Stored message bodies by ticket."""
    _, rows = store.fetch("SELECT ticket_external_id, body FROM messages")
    return dict(rows)


def quarantined(store: Store) -> list[tuple[str, int, str]]:
    """(file, line, reason) of every quarantined record, by line."""
    _, rows = store.fetch("SELECT file, line, reason FROM quarantine ORDER BY line")
    return rows


def test_ingest_keeps_good_rows_and_quarantines_each_broken_one(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(
        b"ticket_id,created_at,team,customer_message\n"
        b"T1,2024-01-01 09:00:00,A,fine\n"  # 2
        b"T2,soon-ish,A,unparseable date\n"  # 3
        b",2024-01-01 09:00:00,A,missing id\n"  # 4
        b"T4,2024-01-01 09:00:00,A\n"  # 5: too few fields
        b"T5,2024-01-01 09:00:00,A,caf\xe9\n"  # 6: invalid UTF-8
        b"T6,2024-01-01 09:00:00,A," + b"x" * 150 + b"\n"  # 7: oversized
        b'T7,2024-01-01 09:00:00,A,"spans\nthree\nlines"\n'  # 8-10: good
        b'T8,2024-01-01 09:00:00,A,"two\nlines",extra\n'  # 11-12: too many
        b"T9,2024-01-01 09:00:00,A,fine\n"  # 13
    )
    settings = config(tmp_path, "ingest: {max_field_size: 100}")

    summary = ingest(path, store, settings)

    assert sorted(tickets(store)) == ["T1", "T7", "T9"]
    assert bodies(store)["T7"] == "spans\nthree\nlines"
    found = quarantined(store)
    assert [(file, line) for file, line, _ in found] == [
        (str(path), line) for line in (3, 4, 5, 6, 7, 11)
    ]
    reasons = [reason for _, _, reason in found]
    for reason, phrase in zip(
        reasons,
        [
            "created_at 'soon-ish' is not a timestamp",
            "ticket_id (ticket id) is empty",
            "expected 4 fields, found 3",
            "invalid UTF-8",
            "field 'customer_message' is larger than 100 characters",
            "expected 4 fields, found 5",
        ],
        strict=True,
    ):
        assert phrase in reason
    assert (summary.rows, summary.tickets, summary.quarantined) == (9, 3, 6)


@on_engines()
def test_ingest_quarantines_a_row_with_a_nul_byte(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(
        b"ticket_id,created_at\nT1,2024-01-01 09:00:00\nT2,2024-01-01 09:\x0000\n"
    )

    ingest(path, store)

    assert list(tickets(store)) == ["T1"]
    assert quarantined(store) == [(str(path), 3, "NUL character in record")]


def test_ingest_quarantines_a_broken_json_line(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    path.write_text(
        '{"ticket_id": "J1", "created_at": "2024-01-01T09:00:00"}\n'
        '{"ticket_id": "J2", "created_at": \n'
        '{"ticket_id": "J3", "created_at": "2024-01-01T10:00:00"}\n',
        encoding="utf-8",
    )

    ingest(path, store)

    assert sorted(tickets(store)) == ["J1", "J3"]
    [(file, line, reason)] = quarantined(store)
    assert (file, line) == (str(path), 2)
    assert reason.startswith("invalid JSON")


def test_ingest_quarantines_a_json_line_with_an_escaped_nul(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "export.jsonl"
    path.write_text(
        '{"ticket_id": "J1", "created_at": "2024-01-01T09:00:00"}\n'
        '{"ticket_id": "J2", "created_at": "2024-01-01T09:00:00", "x": "\\u0000"}\n',
        encoding="utf-8",
    )

    ingest(path, store)

    assert list(tickets(store)) == ["J1"]
    assert quarantined(store) == [(str(path), 2, "NUL character in record")]


def test_ingest_byte_order_mark_file_reads_the_same_as_without(
    duckdb_store: Store, tmp_path: Path
) -> None:
    content = b"ticket_id,created_at,description\nT1,2024-01-01 09:00:00,hi\n"
    (tmp_path / "plain.csv").write_bytes(content)
    (tmp_path / "marked.csv").write_bytes(b"\xef\xbb\xbf" + content)

    for name in ("plain.csv", "marked.csv"):
        ingest(tmp_path / name, duckdb_store, source=name)

    _, rows = duckdb_store.fetch(
        "SELECT * EXCLUDE (source) FROM tickets ORDER BY source"
    )
    marked, plain = rows
    assert marked == plain
    assert bodies(duckdb_store) == {"T1": "hi"}


def test_ingest_reads_a_latin1_file_with_the_encoding_option(
    duckdb_store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(
        "ticket_id,created_at,team,description\n"
        "T1,2024-01-01 09:00:00,Équipe,ça ne marche pas\n".encode("latin-1")
    )

    summary = ingest(path, duckdb_store, encoding="latin-1")

    assert summary.quarantined == 0
    assert tickets(duckdb_store)["T1"]["team"] == "Équipe"
    assert bodies(duckdb_store) == {"T1": "ça ne marche pas"}


def test_ingest_reads_naive_times_in_the_configured_zone_and_stores_utc(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "ticket_id,created_at,responded_at\n"
        "winter,2024-01-15 10:00:00,2024-01-15 10:30:00\n"
        "summer,2024-07-15 10:00:00,\n",
        encoding="utf-8",
    )

    ingest(path, store, config(tmp_path, "timezone: Europe/Berlin"))

    stored = tickets(store)
    assert stored["winter"]["created_at"] == datetime(2024, 1, 15, 9, 0)
    assert stored["winter"]["first_response_at"] == datetime(2024, 1, 15, 9, 30)
    assert stored["summer"]["created_at"] == datetime(2024, 7, 15, 8, 0)


def test_ingest_keeps_explicit_offsets_whatever_the_zone(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "ticket_id,created_at\n"
        "india,2024-01-15T10:00:00+05:30\n"
        "zulu,2024-01-15T10:00:00Z\n"
        "west,2024-01-15 10:00:00-08:00\n",
        encoding="utf-8",
    )

    ingest(path, store, config(tmp_path, "timezone: Europe/Berlin"))

    assert {key: row["created_at"] for key, row in tickets(store).items()} == {
        "india": datetime(2024, 1, 15, 4, 30),
        "zulu": datetime(2024, 1, 15, 10, 0),
        "west": datetime(2024, 1, 15, 18, 0),
    }


@pytest.mark.parametrize(
    "relative", ["tickets_min.csv", "twcs/twcs_head_1000.csv"], ids=["flat", "twcs"]
)
def test_ingest_twice_changes_no_counts_and_no_figures(
    store: Store, shared_data: Path, relative: str
) -> None:
    path = shared_data / relative
    query = KPIQuery(until=datetime(2030, 1, 1), by=("team",))

    def state() -> tuple[Any, ...]:
        counts = tuple(store.count(t) for t in ("tickets", "messages", "quarantine"))
        return counts, compute_kpis(store, query, Settings().sla)

    ingest(path, store)
    first = state()
    ingest(path, store)

    assert state() == first
    assert first[0][0] > 0


def test_ingest_twice_keeps_one_quarantine_row_per_bad_record(
    duckdb_store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "export.csv"
    path.write_text("ticket_id,created_at\nT1,2024-01-01\nT2,never\n")

    ingest(path, duckdb_store)
    ingest(path, duckdb_store)

    assert duckdb_store.count("quarantine") == 1


def test_ingest_recognizes_twcs_by_its_header_not_its_name(
    duckdb_store: Store, tmp_path: Path
) -> None:
    # Columns in another order, one extra column, an unremarkable file name.
    path = tmp_path / "export.csv"
    path.write_text(
        "created_at,text,tweet_id,author_id,inbound,in_response_to_tweet_id,"
        "response_tweet_id,lang\n"
        'Tue Oct 31 22:10:47 +0000 2017,my phone is broken,1,115712,True,,"2",en\n'
        "Tue Oct 31 22:20:47 +0000 2017,sorry to hear that,2,acme,False,1,,en\n"
        "Tue Oct 31 23:00:00 +0000 2017,thanks a lot,10,115713,True,,,en\n",
        encoding="utf-8",
    )

    summary = ingest(path, duckdb_store)

    assert (summary.layout, summary.source) == ("twcs", "twcs")
    stored = tickets(duckdb_store)
    assert sorted(stored) == ["1", "10"]
    assert (stored["1"]["team"], stored["1"]["channel"]) == ("acme", "twitter")
    assert duckdb_store.count("messages") == 3


def test_ingest_reads_a_file_missing_a_twcs_column_as_flat(
    duckdb_store: Store, tmp_path: Path
) -> None:
    # Every twcs column but in_response_to_tweet_id.
    path = tmp_path / "tweets.csv"
    path.write_text(
        "tweet_id,author_id,inbound,created_at,text,response_tweet_id\n"
        "1,115712,True,2024-01-01 09:00:00,hello,\n",
        encoding="utf-8",
    )

    summary = ingest(path, duckdb_store, mappings={"external_id": "tweet_id"})

    assert (summary.layout, summary.source) == ("flat", "tweets")
    assert list(tickets(duckdb_store)) == ["1"]


def test_ingest_recognizes_flat_column_synonyms(
    duckdb_store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "helpdesk.csv"
    path.write_text(
        "ID,Opened,Assignee,Group,Description\n"
        "42,2024-03-01 08:00:00,ann,Billing,Charged twice\n",
        encoding="utf-8",
    )

    summary = ingest(path, duckdb_store)

    ticket = tickets(duckdb_store)["42"]
    assert summary.source == "helpdesk"
    assert ticket["created_at"] == datetime(2024, 3, 1, 8, 0)
    assert (ticket["agent"], ticket["team"]) == ("ann", "Billing")
    assert bodies(duckdb_store) == {"42": "Charged twice"}


def test_ingest_map_option_reads_fields_from_named_columns(
    duckdb_store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "ticket_id,Case Ref,Logged,Handler\nT-1,C-9,2024-03-01 08:00:00,bo\n",
        encoding="utf-8",
    )
    mappings = {"external_id": "Case Ref", "created_at": "Logged", "agent": "Handler"}

    ingest(path, duckdb_store, mappings=mappings)

    assert list(tickets(duckdb_store)) == ["C-9"]
    assert tickets(duckdb_store)["C-9"]["agent"] == "bo"


def test_ingest_missing_required_column_names_it_and_the_map_option(
    duckdb_store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "export.csv"
    path.write_text("ticket_id,team\nT1,A\n", encoding="utf-8")

    with pytest.raises(InputError) as raised:
        ingest(path, duckdb_store)

    message = str(raised.value)
    assert "no column for created_at" in message
    assert "--map created_at=COLUMN" in message
    assert "\n" not in message
    assert duckdb_store.count("tickets") == 0


def test_ingest_map_naming_no_column_lists_the_columns(
    duckdb_store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "export.csv"
    path.write_text("ticket_id,created_at\nT1,2024-01-01\n", encoding="utf-8")

    with pytest.raises(InputError, match="agent=Owner names no column"):
        ingest(path, duckdb_store, mappings={"agent": "Owner"})


def test_ingest_jsonl_reads_keys_absent_from_the_first_record(
    duckdb_store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "export.jsonl"
    path.write_text(
        '{"id": "1", "created_at": "2024-01-01T09:00:00"}\n'
        '{"id": "2", "created_at": "2024-01-01T09:00:00", "team": "A",'
        ' "description": "help"}\n',
        encoding="utf-8",
    )

    ingest(path, duckdb_store)

    assert tickets(duckdb_store)["2"]["team"] == "A"
    assert bodies(duckdb_store) == {"2": "help"}
