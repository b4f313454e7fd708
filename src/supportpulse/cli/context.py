"""What every command shares: settings, the chosen store, time arguments."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from supportpulse.analytics.window import parse_moment
from supportpulse.config import Settings, load_settings
from supportpulse.errors import UserError
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


def new_store_file(store: str | None, settings: Settings) -> Path | None:
    """The DuckDB file the chosen store would create, or None if it exists or
    is a server: a command that then writes nothing can take it back."""
    url = resolve_store_url(store, settings.store)
    if url.engine != "duckdb" or url.target == ":memory:":
        return None
    path = Path(url.target)
    return None if path.exists() else path


def discard_store_file(path: Path) -> None:
    """Remove a store file, and its write-ahead log, that holds nothing."""
    for leftover in (path, path.with_name(f"{path.name}.wal")):
        leftover.unlink(missing_ok=True)


def moment_option(
    value: str | None, option: str, settings: Settings
) -> datetime | None:
    """A time option's value, parsed; a bad one is a usage mistake (exit 2)."""
    try:
        return parse_moment(value, option, settings)
    except UserError as exc:
        raise typer.BadParameter(
            _without_option(str(exc), option), param_hint=option
        ) from None


def _without_option(message: str, option: str) -> str:
    # BadParameter names the option itself: "Invalid value for --since: ...".
    return message.removeprefix(f"{option} ")
