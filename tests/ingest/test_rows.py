"""Reading files as rows: every bad record caught, at the line it starts on."""

import csv
from pathlib import Path

import pytest

from supportpulse.errors import InputError
from supportpulse.ingest.rows import BadRow, Row, RowFile

HEADER = b"id,created_at,body\n"
GOOD = b"1,2024-01-01 09:00:00,fine\n"


def read(
    tmp_path: Path,
    content: bytes,
    *,
    name: str = "in.csv",
    encoding: str = "utf-8",
    max_field_size: int = 100,
) -> list[Row | BadRow]:
    """Every row of a file holding `content`."""
    path = tmp_path / name
    path.write_bytes(content)
    with RowFile(path, encoding=encoding, max_field_size=max_field_size) as rows:
        return list(rows.rows())


def outline(rows: list[Row | BadRow]) -> list[tuple[str, int]]:
    """Each row as ("good" or "bad", its first line)."""
    return [("good" if isinstance(r, Row) else "bad", r.line) for r in rows]


def test_csv_rows_carry_their_first_line_and_named_fields(tmp_path: Path) -> None:
    rows = read(tmp_path, HEADER + GOOD + b'2,2024-01-02,"two\nlines"\n')

    assert rows == [
        Row(2, {"id": "1", "created_at": "2024-01-01 09:00:00", "body": "fine"}),
        Row(3, {"id": "2", "created_at": "2024-01-02", "body": "two\nlines"}),
    ]


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (b"2,2024-01-01 09:00:00\n", "expected 3 fields, found 2"),
        (b"2,2024-01-01 09:00:00,x,y\n", "expected 3 fields, found 4"),
        (b"2,2024-01-01 09:00:00,caf\xe9\n", "invalid UTF-8"),
        (b"2,2024-01-01 09:00:00," + b"x" * 101 + b"\n", "larger than 100 characters"),
        (b"2,2024-01-01 09:00:00,a\x00b\n", "NUL character"),
    ],
    ids=["too_few", "too_many", "invalid_utf8", "oversized", "nul"],
)
def test_csv_bad_record_is_reported_and_the_next_one_read(
    tmp_path: Path, bad: bytes, reason: str
) -> None:
    rows = read(tmp_path, HEADER + GOOD + bad + b"3,2024-01-01,after\n")

    assert outline(rows) == [("good", 2), ("bad", 3), ("good", 4)]
    assert isinstance(rows[1], BadRow)
    assert reason in rows[1].reason


def test_csv_bad_record_excerpt_keeps_undecodable_bytes_visible(
    tmp_path: Path,
) -> None:
    [bad] = read(tmp_path, HEADER + b"2,2024-01-01,caf\xe9\n")

    assert isinstance(bad, BadRow)
    assert bad.record == "2,2024-01-01,caf\\udce9"


def test_csv_line_numbers_count_the_lines_of_multiline_fields(tmp_path: Path) -> None:
    content = (
        HEADER
        + b'1,2024-01-01,"one\ntwo\nthree"\n'  # lines 2-4
        + b'2,2024-01-01,"a\nb",extra\n'  # lines 5-6: bad, starts on 5
        + b"3,2024-01-01\n"  # line 7: bad
        + b"4,2024-01-01,ok\n"  # line 8
    )

    assert outline(read(tmp_path, content)) == [
        ("good", 2),
        ("bad", 5),
        ("bad", 7),
        ("good", 8),
    ]


def test_csv_blank_lines_are_skipped_without_shifting_line_numbers(
    tmp_path: Path,
) -> None:
    content = HEADER + b"\n" + GOOD + b"\n\n" + b"2,bad\n"

    assert outline(read(tmp_path, content)) == [("good", 3), ("bad", 6)]


def test_csv_crlf_line_endings_read_like_lf(tmp_path: Path) -> None:
    content = HEADER + GOOD + b'2,2024-01-01,"a\nb"\n3,2024-01-01\n'

    lf = read(tmp_path, content, name="lf.csv")
    crlf = read(tmp_path, content.replace(b"\n", b"\r\n"), name="crlf.csv")

    assert outline(crlf) == outline(lf)


def test_csv_byte_order_mark_reads_the_same_as_without(tmp_path: Path) -> None:
    content = HEADER + GOOD

    plain = read(tmp_path, content, name="plain.csv")
    marked = read(tmp_path, b"\xef\xbb\xbf" + content, name="bom.csv")

    assert marked == plain
    assert isinstance(marked[0], Row)
    assert list(marked[0].fields) == ["id", "created_at", "body"]


def test_csv_latin1_file_reads_with_its_encoding(tmp_path: Path) -> None:
    content = "id,created_at,body\n1,2024-01-01,café déjà vu\n".encode("latin-1")

    [row] = read(tmp_path, content, encoding="latin-1")

    assert isinstance(row, Row)
    assert row.fields["body"] == "café déjà vu"


def test_jsonl_bad_lines_are_reported_and_the_rest_read(tmp_path: Path) -> None:
    content = (
        b'{"id": "1", "created_at": "2024-01-01"}\n'
        b'{"id": "2", "created_at":\n'  # broken JSON
        b"\n"  # blank: skipped
        b"[1, 2]\n"  # not an object
        b'{"id": "5", "body": "' + b"y" * 101 + b'"}\n'  # oversized value
        b'{"id": "6", "created_at": "2024-01-06"}\n'
    )

    rows = read(tmp_path, content, name="in.jsonl")

    assert outline(rows) == [
        ("good", 1),
        ("bad", 2),
        ("bad", 4),
        ("bad", 5),
        ("good", 6),
    ]
    reasons = [row.reason for row in rows if isinstance(row, BadRow)]
    assert reasons[0].startswith("invalid JSON")
    assert reasons[1] == "a JSON Lines record must be an object"
    assert reasons[2] == "field 'body' is larger than 100 characters"


@pytest.mark.parametrize(
    ("content", "phrase"),
    [
        (b"", "file is empty"),
        (b"id,id\n1,2\n", "column 'id' appears twice"),
        (b"caf\xe9,id\n1,2\n", "header is not valid text"),
    ],
)
def test_csv_unusable_header_is_an_input_error(
    tmp_path: Path, content: bytes, phrase: str
) -> None:
    with pytest.raises(InputError, match=phrase):
        read(tmp_path, content)


def test_rowfile_unknown_encoding_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown encoding 'klingon'"):
        read(tmp_path, HEADER + GOOD, encoding="klingon")


def test_csv_oversized_multiline_field_is_one_bad_record(tmp_path: Path) -> None:
    content = HEADER + b'1,2024-01-01,"' + b"x" * 101 + b'\n9,2024-01-01,inside"\n'

    assert outline(read(tmp_path, content)) == [("bad", 2)]


def test_csv_quote_left_open_to_the_end_of_the_file_is_a_bad_record(
    tmp_path: Path,
) -> None:
    content = HEADER + b'1,2024-01-01,"open\n2,2024-01-01,fine\n'

    assert ("bad", 2) in outline(read(tmp_path, content))


def test_jsonl_escaped_nul_is_a_bad_record_like_a_raw_one(tmp_path: Path) -> None:
    content = b'{"id": "1", "created_at": "2024-01-01", "body": "a\\u0000b"}\n'

    [row] = read(tmp_path, content, name="in.jsonl")

    assert isinstance(row, BadRow)
    assert row.reason == "NUL character in record"


def test_rowfile_leaves_the_process_csv_field_limit_alone(tmp_path: Path) -> None:
    before = csv.field_size_limit()

    read(tmp_path, HEADER + GOOD, max_field_size=100)

    assert csv.field_size_limit() == before
