"""The `supportpulse` command: ingest files, compute KPIs, inspect quarantine."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import structlog
import typer
from rich.console import Console

from supportpulse import __version__
from supportpulse.analytics.kpis import KPIQuery, compute_kpis
from supportpulse.analytics.sql import DIMENSIONS
from supportpulse.cli import run as run_command
from supportpulse.cli.alerts import alerts_app
from supportpulse.cli.context import (
    ConfigOption,
    StoreOption,
    discard_store_file,
    moment_option,
    new_store_file,
    settings_from,
    store_from,
)
from supportpulse.cli.dashboard import dashboard as dashboard_command
from supportpulse.cli.demo import demo as demo_command
from supportpulse.cli.render import ingest_line, kpi_table
from supportpulse.cli.sources import sources_app
from supportpulse.errors import StoreError, SupportPulseError, UserError
from supportpulse.ingest.pipeline import IngestOptions, ingest_file, quarantine_name
from supportpulse.logs import configure_logging, debug_enabled
from supportpulse.store import Store

#: Exit codes: 0 success, 1 a problem the user can fix, 2 a usage mistake
#: (Typer's own), 3 the store is unreachable or failed, 70 a bug in supportpulse.
EXIT_USER, EXIT_STORE, EXIT_BUG = 1, 3, 70

app = typer.Typer(
    name="supportpulse",
    help="Customer-support analytics: ingest tickets and messages, compute KPIs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
log = structlog.get_logger("supportpulse.cli")


class Bucket(StrEnum):
    minute = "minute"
    hour = "hour"
    day = "day"


class LogFormat(StrEnum):
    console = "console"
    json = "json"


@app.callback()
def _global(
    log_level: Annotated[
        str,
        typer.Option(
            envvar="SUPPORTPULSE_LOG_LEVEL", help="debug, info, warning, error."
        ),
    ] = "warning",
    log_format: Annotated[
        LogFormat,
        typer.Option(envvar="SUPPORTPULSE_LOG_FORMAT", help="Log line format."),
    ] = LogFormat.console,
) -> None:
    """Customer-support analytics: ingest tickets and messages, compute KPIs."""
    try:
        configure_logging(log_level, log_format.value)
    except ValueError:
        raise typer.BadParameter(
            f"'{log_level}' is not a log level; use debug, info, warning or error",
            param_hint="--log-level",
        ) from None


@app.command()
def ingest(
    paths: Annotated[
        list[Path], typer.Argument(help="CSV or JSON Lines files.", show_default=False)
    ],
    source: Annotated[
        str | None,
        typer.Option(
            help="Source name for these records. Default: 'twcs' for twcs files, "
            "else the file name without extension.",
            show_default=False,
        ),
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(
            help="Text encoding of the files. Default: UTF-8 (with or without BOM).",
            show_default=False,
        ),
    ] = None,
    mapping: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="FIELD=COLUMN: read a ticket field from a named column; repeatable.",
            show_default=False,
        ),
    ] = None,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> None:
    """Read ticket exports and twcs conversation files into the store.

    Bad rows never stop a file: they are kept in quarantine with their line
    and reason. Reading the same file again changes nothing.
    """
    settings = settings_from(config)
    options = IngestOptions(
        source=source, encoding=encoding, mappings=_mappings(mapping)
    )
    failed = 0
    created = new_store_file(store, settings)
    with store_from(store, settings) as opened:
        for path in paths:
            try:
                summary = ingest_file(path, opened, settings, options)
            except UserError as exc:
                failed += 1
                typer.echo(f"Error: {exc}", err=True)
                continue
            typer.echo(ingest_line(summary))
        opened.analyze()
        empty = failed == len(paths) and _holds_nothing(opened)
    # Files refused before any row was read write nothing; an empty store left
    # behind would then pass for one where every row was fine.
    if created is not None and empty:
        discard_store_file(created)
    if failed:
        raise typer.Exit(EXIT_USER)


def _holds_nothing(store: Store) -> bool:
    _, rows = store.fetch(
        "SELECT (SELECT count(*) FROM tickets) + (SELECT count(*) FROM messages)"
        " + (SELECT count(*) FROM quarantine)"
    )
    return bool(rows[0][0] == 0)


def _mappings(pairs: list[str] | None) -> dict[str, str]:
    mappings = {}
    for pair in pairs or []:
        field, sep, column = pair.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise typer.BadParameter(
                f"'{pair}' is not FIELD=COLUMN", param_hint="--map"
            )
        mappings[field.strip()] = column.strip()
    return mappings


@app.command()
def kpis(
    since: Annotated[
        str | None,
        typer.Option(
            help="Window start: ISO 8601 or an age like 24h or 7d. Default: all data.",
            show_default=False,
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            help="Window end, exclusive; also the evaluation time. Default: now.",
            show_default=False,
        ),
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(
            help=f"Group by DIM[,DIM]: {', '.join(DIMENSIONS)}.", show_default=False
        ),
    ] = None,
    bucket: Annotated[
        Bucket | None, typer.Option(help="Split into time buckets.", show_default=False)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> None:
    """Compute volume, backlog, response times, SLA, sentiment and CSAT."""
    settings = settings_from(config)
    query = KPIQuery(
        since=moment_option(since, "--since", settings),
        until=moment_option(until, "--until", settings),
        by=_dimensions(by),
        bucket=bucket.value if bucket else None,
    )
    if query.since and query.until and query.since >= query.until:
        raise typer.BadParameter("must be earlier than --until", param_hint="--since")

    with store_from(store, settings, create=False) as opened:
        document = compute_kpis(opened, query, settings.sla)
    if as_json:
        typer.echo(json.dumps(document, indent=2))
    else:
        kpi_table(document, Console(width=200))


def _dimensions(by: str | None) -> tuple[str, ...]:
    if not by:
        return ()
    names = tuple(name.strip().lower() for name in by.split(",") if name.strip())
    for name in names:
        if name not in DIMENSIONS:
            raise typer.BadParameter(
                f"'{name}' is not a dimension; use {', '.join(DIMENSIONS)}",
                param_hint="--by",
            )
    if len(set(names)) != len(names):
        raise typer.BadParameter("a dimension is repeated", param_hint="--by")
    return names


@app.command()
def quarantine(
    limit: Annotated[
        int, typer.Option(min=1, help="Show at most this many rows.")
    ] = 50,
    file: Annotated[
        str | None,
        typer.Option(help="Only rows from this file path.", show_default=False),
    ] = None,
    store: StoreOption = None,
    config: ConfigOption = None,
) -> None:
    """List input rows set aside at ingest, with file, line and reason."""
    settings = settings_from(config)
    where = "WHERE file = :file" if file else ""
    with store_from(store, settings, create=False) as opened:
        _, rows = opened.fetch(
            f"SELECT file, line, reason FROM quarantine {where} "
            "ORDER BY id DESC LIMIT :limit",
            {"file": quarantine_name(Path(file)), "limit": limit}
            if file
            else {"limit": limit},
        )
    if not rows:
        typer.echo("No quarantined rows.")
    for path, line, reason in reversed(rows):
        typer.echo(f"{path}:{line}: {reason}")


app.command()(run_command.run)
app.command()(run_command.serve)
app.command()(run_command.status)
app.command(name="dashboard")(dashboard_command)
app.command(name="demo")(demo_command)
app.add_typer(alerts_app, name="alerts")
app.add_typer(sources_app, name="sources")


@app.command()
def version() -> None:
    """Print the supportpulse version."""
    typer.echo(__version__)


def main() -> None:
    """Run the CLI; user errors print one line, never a traceback."""
    try:
        code = app(standalone_mode=False)
    except typer.TyperException as exc:
        # Usage mistakes, as click reports them but on one line (exit 2).
        message = " ".join(exc.format_message().split())
        if message:  # empty when the help was shown for a bare command
            typer.echo(f"Error: {message}", err=True)
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("Aborted.", err=True)
        sys.exit(EXIT_USER)
    except UserError as exc:
        typer.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_USER)
    except StoreError as exc:
        typer.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_STORE)
    except SupportPulseError as exc:
        typer.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_USER)
    except KeyboardInterrupt:
        typer.echo("Interrupted.", err=True)
        sys.exit(130)
    except Exception as exc:
        # A bug: one line by default; the traceback (without local variables)
        # only at --log-level debug, for the report.
        if debug_enabled():
            log.exception("unexpected_error", error=type(exc).__name__)
        typer.echo(
            f"Error: internal error ({type(exc).__name__}); rerun with "
            "--log-level debug and report it",
            err=True,
        )
        sys.exit(EXIT_BUG)
    sys.exit(code if isinstance(code, int) else 0)
