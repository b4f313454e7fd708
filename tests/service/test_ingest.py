"""POST /ingest runs the ingest pipeline on an upload and reports its quarantine."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from .conftest import ADMIN, VIEWER, Service, running_service, settings_for, upload

BAD_ROWS = (
    "ticket_id,team,created_at,responded_at,customer_message,priority,category\n"
    "U1,Team Z,2024-02-01 09:00,2024-02-01 09:10,thanks a lot,high,billing\n"
    "U2,Team Z,not-a-time,,this is broken,low,billing\n"
    "U3,Team Z,2024-02-01 10:00\n"
)


def test_ingest_upload_reports_summary_and_quarantine(
    service: Service, tmp_path: Path
) -> None:
    path = tmp_path / "desk-export.csv"
    path.write_text(BAD_ROWS, encoding="utf-8")
    with service.client() as client:
        answer = upload(client, path, source="upload-test")
        tickets = client.get("/api/v1/tickets", params={"source": "upload-test"})

    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["file"], report["layout"], report["source"]) == (
        "desk-export.csv", "flat", "upload-test",
    )  # fmt: skip
    assert (report["rows"], report["tickets"], report["quarantined"]) == (3, 1, 2)
    assert [q["line"] for q in report["quarantine"]] == [3, 4]
    assert "not-a-time" in report["quarantine"][0]["reason"]
    assert [t["external_id"] for t in tickets.json()["tickets"]] == ["U1"]


def test_ingest_refuses_a_file_over_the_upload_limit(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, service={"max_upload_mb": 0.001})
    path = tmp_path / "big.csv"
    path.write_text(BAD_ROWS * 100, encoding="utf-8")
    url = f"duckdb://{tmp_path}/s.duckdb"
    with running_service(url, settings) as running, running.client() as client:
        answer = upload(client, path)
        count = client.get("/api/v1/tickets").json()["tickets"]

    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "too_large"
    assert count == []


def test_ingest_needs_a_file(service: Service) -> None:
    with service.client() as client:
        answer = client.post("/api/v1/ingest", data={"source": "x"})

    assert answer.status_code == 422
    assert "'file'" in answer.json()["error"]["message"]


_CHUNK = b"x" * 65536


def _partial_upload(url: str, token: str | None, chunks: int) -> int | None:
    """Start a chunked multipart upload, send `chunks` x 64 KiB of it and never
    finish: the status the server answers with meanwhile, or None when it
    waits for the rest of the body, as a server reading it first would."""
    host, port = url.removeprefix("http://").split(":")
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    head = (
        f"POST /api/v1/ingest HTTP/1.1\r\nHost: {host}\r\n{auth}"
        "Content-Type: multipart/form-data; boundary=guard\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()
    part = (b'--guard\r\nContent-Disposition: form-data; name="file"; '
            b'filename="big.csv"\r\n\r\nticket_id,created_at\r\n')  # fmt: skip
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(head + b"%x\r\n%s\r\n" % (len(part), part))
        try:
            for _ in range(chunks):
                connection.sendall(b"%x\r\n%s\r\n" % (len(_CHUNK), _CHUNK))
            answer = connection.recv(64)
        except (TimeoutError, ConnectionError):
            return None
    return int(answer.split()[1]) if answer.startswith(b"HTTP/1.1") else None


@pytest.mark.parametrize(("token", "status"), [(None, 401), (VIEWER, 403)])
def test_ingest_refuses_a_caller_before_reading_the_upload(
    service: Service, token: str | None, status: int
) -> None:
    assert _partial_upload(service.url, token, 4) == status


def test_ingest_stops_reading_an_upload_once_it_passes_the_limit(
    tmp_path: Path,
) -> None:
    settings = settings_for(tmp_path, service={"max_upload_mb": 1})
    url = f"duckdb://{tmp_path}/s.duckdb"

    # 40 chunks are 2.5 MiB, past the 1 MiB limit; the rest never comes.
    with running_service(url, settings) as running:
        assert _partial_upload(running.url, ADMIN, 40) == 413


def test_ingest_refuses_to_write_under_a_live_source_name(tmp_path: Path) -> None:
    live = {"name": "desk", "type": "replay", "enabled": False,
            "options": {"path": str(tmp_path / "none.csv")}}  # fmt: skip
    settings = settings_for(tmp_path, sources=[live])
    path = tmp_path / "pin.csv"
    path.write_text(
        "ticket_id,created_at,updated_at,status\nT1,2020-01-01,2099-01-01,hacked\n",
        encoding="utf-8",
    )
    url = f"duckdb://{tmp_path}/s.duckdb"
    with running_service(url, settings) as running, running.client() as client:
        answer = upload(client, path, source="desk")
        stored = client.get("/api/v1/tickets").json()["tickets"]

    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "conflict"
    assert stored == []
