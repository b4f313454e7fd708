"""Uploading a CSV or JSON Lines file: the same ingest as `supportpulse ingest`.

The upload is copied to a private temporary folder under its own file name
(so the layout is recognized by extension and quarantine names the file the
user chose), up to `service.max_upload_mb`; a larger one is refused with 413
before anything reaches the store.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile

from supportpulse.ingest.pipeline import IngestOptions, ingest_file, quarantine_name
from supportpulse.service.auth import Admin
from supportpulse.service.errors import ApiError, responses
from supportpulse.service.models import IngestReport
from supportpulse.service.runtime import Runtime
from supportpulse.service.uploads import upload_folder
from supportpulse.store import Store

router = APIRouter(
    tags=["ingest"],
    responses=responses(
        "invalid", "unauthorized", "forbidden", "conflict", "too_large"
    ),
)

_CHUNK = 1 << 20
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
#: Quarantined lines listed in the answer; `supportpulse quarantine` has them all.
MAX_LISTED = 1000


def _file_name(given: str | None) -> str:
    name = _UNSAFE.sub("_", Path(given or "upload.csv").name).strip("._")
    return name or "upload.csv"


@router.post("/ingest", response_model=IngestReport)
async def ingest(
    runtime: Runtime,
    _: Admin,
    file: Annotated[UploadFile, File(description="A CSV or JSON Lines file.")],
    source: Annotated[
        str | None,
        Form(max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"),
    ] = None,
) -> dict[str, Any]:
    """Ingest one file; answer with the summary and its quarantined lines."""
    configured = {config.name for config in runtime.settings.sources}
    if source is not None and (
        source in configured or runtime.engine.config(source) is not None
    ):
        # An upload's newer updated_at would win over the live source's
        # records for good, so it may not write under that source's name.
        raise ApiError(
            "conflict",
            f"'{source}' is a live source; upload under another source name",
        )
    limit = int(runtime.settings.service.max_upload_mb * 1024 * 1024)

    with upload_folder() as folder:
        path = Path(folder) / _file_name(file.filename)
        await _save(file, path, limit)
        engine = runtime.engine

        def run(store: Store) -> dict[str, Any]:
            summary = ingest_file(
                path, store, runtime.settings, IngestOptions(source=source)
            )
            _, rows = store.fetch(
                "SELECT line, reason FROM quarantine WHERE file = :file "
                "ORDER BY line LIMIT :limit",
                {"file": quarantine_name(path), "limit": MAX_LISTED},
            )
            store.analyze()
            return {
                **vars(summary),
                "file": path.name,
                "quarantine": [{"line": line, "reason": r} for line, r in rows],
            }

        report: dict[str, Any] = await engine.query(run, engine.store)
    await engine.written()
    return report


async def _save(upload: UploadFile, path: Path, limit: int) -> None:
    """Copy the upload to `path`, refusing it once it passes `limit` bytes."""
    too_large = ApiError(
        "too_large",
        f"the file is larger than the {limit // (1024 * 1024)} MB upload limit "
        "(service.max_upload_mb); ingest it with `supportpulse ingest` instead",
    )
    if upload.size is not None and upload.size > limit:
        raise too_large
    written = 0
    with path.open("wb") as target:
        while chunk := await upload.read(_CHUNK):
            written += len(chunk)
            if written > limit:
                raise too_large
            target.write(chunk)
