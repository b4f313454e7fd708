"""Upload scratch folders: removed after each upload, and after a killed
service when the next one starts."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from .conftest import ADMIN, running_service, settings_for, upload


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def _folder(root: Path, pid: int) -> Path:
    folder = root / f"supportpulse-upload-{pid}-x1y2"
    folder.mkdir()
    (folder / "export.csv").write_text("ticket_id\n1\n", encoding="utf-8")
    return folder


def test_service_start_removes_upload_folders_of_dead_processes_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    killed = _folder(scratch, _dead_pid())
    ingesting = _folder(scratch, os.getppid())
    unrelated = scratch / "supportpulse-upload-notes"
    unrelated.mkdir()

    settings = settings_for(tmp_path)
    with running_service(f"duckdb://{tmp_path}/s.duckdb", settings) as running:
        assert not killed.exists()
        assert ingesting.exists()
        assert unrelated.exists()

        export = tmp_path / "tickets.csv"
        export.write_text("ticket_id,created_at\nT1,2024-01-01\n", encoding="utf-8")
        with running.client(ADMIN) as client:
            answer = upload(client, export, source="upload-test")
        assert answer.status_code == 200, answer.text
        mine = list(scratch.glob(f"supportpulse-upload-{os.getpid()}-*"))
        assert mine == []
