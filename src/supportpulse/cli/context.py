"""What every command shares: settings, the chosen store, time arguments."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from supportpulse.config import Settings, load_settings
from supportpulse.errors import RecordError, UserError
from supportpulse.ingest.timestamps import parse_timestamp
from supportpulse.store import Store, open_store, resolve_store_url

StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        help="Store URL: a file path, duckdb:///path or postgresql://user@host/db. "
        "Default: $SUPPORTPULSE_STORE, then the config file, then ./supportpulse.duckdb.",
        show_default=False,
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c",
        help="Settings file (JSON or YAML). Default: $SUPPORTPULSE_CONFIG, else built-in.",
        show_default=False,
    ),
]  # fmt: skip

_AGO = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_AGO_UNIT = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def settings_from(config: Path | None) -> Settings:
    """Load settings, turning a missing file into a clear error."""
    return load_settings(config)


def store_from(
    store: str | None, settings: Settings, *, create: bool = True, shared: bool = False
) -> Store:
    """Open the store the user chose (option, environment, config, default);
    commands that only read pass `create=False`, the live engine `shared=True`."""
    url = resolve_store_url(store, settings.store)
    return open_store(url, create=create, shared=shared)


def parse_moment(value: str | None, option: str, settings: Settings) -> datetime | None:
    """An ISO 8601 time (naive means the configured zone) or an age like 24h/7d."""
    if value is None:
        return None
    if match := _AGO.match(value):
        try:
            age = timedelta(**{_AGO_UNIT[match[2]]: int(match[1])})
            return datetime.now(UTC).replace(tzinfo=None) - age
        except OverflowError:
            raise UserError(
                f"{option} '{value}' reaches before year 1; use a shorter age"
            ) from None
    try:
        return parse_timestamp(value, settings.zone, option)
    except RecordError:
        raise UserError(
            f"{option} '{value}' is not a time; use ISO 8601 (2024-01-31T09:00) "
            "or an age like 24h or 7d"
        ) from None
