"""Scratch folders for uploaded files, and the clean-up of ones a killed
service left behind.

An upload is saved under a folder named for the serving process, so a
service starting later can tell the folders of dead processes (removed)
from those of another service still ingesting (left alone).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import structlog

from supportpulse.processes import process_running

log = structlog.get_logger("supportpulse.service")

_PREFIX = "supportpulse-upload-"


def upload_folder() -> tempfile.TemporaryDirectory[str]:
    """A folder for one upload, removed when the upload is done."""
    return tempfile.TemporaryDirectory(prefix=f"{_PREFIX}{os.getpid()}-")


def remove_orphaned_uploads(root: Path | None = None) -> list[Path]:
    """Remove upload folders under `root` (the temp folder by default) whose
    process is gone; return the folders removed."""
    removed = []
    for folder in Path(root or tempfile.gettempdir()).glob(f"{_PREFIX}*-*"):
        owner = folder.name.removeprefix(_PREFIX).split("-", 1)[0]
        if not owner.isdigit() or process_running(int(owner)) or not folder.is_dir():
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    if removed:
        log.info("orphaned_uploads_removed", folders=[str(path) for path in removed])
    return removed
