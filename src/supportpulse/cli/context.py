"""What every command shares: settings, the chosen store, time arguments."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from supportpulse.config import Settings, load_settings
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
